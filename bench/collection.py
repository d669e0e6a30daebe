"""Collection over time (SPEC §5): one worker's emails to a local mail server, and what the
worker costs per due job when 10,000 invoices are scheduled.

1. Emails/s: N invoice emails queued in one transaction (``queue_email``, as
   ``POST /v1/invoices/{id}/send`` queues them), then one real worker (``flask --app wsgi worker``)
   started, sending over ``VINR_SMTP_URL`` to an aiosmtpd server in a process of its own: emails
   from the first received to the last, each Message-ID exactly once. No target was set.
2. Scheduler: K reminders made due by moving one account's test clock, run by an in-process
   ``app.worker.runner.Worker.run_due()``: time and SQL statements per job, and of an idle tick,
   with 10,000 invoices scheduled (their reminders planned days ahead) / with a handful.
   Targets ≤ 1.5.

Rounds take turns between the databases. Prints a Markdown table for docs/performance.md;
processes and databases are removed on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import multiprocessing
import os
import queue
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from app import clock, tokens
from app.accounts import clocks, settings
from app.accounts.schemas import SettingsUpdate
from app.accounts.service import Caller, create_merchant
from app.customers.models import Customer
from app.customers.schemas import CustomerCreate
from app.customers.service import create_customer
from app.emails.models import Email, EmailStatus
from app.emails.service import queue_email
from app.extensions import db
from app.ids import new_id
from app.invoices.models import Invoice, InvoiceLine
from app.invoices.schedule import DAY, plan_reminders, reminder_jobs
from app.jobs.models import Job, JobStatus
from app.jobs.queue import enqueue_many
from app.worker.runner import Worker as JobWorker
from bench.deliveries import Worker
from bench.harness import Databases
from bench.run import PUBLIC_URL, SECRET_KEY, interleave, log, prepare_vinr

AMOUNT = 12_500  # minor units, one line per invoice
# How the claim's read of due jobs (claims._CANDIDATES, every lane's) begins, and what it has:
# an idle tick sends it and nothing more.
CLAIM = ("SELECT anon_1.id, anon_1.kind, anon_1.lane", "UNION ALL")


# -- 1. emails to a local mail server


def serve_smtp(port: int, out: Any) -> None:
    """The mail server process: aiosmtpd on ``port``, taking every message. Puts "ready" on ``out``,
    then per message (its Message-ID, the Unix time its DATA ended, its recipients)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the bench stops it
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            at = time.time()
            headers = BytesHeaderParser().parsebytes(envelope.content)
            out.put((str(headers.get("Message-ID", "")), at, list(envelope.rcpt_tos)))
            return "250 Message accepted for delivery"

    Controller(Handler(), hostname="127.0.0.1", port=port).start()
    out.put("ready")
    threading.Event().wait()


