from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.einvoicing.rules import Rules


@pytest.fixture(scope="session")
def rules() -> Iterator[Rules]:
    """The official rules, compiled once per session, in the main thread (saxonche needs it)."""
    from saxonche import PySaxonProcessor

    with PySaxonProcessor(license=False) as processor:
        yield Rules(processor)
