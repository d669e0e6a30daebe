"""Where one transaction ends and the next begins (STYLE "The transaction belongs to the boundary").

A request, a CLI command or a worker job is one unit of work: services flush,
and the boundary commits once at its end (an exception rolls back). Two kinds
of work must not run inside a transaction, because they take seconds and a
rollback cannot undo them: a call to the card processor and a PDF render.
The workflows around them (the money flow, app/payments/flow.py; the PDF,
app/documents/service.py) are written as named steps, each ``with step(session):``,
with the slow part in between, outside any transaction. A job body that talks to
the network reads ``with reading(session):`` first, for the same reason.

Everything here commits, so only those modules and the boundaries use it:
tests/test_transactions.py fails when anything else does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.db import write_intent


def commit_transaction(session: Session) -> None:
    """Commit the transaction in progress, if any, before work that must run outside one.

    What it holds is the boundary's reads, or a change the workflow keeps
    whatever happens next (a finalized invoice, before it is charged).
    """
    session.commit()


@contextmanager
def step(session: Session) -> Iterator[None]:
    """One step of a workflow in a transaction of its own: committed at its end,
    rolled back on an exception. The transaction in progress ends first
    (``commit_transaction``). On SQLite the step takes the write lock at once."""
    commit_transaction(session)
    token = write_intent.set(True)
    try:
        with session.begin():
            yield
    finally:
        write_intent.reset(token)


@contextmanager
def reading(session: Session) -> Iterator[None]:
    """Reads in a transaction of their own, committed at the exit (before slow work). On
    SQLite it begins deferred, so it queues behind no writer and holds no write lock."""
    commit_transaction(session)
    token = write_intent.set(False)
    try:
        yield
    finally:
        commit_transaction(session)
        write_intent.reset(token)


CONFLICT_ATTEMPTS = 5
_P = ParamSpec("_P")
_R = TypeVar("_R")


def retry_on_conflict(run: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a whole step again when another transaction changed its rows first (the
    versioned UPDATE found a newer version): the step reads them anew, so it decides on
    what is there now. For a step that must not be lost, such as recording what the
    processor did; after CONFLICT_ATTEMPTS the conflict is raised."""
    @functools.wraps(run)
    def retried(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                return run(*args, **kwargs)
            except StaleDataError:
                if attempt == CONFLICT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    return retried
