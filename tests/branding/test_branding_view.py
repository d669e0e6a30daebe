"""``brand_for``: what the hosted page, the PDF and the emails render with."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.accounts.models import Account, Branding
from app.accounts.service import Caller
from app.branding import service, themes
from app.branding.contrast import contrast_ratio
from app.branding.schemas import BrandingUpdate

from .images import data_uri, draw


@pytest.fixture()
def account(db_session: Any, merchant: Any) -> Account:
    found = db_session.get(Account, merchant.account_id)
    assert found is not None
    return found  # type: ignore[no-any-return]


def _set(db_session: Any, account: Account, **fields: Any) -> None:
    service.update_branding(db_session, Caller(account, False), BrandingUpdate.model_validate(fields))


def test_an_account_without_branding_gets_the_default_theme(db_session: Any, account: Account) -> None:
    brand = service.brand_for(db_session, account)
    default = themes.load_theme("default")
    assert brand.theme == "default" and brand.display_name == "Acme GmbH"
    assert (brand.primary_color, brand.accent_color) == (default.tokens["--primary"], default.tokens["--accent"])
    assert brand.on_primary == "#ffffff"
    assert brand.logo_data_uri is None and brand.support_email is None
    assert brand.css_variables["--bg"] == default.tokens["--bg"]
    assert brand.body_class == "layout--align-start layout--header-band layout--lines-ruled"


def test_merchant_colours_logo_and_support_details_are_used(db_session: Any, account: Account) -> None:
    logo = data_uri(draw("PNG", (48, 48)), "image/png")
    _set(db_session, account, theme="classic", display_name="Acme Roasters", primary_color="#0B5FFF",
         accent_color="#b42318", logo=logo, support_email="help@acme.example", support_phone="+49 30 1234",
         support_url="https://acme.example/help")
    brand = service.brand_for(db_session, account)
    assert brand.theme == "classic" and brand.display_name == "Acme Roasters"
    assert (brand.primary_color, brand.accent_color, brand.on_primary) == ("#0b5fff", "#b42318", "#ffffff")
    assert brand.logo_data_uri == logo
    assert (brand.support_email, brand.support_phone, brand.support_url) == (
        "help@acme.example", "+49 30 1234", "https://acme.example/help")
    variables = brand.css_variables
    assert [variables[k] for k in ("--primary", "--accent", "--on-primary")] == ["#0b5fff", "#b42318", "#ffffff"]
    assert variables["--font-heading"] == themes.load_theme("classic").tokens["--font-heading"]
    assert brand.css_text.startswith(":root{--bg:") and "--primary:#0b5fff" in brand.css_text
    assert brand.layout == {"header": "plain", "align": "center", "lines": "ruled"}


@pytest.mark.parametrize(("primary", "on_primary"), [
    ("#ffff00", "#111111"),  # yellow under near-black text: 17.6:1, kept
    ("#1a56db", "#ffffff"),
    ("#808080", "#111111"),  # 4.78:1 with near-black
])
def test_a_readable_primary_is_kept_with_the_better_text_colour(db_session: Any, account: Account,
                                                                primary: str, on_primary: str) -> None:
    _set(db_session, account, primary_color=primary)
    brand = service.brand_for(db_session, account)
    assert (brand.primary_color, brand.on_primary) == (primary, on_primary)
    assert contrast_ratio(brand.primary_color, brand.on_primary) >= 4.5


@pytest.mark.parametrize("primary", ["#777777", "#e91e63", "#7c5cff"])
def test_an_unreadable_primary_falls_back_to_the_theme(db_session: Any, account: Account, primary: str) -> None:
    # Neither white nor near-black reaches 4.5:1 on these (e.g. #e91e63: 4.35 with white).
    _set(db_session, account, theme="midnight", primary_color=primary)
    brand = service.brand_for(db_session, account)
    midnight = themes.load_theme("midnight")
    assert brand.primary_color == midnight.tokens["--primary"]
    assert brand.css_variables["--primary"] == midnight.tokens["--primary"]
    assert contrast_ratio(brand.primary_color, brand.on_primary) >= 4.5


def test_the_accent_must_stand_out_from_the_theme_background(db_session: Any, account: Account) -> None:
    _set(db_session, account, accent_color="#ffff00")
    assert service.brand_for(db_session, account).accent_color == themes.load_theme("default").tokens["--accent"]
    _set(db_session, account, theme="midnight")
    assert service.brand_for(db_session, account).accent_color == "#ffff00"
    _set(db_session, account, accent_color="#1a1a40")  # dark navy on a dark page: 1.2:1
    assert service.brand_for(db_session, account).accent_color == themes.load_theme("midnight").tokens["--accent"]


def test_a_stored_theme_that_no_longer_exists_renders_as_default(db_session: Any, account: Account) -> None:
    _set(db_session, account, display_name="Acme")
    row = service.get_branding(db_session, Caller(account, True))
    assert row is not None
    row.theme = "retired"
    db_session.flush()
    brand = service.brand_for(db_session, account)
    assert brand.theme == "default" and brand.display_name == "Acme"


def test_the_service_flushes_but_never_commits(db_session: Any, account: Account,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise AssertionError("services must not commit")

    monkeypatch.setattr(db_session, "commit", refuse)
    savepoint = db_session.begin_nested()
    _set(db_session, account, display_name="Pending")
    assert db_session.scalar(sa.select(Branding.display_name).where(Branding.account_id == account.id)) == "Pending"
    savepoint.rollback()
    assert service.get_branding(db_session, Caller(account, False)) is None
