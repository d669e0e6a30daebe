"""Reminders for send_invoice invoices before and after the due date, and "Past due"
on the hosted page, on the account's clock (SPEC §5, §7)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from app.automation import runs
from app.emails.service import reminder_true_at
from app.jobs.claims import ClaimedJob
from tests.automation.conftest import DAY, advance, draft, emails_of, invoice_now
from tests.conftest import Api
from tests.emails.smtp import SmtpServer


def sent_invoice(api: Api, customer: dict[str, Any], days: int = 14) -> dict[str, Any]:
    invoice = draft(api, customer, collection_method="send_invoice", days_until_due=days)
    return api.ok("POST", f"/v1/invoices/{invoice['id']}/finalize")


def reminders(db_session: Any, api: Api) -> list[tuple[str, int | None]]:
    """The reminders sent or on their way, not those skipped (``canceled``)."""
    return [(e.kind, e.days) for e in emails_of(db_session, api.account_id)
            if e.kind.startswith("reminder") and e.status.value != "canceled"]


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
    advance(api, 6 * DAY)
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
    advance(api, 3 * DAY)
    run_jobs()
    advance(api, 6 * DAY)
    run_jobs()
    assert reminders(db_session, api) == [("reminder_after", 1), ("reminder_after", 7)]


def test_the_days_are_the_accounts_setting(api: Api, customer: dict[str, Any], run_jobs: Any,
                                           db_session: Any) -> None:
    api.ok("POST", "/v1/account/settings", {"reminder_days_before_due": [7, 1], "reminder_days_after_due": []})
    sent_invoice(api, customer)
    advance(api, 7 * DAY + 60)
    run_jobs()
    advance(api, 6 * DAY)
    run_jobs()
    advance(api, 30 * DAY)
    run_jobs()
    assert reminders(db_session, api) == [("reminder_before", 7), ("reminder_before", 1)]


def test_a_reminder_job_that_runs_twice_sends_once(api: Api, customer: dict[str, Any], run_jobs: Any,
                                                   db_session: Any) -> None:
    invoice = sent_invoice(api, customer)
    advance(api, 11 * DAY + 60)
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


JUMP_PAST_DUE = [
    ("en", "Reminder: invoice {number} from Acme GmbH is due in 3 days",
     "Invoice {number} from Acme GmbH is 1 day overdue"),
    ("de", "Erinnerung: Rechnung {number} von Acme GmbH ist in 3 Tagen fällig",
     "Rechnung {number} von Acme GmbH ist seit 1 Tag überfällig"),
]


@pytest.mark.parametrize(("locale", "stale", "true"), JUMP_PAST_DUE)
def test_a_jump_past_the_due_date_sends_only_the_reminder_still_true(
        api: Api, run_jobs: Any, db_session: Any, smtp: SmtpServer, locale: str, stale: str, true: str) -> None:
    customer = api.ok("POST", "/v1/customers", {"email": "kunde@example.com", "preferred_locales": [locale]})
    invoice = sent_invoice(api, customer)  # due in 14 days: "3 days before" is day 11
    advance(api, 15 * DAY)  # one step: the invoice is now 1 day overdue
    run_jobs()
    subjects = [" ".join(str(m["Subject"]).split()) for m in smtp.mailbox.messages]
    assert [s for s in subjects if stale.format(number=invoice["number"]) in s] == []
    assert len(subjects) == 1 and true.format(number=invoice["number"]) in subjects[0]
    skipped = [e for e in emails_of(db_session, api.account_id) if e.kind == "reminder_before"]
    assert [(e.days, e.status.value, e.last_error) for e in skipped] == [
        (3, "canceled", "not sent: the invoice is 1 day overdue")]


def test_after_a_longer_jump_one_overdue_reminder_says_how_overdue(
        api: Api, customer: dict[str, Any], run_jobs: Any, db_session: Any, smtp: SmtpServer) -> None:
    invoice = sent_invoice(api, customer)
    advance(api, 14 * DAY + 10 * DAY)  # past "1 day after" and "7 days after": 10 days overdue
    run_jobs()
    [message] = smtp.mailbox.messages
    assert f"Invoice {invoice['number']} from Acme GmbH is 10 days overdue" in str(message["Subject"])
    assert "was due 10 days ago" in message.get_body(preferencelist=("plain",)).get_content()
    assert sorted((e.kind, e.days, e.status.value) for e in emails_of(db_session, api.account_id)) == [
        ("reminder_after", 1, "canceled"), ("reminder_after", 10, "sent"), ("reminder_before", 3, "canceled")]


def test_a_reminder_held_up_by_the_mail_server_past_what_it_says_is_not_sent(
        api: Api, customer: dict[str, Any], run_jobs: Any, db_session: Any, smtp: SmtpServer) -> None:
    invoice = sent_invoice(api, customer)
    smtp.stop()
    advance(api, 11 * DAY + 60)
    run_jobs()  # "due in 3 days" is queued on time, and its first try meets no mail server
    assert reminders(db_session, api) == [("reminder_before", 3)]
    smtp.start()
    advance(api, 4 * DAY)  # the mail server is back when the invoice is 1 day overdue
    run_jobs()
    subjects = [str(m["Subject"]) for m in smtp.mailbox.messages]
    assert len(subjects) == 1 and f"{invoice['number']} from Acme GmbH is 1 day overdue" in subjects[0]
    [held] = [e for e in emails_of(db_session, api.account_id) if e.kind == "reminder_before"]
    assert held.status.value == "canceled" and held.last_error == "not sent: the invoice is 1 day overdue"


@pytest.mark.parametrize(("before_due", "true"), [
    (3 * DAY, ("reminder_before", 3)), (2 * DAY + 1, ("reminder_before", 3)), (2 * DAY, ("reminder_before", 2)),
    (1, ("reminder_before", 1)), (0, ("reminder_before", 0)), (-DAY + 1, ("reminder_before", 0)),
    (-DAY, ("reminder_after", 1)), (-2 * DAY + 1, ("reminder_after", 1)), (-7 * DAY, ("reminder_after", 7)),
])
def test_what_a_reminder_may_say_counts_whole_days_from_the_due_moment(before_due: int,
                                                                       true: tuple[str, int]) -> None:
    due = 1_800_000_000
    assert reminder_true_at(due, due - before_due) == true
