"""The test-mode processor: deterministic, offline, driven by magic cards (SPEC §6).

Any future expiry and any 3-digit CVC (4 for Amex) work; validation of those
happens before the processor, in :func:`app.payments.cards.validate_card`.

card                     scenario            outcome of a charge
-----------------------  ------------------  -------------------------------------------------
4242 4242 4242 4242      success             succeeds (Visa)
5555 5555 5555 4444      success             succeeds (Mastercard)
3782 822463 10005        success             succeeds (Amex)
4000 0000 0000 0002      generic_decline     failed: card_declined / generic_decline
4000 0000 0000 9995      insufficient_funds  failed: card_declined / insufficient_funds
4000 0000 0000 0069      expired_card        failed: expired_card / expired_card
4000 0000 0000 0127      incorrect_cvc       failed: incorrect_cvc / incorrect_cvc
4000 0000 0000 0119      processing_error    failed: processing_error, retryable=True
4000 0000 0000 3220      threeds             on-session: requires_action with a challenge
                                             URL, then confirm() succeeds if the challenge
                                             passed, else card_declined /
                                             authentication_failed; off-session (/pay,
                                             dunning): failed, authentication_required /
                                             authentication_required
4000 0000 0000 5126      refund_fails        succeeds; every refund of it fails with
                                             failure_reason expired_or_canceled_card

Refunds (:meth:`~SandboxProcessor.refund`) succeed at once for every card that
was charged, except 4000 0000 0000 5126, whose refunds fail. A refund's id is a
hash of its idempotency key, like a charge's.

Saving a card (:meth:`~SandboxProcessor.tokenize`) charges nothing, so every
card above tokenizes, decline and 3DS cards included (that is how dunning is
tried). Any other number, however real it looks, is refused with
``test_mode_live_card`` and never stored.

The sandbox runs in several processes (web workers, the dunning job) and keeps
no state: the scenario travels inside the ``processor_ref`` (``sbx_card_<scenario>_<hex>``,
never the number), and a charge's id is a hash of its idempotency key, so the
same key always yields the same id and the same result.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from types import MappingProxyType

from app.errors import CardError

# Imported as a module, not by name: app.payments.cards imports
# app.payments.processor.base, whose package __init__ imports this module, so
# when cards is imported first it is still half-initialised here.
from app.payments import cards
from app.payments.processor.base import (
    CardDetails,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    ConfirmRequest,
    ProcessorError,
    RefundRequest,
    RefundResult,
    RefundResultStatus,
    SetupRequest,
    TokenizedCard,
)


class Scenario(StrEnum):
    """What a sandbox card does when charged; carried inside its processor_ref."""

    SUCCESS = "success"
    GENERIC_DECLINE = "generic_decline"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED_CARD = "expired_card"
    INCORRECT_CVC = "incorrect_cvc"
    PROCESSING_ERROR = "processing_error"
    THREEDS = "threeds"
    REFUND_FAILS = "refund_fails"  # charges succeed; refunds fail (expired_or_canceled_card)


#: number (digits only) -> (brand, scenario). The module docstring mirrors it.
TEST_CARDS: Mapping[str, tuple[str, Scenario]] = MappingProxyType(
    {
        "4242424242424242": ("visa", Scenario.SUCCESS),
        "5555555555554444": ("mastercard", Scenario.SUCCESS),
        "378282246310005": ("amex", Scenario.SUCCESS),
        "4000000000000002": ("visa", Scenario.GENERIC_DECLINE),
        "4000000000009995": ("visa", Scenario.INSUFFICIENT_FUNDS),
        "4000000000000069": ("visa", Scenario.EXPIRED_CARD),
        "4000000000000127": ("visa", Scenario.INCORRECT_CVC),
        "4000000000000119": ("visa", Scenario.PROCESSING_ERROR),
        "4000000000003220": ("visa", Scenario.THREEDS),
        "4000000000005126": ("visa", Scenario.REFUND_FAILS),
    }
)

CARD_REF_PREFIX = "sbx_card_"
INTENT_ID_PREFIX = "sbx_pi_"
REFUND_ID_PREFIX = "sbx_re_"
REFUND_FAILURE_REASON = "expired_or_canceled_card"  # what every refund of the refund_fails card answers
# Charged like the success cards: the scenario only shows when the charge is refunded.
_CHARGES_SUCCEED = frozenset({Scenario.SUCCESS, Scenario.REFUND_FAILS})

_CARD_REF = re.compile(r"sbx_card_(?P<scenario>[a-z_]+)_(?P<nonce>[0-9a-f]{16})")
_INTENT_ID = re.compile(r"sbx_pi_[0-9a-f]{24}")

# failure_code, decline_code, message, retryable, per failing scenario.
_FAILURES: Mapping[Scenario, tuple[str, str | None, str, bool]] = MappingProxyType(
    {
        Scenario.GENERIC_DECLINE: ("card_declined", "generic_decline", "Your card was declined.", False),
        Scenario.INSUFFICIENT_FUNDS: (
            "card_declined",
            "insufficient_funds",
            "Your card has insufficient funds.",
            False,
        ),
        Scenario.EXPIRED_CARD: ("expired_card", "expired_card", "Your card has expired.", False),
        Scenario.INCORRECT_CVC: (
            "incorrect_cvc",
            "incorrect_cvc",
            "Your card's security code is incorrect.",
            False,
        ),
        Scenario.PROCESSING_ERROR: (
            "processing_error",
            None,
            "An error occurred while processing your card. Try again in a little bit.",
            True,
        ),
    }
)

_AUTHENTICATION_REQUIRED = ChargeResult(
    status=ChargeStatus.FAILED,
    failure_code="authentication_required",
    decline_code="authentication_required",
    failure_message=(
        "Your card requires authentication, which is not possible without you: "
        "pay from the invoice page to complete it."
    ),
)


class SandboxProcessor:
    """The :class:`~app.payments.processor.base.Processor` for test mode.

    ``fingerprint_key`` keys the card fingerprints (so they match what the
    rest of the app computes with the same key). ``action_url_builder`` turns
    a charge's ``processor_id`` into the URL of our own 3DS challenge page;
    without one a ``REQUIRES_ACTION`` result has ``action_url=None``.
    """

    name = "sandbox"

    def __init__(
        self,
        fingerprint_key: bytes,
        action_url_builder: Callable[[str], str] | None = None,
    ) -> None:
        if not fingerprint_key:
            raise ValueError("SandboxProcessor needs a non-empty fingerprint_key")
        self._fingerprint_key = fingerprint_key
        self._action_url_builder = action_url_builder

    def __repr__(self) -> str:
        return "SandboxProcessor()"

    def tokenize(self, card: CardDetails, *, idempotency_key: str) -> TokenizedCard:
        """Save a test card. Never charges, so every test card tokenizes.

        ``card`` is expected to have passed ``validate_card``. The returned
        ``processor_ref`` is a function of the idempotency key and the card,
        so a retried save yields the same ref: pass a key unique to the save.

        Raises CardError ``test_mode_live_card`` for any number outside
        :data:`TEST_CARDS`; that number is not kept anywhere.
        """
        digits = cards.normalize_number(card.number)
        entry = TEST_CARDS.get(digits)
        if entry is None:
            # The hint names no full number, not even a public test card: no
            # error message may carry a Luhn-valid PAN (SPEC §3; see
            # tests/payments/test_card_data_never_leaks.py).
            raise CardError(
                "Your card was refused in test mode: use a test card, such as the Visa test card "
                "ending in 4242. Real cards are never accepted in test mode.",
                code="test_mode_live_card",
                param="card[number]",
            )
        brand, scenario = entry
        fingerprint = cards.card_fingerprint(digits, self._fingerprint_key)
        # The nonce hashes the (already keyed) fingerprint, never the number.
        nonce = _digest(f"{idempotency_key}\x00{fingerprint}")[:16]
        return TokenizedCard(
            processor_ref=f"{CARD_REF_PREFIX}{scenario.value}_{nonce}",
            brand=brand,
            last4=digits[-4:],
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            fingerprint=fingerprint,
        )

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge a sandbox card: the outcome is the card's scenario (module docstring).

        Deterministic: the same idempotency key gives the same ``processor_id``
        and, for the same card and session, the same result.

        Raises ProcessorError (``processor_invalid_request``) for a
        ``processor_ref`` this sandbox did not issue or a non-positive amount,
        as a real processor would refuse the request.
        """
        scenario = _scenario_of(request.processor_ref)
        if request.amount <= 0:
            raise ProcessorError("The amount must be positive.", code="processor_invalid_request")
        processor_id = self._intent_id(request.idempotency_key)

        if scenario in _CHARGES_SUCCEED:
            return ChargeResult(status=ChargeStatus.SUCCEEDED, processor_id=processor_id)
        if scenario is Scenario.THREEDS:
            if request.off_session:
                # No customer is present to answer a challenge (SPEC §3 /pay).
                return dataclasses.replace(_AUTHENTICATION_REQUIRED, processor_id=processor_id)
            builder = self._action_url_builder
            return ChargeResult(
                status=ChargeStatus.REQUIRES_ACTION,
                processor_id=processor_id,
                action_url=builder(processor_id) if builder is not None else None,
            )
        failure_code, decline_code, message, retryable = _FAILURES[scenario]
        return ChargeResult(
            status=ChargeStatus.FAILED,
            processor_id=processor_id,
            failure_code=failure_code,
            decline_code=decline_code,
            failure_message=message,
            retryable=retryable,
        )

    def confirm(self, request: ConfirmRequest) -> ChargeResult:
        """Finish a 3DS charge after our challenge page: ``challenge_passed`` decides.

        Stateless, so it cannot tell which card the charge was for; callers
        only confirm a charge that answered ``REQUIRES_ACTION``.

        Raises ProcessorError (``processor_invalid_request``) for an id this
        sandbox did not issue.
        """
        if not _INTENT_ID.fullmatch(request.processor_id):
            raise ProcessorError("Unknown sandbox payment.", code="processor_invalid_request")
        if request.challenge_passed:
            return ChargeResult(status=ChargeStatus.SUCCEEDED, processor_id=request.processor_id)
        return ChargeResult(
            status=ChargeStatus.FAILED,
            processor_id=request.processor_id,
            failure_code="card_declined",
            decline_code="authentication_failed",
            failure_message="Authentication failed: your card was declined.",
        )

    def setup(self, request: SetupRequest) -> ChargeResult:
        """Saving charges nothing: every card succeeds, but the 3DS card asks
        for a challenge, as SPEC §6 says it does when saved on the hosted page."""
        scenario = _scenario_of(request.processor_ref)
        processor_id = self._intent_id("setup\x00" + request.idempotency_key)
        if scenario is Scenario.THREEDS:
            builder = self._action_url_builder
            return ChargeResult(status=ChargeStatus.REQUIRES_ACTION, processor_id=processor_id,
                                action_url=builder(processor_id) if builder is not None else None)
        return ChargeResult(status=ChargeStatus.SUCCEEDED, processor_id=processor_id)

    def confirm_setup(self, request: ConfirmRequest) -> ChargeResult:
        """As :meth:`confirm`: the challenge's answer decides."""
        return self.confirm(request)

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund a sandbox charge at once: it succeeds, except for the refund_fails card
        (``failure_reason`` expired_or_canceled_card). Deterministic: the same idempotency
        key gives the same refund id and the same result.

        Raises ProcessorError (``processor_invalid_request``) for a charge id or card this
        sandbox did not issue, or a non-positive amount.
        """
        if not _INTENT_ID.fullmatch(request.payment_processor_id) or request.processor_ref is None:
            raise ProcessorError("Unknown sandbox payment.", code="processor_invalid_request")
        scenario = _scenario_of(request.processor_ref)
        if request.amount <= 0:
            raise ProcessorError("The amount must be positive.", code="processor_invalid_request")
        refund_id = f"{REFUND_ID_PREFIX}{_digest('refund' + chr(0) + request.idempotency_key)[:24]}"
        if scenario is Scenario.REFUND_FAILS:
            return RefundResult(status=RefundResultStatus.FAILED, processor_id=refund_id,
                                failure_reason=REFUND_FAILURE_REASON)
        return RefundResult(status=RefundResultStatus.SUCCEEDED, processor_id=refund_id)

    def retrieve_refund(self, processor_id: str) -> RefundResult:
        """The sandbox answers every refund at once and never PENDING, so nothing is ever
        asked about again: raises ProcessorError (``processor_invalid_request``)."""
        raise ProcessorError("The sandbox has no pending refunds.", code="processor_invalid_request")

    @staticmethod
    def _intent_id(idempotency_key: str) -> str:
        # Scenario-free on purpose: the id appears in the challenge URL.
        return f"{INTENT_ID_PREFIX}{_digest(idempotency_key)[:24]}"


def _scenario_of(processor_ref: str) -> Scenario:
    match = _CARD_REF.fullmatch(processor_ref)
    if match is not None:
        try:
            return Scenario(match["scenario"])
        except ValueError:
            pass
    raise ProcessorError("Unknown sandbox payment method.", code="processor_invalid_request")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
