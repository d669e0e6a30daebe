"""``flask --app wsgi worker``: runs due jobs until told to stop (SPEC §8).

One process claims jobs for a pool of threads (``concurrency``), so a slow webhook
receiver holds one thread, not the queue, and shares them fairly: one lane, one
account or one endpoint never holds them all while others wait (app/jobs/fairness.py).
A heartbeat thread renews the lease of the jobs in hand, and of no other: every
claimed job is started at once, and every way a unit of work can end records it done,
or retried later (failed after MAX_ATTEMPTS). An outcome the database would not take
(a connection lost) is recorded by the main loop once the database answers again;
until then the job's lease is left to run out.

On PostgreSQL an idle worker waits on ``LISTEN`` and wakes as soon as a transaction
that queued work commits; on SQLite it polls. In either case it never sleeps past the
next job's due time. SIGTERM stops claiming, lets the jobs in hand finish and exits;
after SIGKILL the leases run out and other workers (or this one, restarted) take the
jobs again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app.db import commit_without_waiting_for_disk
from app.extensions import db
from app.jobs import claims, fairness
from app.jobs.claims import ClaimedJob, LeaseLost
from app.jobs.models import Job, JobStatus, status_is
from app.jobs.queue import CHANNEL, NewJob, enqueue_many
from app.webhooks import transport
from app.worker import kinds

log = logging.getLogger(__name__)

LEASE_SECONDS = 45.0
CONCURRENCY = 8  # threads: room for four accounts' fair shares (app/jobs/fairness.py)
SQLITE_POLL_SECONDS = 0.1
SHARES_TAKEN_POLL_SECONDS = 0.05  # due work waits for a share: look again this often, or when a unit ends
POSTGRES_POLL_SECONDS = 2.0  # a fallback: LISTEN wakes the worker before that
DATABASE_RETRY_SECONDS = 2.0
SCHEDULE_EVERY_SECONDS = 30.0  # how often periodic work is queued


class Worker:
    def __init__(self, app: Flask, *, concurrency: int = CONCURRENCY, lease: float = LEASE_SECONDS,
                 worker_id: str | None = None) -> None:
        self.app = app
        self.concurrency = concurrency
        self.shares = fairness.Shares.of(concurrency)
        self.lease = lease
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stopping = threading.Event()
        self._slot_free = threading.Event()
        self._in_flight: dict[int, list[ClaimedJob]] = {}  # units started, by their first job's id
        self._unsettled: list[tuple[ClaimedJob, str]] = []  # failures not recorded yet, with their error
        self._lock = threading.Lock()
        self._next_schedule = 0.0
        self._listener: psycopg.Connection[Any] | None = None  # PostgreSQL: LISTENs while idle
        with app.app_context():
            self._postgres = db.engine.dialect.name == "postgresql"
            self._url = db.engine.url

    def stop(self) -> None:
        """Stop claiming; ``run`` returns once the jobs in hand are finished."""
        self._stopping.set()
        self._slot_free.set()

    def run_due(self) -> int:
        """Run every job due now, one unit after another in this thread, and return how
        many jobs ran (``flask worker --burst``, and tests)."""
        ran = 0
        while True:
            self._schedule_periodic()
            with self.app.app_context():
                units = kinds.units(self._claim(self.concurrency))
            if not units:
                return ran
            for unit in units:
                self._run_unit(unit)
                ran += len(unit)
            self._settle()

    def run(self) -> None:
        """Run jobs until ``stop``. A database that goes away is waited for, not fatal."""
        heartbeat = threading.Thread(target=self._heartbeat, name="vinr-heartbeat", daemon=True)
        heartbeat.start()
        log.info("worker %s started (%d threads)", self.id, self.concurrency)
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="vinr-job") as pool:
            while not self._stopping.is_set():
                try:
                    self._step(pool)
                except Exception:
                    log.exception("worker %s: the database did not answer; trying again", self.id)
                    self._close_listener()
                    self._stopping.wait(DATABASE_RETRY_SECONDS)
        heartbeat.join(timeout=5)
        try:
            self._settle()
        except Exception:
            log.exception("worker %s: could not record the failures of jobs %s; they run again once their lease "
                          "runs out", self.id, [job.id for job, _ in self._unsettled])
        self._close_listener()
        transport.close_pools()  # the receivers' kept-alive connections, closed rather than dropped
        log.info("worker %s stopped", self.id)

    def _step(self, pool: ThreadPoolExecutor) -> None:
        """Claim what there is room for and start it, or wait for work."""
        self._settle()
        self._schedule_periodic()
        self._slot_free.clear()
        free = self.concurrency - len(self._in_flight)
        if free <= 0:
            self._slot_free.wait(1.0)
            return
        with self.app.app_context():
            jobs = self._claim(free)
        # Claimed and committed: started before anything else can fail.
        units = kinds.units(jobs)
        for unit in units:
            self._start(pool, unit)
        if units:
            return  # with the shares moved, there may be more to take at once
        with self.app.app_context():
            wait = self._until_next_due()
        # Nothing to take: nothing due, or what is due waits for a share held by jobs in
        # hand (those of an account that has its share, say), to be taken once one ends.
        self._wait(wait if wait > 0 else SHARES_TAKEN_POLL_SECONDS)

    # -- claiming and running

    def _claim(self, free: int) -> list[ClaimedJob]:
        """Claim units of work for up to ``free`` threads, within the shares left by the
        units in flight."""
        with self._lock:
            in_flight = [fairness.tag_of(unit) for unit in self._in_flight.values()]
        plan = fairness.Plan.for_worker(free, self.shares, kinds.BATCHING, in_flight)
        session = db.session
        try:
            commit_without_waiting_for_disk(session)  # a claim lost in a crash leaves its jobs queued
            found = claims.candidates(session, plan.limits(), plan.full_accounts(), plan.full_keys())
            jobs = claims.take(session, self.id, plan.choose(found), self.lease)
            session.commit()
        except Exception:
            session.rollback()
            raise
        return jobs

    def _start(self, pool: ThreadPoolExecutor, unit: list[ClaimedJob]) -> None:
        with self._lock:
            self._in_flight[unit[0].id] = unit  # in hand from here: the heartbeat renews it
        try:
            pool.submit(self._run_in_thread, unit)
        except Exception as error:  # the pool is shutting down: the unit never runs
            log.exception("jobs %s (%s) could not be started", [j.id for j in unit], unit[0].kind)
            self._give_back(unit, error)
            self._done_with(unit)

    def _run_in_thread(self, unit: list[ClaimedJob]) -> None:
        try:
            self._run_unit(unit)
        except BaseException:  # _run_unit records every failure; this is a bug, never lost in the Future
            log.exception("jobs %s (%s): the worker failed running them", [j.id for j in unit], unit[0].kind)
            raise
        finally:
            self._done_with(unit)

    def _done_with(self, unit: list[ClaimedJob]) -> None:
        with self._lock:
            self._in_flight.pop(unit[0].id, None)
        self._slot_free.set()

    def _held(self) -> list[int]:
        """The ids of the jobs in hand: those of the units started and not ended."""
        with self._lock:
            return [job.id for unit in self._in_flight.values() for job in unit]

    def _run_unit(self, unit: list[ClaimedJob]) -> None:
        """One unit of work: the jobs' body, then ``finish`` in the same transaction. If
        anything raises, each job is retried later. Never raises."""
        kind = unit[0].kind
        with self.app.app_context():
            session = db.session
            try:
                kinds.runner_for(kind)(session, unit)
                claims.finish(session, unit, self.id)
                session.commit()
                return
            except LeaseLost:
                _rollback(session)
                log.warning("jobs %s (%s): lease lost, another worker runs them", [j.id for j in unit], kind)
                return
            except Exception as error:
                _rollback(session)
                if isinstance(error, claims.TryLater):
                    log.info("jobs %s (%s) wait: %s", [j.id for j in unit], kind, error)
                else:
                    log.exception("jobs %s (%s) failed", [j.id for j in unit], kind)
                failure: Exception = error
        self._give_back(unit, failure)

    def _give_back(self, unit: list[ClaimedJob], error: Exception) -> None:
        """Record that the unit's jobs failed (each retried later, or failed for good).
        When the database does not take that either, the main loop records it later."""
        text = f"{type(error).__name__}: {error}"
        with self.app.app_context():
            session = db.session
            try:
                for job in unit:
                    claims.retry_later(session, job, self.id, text)
                session.commit()
                return
            except Exception:
                _rollback(session)
                log.exception("jobs %s (%s): could not record their failure; recorded once the database "
                              "answers", [j.id for j in unit], unit[0].kind)
        with self._lock:
            self._unsettled.extend((job, text) for job in unit)

    def _settle(self) -> None:
        """Record the failures the database did not take when they happened. A job whose
        lease ran out and that another worker took meanwhile is that worker's: its row
        does not match, and nothing is written for it."""
        with self._lock:
            unsettled, self._unsettled = self._unsettled, []
        if not unsettled:
            return
        with self.app.app_context():
            session = db.session
            try:
                for job, text in unsettled:
                    claims.retry_later(session, job, self.id, text)
                session.commit()
            except Exception:
                _rollback(session)
                with self._lock:
                    self._unsettled[:0] = unsettled
                raise
        log.info("jobs %s: failure recorded, retried later", [job.id for job, _ in unsettled])

    # -- waiting

    def _until_next_due(self) -> float:
        poll = POSTGRES_POLL_SECONDS if self._postgres else SQLITE_POLL_SECONDS
        next_due = db.session.execute(
            sa.select(sa.func.min(Job.due_at)).where(status_is(JobStatus.QUEUED))).scalar()
        db.session.rollback()
        if next_due is None:
            return poll
        return max(0.0, min(poll, next_due - time.time(), self._next_schedule - time.time()))

    def _wait(self, seconds: float) -> None:
        """Until ``seconds`` pass, a unit of work ends, or (PostgreSQL) work is committed."""
        if not self._postgres:
            self._slot_free.wait(seconds)  # set by stop() too
            return
        if self._listener is None:
            conninfo = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._listener = psycopg.connect(conninfo, autocommit=True)
            self._listener.execute(f"LISTEN {CHANNEL}")
            return  # work committed before LISTEN sent no notice to us: claim again first
        for _notify in self._listener.notifies(timeout=seconds, stop_after=1):
            pass

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    # -- leases and periodic work

    def _heartbeat(self) -> None:
        while not self._stopping.wait(self.lease / 3):
            self._renew()
        self._renew()  # the last jobs in hand may still be finishing

    def _renew(self) -> None:
        with self.app.app_context():
            try:
                commit_without_waiting_for_disk(db.session)
                claims.renew(db.session, self.id, self._held(), self.lease)
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("worker %s: could not renew its leases", self.id)

    def _schedule_periodic(self) -> None:
        """Queue the periodic jobs of this time slot (the unique key holds the slot, so
        many workers queue each one once)."""
        now = time.time()
        if now < self._next_schedule:
            return
        self._next_schedule = now + SCHEDULE_EVERY_SECONDS
        with self.app.app_context():
            session = db.session
            try:
                enqueue_many(session, [NewJob(p.kind, "periodic", unique_key=f"{p.kind}:{int(now // p.every)}")
                                       for p in kinds.PERIODIC])
                session.commit()
            except Exception:
                session.rollback()
                log.exception("worker %s: could not queue periodic work", self.id)


def _rollback(session: Session) -> None:
    """Roll back, whatever state the connection is in (a lost one raises again)."""
    try:
        session.rollback()
    except Exception:
        log.warning("rollback failed; the connection is discarded", exc_info=True)
