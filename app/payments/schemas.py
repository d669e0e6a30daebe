from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.money import MAX_AMOUNT
from app.validation import Metadata, ObjectRef, Params, QueryParams


class CardParams(Params):
    # Types only: the checks that customers see (Luhn, expiry, CVC) are
    # app.payments.cards.validate_card, which answers 402 card_error.
    number: Annotated[str, Field(max_length=40)]
    exp_month: int
    exp_year: int
    cvc: Annotated[str, Field(max_length=8)]


class PaymentMethodCreate(Params):
    card: CardParams
    set_default: bool = False


class PaymentMethodList(QueryParams):
    limit: Annotated[int, Field(ge=1, le=100)] = 10
    starting_after: str | None = None
    ending_before: str | None = None


class PayParams(Params):
    payment_method: ObjectRef | None = None
    paid_out_of_band: bool = False
    amount: Annotated[int | None, Field(ge=1, le=MAX_AMOUNT, description=(
        "With paid_out_of_band: the part paid, in minor units (default: all that remains). A part "
        "lowers amount_remaining; more than remains settles the invoice and credits the excess to "
        "the customer's balance."))] = None


class PaymentList(QueryParams):
    limit: Annotated[int, Field(ge=1, le=100)] = 10
    starting_after: str | None = None
    ending_before: str | None = None
    invoice: str | None = None


class RefundCreate(Params):
    payment: ObjectRef
    amount: Annotated[int | None, Field(ge=1, le=MAX_AMOUNT, description=(
        "Minor units; default: what is left of the payment (its amount less its pending and succeeded "
        "refunds)"))] = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None  # a RefundReason
    metadata: Metadata = {}


class RefundList(QueryParams):
    limit: Annotated[int, Field(ge=1, le=100)] = 10
    starting_after: str | None = None
    ending_before: str | None = None
    payment: str | None = None
