"""Dunning (SPEC §5): a failed automatic collection is tried again on the account's
schedule with the customer's newest default card, and given up as uncollectible."""

from __future__ import annotations

from typing import Any

from app.automation import runs
from app.jobs.claims import ClaimedJob
from app.payments.flow import money_flow_of
from tests.automation.conftest import (
    DAY,
    DECLINED_CARD,
    GOOD_CARD,
    THREE_DS_CARD,
    advance,
    draft,
    emails_of,
    event_types,
    invoice_now,
    payments_of,
    save_card,
)
from tests.conftest import Api
from tests.emails.smtp import SmtpServer


def finalized(api: Api, customer: dict[str, Any]) -> dict[str, Any]:
    invoice = draft(api, customer)
    return api.ok("POST", f"/v1/invoices/{invoice['id']}/finalize")


def test_three_retries_on_the_default_schedule_then_uncollectible(api: Api, customer: dict[str, Any],
                                                                  run_jobs: Any, db_session: Any) -> None:
    save_card(api, customer, DECLINED_CARD)
    invoice = finalized(api, customer)
    assert invoice["status"] == "open" and invoice["attempt_count"] == 1
    planned = invoice["next_payment_attempt"]
    for attempt, wait in enumerate((3, 5, 7), start=2):
        now = advance(api, wait * DAY - 120)
        run_jobs()
        assert invoice_now(api, invoice["id"])["attempt_count"] == attempt - 1  # not before its time
        assert abs(planned - (now + 120)) < 60
        advance(api, 121)
        run_jobs()
        found = invoice_now(api, invoice["id"])
        assert found["attempt_count"] == attempt
        planned = found["next_payment_attempt"]
    assert found["status"] == "uncollectible" and found["next_payment_attempt"] is None
    assert found["status_transitions"]["marked_uncollectible_at"] is not None
    assert found["last_payment_error"]["decline_code"] == "generic_decline"
    types = event_types(api, invoice["id"])
    assert types.count("invoice.payment_failed") == 4 and types[-1] == "invoice.marked_uncollectible"
    advance(api, 30 * DAY)
    run_jobs()
    assert len(payments_of(db_session, invoice["id"])) == 4  # the schedule is over


def test_a_card_the_customer_updated_between_tries_is_the_one_charged(api: Api, customer: dict[str, Any],
                                                                      run_jobs: Any, db_session: Any) -> None:
    declined = save_card(api, customer, DECLINED_CARD)
    invoice = finalized(api, customer)
    fixed = save_card(api, customer, GOOD_CARD)  # as the hosted page's "Update payment method" does
    advance(api, 3 * DAY + 1)
    run_jobs()
    found = invoice_now(api, invoice["id"])
    assert found["status"] == "paid" and found["next_payment_attempt"] is None
    first, second = payments_of(db_session, invoice["id"])
    assert (first.payment_method_id, second.payment_method_id) == (declined["id"], fixed["id"])
    assert [e.kind for e in emails_of(db_session, api.account_id)] == ["receipt"]


def test_the_schedule_is_the_accounts_setting(api: Api, customer: dict[str, Any], run_jobs: Any) -> None:
    api.ok("POST", "/v1/account/settings", {"dunning_retry_days": [1]})
    save_card(api, customer, DECLINED_CARD)
    invoice = finalized(api, customer)
    assert invoice["next_payment_attempt"] is not None
    advance(api, DAY + 1)
    run_jobs()
    found = invoice_now(api, invoice["id"])
    assert found["attempt_count"] == 2 and found["status"] == "uncollectible"


def test_no_retries_configured_gives_up_after_the_first_decline(api: Api, customer: dict[str, Any],
                                                               run_jobs: Any, db_session: Any) -> None:
    api.ok("POST", "/v1/account/settings", {"dunning_retry_days": []})
    save_card(api, customer, DECLINED_CARD)
    invoice = finalized(api, customer)
    assert invoice["status"] == "uncollectible" and invoice["next_payment_attempt"] is None
    assert event_types(api, invoice["id"])[-2:] == ["invoice.payment_failed", "invoice.marked_uncollectible"]
    advance(api, 60 * DAY)
    run_jobs()
    assert len(payments_of(db_session, invoice["id"])) == 1  # never tried again by VINR
    paid = api.ok("POST", f"/v1/invoices/{invoice['id']}/pay", {"paid_out_of_band": True})
    assert paid["status"] == "paid"  # still payable, as any uncollectible invoice


def test_no_retries_configured_still_waits_for_a_customer_asked_to_authenticate(
        api: Api, customer: dict[str, Any], run_jobs: Any, db_session: Any) -> None:
    api.ok("POST", "/v1/account/settings", {"dunning_retry_days": []})
    save_card(api, customer, THREE_DS_CARD)
    invoice = finalized(api, customer)
    assert invoice["status"] == "open" and invoice["next_payment_attempt"] is None  # the customer's move
    save_card(api, customer, DECLINED_CARD)  # the customer's new card: tried at once, and declined
    run_jobs()
    found = invoice_now(api, invoice["id"])
    assert found["status"] == "uncollectible" and found["attempt_count"] == 2


