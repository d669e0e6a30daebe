"""axe-core scans of every state of the hosted page (SPEC §7: usable with a keyboard and a screen reader).

axe runs inside the page. The page's CSP allows no script at all; Playwright's
``evaluate`` goes through the DevTools protocol, which the CSP does not govern,
so the scan works without weakening the page. (Should a future axe need it,
create the context with ``bypass_csp=True`` for these tests only.)

A scan fails on violations of impact "serious" or "critical"; everything axe
finds is printed and saved as JSON under e2e/artifacts/ for review.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from e2e.support import ARTIFACTS, CARD_3DS, Api, fill_card, pay_button, shot, stylesheets_loaded

BLOCKING = {"serious", "critical"}
_axe = Axe()


def summary(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"][:5]:
            target = ', '.join(map(str, node['target']))
            lines.append(f"    {target}: {' '.join(node.get('failureSummary', '').split())}")
            lines.append(f"      {node['html'][:200]}")
        if len(v["nodes"]) > 5:
            lines.append(f"    … and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def scan(page: Page, name: str) -> None:
    results = _axe.run(page)
    violations = results.response["violations"]
    incomplete = results.response.get("incomplete", [])
    assert results.response["passes"], "axe ran no passing checks: did it run at all?"
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(
        {"url": results.response.get("url"), "violations": violations, "incomplete": incomplete}, indent=2))
    shot(page, f"axe-{name}")
    print(f"axe on {name}: {len(results.response['passes'])} rules passed, {len(violations)} violated, "
          f"{len(incomplete)} need review ({', '.join(v['id'] for v in incomplete) or '-'})")
    if violations:
        print(summary(violations))
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"axe found serious/critical violations on {name}:\n{summary(blocking)}"


# --------------------------------------------------------------------------- the states, reached as a customer would

def _invoice(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    page.goto(invoice["hosted_invoice_url"])
    expect(pay_button(page)).to_be_visible()
    stylesheets_loaded(page)


def _invoice_with_errors(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    page.goto(invoice["hosted_invoice_url"])
    fill_card(page, "4242 4242 4242 4241", expiry="", cvc="")  # fails Luhn; expiry and CVC missing
    pay_button(page).click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Expiry date", exact=True)).to_have_attribute("aria-invalid", "true")


def _challenge(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    page.goto(invoice["hosted_invoice_url"])
    fill_card(page, CARD_3DS)
    pay_button(page).click()
    expect(page.get_by_role("button", name="Complete authentication")).to_be_visible()


def _update_card(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    api.save_card(invoice["customer"])  # offered where a card is kept
    page.goto(invoice["hosted_invoice_url"])
    page.get_by_role("link", name="Update payment method").click()
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_visible()


def _void(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    api.ok("POST", f"/v1/invoices/{invoice['id']}/void")
    response = page.goto(invoice["hosted_invoice_url"])
    assert response is not None and response.status == 410


def _receipt(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    page.goto(invoice["hosted_invoice_url"])
    fill_card(page, "4242 4242 4242 4242")
    pay_button(page).click()
    expect(page.get_by_role("heading", name="Paid", exact=True)).to_be_visible()


def _declined(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    page.goto(invoice["hosted_invoice_url"])
    fill_card(page, "4000 0000 0000 0002")
    pay_button(page).click()
    expect(page.get_by_role("alert")).to_contain_text("declined")


def _rate_limited(page: Page, api: Api, invoice: dict[str, Any]) -> None:
    page.goto(invoice["hosted_invoice_url"])
    for _ in range(6):  # five failures fill the invoice's limit; the sixth is refused
        fill_card(page, "4000 0000 0000 0002")
        pay_button(page).click()
    expect(page.get_by_role("heading", level=1, name="Too many attempts")).to_be_visible()


STATES: dict[str, Callable[[Page, Api, dict[str, Any]], None]] = {
    "invoice": _invoice,
    "invoice-with-form-errors": _invoice_with_errors,
    "declined": _declined,
    "rate-limited": _rate_limited,
    "challenge": _challenge,
    "update-card": _update_card,
    "void": _void,
    "paid-receipt": _receipt,
}


@pytest.mark.parametrize("state", list(STATES))
def test_axe_default_theme(state: str, page: Page, api: Api, invoice: dict[str, Any]) -> None:
    STATES[state](page, api, invoice)
    scan(page, state)


@pytest.mark.parametrize("theme", ["classic", "midnight"])
def test_axe_other_themes(theme: str, page: Page, merchant_api: Callable[[str, str], Api]) -> None:
    """The invoice page in each bundled theme (colour contrast is the theme's)."""
    merchant = merchant_api(f"{theme.title()} Theme Shop", theme[:4].upper())
    merchant.ok("POST", "/v1/account/branding", {"theme": theme})
    invoice = merchant.hosted_invoice(merchant.customer()["id"])
    _invoice(page, merchant, invoice)
    scan(page, f"invoice-theme-{theme}")


@pytest.mark.parametrize("theme", ["default", "classic", "midnight"])
def test_axe_with_a_pale_brand_colour(theme: str, page: Page, merchant_api: Callable[[str, str], Api]) -> None:
    """A merchant picks pale yellow: the page must still be readable (the effective colours fall back)."""
    merchant = merchant_api(f"Sunny {theme.title()} Shop", f"SUN{theme[0].upper()}")
    merchant.ok("POST", "/v1/account/branding", {"theme": theme, "primary_color": "#fff176", "accent_color": "#fffde7"})
    invoice = merchant.hosted_invoice(merchant.customer()["id"])
    _invoice(page, merchant, invoice)
    scan(page, f"invoice-pale-brand-{theme}")


def test_axe_past_due(page: Page, merchant_api: Callable[[str, str], Api]) -> None:
    """Past due, on a merchant of its own (its clock moves)."""
    merchant = merchant_api("Overdue Axe Ltd", "OAXE")
    invoice = merchant.hosted_invoice(merchant.customer()["id"])
    merchant.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 16 * 86_400})
    _invoice(page, merchant, invoice)
    expect(page.locator(".overdue")).to_be_visible()
    scan(page, "past-due")
