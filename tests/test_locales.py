"""Templates translate through the gettext bound when rendering starts (app/locales.py)."""

from __future__ import annotations

from flask import Flask, render_template_string
from flask_babel import force_locale

from app.locales import first_supported, long_date

PAGE = '{% autoescape true %}<p>{{ _("from %(merchant)s", merchant=name) }}</p>{% endautoescape %}'
TEXT = '{% autoescape false %}{{ _("from %(merchant)s", merchant=name) }}{% endautoescape %}'


def test_a_translation_is_escaped_where_the_template_escapes(app: Flask) -> None:
    with app.test_request_context("/"):
        assert render_template_string(PAGE, name="<b>Nord & Süd</b>") == (
            "<p>from &lt;b&gt;Nord &amp; Süd&lt;/b&gt;</p>")
        assert render_template_string(TEXT, name="<b>Nord & Süd</b>") == "from <b>Nord & Süd</b>"


def test_the_locale_in_force_when_rendering_starts_is_the_one_used(app: Flask) -> None:
    with app.test_request_context("/"):
        with force_locale("de"):
            german = render_template_string(PAGE, name="Acme")
        english = render_template_string(PAGE, name="Acme")
    assert german == "<p>von Acme</p>" and english == "<p>from Acme</p>"


def test_first_supported_takes_the_language_of_a_tag() -> None:
    assert first_supported(["fr-FR", "de_AT", "en"]) == "de"
    assert first_supported(["fr"]) is None


def test_a_date_is_written_in_full_in_the_customer_language_on_its_utc_day() -> None:
    last_second_of_the_year = 1798761599  # 2026-12-31T23:59:59Z: already 2027 east of UTC
    assert long_date(last_second_of_the_year, "en") == "December 31, 2026"
    assert long_date(last_second_of_the_year, "de") == "31. Dezember 2026"
    assert long_date(last_second_of_the_year + 1, "en") == "January 1, 2027"
    assert long_date(None, "de") == ""
