# Generated from vinr/_async/pagination.py by tools/make_sync.py: edit that file and run the tool again,
# do not edit this one.
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from vinr.objects import ListObject, VinrObject

if TYPE_CHECKING:
    from vinr._sync.client import Vinr

T = TypeVar("T", bound=VinrObject)


class Page(ListObject[T]):
    """A page of a ``list`` call that can fetch the pages after it.

    ``auto_paging_iter()`` yields every item of this page and of the following
    ones, fetching each page only when the items before it were consumed, with
    the same filters (and ``expand``) as the first call. After an
    ``ending_before`` cursor it walks the other way, towards the start of the
    list: newer objects, or an invoice's first lines.
    """

    __slots__ = ("_client", "_path", "_params")
    _client: Vinr
    _path: str
    _params: dict[str, Any]

    def __init__(self, values: Mapping[str, Any], *, client: Vinr, path: str,
                 params: Mapping[str, Any]) -> None:
        super().__init__(values)
        object.__setattr__(self, "_client", client)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_params", dict(params))

    @property
    def _backwards(self) -> bool:
        return self._params.get("ending_before") is not None

    def next_page(self) -> Page[T] | None:
        """The page after this one in the direction of travel, or ``None`` at the end."""
        if not self.has_more or not self.data:
            return None
        params = dict(self._params)
        if self._backwards:
            params["ending_before"] = self.data[0].id
        else:
            params.pop("ending_before", None)
            params["starting_after"] = self.data[-1].id
        page: Page[T] = self._client._list(self._path, params)
        return page

    def auto_paging_iter(self) -> Iterator[T]:
        page: Page[T] | None = self
        while page is not None:
            for item in (reversed(page.data) if page._backwards else page.data):
                yield item
            page = page.next_page()
