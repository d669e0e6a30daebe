"""``flask --app wsgi …`` commands (SPEC §1, §8). Each command owns its transaction."""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask, current_app

from app.errors import DomainError
from app.extensions import db

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config() -> Config:
    # Alembic (with Mako and Pygments, about 80 ms) is imported by the `db` commands only:
    # the app imports this module, and a web worker or `flask worker` never migrates.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", current_app.config["DATABASE_URL"].replace("%", "%%"))
    return cfg


def upgrade(revision: str = "head") -> None:
    """Bring the configured database to ``revision`` (used by the CLI and the tests)."""
    with db.engine.begin() as connection:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        from alembic import command

        command.upgrade(cfg, revision)


# create-merchant's business profile flags (option name -> the profile parameter it sets).
LEGAL_FLAGS = {
    "legal_name": "legal_name", "address_line1": "address[line1]", "address_line2": "address[line2]",
    "city": "address[city]", "postal_code": "address[postal_code]", "state": "address[state]",
    "country": "address[country]", "vat_id": "vat_id", "tax_number": "tax_number",
    "registration": "registration", "contact_name": "contact_name", "email": "email", "phone": "phone",
    "website": "website", "account_holder": "bank_account[account_holder]", "iban": "bank_account[iban]",
    "bic": "bank_account[bic]",
}
# And back, to name the flag of a refused parameter.
LEGAL_FLAGS_BY_PARAM = {param: flag for flag, param in LEGAL_FLAGS.items()}


def _legal_options(command: Callable[..., None]) -> Callable[..., None]:
    for flag, param in reversed(LEGAL_FLAGS.items()):
        command = click.option(f"--{flag.replace('_', '-')}", flag, default=None,
                               help=f"Business profile: {param}.")(command)
    return click.option("--small-business", "small_business", is_flag=True, default=None,
                        help="Business profile: VAT is not charged (German §19 UStG).")(command)


def _legal_body(legal: dict[str, str | bool | None]) -> dict[str, Any]:
    """The business profile update the flags given make (``address[city]`` -> nested)."""
    body: dict[str, Any] = {}
    for flag, value in legal.items():
        if value is None:
            continue
        param = LEGAL_FLAGS.get(flag, flag)
        head, _, rest = param.partition("[")
        if rest:
            body.setdefault(head, {})[rest.rstrip("]")] = value
        else:
            body[head] = value
    return body


def _stop_on_signals(stop: Callable[[], None]) -> None:
    """Call ``stop`` on each SIGTERM or SIGINT, from a thread of its own.

    A Python signal handler runs in the main thread between two bytecodes, possibly while
    that thread holds the lock of the very ``threading.Event`` that ``stop`` sets (the worker
    waits on one): the handler then waits for itself forever. A second SIGTERM, as killing a
    process group and ``./scripts/run`` both send, hit that every few stops. So the signals
    are blocked in this thread and every thread started after it, and one thread takes them
    with ``sigwait`` (POSIX's way to handle signals outside any interrupted code).
    """
    signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)

    def take_signals() -> None:
        while True:
            signal.sigwait(signals)
            stop()

    threading.Thread(target=take_signals, name="vinr-signals", daemon=True).start()