class MailServer:
    """The mail server process, and what it has reported: every arrival time per Message-ID."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        ctx = multiprocessing.get_context("spawn")
        self.queue: Any = ctx.Queue()
        self.proc = ctx.Process(target=serve_smtp, args=(port, self.queue), daemon=True)
        self.proc.start()
        if self.queue.get(timeout=60) != "ready":
            raise RuntimeError("the mail server did not start")
        self.url = f"smtp://127.0.0.1:{port}"
        self.at: dict[str, list[float]] = {}
        self.to: dict[str, list[str]] = {}

    def _take(self, timeout: float) -> None:
        message_id, at, rcpt_tos = self.queue.get(timeout=timeout)
        self.at.setdefault(message_id, []).append(at)
        self.to[message_id] = rcpt_tos

    def wait(self, message_ids: set[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not message_ids <= self.at.keys():
            try:
                self._take(max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                missing = len(message_ids - self.at.keys())
                raise RuntimeError(f"the mail server is missing {missing} of {len(message_ids)} emails") from None

    def drain(self, seconds: float) -> None:
        """What arrives within ``seconds`` more (a duplicate would)."""
        deadline = time.monotonic() + seconds
        with contextlib.suppress(queue.Empty):
            while True:
                self._take(max(0.0, deadline - time.monotonic()))


def seed_invoices(session: Session, account_id: str, customer: Customer, due_dates: list[int], tag: str) -> list[str]:
    """Insert one open ``send_invoice`` invoice of one line per due date with SQLAlchemy Core, as
    ``finalize`` leaves them (number, hosted link) but with nothing planned. Their ids, in that order."""
    now, ids, invoices, lines = clock.now(), [], [], []
    for i, due_date in enumerate(due_dates):
        invoice_id = new_id("inv")
        ids.append(invoice_id)
        invoices.append({
            "id": invoice_id, "account_id": account_id, "livemode": False, "created": now - 60,
            "customer_id": customer.id, "status": "open", "number": f"{tag}-{i + 1:06d}", "currency": "eur",
            "collection_method": "send_invoice", "days_until_due": 30, "due_date": due_date,
            "subtotal": AMOUNT, "total": AMOUNT, "amount_due": AMOUNT, "customer_email": customer.email,
            "hosted_token": tokens.mint(tokens.HOSTED_INVOICE, {"i": invoice_id, "a": account_id},
                                        secret_key=current_app.config["SECRET_KEY"]),
            "finalized_at": now - 60})
        lines.append({"id": new_id("il"), "invoice_id": invoice_id, "position": 0, "description": "Consulting",
                      "quantity": 1, "unit_amount": AMOUNT, "amount": AMOUNT, "discount_amount": 0})
    for start in range(0, len(ids), 5000):
        session.execute(sa.insert(Invoice), invoices[start:start + 5000])
        session.execute(sa.insert(InvoiceLine), lines[start:start + 5000])
    return ids


def new_merchant(session: Session, name: str, prefix: str) -> tuple[Caller, Customer]:
    """An account (test mode) and a customer of it with an email address."""
    caller = Caller(account=create_merchant(session, name, prefix).account, livemode=False)
    return caller, create_customer(session, caller, CustomerCreate(email=f"{prefix.lower()}@example.com"))


def wait_idle(app: Flask, name: str, timeout: float = 120) -> None:
    """Until no job is due or running: everything queued so far done and recorded."""
    busy = (sa.select(sa.func.count()).select_from(Job)
            .where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]), Job.due_at <= sa.bindparam("now")))
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            if not db.session.scalar(busy, {"now": time.time()}):
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name}: jobs still due after {timeout:.0f} s")
        time.sleep(0.05)


class Mailing:
    """Figure 1 on one database: a database of its own, one merchant and customer, the worker process."""

    def __init__(self, name: str, dbs: Databases, mail: MailServer, work: Path, stack: contextlib.ExitStack) -> None:
        url = dbs.new(name, "emails")
        self.name, self.mail, self.rounds = name, mail, 0
        self.app, _ = prepare_vinr(url)
        env = {"VINR_DATABASE_URL": url, "VINR_SECRET_KEY": SECRET_KEY, "VINR_PUBLIC_URL": PUBLIC_URL,
               "VINR_SMTP_URL": mail.url}
        self.worker = Worker(f"{name} worker", "", env, work / f"worker-{name}.log")
        stack.callback(self.worker.stop)
        with self.app.app_context():
            caller, customer = new_merchant(db.session, "Mailing", "MAIL")
            db.session.commit()
            self.account_id, self.customer_id, self.address = caller.account.id, customer.id, str(customer.email)

    def round(self, count: int) -> float:
        """Queue ``count`` invoice emails in one transaction, start a worker, and return the seconds
        from the first email received to the last; the worker is stopped after."""
        self.rounds += 1
        with self.app.app_context():
            session = db.session
            customer = session.get_one(Customer, self.customer_id)
            ids = seed_invoices(session, self.account_id, customer, [clock.now() + 30 * DAY] * count, f"M{self.rounds}")
            invoices = session.scalars(sa.select(Invoice).where(Invoice.id.in_(ids))).all()
            emails = [queue_email(session, "invoice", invoice) for invoice in invoices]
            session.commit()
            message_ids = {email.message_id for email in emails if email is not None}
        if len(message_ids) != count:
            raise RuntimeError(f"{self.name}: {len(message_ids)} emails queued for {count} invoices")
        self.worker.start()
        self.mail.wait(message_ids, 300)
        wait_idle(self.app, self.name)
        self.worker.stop()
        self.mail.drain(0.5)
        twice = [m for m in message_ids if len(self.mail.at[m]) != 1]
        stray = [m for m in message_ids if self.mail.to[m] != [self.address]]
        with self.app.app_context():
            unsent = db.session.scalar(sa.select(sa.func.count()).select_from(Email).where(
                Email.message_id.in_(message_ids), Email.status != EmailStatus.SENT))
        if twice or stray or unsent:
            raise RuntimeError(f"{self.name}: {len(twice)} emails arrived more than once, {len(stray)} to the "
                               f"wrong address, {unsent} not recorded as sent")
        first = [self.mail.at[m][0] for m in message_ids]
        return max(first) - min(first)


# -- 2. the worker's cost per due job, with few and with 10,000 invoices scheduled


class Scheduling:
    """Figure 2 on one database: a database of its own, a backlog account whose invoices have their
    reminders planned days ahead, and an in-process worker whose SQL statements are counted."""

    def __init__(self, name: str, dbs: Databases, few: int) -> None:
        self.name, self.rounds, self.statements = name, 0, 0
        self.claim: tuple[str, Any] | None = None  # the last claim statement, and its parameters
        self.app, _ = prepare_vinr(dbs.new(name, "schedule"))
        self.app.config["SMTP_URL"] = None  # the local outbox: this figure is the worker's, not a mail server's
        self.per_job: dict[str, list[tuple[float, float, int, int]]] = {}  # seconds, CPU seconds, statements, jobs
        self.idle: dict[str, list[tuple[float, int, float]]] = {}  # seconds, statements, claim statement seconds
        self.claim_seconds, self._claim_started = 0.0, 0.0
        self.queued: dict[str, int] = {}
        with self.app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", self._count)
            sa.event.listen(db.engine, "after_cursor_execute", self._counted)
            backlog, customer = new_merchant(db.session, "Backlog", "BACK")
            db.session.commit()
            self.backlog_id, self.backlog_customer_id = backlog.account.id, customer.id
        self.scheduled = 0
        self.schedule(few)
        self.worker = JobWorker(self.app)
        self.worker.run_due()  # queues and runs the periodic housekeeping jobs of this time slot
        # ... and keeps them out of the rounds: their next slots (every 60 s) would add jobs.
        self.worker._next_schedule = math.inf

    def _count(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
               _executemany: bool) -> None:
        self.statements += 1
        if statement.startswith(CLAIM[0]) and CLAIM[1] in statement:
            self.claim, self._claim_started = (statement, parameters), time.perf_counter()

    def _counted(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith(CLAIM[0]) and CLAIM[1] in statement:
            self.claim_seconds = time.perf_counter() - self._claim_started  # sent to its answer, as the driver sees

    def schedule(self, total: int) -> None:
        """Bring the backlog to ``total`` open send_invoice invoices, due in 5 to 35 days, each with the
        reminders ``plan_reminders`` plans (3 days before, 1 and 7 days after: 3 jobs), in one transaction."""
        count = total - self.scheduled
        if count <= 0:
            return
        with self.app.app_context():
            session = db.session
            customer = session.get_one(Customer, self.backlog_customer_id)
            now, account_id = clock.now(), self.backlog_id
            schedule = settings.schedule_for(session, account_id, False)
            due_dates = [now + 5 * DAY + i * 30 * DAY // count for i in range(count)]  # spread over 30 days
            ids = seed_invoices(session, account_id, customer, due_dates, f"B{self.scheduled}")
            # The rows plan_reminders writes (kind, keys, account clock), in one executemany.
            jobs = []
            for invoice_id, due in zip(ids, due_dates, strict=True):
                jobs += reminder_jobs(invoice_id, account_id, False, due, schedule, now=now)
            enqueue_many(session, jobs)
            session.commit()
            if db.engine.dialect.name == "postgresql":  # as autovacuum would after a bulk load
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(sa.text("ANALYZE"))
        self.scheduled = total

    def count_queued(self) -> int:
        with self.app.app_context():
            count = db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(
                Job.status == JobStatus.QUEUED))
            db.session.rollback()
        return int(count or 0)

    def due_round(self, phase: str, due: int, idle_ticks: int) -> float:
        """A new account with ``due`` open send_invoice invoices, due in 10 days, planned by
        ``plan_reminders`` with one reminder each (3 days before: the account's schedule has none after,
        so nothing of the round stays queued); its clock moved 7 days on. Timed: ``run_due``, which runs
        the reminders and the emails they queue. Then ``idle_ticks`` timed ``run_due`` that find nothing."""
        self.rounds += 1
        with self.app.app_context():
            session = db.session
            caller, customer = new_merchant(session, f"Due {self.rounds}", f"DUE{self.rounds}")
            settings.update(session, caller, SettingsUpdate(reminder_days_after_due=[]))
            ids = seed_invoices(session, caller.account.id, customer, [clock.now() + 10 * DAY] * due, "D")
            for invoice in session.scalars(sa.select(Invoice).where(Invoice.id.in_(ids))):
                plan_reminders(session, invoice)
            session.commit()
            clocks.advance(session, caller, 7 * DAY + 3600)
            session.commit()
            account_id = caller.account.id
        statements, started, cpu = self.statements, time.perf_counter(), time.process_time()
        ran = self.worker.run_due()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        self.per_job.setdefault(phase, []).append((seconds, cpu, self.statements - statements, ran))
        with self.app.app_context():
            sent = db.session.scalar(sa.select(sa.func.count()).select_from(Email).where(
                Email.account_id == account_id, Email.kind == "reminder_before", Email.status == EmailStatus.SENT))
            db.session.rollback()
        if ran != 2 * due or sent != due:
            raise RuntimeError(f"{self.name}: {ran} jobs ran and {sent} reminders were sent for {due} due")
        for _ in range(idle_ticks):
            statements, started = self.statements, time.perf_counter()
            ran = self.worker.run_due()
            self.idle.setdefault(phase, []).append((time.perf_counter() - started, self.statements - statements,
                                                    self.claim_seconds))
            if ran:
                raise RuntimeError(f"{self.name}: an idle tick ran {ran} jobs")
        return seconds

    def claim_plan(self) -> str:
        """How the database runs the last claim statement (the one of an idle tick), in short."""
        if self.claim is None:
            raise RuntimeError("no claim statement was seen")
        statement, parameters = self.claim
        with self.app.app_context():
            conn = db.session.connection()
            if db.engine.dialect.name == "sqlite":
                rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
                steps = [str(row[3]) for row in rows]
            else:
                rows = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
                steps = [str(row[0]).strip(" ->").split("  (")[0] for row in rows if "Scan" in str(row[0])]
            db.session.rollback()
        return "; ".join(steps)


# -- the run


def cost_rows(sched: Scheduling) -> list[str]:
    few, many = sched.per_job["few"], sched.per_job["many"]

    def per_job(rounds: list[tuple[float, float, int, int]]) -> str:
        jobs = sum(r[3] for r in rounds)
        rates = [1000 * r[0] / r[3] for r in rounds]
        return (f"{1000 * sum(r[0] for r in rounds) / jobs:.2f} ({min(rates):.2f}–{max(rates):.2f}); "
                f"{1000 * sum(r[1] for r in rounds) / jobs:.2f} CPU; {sum(r[2] for r in rounds) / jobs:.1f} SQL")

    def idle(ticks: list[tuple[float, int, float]]) -> tuple[float, float, str]:
        median = 1000 * statistics.median(t[0] for t in ticks)
        claim = 1000 * statistics.median(t[2] for t in ticks)
        return median, claim, f"{median:.2f}; claim {claim:.2f}; {statistics.mean(t[1] for t in ticks):.1f} SQL"

    def ratio(i: int) -> float:  # of the rounds' sums per job: seconds (0), CPU seconds (1), statements (2)
        return (sum(r[i] for r in many) / sum(r[3] for r in many)) / (sum(r[i] for r in few) / sum(r[3] for r in few))

    cost = [a[0] / a[3] / (b[0] / b[3]) for a, b in zip(many, few, strict=False)]
    (idle_few, claim_few, idle_few_text), (idle_many, claim_many, idle_many_text) = (idle(sched.idle["few"]),
                                                                                    idle(sched.idle["many"]))
    return [per_job(few), per_job(many),
            f"**{ratio(0):.2f}** ({min(cost):.2f}–{max(cost):.2f}); CPU {ratio(1):.2f}; SQL {ratio(2):.2f}",
            idle_few_text, idle_many_text, f"**{idle_many / idle_few:.2f}**; claim {claim_many / claim_few:.2f}"]


def measure(mailings: dict[str, Mailing], scheds: dict[str, Scheduling],
            args: argparse.Namespace) -> tuple[dict[str, list[str]], dict[str, str]]:
    names = list(mailings)
    log(f"emails: {args.rounds} rounds of {args.emails} per database")
    spans = interleave(args.rounds, names, lambda name, _r: mailings[name].round(args.emails))
    log(f"scheduler: warm-up, then {args.due_rounds} rounds of {args.due} due per database, "
        f"{args.few} invoices scheduled")
    for sched in scheds.values():
        sched.due_round("warm-up", args.due, 5)

    def run_case(case: str) -> None:
        for sched in scheds.values():
            sched.queued[case] = sched.count_queued()
        interleave(args.due_rounds, names, lambda name, _r: scheds[name].due_round(case, args.due, args.idle))

    run_case("few")
    for name, sched in scheds.items():
        started = time.perf_counter()
        sched.schedule(args.scheduled)
        log(f"{name}: {args.scheduled:,} invoices scheduled in {time.perf_counter() - started:.0f} s")
    log(f"scheduler: {args.due_rounds} rounds of {args.due} due per database, {args.scheduled:,} scheduled")
    run_case("many")
    out: dict[str, list[str]] = {}
    plans: dict[str, str] = {}
    for name in names:
        rates = [args.emails / s for s in spans[name]]
        out[name] = [f"**{args.emails * args.rounds / sum(spans[name]):.0f}** ({min(rates):.0f}–{max(rates):.0f})",
                     *cost_rows(scheds[name])]
        plans[name] = scheds[name].claim_plan()
    return out, plans


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench collection", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--emails", type=int, default=600, help="emails per round (600)")
    parser.add_argument("--rounds", type=int, default=3, help="email rounds per database (3)")
    parser.add_argument("--scheduled", type=int, default=10_000, help="invoices scheduled, large case (10000)")
    parser.add_argument("--few", type=int, default=10, help="invoices scheduled, baseline (10)")
    parser.add_argument("--due", type=int, default=100, help="reminders made due per round (100)")
    parser.add_argument("--due-rounds", type=int, default=5, help="rounds per database and case (5)")
    parser.add_argument("--idle", type=int, default=40, help="idle ticks timed after each round (40)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="where to create and drop the run's vinr_bench_<pid>_{emails,schedule} databases")
    args = parser.parse_args(argv)
    if min(args.emails, args.rounds, args.due, args.due_rounds, args.idle) < 1 or not 0 < args.few < args.scheduled:
        parser.error("counts must be positive, and --few below --scheduled")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    names = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    started, load = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="vinr-bench-") as work, contextlib.ExitStack() as stack:
        dbs = Databases(Path(work), args.pg)
        stack.callback(dbs.drop_all)  # last: after the processes using them stop
        mailings: dict[str, Mailing] = {}
        try:
            mail = MailServer()
            stack.callback(mail.proc.terminate)
            for name in names:
                mailings[name] = Mailing(name, dbs, mail, Path(work), stack)
            scheds: dict[str, Scheduling] = {}
            for name in names:
                scheds[name] = Scheduling(name, dbs, args.few)
                stack.callback(dispose, scheds[name].app)
            results, plans = measure(mailings, scheds, args)
            queued = {name: (s.queued["few"], s.queued["many"]) for name, s in scheds.items()}
        except KeyboardInterrupt:
            log("interrupted: stopping the processes, dropping the databases")
            return 130
        except Exception:
            for mailing in mailings.values():
                log(f"--- {mailing.worker.name} log (last lines) ---\n{mailing.worker.tail()}")
            raise
    titles = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    rows = [("**Emails/s, one worker to a local SMTP server** (rounds)", "none set"),
            (f"Due jobs, {args.few} invoices scheduled: ms per job (rounds); CPU ms; SQL statements", ""),
            (f"Due jobs, {args.scheduled:,} invoices scheduled: ms per job (rounds); CPU ms; SQL statements", ""),
            (f"**Cost per due job, {args.scheduled:,} / {args.few} scheduled** (rounds); CPU; SQL", "≤ 1.5"),
            (f"Idle tick, {args.few} invoices scheduled: median ms; of it the claim statement; SQL statements", ""),
            (f"Idle tick, {args.scheduled:,} invoices scheduled: median ms; of it the claim statement; SQL statements",
             ""),
            (f"**Idle tick, {args.scheduled:,} / {args.few} scheduled**; claim statement", "≤ 1.5")]
    print("| figure | " + " | ".join(titles[name] for name in names) + " | target |")
    print("|---|" + "---:|" * len(names) + "---|")
    for i, (label, target) in enumerate(rows):
        print(f"| {label} | " + " | ".join(results[name][i] for name in names) + f" | {target} |")
    print(f"\n{args.rounds} rounds x {args.emails} emails; {args.due_rounds} rounds x {args.due} due reminders "
          f"(each with its email: {2 * args.due} jobs) and {args.idle} idle ticks per case; jobs queued at the start "
          "of each case: " + ", ".join(f"{titles[n]} {q[0]:,} and {q[1]:,}" for n, q in queued.items()) +
          f"; {os.cpu_count()} CPUs, load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
          f"{time.perf_counter() - started:.0f} s in all.")
    for name, plan in plans.items():
        print(f"\nClaim statement at {args.scheduled:,} scheduled, {titles[name]}: {plan}.")
    return 0


def dispose(app: Flask) -> None:
    """Close the in-process app's connections (before its database is dropped)."""
    with app.app_context():
        db.engine.dispose()
