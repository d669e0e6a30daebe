"""What an invoice's own times say once the test clock has moved (SPEC §5): the
test-mode invoice is dated on the account's clock, the live-mode one on real time."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import Merchant
from tests.portal.conftest import make_hosted

DAY = 86_400


def _lifecycle(api: Any, customer_id: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Create a send_invoice draft with a line, finalize it, then void it."""
    created = api.ok("POST", "/v1/invoices", {"customer": customer_id, "collection_method": "send_invoice",
                                              "days_until_due": 14})
    api.ok("POST", f"/v1/invoices/{created['id']}/lines", {"description": "Work", "unit_amount": 5000})
    finalized = api.ok("POST", f"/v1/invoices/{created['id']}/finalize")
    voided = api.ok("POST", f"/v1/invoices/{created['id']}/void")
    return created, finalized, voided


def test_a_moved_test_clock_dates_creation_finalization_due_date_and_void(merchant: Merchant) -> None:
    moved = merchant.test.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 40 * DAY})["now"]
    test_customer = merchant.test.ok("POST", "/v1/customers", {"name": "Ada", "email": "ada@example.com"})
    live_customer = merchant.live.ok("POST", "/v1/customers", {"name": "Ada", "email": "ada@example.com"})

    created, finalized, voided = _lifecycle(merchant.test, test_customer["id"])
    assert abs(created["created"] - moved) < 60
    assert abs(finalized["status_transitions"]["finalized_at"] - moved) < 60
    assert finalized["due_date"] == finalized["status_transitions"]["finalized_at"] + 14 * DAY
    assert abs(voided["status_transitions"]["voided_at"] - moved) < 60

    real = int(time.time())
    created, finalized, voided = _lifecycle(merchant.live, live_customer["id"])
    assert abs(created["created"] - real) < 60
    assert abs(finalized["status_transitions"]["finalized_at"] - real) < 60
    assert abs(voided["status_transitions"]["voided_at"] - real) < 60


def test_a_due_date_is_in_the_future_by_the_test_clock(merchant: Merchant) -> None:
    merchant.test.ok("POST", "/v1/test_helpers/advance_clock", {"seconds": 40 * DAY})
    customer = merchant.test.ok("POST", "/v1/customers", {"name": "Ada", "email": "ada@example.com"})
    tomorrow_in_real_time = int(time.time()) + DAY
    response = merchant.test.post("/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice",
                                                   "due_date": tomorrow_in_real_time})
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == "due_date"


YEAR = 365 * DAY  # as the bounds count years (app/accounts/clocks.py)


def advance(merchant: Merchant, seconds: int) -> Any:
    return merchant.test.post("/v1/test_helpers/advance_clock", {"seconds": seconds})


def test_the_test_clock_goes_at_most_100_years_ahead_in_all(merchant: Merchant) -> None:
    for _ in range(19):
        assert advance(merchant, 5 * YEAR).status_code == 200  # at most 5 years a call
    assert advance(merchant, 4 * YEAR).status_code == 200

    refused = advance(merchant, 2 * YEAR)
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert error["param"] == "seconds" and "100 years" in error["message"]
    assert f"at most {YEAR} more seconds" in error["message"]

    furthest = advance(merchant, YEAR).json["now"]
    assert abs(furthest - (int(time.time()) + 100 * YEAR)) < 60
    refused = advance(merchant, 1)
    assert refused.status_code == 400 and refused.get_json()["error"]["param"] == "seconds"
    customer = merchant.test.ok("POST", "/v1/customers", {"name": "Ada", "email": "ada@example.com"})
    created, _, _ = _lifecycle(merchant.test, customer["id"])
    assert abs(created["created"] - furthest) < 60  # the refusals moved nothing


def test_an_invoice_made_at_the_furthest_test_clock_shows_its_page_and_pdf(merchant: Merchant) -> None:
    for _ in range(20):
        advance(merchant, 5 * YEAR)
    customer = merchant.test.ok("POST", "/v1/customers", {"name": "Ada", "email": "ada@example.com"})
    invoice = make_hosted(merchant.test, customer["id"])
    path = urlsplit(invoice["hosted_invoice_url"]).path
    page = merchant.test.client.get(path)
    assert page.status_code == 200 and invoice["number"] in page.get_data(as_text=True)
    pdf = merchant.test.client.get(path + "/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
