from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import sqlalchemy as sa

from app import create_app
from app.accounts.service import authenticate
from app.extensions import db


def test_db_upgrade_then_create_merchant_prints_usable_keys(tmp_path: Path) -> None:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "SECRET_KEY": "s" * 32})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["create-merchant", "--name", "Acme GmbH", "--prefix", "ACME", "--currency", "USD",
                                 "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["id"].startswith("acct_")
    assert out["test_secret_key"].startswith("sk_test_") and out["live_secret_key"].startswith("sk_live_")
    with app.app_context():
        caller = authenticate(db.session, out["live_secret_key"])
        assert caller.livemode is True and caller.account.default_currency == "usd"
        # Only hashes are stored.
        stored = db.session.execute(sa.text("SELECT key_hash FROM api_keys")).scalars().all()
        assert out["test_secret_key"] not in stored and len(stored) == 2
    bad = runner.invoke(args=["create-merchant", "--name", "X", "--prefix", "no spaces!"])
    assert bad.exit_code != 0 and "--prefix" in bad.output
    bidi = runner.invoke(args=["create-merchant", "--name", "Acme \u202eGmbH"])
    assert bidi.exit_code != 0 and "--name" in bidi.output and "bidirectional" in bidi.output
    metal = runner.invoke(args=["create-merchant", "--name", "X", "--currency", "XAU"])
    assert metal.exit_code != 0 and "--currency" in metal.output and "invoiced in" in metal.output
    db_path = tmp_path / "cli.db"
    assert out["test_secret_key"].encode() not in db_path.read_bytes()


def test_the_jobs_command_shows_and_requeues_failed_work(tmp_path: Path) -> None:
    from app.jobs import claims
    from app.jobs.queue import enqueue

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.db'}", "SECRET_KEY": "s" * 32})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    with app.app_context():
        enqueue(db.session, "webhook.deliver", "whd_gone", payload={"round": 1, "attempt": 1})
        [job] = claims.claim(db.session, "w", 1, 30)
        db.session.execute(sa.text("UPDATE jobs SET attempts = :n"), {"n": claims.MAX_ATTEMPTS})
        claims.retry_later(db.session, claims.ClaimedJob(**{**job.__dict__, "attempts": claims.MAX_ATTEMPTS}),
                           "w", "RuntimeError: receiver exploded")
        db.session.commit()
    shown = runner.invoke(args=["jobs"])
    assert shown.exit_code == 0, shown.output
    assert "failed: 1" in shown.output and "RuntimeError: receiver exploded" in shown.output
    again = runner.invoke(args=["jobs", "--retry-failed"])
    assert "1 failed jobs queued again" in again.output and "queued: 1" in again.output and "failed: 0" in again.output


# The main thread holds a lock that stopping needs, as a worker waiting on a threading.Event
# holds the Event's own lock at moments; a SIGTERM arrives then (twice, as killing a process
# group and ./scripts/run's trap send it). A handler run in the main thread would wait for
# that lock, held by the very code it interrupted, for ever.
STOP_WHILE_A_LOCK_IS_HELD = textwrap.dedent("""
    import os, signal, threading, time
    from app.cli import _stop_on_signals
    lock, stopped = threading.Lock(), threading.Event()
    def stop():
        with lock:
            stopped.set()
    _stop_on_signals(stop)
    with lock:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.3)  # where a handler in this thread would run, and hang
    print("stopped" if stopped.wait(10) else "not stopped")
""")


def test_the_worker_stops_on_sigterm_whatever_its_main_thread_holds() -> None:
    done = subprocess.run([sys.executable, "-c", STOP_WHILE_A_LOCK_IS_HELD], cwd=Path(__file__).resolve().parent.parent,
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "stopped"), done.stderr
