"""Handing a message to the mail server of ``VINR_SMTP_URL``, or, without one, to the
local outbox (``flask --app wsgi outbox`` lists it): only once each of its headers is
checked to go out as one header (app/emails/headers.py)."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from app.emails import headers

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30.0  # connect, and each command of the conversation


@dataclass(frozen=True)
class Handed:
    via: str | None  # "smtp" or "outbox" when the message was taken
    permanent: bool = False  # refused for good (5xx): retrying cannot help
    error: str | None = None


def hand_over(smtp_url: str | None, message: EmailMessage, *, timeout: float = TIMEOUT_SECONDS) -> Handed:
    """Never raises for a mail server's trouble: an unreachable, slow or 4xx-answering
    server is a Handed with an error to retry; a 5xx refusal is permanent. A message with a
    header that would not go out as one header (``headers.check``) is refused for good,
    before any server or the outbox sees it, and logged."""
    try:
        headers.check(message)
    except headers.UnsafeHeader as unsafe:
        log.error("email %s not handed over: %s", message.get("Message-ID", "(no Message-ID)"), unsafe)
        return Handed(via=None, permanent=True, error=f"not sent: {unsafe}"[:500])
    if smtp_url is None:
        return Handed(via="outbox")
    parts = urlsplit(smtp_url)
    host, port = parts.hostname or "localhost", parts.port
    try:
        if parts.scheme == "smtps":
            server: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=timeout,
                                                    context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(host, port or 25, timeout=timeout)
        with server:
            server.ehlo()
            if parts.scheme == "smtp" and server.has_extn("starttls"):
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
            server.send_message(message)
    except smtplib.SMTPRecipientsRefused as refused:
        codes = [code for code, _ in refused.recipients.values()]
        return Handed(via=None, permanent=all(code >= 500 for code in codes),
                      error=f"recipient refused: {_describe(refused)}")
    except smtplib.SMTPResponseException as answer:
        return Handed(via=None, permanent=answer.smtp_code >= 500,
                      error=f"{answer.smtp_code} {_text(answer.smtp_error)}"[:500])
    except (smtplib.SMTPException, OSError) as trouble:
        return Handed(via=None, error=f"{type(trouble).__name__}: {trouble}"[:500])
    return Handed(via="smtp")


def _text(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else answer


def _describe(refused: smtplib.SMTPRecipientsRefused) -> str:
    return "; ".join(f"{to}: {code} {text.decode(errors='replace')}" for to, (code, text) in
                     refused.recipients.items())[:450]