def register(app: Flask) -> None:
    @app.cli.group("db")
    def db_group() -> None:
        """Database schema (Alembic)."""

    @db_group.command("upgrade")
    @click.argument("revision", default="head")
    def db_upgrade(revision: str) -> None:
        """Bring the database to the current schema."""
        upgrade(revision)
        click.echo(f"database at {revision}")

    @db_group.command("downgrade")
    @click.argument("revision")
    def db_downgrade(revision: str) -> None:
        """Step the schema back to REVISION."""
        with db.engine.begin() as connection:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            from alembic import command

            command.downgrade(cfg, revision)

    @app.cli.command("create-merchant")
    @click.option("--name", required=True, help="Display name of the merchant.")
    @click.option("--prefix", default=None, help="Invoice number prefix, e.g. ACME (default: from the name).")
    @click.option("--currency", default="eur", show_default=True, help="Default invoice currency.")
    @click.option("--json", "as_json", is_flag=True, help="Print the account and keys as JSON.")
    @click.option("--save", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="Also write the JSON to this file (mode 0600), e.g. for a local demo.")
    @_legal_options
    def create_merchant_cmd(name: str, prefix: str | None, currency: str, as_json: bool, save: Path | None,
                            **legal: str | bool | None) -> None:
        """Create a merchant account; its secret keys are shown once. The legal flags fill its
        business profile (SPEC §10), which POST /v1/account/business_profile changes later."""
        from app.accounts.service import create_merchant
        from app.business_profile import service as profile
        from app.business_profile.schemas import BusinessProfileUpdate
        from app.validation import parse

        try:
            merchant = create_merchant(db.session, name, prefix, currency)
            body = _legal_body(legal)
            if body:
                profile.update_profile(db.session, merchant.account, parse(BusinessProfileUpdate, body))
            db.session.commit()
        except DomainError as error:
            flag = LEGAL_FLAGS_BY_PARAM.get(error.param or "", error.param or "name")
            raise click.UsageError(f"--{flag.replace('_', '-')}: {error.message}") from None
        out = {"id": merchant.account.id, "test_secret_key": merchant.test_secret_key,
               "live_secret_key": merchant.live_secret_key}
        text = json.dumps(out)
        if save is not None:
            save.parent.mkdir(parents=True, exist_ok=True)
            save.touch(mode=0o600)
            save.write_text(text + "\n")
        if as_json:
            click.echo(text)
        else:
            click.echo(f"Account {out['id']}\n  test key: {out['test_secret_key']}\n"
                       f"  live key: {out['live_secret_key']}\nThe keys are shown only now.")

    @app.cli.command("import-statement")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--account", "account_id", required=True, help="The merchant account (acct_…).")
    @click.option("--live", is_flag=True, help="Import into live mode (default: test mode).")
    @click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
    def import_statement_cmd(file: Path, account_id: str, live: bool, as_json: bool) -> None:
        """Import a camt.053 statement or camt.054 notification FILE (SPEC §12): each booked
        credit entry becomes a bank transaction once, applied to the invoice it names. A
        malformed file imports nothing."""
        from dataclasses import asdict

        from app.accounts.models import Account
        from app.accounts.service import Caller
        from app.banking.camt import MAX_STATEMENT_BYTES
        from app.banking.service import import_statement

        account = db.session.get(Account, account_id)
        if account is None:
            raise click.UsageError(f"--account: no account {account_id!r}")
        if file.stat().st_size > MAX_STATEMENT_BYTES:
            raise click.UsageError(f"{file}: over 10 MiB; split the statement")
        try:
            summary = import_statement(db.session, Caller(account=account, livemode=live), file.read_bytes())
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(f"{file}: {error.message}") from None
        if as_json:
            click.echo(json.dumps(asdict(summary)))
        else:
            click.echo(f"{summary.message}: {summary.entries} credit entries, {summary.created} new, "
                       f"{summary.duplicates} imported before; {summary.matched} matched, "
                       f"{summary.unmatched} unmatched; {summary.skipped} other entries skipped")

    @app.cli.command("worker")
    @click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 64),
                  help="Units of work run at once (threads): one account has at most half of them, "
                       "one webhook endpoint a quarter, one lane all but one.")
    @click.option("--burst", is_flag=True, help="Run the jobs due now, then exit.")
    @click.option("--lease", default=45.0, show_default=True, type=click.FloatRange(3, 3600),
                  help="Seconds a claimed job is held without a heartbeat before other workers take it.")
    def worker_cmd(concurrency: int, burst: bool, lease: float) -> None:
        """Run background work: webhook deliveries, emails, auto-finalization, dunning, reminders
        and housekeeping (docs/collection.md).

        Several workers may run at once on PostgreSQL. SIGTERM lets the jobs in hand finish."""
        from app.worker.runner import Worker

        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        worker = Worker(current_app._get_current_object(), concurrency=concurrency, lease=lease)  # type: ignore[attr-defined]
        if burst:
            click.echo(f"{worker.run_due()} jobs run")
            return
        _stop_on_signals(worker.stop)
        worker.run()

    @app.cli.command("jobs")
    @click.option("--retry-failed", is_flag=True, help="Queue every failed job again, due now.")
    def jobs_cmd(retry_failed: bool) -> None:
        """How much background work is queued, running, done and failed; the failed jobs."""
        from app.jobs import claims

        if retry_failed:
            click.echo(f"{claims.retry_failed(db.session)} failed jobs queued again")
            db.session.commit()
        counts = claims.counts(db.session)
        statuses = ("queued", "running", "done", "failed")
        click.echo("  ".join(f"{status}: {counts.get(status, 0)}" for status in statuses))
        for job in claims.failed(db.session):
            click.echo(f"failed job {job.id} {job.kind} {job.subject} after {job.attempts} attempts: {job.last_error}")

    @app.cli.command("outbox")
    @click.argument("email_id", required=False)
    def outbox_cmd(email_id: str | None) -> None:
        """The newest emails (kept here when VINR_SMTP_URL is unset), or one of them in full."""
        from app.emails.models import Email
        from app.emails.service import outbox

        if email_id is not None:
            email = db.session.get(Email, email_id)
            if email is None:
                raise click.UsageError(f"no email {email_id!r}")
            click.echo(f"Message-ID: {email.message_id}\nTo: {email.to_address}\nSubject: {email.subject}\n"
                       f"Status: {email.status.value}\n\n{email.text or ''}\n--- HTML ---\n{email.html or ''}")
            return
        for email in outbox(db.session):
            click.echo(f"{email.id}  {email.status.value:<7} {email.kind:<23} {email.to_address}  "
                       f"{email.subject or ''}")
