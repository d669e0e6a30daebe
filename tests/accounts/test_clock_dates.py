"""What an invoice's own times say once the test clock has moved (SPEC §5): the
test-mode invoice is dated on the account's clock, the live-mode one on real time."""

from __future__ import annotations

import time
from typing import Any

from tests.conftest import Merchant

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