def test_authentication_required_waits_for_the_customer_and_emails_the_link(
        api: Api, customer: dict[str, Any], run_jobs: Any, db_session: Any, smtp: SmtpServer) -> None:
    save_card(api, customer, THREE_DS_CARD)
    invoice = finalized(api, customer)
    assert invoice["status"] == "open" and invoice["next_payment_attempt"] is None
    assert invoice["last_payment_error"]["code"] == "authentication_required"
    run_jobs()
    [message] = smtp.mailbox.messages
    assert message["To"] == customer["email"] and invoice["number"] in message["Subject"]
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert invoice["hosted_invoice_url"] in text and "confirm" in text
    assert invoice_now(api, invoice["id"])["last_sent_at"] is not None
    advance(api, 20 * DAY)
    run_jobs()
    assert len(payments_of(db_session, invoice["id"])) == 1  # never tried again off-session
    assert invoice_now(api, invoice["id"])["status"] == "open"


def test_a_merchants_own_pay_does_not_start_dunning(api: Api, customer: dict[str, Any], run_jobs: Any,
                                                    db_session: Any) -> None:
    save_card(api, customer, DECLINED_CARD)
    invoice = draft(api, customer)
    api.ok("POST", f"/v1/invoices/{invoice['id']}/finalize", {"auto_advance": False})
    paid = api.ok("POST", f"/v1/invoices/{invoice['id']}/pay")
    assert paid["attempt_count"] == 1 and paid["next_payment_attempt"] is None
    advance(api, 10 * DAY)
    run_jobs()
    assert len(payments_of(db_session, invoice["id"])) == 1


def test_an_invoice_paid_or_voided_between_tries_is_not_charged_again(api: Api, customer: dict[str, Any],
                                                                      run_jobs: Any, db_session: Any) -> None:
    save_card(api, customer, DECLINED_CARD)
    paid, voided = finalized(api, customer), finalized(api, customer)
    api.ok("POST", f"/v1/invoices/{paid['id']}/pay", {"paid_out_of_band": True})
    api.ok("POST", f"/v1/invoices/{voided['id']}/void")
    advance(api, 20 * DAY)
    run_jobs()
    # No card charge since the first: the paid one's second payment is the merchant's out-of-band one.
    assert [p.payment_method_type for p in payments_of(db_session, paid["id"])] == ["card", "out_of_band"]
    assert len(payments_of(db_session, voided["id"])) == 1
    assert invoice_now(api, voided["id"])["next_payment_attempt"] is None


def test_a_try_that_runs_twice_charges_once(app: Any, api: Api, customer: dict[str, Any], run_jobs: Any,
                                            db_session: Any) -> None:
    save_card(api, customer, DECLINED_CARD)
    invoice = finalized(api, customer)
    advance(api, 3 * DAY + 1)
    run_jobs()
    assert len(payments_of(db_session, invoice["id"])) == 2
    # Delivery is at least once: the same try, run again, finds it made.
    again = ClaimedJob(id=0, kind="invoice.retry_payment", subject=invoice["id"], payload={"attempt": 2},
                       attempts=2, account_id=api.account_id, livemode=False)
    runs.retry_payment(db_session, again, money_flow_of(app))
    assert len(payments_of(db_session, invoice["id"])) == 2


def test_a_missed_day_is_caught_up_once(api: Api, customer: dict[str, Any], run_jobs: Any, db_session: Any) -> None:
    save_card(api, customer, DECLINED_CARD)
    invoice = finalized(api, customer)
    advance(api, 40 * DAY)  # the worker was away the whole schedule
    run_jobs()
    # The first try ran late, and planned the next from when it ran: one try per run, none twice.
    assert len(payments_of(db_session, invoice["id"])) == 2
    assert invoice_now(api, invoice["id"])["status"] == "open"


def test_a_try_with_no_card_left_counts_and_the_schedule_still_ends(api: Api, customer: dict[str, Any],
                                                                     run_jobs: Any, db_session: Any) -> None:
    save_card(api, customer, DECLINED_CARD)
    invoice = finalized(api, customer)
    api.ok("POST", f"/v1/customers/{customer['id']}", {"invoice_settings": {"default_payment_method": None}})
    advance(api, 3 * DAY + 1)
    run_jobs()
    found = invoice_now(api, invoice["id"])
    assert found["attempt_count"] == 2 and found["last_payment_error"]["code"] == "payment_method_missing"
    assert found["next_payment_attempt"] is not None  # the schedule goes on
    missing = payments_of(db_session, invoice["id"])[-1]
    assert missing.payment_method_id is None and missing.automatic
    assert [e.kind for e in emails_of(db_session, api.account_id)] == ["payment_action_required"]
    advance(api, 5 * DAY + 1)
    run_jobs()
    advance(api, 7 * DAY + 1)
    run_jobs()
    assert invoice_now(api, invoice["id"])["status"] == "uncollectible"


def test_a_new_card_after_an_authentication_request_is_tried_at_once(api: Api, customer: dict[str, Any],
                                                                     run_jobs: Any, db_session: Any) -> None:
    save_card(api, customer, THREE_DS_CARD)
    invoice = finalized(api, customer)
    assert invoice["next_payment_attempt"] is None  # waits for the customer
    save_card(api, customer, GOOD_CARD)  # as "Update payment method" on the hosted page does
    assert invoice_now(api, invoice["id"])["next_payment_attempt"] is not None
    run_jobs()
    found = invoice_now(api, invoice["id"])
    assert found["status"] == "paid" and found["attempt_count"] == 2
    assert payments_of(db_session, invoice["id"])[-1].automatic
