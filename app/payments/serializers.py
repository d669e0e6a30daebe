"""The API's payment, payment_method and refund objects (SPEC §3, §11)."""

from __future__ import annotations

from typing import Any

from app.payments.models import Payment, PaymentMethod, Refund


def serialize_payment_method(pm: PaymentMethod) -> dict[str, Any]:
    """The safe parts of a card only; a detached card names no customer."""
    return {"id": pm.id, "object": "payment_method", "livemode": pm.livemode, "created": pm.created,
            "customer": pm.customer_id if pm.detached_at is None else None, "type": "card",
            "card": {"brand": pm.brand, "last4": pm.last4, "exp_month": pm.exp_month, "exp_year": pm.exp_year},
            "metadata": dict(pm.metadata_)}


def serialize_payment(payment: Payment) -> dict[str, Any]:
    return {"id": payment.id, "object": "payment", "livemode": payment.livemode, "created": payment.created,
            "amount": payment.amount, "currency": payment.currency, "status": payment.status.api_value,
            "invoice": payment.invoice_id, "customer": payment.customer_id,
            "payment_method": payment.payment_method_id,
            "card": ({"brand": payment.card_brand, "last4": payment.card_last4}
                     if payment.card_last4 is not None else None),
            "failure_code": payment.failure_code, "decline_code": payment.decline_code,
            "failure_message": payment.failure_message, "amount_refunded": payment.amount_refunded,
            "payment_method_type": payment.payment_method_type.value,
            "bank_transfer": ({"bank_transaction": payment.bank_transaction_id, "booked_at": payment.booked_at,
                               "debtor_name": payment.debtor_name}
                              if payment.bank_transaction_id is not None else None)}


def serialize_refund(refund: Refund) -> dict[str, Any]:
    return {"id": refund.id, "object": "refund", "livemode": refund.livemode, "created": refund.created,
            "amount": refund.amount, "currency": refund.currency, "payment": refund.payment_id,
            "status": refund.status.value, "reason": refund.reason, "failure_reason": refund.failure_reason,
            "credit_note": refund.credit_note_id, "metadata": dict(refund.metadata_)}
