"""Reminders for send_invoice invoices before and after the due date, and "Past due"
on the hosted page, on the account's clock (SPEC §5, §7)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from app.automation import runs
from app.jobs.claims import ClaimedJob
from tests.automation.conftest import DAY, advance, draft, emails_of, invoice_now
from tests.conftest import Api
from tests.emails.smtp import SmtpServer


def sent_invoice(api: Api, customer: dict[str, Any], days: int = 14) -> dict[str, Any]:
    invoice = draft(api, customer, collection_method="send_invoice", days_until_due=days)
    return api.ok("POST", f"/v1/invoices/{invoice['id']}/finalize")


def reminders(db_session: Any, api: Api) -> list[tuple[str, int | None]]:
    return [(e.kind, e.days) for e in emails_of(db_session, api.account_id) if e.kind.startswith("reminder")]


def test_reminders_before_and_after_the_due_date_each_once(api: Api, customer: dict[str, Any], run_jobs: Any,
                                                           db_session: Any, smtp: SmtpServer,
                                                           client: FlaskClient) -> None:
    invoice = sent_invoice(api, customer)
    page = invoice["hosted_invoice_url"].removeprefix("https://pay.example.test")
    assert invoice["due_date"] - invoice["status_transitions"]["finalized_at"] == 14 * DAY
    advance(api, 11 * DAY - 60)
    run_jobs()
    assert reminders(db_session, api) == []
    advance(api, 120)
    run_jobs()
    assert reminders(db_session, api) == [("reminder_before", 3)]
    [message] = smtp.mailbox.messages
    assert message["Auto-Submitted"] == "auto-generated" and invoice["number"] in message["Subject"]
    assert invoice["hosted_invoice_url"] in message.get_body(preferencelist=("plain",)).get_content()
    assert b"Past due" not in client.get(page).data
    advance(api, 3 * DAY)  # past the due date, by the test clock
    assert b"Past due" in client.get(page).data
    run_jobs()
    advance(api, DAY)
    run_jobs()
    assert reminders(db_session, api) == [("reminder_before", 3), ("reminder_after", 1)]
    assert "overdue" in str(smtp.mailbox.messages[-1]["Subject"])
    assert invoice_now(api, invoice["id"])["last_sent_at"] is not None
    advance(api, 30 * DAY)
    run_jobs()
    run_jobs()
    assert reminders(db_session, api) == [("reminder_before", 3), ("reminder_after", 1), ("reminder_after", 7)]
    assert len(smtp.mailbox.messages) == 3


def test_no_reminder_once_the_invoice_is_paid_void_or_uncollectible(api: Api, customer: dict[str, Any],
                                                                    run_jobs: Any, db_session: Any) -> None:
    paid, voided, given_up = (sent_invoice(api, customer) for _ in range(3))
    api.ok("POST", f"/v1/invoices/{paid['id']}/pay", {"paid_out_of_band": True})
    api.ok("POST", f"/v1/invoices/{voided['id']}/void")
    api.ok("POST", f"/v1/invoices/{given_up['id']}/mark_uncollectible")
    advance(api, 30 * DAY)
    run_jobs()
    assert reminders(db_session, api) == []


def test_days_already_past_at_finalization_are_skipped(api: Api, customer: dict[str, Any], run_jobs: Any,
                                                       db_session: Any) -> None:
    sent_invoice(api, customer, days=2)  # three days before the due date was yesterday
    advance(api, 10 * DAY)
    run_jobs()
    assert reminders(db_session, api) == [("reminder_after", 1), ("reminder_after", 7)]


def test_the_days_are_the_accounts_setting(api: Api, customer: dict[str, Any], run_jobs: Any,
                                           db_session: Any) -> None:
    api.ok("POST", "/v1/account/settings", {"reminder_days_before_due": [7, 1], "reminder_days_after_due": []})
    sent_invoice(api, customer)
    advance(api, 40 * DAY)
    run_jobs()
    assert sorted(reminders(db_session, api)) == [("reminder_before", 1), ("reminder_before", 7)]


def test_a_reminder_job_that_runs_twice_sends_once(api: Api, customer: dict[str, Any], run_jobs: Any,
                                                   db_session: Any) -> None:
    invoice = sent_invoice(api, customer)
    advance(api, 12 * DAY)
    run_jobs()
    again = ClaimedJob(id=0, kind="invoice.remind", subject=invoice["id"], payload={"when": "before", "days": 3},
                       attempts=2, account_id=api.account_id, livemode=False)
    runs.remind(db_session, again)
    assert reminders(db_session, api) == [("reminder_before", 3)]


def test_charge_automatically_invoices_get_no_reminders(api: Api, customer: dict[str, Any], run_jobs: Any,
                                                        db_session: Any) -> None:
    invoice = draft(api, customer)
    api.ok("POST", f"/v1/invoices/{invoice['id']}/finalize")
    advance(api, 40 * DAY)
    run_jobs()
    assert reminders(db_session, api) == []


def test_a_reminder_held_up_by_the_mail_server_is_not_sent_once_the_invoice_is_paid(
        api: Api, customer: dict[str, Any], run_jobs: Any, db_session: Any, smtp: SmtpServer) -> None:
    invoice = sent_invoice(api, customer)
    smtp.stop()
    advance(api, 11 * DAY + 60)
    run_jobs()  # the reminder's first try meets no mail server
    api.ok("POST", f"/v1/invoices/{invoice['id']}/pay", {"paid_out_of_band": True})
    smtp.start()
    advance(api, 3600)
    run_jobs()
    assert smtp.mailbox.messages == []
    [email] = [e for e in emails_of(db_session, api.account_id) if e.kind == "reminder_before"]
    assert email.status.value == "canceled" and "paid" in (email.last_error or "")
