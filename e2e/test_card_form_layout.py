"""The card form at desktop and phone widths, in every theme: Expiry date and CVC side by
side with their inputs in line on a desktop (the "MM / YY" hint once pushed the expiry
input below the CVC input), stacked on a phone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from e2e.support import Api, shot

THEMES = ["default", "classic", "midnight"]


@pytest.mark.parametrize("theme", THEMES)
def test_expiry_and_cvc_inputs_line_up_on_a_desktop_and_stack_on_a_phone(
        page: Page, merchant_api: Callable[[str, str], Api], theme: str) -> None:
    api = merchant_api(f"Layout {theme.title()} Ltd", f"LAY{theme[:3].upper()}")
    api.ok("POST", "/v1/account/branding", {"theme": theme})
    invoice = api.hosted_invoice(api.customer()["id"])

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(invoice["hosted_invoice_url"])
    expiry = page.get_by_label("Expiry date", exact=True).bounding_box()
    cvc = page.get_by_label("CVC", exact=True).bounding_box()
    shot(page, f"card-form-desktop-{theme}")
    assert expiry is not None and cvc is not None
    assert abs(expiry["y"] - cvc["y"]) <= 1, (expiry, cvc)
    assert abs(expiry["height"] - cvc["height"]) <= 1, (expiry, cvc)
    assert expiry["x"] + expiry["width"] <= cvc["x"], "side by side, expiry first"

    page.set_viewport_size({"width": 375, "height": 800})
    expiry = page.get_by_label("Expiry date", exact=True).bounding_box()
    cvc = page.get_by_label("CVC", exact=True).bounding_box()
    shot(page, f"card-form-phone-{theme}")
    assert expiry is not None and cvc is not None
    assert cvc["y"] >= expiry["y"] + expiry["height"], "stacked on a phone"
