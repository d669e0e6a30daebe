"""The API's bank_transaction object and an import's summary (SPEC §12)."""

from __future__ import annotations

from typing import Any

from app.banking.models import BankTransaction


def serialize(btxn: BankTransaction) -> dict[str, Any]:
    return {"id": btxn.id, "object": "bank_transaction", "livemode": btxn.livemode, "created": btxn.created,
            "amount": btxn.amount, "currency": btxn.currency, "booked_at": btxn.booked_at,
            "remittance_information": btxn.remittance_information, "creditor_reference": btxn.creditor_reference,
            "debtor_name": btxn.debtor_name, "debtor_iban": btxn.debtor_iban, "bank_account": btxn.bank_account,
            "entry_reference": btxn.entry_reference, "statement_reference": btxn.statement_reference,
            "status": btxn.status.value, "invoice": btxn.invoice_id, "payment": btxn.payment_id}
