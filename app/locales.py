"""The languages customers read VINR in (SPEC §5, §7): the hosted page, the PDF and the emails."""

from __future__ import annotations

from collections.abc import Iterable

SUPPORTED_LOCALES = ("en", "de")


def first_supported(preferred: Iterable[str]) -> str | None:
    """The first of ``preferred`` (BCP 47 or POSIX tags: "de-DE", "de_AT") that we speak, as "de"; else None."""
    for tag in preferred:
        language = str(tag).replace("_", "-").split("-")[0].lower()
        if language in SUPPORTED_LOCALES:
            return language
    return None
