from __future__ import annotations

from typing import Any


def test_seed_flow_totals_number_and_hosted_link(api: Any, customer: dict[str, Any]) -> None:
    inv = api.ok("POST", "/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                          "days_until_due": 14})
    assert inv["status"] == "draft" and inv["number"] is None and inv["hosted_invoice_url"] is None
    api.ok("POST", f"/v1/invoices/{inv['id']}/lines", {"description": "Design", "unit_amount": 120000})
    inv = api.ok("POST", f"/v1/invoices/{inv['id']}/lines",
                 {"description": "Hosting", "unit_amount": 9500, "quantity": 8})
    assert inv["subtotal"] == 196000 and inv["total"] == 196000
    fin = api.ok("POST", f"/v1/invoices/{inv['id']}/finalize")
    assert fin["status"] == "open"
    assert fin["number"] == "ACME-0001"
    assert fin["amount_due"] == 196000 and fin["amount_remaining"] == 196000
    assert fin["hosted_invoice_url"].startswith(f"https://pay.example.test/i/{inv['id']}/")
    assert fin["invoice_pdf"] == fin["hosted_invoice_url"] + "/pdf"
    assert fin["due_date"] == fin["status_transitions"]["finalized_at"] + 14 * 86400
