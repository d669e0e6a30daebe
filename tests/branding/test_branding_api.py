"""``/v1/account/branding`` (SPEC §3 Branding)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from app.api.branding import BrandingObject
from app.api.openapi import build_document
from app.branding import themes

from .images import animated_png, data_uri, draw, noisy_png, png_claiming

URL = "/v1/account/branding"


def _error(response: Any, param: str) -> dict[str, Any]:
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param, error
    return error  # type: ignore[no-any-return]


def test_defaults_before_anything_is_set(merchant: Any) -> None:
    body = merchant.test.ok("GET", URL)
    BrandingObject.model_validate(body)
    default = themes.load_theme("default")
    assert body == {
        "object": "branding", "livemode": False, "theme": "default", "display_name": "Acme GmbH",
        "primary_color": None, "accent_color": None, "logo": None,
        "support_email": None, "support_phone": None, "support_url": None,
        "effective": {"primary_color": default.tokens["--primary"], "accent_color": default.tokens["--accent"]},
        "themes": themes.available_themes(),
    }
    assert {"default", "classic", "midnight"} <= set(body["themes"])
    assert merchant.live.ok("GET", URL)["livemode"] is True


def test_round_trip_of_every_field(merchant: Any, png_uri: str) -> None:
    sent = {
        "theme": "classic", "display_name": "Acme Coffee Roasters", "primary_color": "#1F2A44",
        "accent_color": "#9A4A1C", "logo": png_uri, "support_email": "help@acme.example",
        "support_phone": "+49 (30) 1234-5678", "support_url": "https://acme.example/help?lang=de",
    }
    body = merchant.test.ok("POST", URL, sent)
    BrandingObject.model_validate(body)
    assert body["primary_color"] == "#1f2a44" and body["accent_color"] == "#9a4a1c"
    assert body["logo"] == png_uri
    for field in ("theme", "display_name", "support_email", "support_phone", "support_url"):
        assert body[field] == sent[field]
    assert body["effective"] == {"primary_color": "#1f2a44", "accent_color": "#9a4a1c"}
    # One branding per account: the live key reads the same, with its own livemode.
    live = merchant.live.ok("GET", URL)
    assert live == {**body, "livemode": True}


def test_update_merges_and_null_clears(merchant: Any, png_uri: str) -> None:
    api = merchant.test
    api.ok("POST", URL, {"theme": "midnight", "display_name": "Acme", "logo": png_uri, "support_phone": "030 1234"})
    body = api.ok("POST", URL, {"support_email": "billing@acme.example"})
    assert (body["theme"], body["display_name"], body["logo"], body["support_phone"]) == (
        "midnight", "Acme", png_uri, "030 1234")
    cleared = api.ok("POST", URL, {"display_name": None, "logo": None, "theme": None, "support_phone": None})
    assert cleared["display_name"] == "Acme GmbH"  # back to the account's name
    assert cleared["logo"] is None and cleared["support_phone"] is None and cleared["theme"] == "default"
    assert cleared["support_email"] == "billing@acme.example"
    assert api.ok("GET", URL) == cleared


def test_jpeg_logo_round_trips_as_jpeg(api: Any) -> None:
    jpeg = data_uri(draw("JPEG", (120, 40), quality=85), "image/jpeg")
    assert api.ok("POST", URL, {"logo": jpeg})["logo"] == jpeg
    # image/jpg is a common misspelling of the same type; it comes back canonical.
    raw = draw("JPEG", (40, 40))
    body = api.ok("POST", URL, {"logo": "data:IMAGE/JPG;base64," + base64.b64encode(raw).decode()})
    assert body["logo"] == data_uri(raw, "image/jpeg")


def test_tenant_isolation(merchant: Any, other_merchant: Any) -> None:
    merchant.test.ok("POST", URL, {"display_name": "Acme Branded", "primary_color": "#0b5fff"})
    theirs = other_merchant.test.ok("GET", URL)
    assert theirs["display_name"] == "Globex Ltd" and theirs["primary_color"] is None
    other_merchant.live.ok("POST", URL, {"display_name": "Globex Branded"})
    assert merchant.test.ok("GET", URL)["display_name"] == "Acme Branded"
    assert other_merchant.test.ok("GET", URL)["display_name"] == "Globex Branded"


def test_unreadable_colours_are_stored_but_not_used(api: Any) -> None:
    default = themes.load_theme("default").tokens
    # #777777 reaches only 4.48:1 with white and 4.22:1 with near-black text;
    # #ffff00 is fine as a fill (17.6:1 under near-black) but 1.07:1 as an accent on white.
    body = api.ok("POST", URL, {"primary_color": "#777777", "accent_color": "#ffff00"})
    assert (body["primary_color"], body["accent_color"]) == ("#777777", "#ffff00")
    assert body["effective"] == {"primary_color": default["--primary"], "accent_color": default["--accent"]}
    # The same yellow accent is readable on the dark theme, and yellow works as a primary.
    body = api.ok("POST", URL, {"theme": "midnight", "primary_color": "#ffff00"})
    assert body["effective"] == {"primary_color": "#ffff00", "accent_color": "#ffff00"}


LOGO_CASES = {
    "not_a_data_uri": "https://example.com/logo.png",
    "gif_type": data_uri(draw("GIF", (32, 32)), "image/gif"),
    "svg_type": data_uri(b'<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"/>', "image/svg+xml"),
    "gif_declared_png": data_uri(draw("GIF", (32, 32)), "image/png"),
    "svg_declared_png": data_uri(b'<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32">'
                                 b'<script>alert(1)</script></svg>', "image/png"),
    "webp_declared_png": data_uri(draw("WEBP", (32, 32)), "image/png"),
    "jpeg_declared_png": data_uri(draw("JPEG", (32, 32)), "image/png"),
    "png_declared_jpeg": data_uri(draw("PNG", (32, 32)), "image/jpeg"),
    "text_declared_png": data_uri(b"hello, this is not an image at all", "image/png"),
    "bad_base64": "data:image/png;base64,iVBORw0KGgo!!!",
    "not_base64_encoded": "data:image/png,rawbytes",
    "empty": "data:image/png;base64,",
    "truncated_png": data_uri(draw("PNG", (200, 200))[:400], "image/png"),
    "animated_png": data_uri(animated_png(), "image/png"),
    "too_small": data_uri(draw("PNG", (15, 40)), "image/png"),
    "too_wide": data_uri(draw("PNG", (2001, 16), mode="L"), "image/png"),
    "too_tall": data_uri(draw("JPEG", (16, 2001), mode="L"), "image/jpeg"),
    "bomb_warning_size": data_uri(png_claiming(10_000, 10_000), "image/png"),
    "bomb_error_size": data_uri(png_claiming(30_000, 30_000), "image/png"),
}


@pytest.mark.parametrize("case", sorted(LOGO_CASES))
def test_bad_logos_are_refused_naming_logo(api: Any, case: str) -> None:
    response = api.post(URL, {"logo": LOGO_CASES[case]})
    _error(response, "logo")
    assert api.ok("GET", URL)["logo"] is None


def test_logo_over_256_kib_is_refused_and_just_under_is_accepted(api: Any) -> None:
    big = noisy_png(300)  # about 270 KB of incompressible pixels
    assert len(big) > 256 * 1024
    error = _error(api.post(URL, {"logo": data_uri(big, "image/png")}), "logo")
    assert "256 KiB" in error["message"]
    fits = noisy_png(290)
    assert len(fits) <= 256 * 1024
    assert api.ok("POST", URL, {"logo": data_uri(fits, "image/png")})["logo"] is not None


def test_logo_error_messages_say_what_is_wrong(api: Any) -> None:
    assert "declared as image/png but the data is a JPEG" in _error(
        api.post(URL, {"logo": LOGO_CASES["jpeg_declared_png"]}), "logo")["message"]
    assert "2001x16" in _error(api.post(URL, {"logo": LOGO_CASES["too_wide"]}), "logo")["message"]
    assert "animation" in _error(api.post(URL, {"logo": LOGO_CASES["animated_png"]}), "logo")["message"]
    assert "too large" in _error(api.post(URL, {"logo": LOGO_CASES["bomb_error_size"]}), "logo")["message"]


@pytest.mark.parametrize(("param", "value"), [
    ("primary_color", "red"),
    ("primary_color", "#abc"),
    ("primary_color", "#12345g"),
    ("primary_color", "1a56db"),
    ("primary_color", 0x1A56DB),
    ("accent_color", "#1a56db80"),
    ("accent_color", "rgb(0,0,0)"),
    ("theme", "nope"),
    ("theme", "../default"),
    ("theme", "default/../classic"),
    ("theme", "/etc"),
    ("theme", "Default"),
    ("theme", ""),
    ("display_name", ""),
    ("display_name", "x" * 201),
    ("display_name", "Acme\r\nBcc: victim@example.com"),
    ("support_email", "not-an-email"),
    ("support_email", "a@b"),
    ("support_url", "javascript:alert(1)"),
    ("support_url", "JavaScript:alert(document.cookie)"),
    ("support_url", "data:text/html,<script>alert(1)</script>"),
    ("support_url", "ftp://acme.example/help"),
    ("support_url", "https://"),
    ("support_url", "//acme.example/help"),
    ("support_url", "acme.example/help"),
    ("support_url", "https://acme.example/he lp"),
    ("support_url", "https://user:secret@acme.example/"),
    ("support_url", "https:\\\\evil.example"),
    ("support_url", "https://acme.example:99999/"),
    ("support_url", "https://" + "a" * 500 + ".example"),
    ("support_phone", "call us"),
    ("support_phone", "+1"),
    ("support_phone", "030 1234 ext. 5"),
    ("support_phone", "1-2-3-4+5"),
    ("support_phone", "1" * 41),
    ("support_phone", 1234567),
])
def test_invalid_fields_name_their_param(api: Any, param: str, value: Any) -> None:
    before = api.ok("GET", URL)
    _error(api.post(URL, {param: value}), param)
    assert api.ok("GET", URL) == before


@pytest.mark.parametrize(("param", "value"), [
    ("support_url", "http://acme.example"),
    ("support_url", "HTTPS://acme.example:8443/help#contact"),
    ("support_url", "https://bücher.example/hilfe"),
    ("support_phone", "(555) 123-4567"),
    ("support_phone", "+44 20 7946 0958"),
    ("support_email", "billing+vinr@acme.example"),
    ("display_name", "Ünïcödé & Söhne <GmbH>"),
])
def test_plausible_values_are_accepted(api: Any, param: str, value: Any) -> None:
    assert api.ok("POST", URL, {param: value})[param] == value


def test_unknown_parameter_is_refused(api: Any) -> None:
    _error(api.post(URL, {"colour": "#ffffff"}), "colour")


def test_branding_needs_a_key(client: Any) -> None:
    assert client.get(URL).status_code == 401
    assert client.post(URL, json={"display_name": "x"}).status_code == 401


def test_openapi_documents_both_operations(client: Any) -> None:
    doc = build_document()
    path = doc["paths"]["/v1/account/branding"]
    assert set(path) == {"get", "post"}
    assert "BrandingObject" in doc["components"]["schemas"]
    assert "BrandingUpdate" in doc["components"]["schemas"]
