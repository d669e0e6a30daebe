"""Which processor a mode uses (SPEC §6): the sandbox in test mode, the configured HTTP
processor in live mode. One instance of each per app, holding its own credentials."""

from __future__ import annotations

from flask import current_app

from app.errors import ServiceUnavailable
from app.payments.processor.base import Processor
from app.payments.processor.http import HttpProcessor
from app.payments.processor.sandbox import SandboxProcessor


def processor_for(livemode: bool) -> Processor:
    """The mode's processor.

    Raises ServiceUnavailable(processor_not_configured) for live mode without one.
    """
    cache: dict[str, Processor] = current_app.extensions.setdefault("vinr.processors", {})
    if not livemode:
        if "sandbox" not in cache:
            cache["sandbox"] = SandboxProcessor(
                fingerprint_key=("fingerprint:" + current_app.config["SECRET_KEY"]).encode())
        return cache["sandbox"]
    url, key = current_app.config["PROCESSOR_URL"], current_app.config["PROCESSOR_KEY"]
    if not url or not key:
        raise ServiceUnavailable("Live payments need a processor: set VINR_PROCESSOR_URL and VINR_PROCESSOR_KEY.",
                                 code="processor_not_configured")
    if "http" not in cache:
        cache["http"] = HttpProcessor(url, key)
    return cache["http"]
