"""The bank transaction's state machine: the one writer of ``BankTransaction.status``."""

from __future__ import annotations

from app.banking.models import BankTransaction, BankTransactionStatus
from app.errors import Conflict

S = BankTransactionStatus

# Imported as matched or unmatched. The merchant applies an unmatched (or ignored) one to an
# invoice, or ignores it; a matched one has made its payment and stays so.
TRANSITIONS: dict[BankTransactionStatus, frozenset[BankTransactionStatus]] = {
    S.UNMATCHED: frozenset({S.MATCHED, S.IGNORED}),
    S.IGNORED: frozenset({S.MATCHED}),
    S.MATCHED: frozenset(),
}

_VERBS = {S.MATCHED: "apply", S.IGNORED: "ignore"}


def transition(btxn: BankTransaction, to: BankTransactionStatus) -> None:
    """Move ``btxn`` to ``to``, or raise Conflict naming its status."""
    if to not in TRANSITIONS[btxn.status]:
        raise Conflict(f"You cannot {_VERBS.get(to, to.value)} this bank transaction because its status is "
                       f"'{btxn.status.value}'.", code="bank_transaction_unexpected_status")
    btxn.status = to
