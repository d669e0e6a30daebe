"""The processor boundary (SPEC §6, STYLE "Processor behind a typing.Protocol").

Everything that crosses into a card processor is one of these frozen
dataclasses. Only the normalized fields of a result are ever persisted; raw
provider payloads and raw card data never leave this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class CardDetails:
    """Raw card data, held in memory only for the length of one request."""

    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)
    name: str | None = None

    def __repr__(self) -> str:  # never print the PAN or CVC, even in a traceback
        return f"CardDetails(last4={self.number[-4:]!r}, exp={self.exp_month:02d}/{self.exp_year})"


@dataclass(frozen=True, slots=True)
class TokenizedCard:
    """What a processor gives back for a card: safe to store."""

    processor_ref: str  # the processor's id for the stored card
    brand: str  # visa, mastercard, amex, discover, diners, jcb, unionpay, unknown
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str  # keyed hash of the PAN: same card -> same value, not reversible


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    REQUIRES_ACTION = "requires_action"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    amount: int  # minor units, > 0
    currency: str  # lower-case ISO 4217
    processor_ref: str  # TokenizedCard.processor_ref
    idempotency_key: str  # derived from our persisted payment attempt
    off_session: bool  # True for /pay and dunning: no customer present for 3DS
    return_url: str | None = None  # where a 3DS challenge sends the customer back
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ChargeResult:
    status: ChargeStatus
    processor_id: str | None = None  # the processor's id for this attempt
    failure_code: str | None = None  # card_declined, expired_card, processing_error, ...
    decline_code: str | None = None  # generic_decline, insufficient_funds, ...
    failure_message: str | None = None
    action_url: str | None = None  # set when status is REQUIRES_ACTION
    retryable: bool = False  # a later attempt may succeed without a new card


@dataclass(frozen=True, slots=True)
class ConfirmRequest:
    """Finish a charge that required action (3DS), after the customer returned."""

    processor_id: str
    idempotency_key: str
    # The sandbox's own challenge page says how the customer answered; a real
    # processor knows that itself and ignores this.
    challenge_passed: bool | None = None


@dataclass(frozen=True, slots=True)
class SetupRequest:
    """Make a saved card usable later without the customer (a zero-amount setup).

    Cards that ask for 3DS answer REQUIRES_ACTION: the customer authenticates
    once while present (the hosted page's "Update payment method").
    """

    processor_ref: str
    idempotency_key: str
    return_url: str | None = None


class RefundResultStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"  # the processor took it and has not finished it: ask again later
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """Give back ``amount`` of a payment the processor charged (SPEC §11)."""

    payment_processor_id: str  # the processor's id of the charge (ChargeResult.processor_id)
    amount: int  # minor units, > 0
    currency: str  # lower-case ISO 4217
    idempotency_key: str  # derived from our persisted refund
    # The card's TokenizedCard.processor_ref: the stateless sandbox reads its scenario from
    # it; a real processor refunds by the charge's id and ignores it.
    processor_ref: str | None = None
    reason: str | None = None  # duplicate, fraudulent, requested_by_customer


@dataclass(frozen=True, slots=True)
class RefundResult:
    status: RefundResultStatus
    processor_id: str | None = None  # the processor's id for this refund
    failure_reason: str | None = None  # expired_or_canceled_card, lost_or_stolen_card, declined, ...


class ProcessorError(Exception):
    """The processor could not be reached or answered nonsense.

    The outcome of the charge is unknown to the caller only in the sense that
    the processor gave none: with idempotency keys, retrying is safe.
    """

    def __init__(self, message: str, *, code: str = "processor_unavailable") -> None:
        super().__init__(message)
        self.code = code


@runtime_checkable
class Processor(Protocol):
    """A card processor. Implementations hold their credentials on the instance."""

    name: str

    def tokenize(self, card: CardDetails, *, idempotency_key: str) -> TokenizedCard:
        """Store a validated card with the processor. Raises CardError, ProcessorError."""
        ...

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Create and confirm a payment. Declines are results, not exceptions.

        Raises ProcessorError when no outcome could be obtained.
        """
        ...

    def confirm(self, request: ConfirmRequest) -> ChargeResult:
        """Complete a REQUIRES_ACTION charge after the customer's challenge."""
        ...

    def setup(self, request: SetupRequest) -> ChargeResult:
        """Authorize a saved card for later use; SUCCEEDED, REQUIRES_ACTION or FAILED."""
        ...

    def confirm_setup(self, request: ConfirmRequest) -> ChargeResult:
        """Complete a REQUIRES_ACTION setup after the customer's challenge."""
        ...

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund (part of) a charge. A refusal is a FAILED result, not an exception.

        Raises ProcessorError when no outcome could be obtained.
        """
        ...

    def retrieve_refund(self, processor_id: str) -> RefundResult:
        """What became of a refund the processor answered PENDING to.

        Raises ProcessorError when no outcome could be obtained.
        """
        ...
