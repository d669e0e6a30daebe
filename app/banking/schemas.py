from __future__ import annotations

from typing import Literal

from app.pagination import ListQuery
from app.validation import ObjectRef, Params


class BankTransactionList(ListQuery):
    status: Literal["matched", "unmatched", "ignored"] | None = None


class BankTransactionApply(Params):
    invoice: ObjectRef
