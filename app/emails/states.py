"""The one writer of an email's status, and its transition table (STYLE "State machine")."""

from __future__ import annotations

from app.emails.models import Email
from app.emails.models import EmailStatus as E

EMAIL_TRANSITIONS: dict[E, frozenset[E]] = {
    E.QUEUED: frozenset({E.SENT, E.FAILED, E.CANCELED}),
    E.SENT: frozenset(),
    E.FAILED: frozenset(),
    E.CANCELED: frozenset(),
}


def move(email: Email, to: E) -> None:
    if to not in EMAIL_TRANSITIONS[email.status]:
        raise ValueError(f"email {email.id}: {email.status} → {to} is not a transition")
    email.status = to
