"""Which processor a mode uses (SPEC §6): the sandbox in test mode, the configured HTTP
processor in live mode. The app factory builds one ``Processors`` from its config; each
processor holds its own credentials, and the money flow is handed them (app/payments/flow.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.errors import ServiceUnavailable
from app.payments.processor.base import Processor
from app.payments.processor.http import HttpProcessor
from app.payments.processor.sandbox import SandboxProcessor


class Processors:
    """The processor of each mode, built once per app."""

    def __init__(self, *, secret_key: str, url: str | None, key: str | None) -> None:
        self.sandbox = SandboxProcessor(fingerprint_key=("fingerprint:" + secret_key).encode())
        self.live: HttpProcessor | None = HttpProcessor(url, key) if url and key else None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Processors:
        return cls(secret_key=config["SECRET_KEY"], url=config["PROCESSOR_URL"], key=config["PROCESSOR_KEY"])

    def for_mode(self, livemode: bool) -> Processor:
        """The mode's processor.

        Raises ServiceUnavailable(processor_not_configured) for live mode without one.
        """
        if not livemode:
            return self.sandbox
        if self.live is None:
            raise ServiceUnavailable("Live payments need a processor: set VINR_PROCESSOR_URL and "
                                     "VINR_PROCESSOR_KEY.", code="processor_not_configured")
        return self.live
