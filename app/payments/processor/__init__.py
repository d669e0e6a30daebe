"""Card processors behind one Protocol (SPEC §6): the sandbox for test mode, HTTP for live."""

from app.payments.processor.base import (
    CardDetails,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    ConfirmRequest,
    Processor,
    ProcessorError,
    RefundRequest,
    RefundResult,
    RefundResultStatus,
    SetupRequest,
    TokenizedCard,
)
from app.payments.processor.configured import Processors
from app.payments.processor.http import HttpProcessor
from app.payments.processor.sandbox import TEST_CARDS, SandboxProcessor

__all__ = [
    "TEST_CARDS",
    "CardDetails",
    "ChargeRequest",
    "ChargeResult",
    "ChargeStatus",
    "ConfirmRequest",
    "HttpProcessor",
    "Processor",
    "ProcessorError",
    "Processors",
    "RefundRequest",
    "RefundResult",
    "RefundResultStatus",
    "SandboxProcessor",
    "SetupRequest",
    "TokenizedCard",
]
