"""The languages customers read VINR in (SPEC §5, §7): the hosted page, the PDF and the emails."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from babel.dates import format_date
from flask_babel import get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

SUPPORTED_LOCALES = ("en", "de")


def first_supported(preferred: Iterable[str]) -> str | None:
    """The first of ``preferred`` (BCP 47 or POSIX tags: "de-DE", "de_AT") that we speak, as "de"; else None."""
    for tag in preferred:
        language = str(tag).replace("_", "-").split("-")[0].lower()
        if language in SUPPORTED_LOCALES:
            return language
    return None


def long_date(timestamp: int | None, locale: str) -> str:
    """A timestamp's day (UTC) as ``locale`` writes it in full: "December 16, 2026", "16. Dezember 2026".
    The hosted page, the PDF and the emails write dates so; "" for no date."""
    if timestamp is None:
        return ""
    return _long_date(datetime.fromtimestamp(timestamp, UTC).date(), locale)


@lru_cache(maxsize=4096)
def _long_date(day: date, locale: str) -> str:
    # A pure function of its arguments, about 25 µs a call in Babel, and a page writes two
    # or three days that many invoices share (as app.money.display is cached for amounts).
    return str(format_date(day, format="long", locale=locale))


def bound_gettext() -> dict[str, Any]:
    """A context processor: the templates' ``_``/``gettext`` bound to the translations of
    the locale in force when rendering starts.

    Jinja's i18n extension takes ``gettext`` from the render context when one is given
    there ("either globally or when rendering", its documentation says). Flask-Babel's
    global callable looks the request's domain, locale and catalogue up again for every
    string, which for a hosted page's thirty-odd strings is about a tenth of its time.
    The function keeps Jinja's newstyle contract: the translation is Markup where the
    template autoescapes, and the keyword arguments are formatted into it (escaped).
    """
    translations = get_translations()

    @pass_context
    def gettext(context: Context, message: str, **variables: Any) -> str:
        text: str = translations.gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - our own catalogue, as Jinja marks it; % escapes the variables
        return text % variables

    return {"gettext": gettext}
