"""Drafts with ``auto_advance`` finalize by themselves (SPEC §5), then collect as ``finalize`` does."""

from __future__ import annotations

from typing import Any

from tests.automation.conftest import (
    DECLINED_CARD,
    GOOD_CARD,
    advance,
    draft,
    event_types,
    invoice_now,
    payments_of,
    save_card,
)
from tests.conftest import Api


def test_an_auto_advance_draft_finalizes_an_hour_after_creation_and_is_charged(
        api: Api, customer: dict[str, Any], run_jobs: Any, db_session: Any) -> None:
    save_card(api, customer, GOOD_CARD)
    invoice = draft(api, customer, auto_advance=True)
    run_jobs()
    advance(api, 3590)
    run_jobs()
    assert invoice_now(api, invoice["id"])["status"] == "draft"
    advance(api, 20)
    run_jobs()
    done = invoice_now(api, invoice["id"])
    assert done["status"] == "paid" and done["number"] == "ACME-0001" and done["amount_paid"] == 120000
    [payment] = payments_of(db_session, invoice["id"])
    assert payment.automatic and payment.status.value == "completed"
    types = event_types(api, invoice["id"])
    assert {"invoice.finalized", "payment.completed", "invoice.paid"} <= set(types)
    assert types.index("invoice.finalized") < types.index("invoice.paid")


def test_the_delay_is_the_accounts_setting(api: Api, customer: dict[str, Any], run_jobs: Any) -> None:
    api.ok("POST", "/v1/account/settings", {"auto_advance_delay": 60})
    invoice = draft(api, customer, auto_advance=True, collection_method="send_invoice", days_until_due=30)
    advance(api, 61)
    run_jobs()
    found = invoice_now(api, invoice["id"])
    assert found["status"] == "open" and found["hosted_invoice_url"]


def test_a_draft_created_after_the_clock_moved_still_waits_its_hour(api: Api, customer: dict[str, Any],
                                                                   run_jobs: Any) -> None:
    now = advance(api, 5 * 86400)
    invoice = draft(api, customer, auto_advance=True)
    assert abs(invoice["created"] - now) < 60  # dated by the test clock
    run_jobs()
    assert invoice_now(api, invoice["id"])["status"] == "draft"
    advance(api, 3601)
    run_jobs()
    assert invoice_now(api, invoice["id"])["status"] == "open"


def test_a_draft_without_auto_advance_stays_a_draft(api: Api, customer: dict[str, Any], run_jobs: Any) -> None:
    invoice = draft(api, customer)
    advance(api, 2 * 86400)
    run_jobs()
    assert invoice_now(api, invoice["id"])["status"] == "draft"


def test_auto_advance_switched_off_before_the_hour_keeps_the_draft(api: Api, customer: dict[str, Any],
                                                                   run_jobs: Any) -> None:
    invoice = draft(api, customer, auto_advance=True)
    api.ok("POST", f"/v1/invoices/{invoice['id']}", {"auto_advance": False})
    advance(api, 3700)
    run_jobs()
    assert invoice_now(api, invoice["id"])["status"] == "draft"


def test_auto_advance_switched_on_later_finalizes_the_old_draft_at_once(api: Api, customer: dict[str, Any],
                                                                        run_jobs: Any) -> None:
    invoice = draft(api, customer)
    advance(api, 3 * 3600)  # by the test clock the draft is three hours old
    api.ok("POST", f"/v1/invoices/{invoice['id']}", {"auto_advance": True})
    run_jobs()
    assert invoice_now(api, invoice["id"])["status"] == "open"  # no card: open, to be paid on the page


def test_a_draft_that_cannot_be_finalized_says_why_and_stays_a_draft(api: Api, run_jobs: Any) -> None:
    customer = api.ok("POST", "/v1/customers", {"name": "No Email Ltd"})
    invoice = draft(api, customer, auto_advance=True, collection_method="send_invoice", days_until_due=14)
    advance(api, 3601)
    run_jobs()
    found = invoice_now(api, invoice["id"])
    assert found["status"] == "draft" and found["number"] is None
    assert found["last_finalization_error"]["code"] == "customer_email_missing"
    assert "email" in found["last_finalization_error"]["message"]
    [failed] = api.ok("GET", "/v1/events", query_string={"type": "invoice.finalization_failed"})["data"]
    assert failed["data"]["id"] == invoice["id"] and failed["data"]["last_finalization_error"]
    # Fixed by the merchant: finalizing by hand clears the error, and numbers have no gap.
    api.ok("POST", f"/v1/customers/{customer['id']}", {"email": "ap@noemail.example"})
    finalized = api.ok("POST", f"/v1/invoices/{invoice['id']}/finalize")
    assert finalized["last_finalization_error"] is None and finalized["number"] == "ACME-0001"


def test_a_declined_automatic_charge_leaves_the_invoice_open_with_the_next_try(
        api: Api, customer: dict[str, Any], run_jobs: Any) -> None:
    save_card(api, customer, DECLINED_CARD)
    invoice = draft(api, customer, auto_advance=True)
    now = advance(api, 3601)
    run_jobs()
    found = invoice_now(api, invoice["id"])
    assert found["status"] == "open" and found["attempt_count"] == 1
    assert found["last_payment_error"]["code"] == "card_declined"
    assert abs(found["next_payment_attempt"] - (now + 3 * 86400)) < 60


def test_the_job_running_again_finalizes_once(app: Any, api: Api, customer: dict[str, Any], run_jobs: Any,
                                              db_session: Any) -> None:
    from app.automation import runs
    from app.jobs.claims import ClaimedJob
    from app.payments.flow import money_flow_of

    save_card(api, customer, GOOD_CARD)
    invoice = draft(api, customer, auto_advance=True)
    advance(api, 3601)
    run_jobs()
    again = ClaimedJob(id=0, kind="invoice.auto_finalize", subject=invoice["id"], payload={}, attempts=2,
                       account_id=api.account_id, livemode=False)
    runs.auto_finalize(db_session, again, money_flow_of(app), secret_key=app.config["SECRET_KEY"])
    db_session.flush()
    assert invoice_now(api, invoice["id"])["number"] == "ACME-0001"
    assert len(payments_of(db_session, invoice["id"])) == 1


def test_a_finalized_auto_advance_invoice_never_charged_is_collected_when_its_hour_comes(
        api: Api, customer: dict[str, Any], run_jobs: Any, db_session: Any) -> None:
    # As after a worker that finalized it and stopped before charging: open, no attempt yet.
    invoice = draft(api, customer, auto_advance=True)
    assert api.ok("POST", f"/v1/invoices/{invoice['id']}/finalize")["attempt_count"] == 0  # no card yet
    save_card(api, customer, GOOD_CARD)
    advance(api, 3601)
    run_jobs()
    assert invoice_now(api, invoice["id"])["status"] == "paid"
    assert len(payments_of(db_session, invoice["id"])) == 1


def test_an_invoice_the_merchant_is_collecting_is_left_to_them(api: Api, customer: dict[str, Any],
                                                               run_jobs: Any, db_session: Any) -> None:
    invoice = draft(api, customer, auto_advance=True)
    api.ok("POST", f"/v1/invoices/{invoice['id']}/finalize")  # no card yet: nothing tried
    save_card(api, customer, DECLINED_CARD)
    declined = api.ok("POST", f"/v1/invoices/{invoice['id']}/pay")
    assert declined["attempt_count"] == 1
    advance(api, 3601)
    run_jobs()
    [payment] = payments_of(db_session, invoice["id"])  # the merchant's own; no dunning started
    assert not payment.automatic and invoice_now(api, invoice["id"])["next_payment_attempt"] is None
