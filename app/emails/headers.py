"""What may go into an email header (SPEC §5): every name and address a merchant or a
customer gives is literal text, and no header of a message leaves VINR as more than one.

Why the email package is not trusted alone: a name that is an RFC 2047 encoded word
(``=?utf-8?b?...?=``) holds no control character for a schema to refuse, yet the header
registry decodes it, and Pythons before 3.11.10 / 3.12.5 then write the decoded text out
line breaks and all, so one name adds ``Bcc:`` and ``Reply-To:`` headers (CVE-2024-6923).
Newer Pythons keep the header whole, but still show the decoded text instead of what was
typed. So names are made literal before the registry sees them (``text``), addresses are
checked to come out as they went in (``mailbox``), and every serialized header of every
message is checked before it is handed over (``check``), on any Python.
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, EmailPolicy, Policy

# CRLF line ends: a message serialized with it is what smtplib puts on the wire. (Pythons
# that have ``verify_generated_headers`` verify with it too; ``check`` does on any Python.)
POLICY = SMTP

WORD_JOINER = "\u2060"  # invisible; keeps "=" and "?" from opening an encoded word
# Anything that could end a header line (CR, LF, NEL, Unicode line/paragraph separators)
# or is otherwise a control character.
_NOT_IN_A_HEADER = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext
# A serialized header line may hold no line break, NUL or other control character (a tab
# aside), nor what Python's own ``str.splitlines`` takes for a line end (\x85, \u2028, \u2029).
_LINE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]*")


class UnsafeHeader(ValueError):
    """A header would not say what it was given, or would not go out as one header."""


def one_line(value: str) -> str:
    """``value`` without line breaks or control characters (each a space), its runs of white
    space one space: a newline in a name would otherwise start a header of its own."""
    return " ".join(_NOT_IN_A_HEADER.sub(" ", value).split())


def text(value: str) -> str:
    """``value`` for a Subject or a display name, to be shown as the characters it is: on one
    line (``one_line``), with a word joiner between every "=" and "?". Neither Python's
    email package nor a reader's mail client then finds an encoded word to decode; and the
    joined text, no longer ASCII, is itself written as an encoded word, which a reader decodes
    once, back to these characters."""
    return one_line(value).replace("=?", f"={WORD_JOINER}?")


def mailbox(addr_spec: str, display_name: str = "") -> Address:
    """The address ``addr_spec`` exactly, with ``display_name`` as literal text (``text``).

    Raises UnsafeHeader when the email package would read the address as anything else:
    an encoded word in it would be decoded into another address, or into line breaks.
    """
    if "=?" in addr_spec:
        raise UnsafeHeader(f"the address {addr_spec!r} holds an RFC 2047 encoded word (=?...?=), "
                           "which mail software would decode into another address")
    try:
        address = Address(display_name=text(display_name), addr_spec=addr_spec)
    except (ValueError, HeaderParseError) as error:
        raise UnsafeHeader(f"the address {addr_spec!r} cannot be written in a header: {error}") from None
    if address.addr_spec != addr_spec:
        raise UnsafeHeader(f"the address {addr_spec!r} would be read as {address.addr_spec!r}")
    return address


def check(message: EmailMessage) -> None:
    """Raise UnsafeHeader naming the first header of ``message`` or of one of its parts that,
    serialized as smtplib sends it (ASCII, or UTF-8 for SMTPUTF8), is not exactly one header:
    a CR, LF, NUL or other control character anywhere but in the CRLF of folding, or a
    continuation line that is blank (some servers take one for the end of the headers)."""
    for part in message.walk():
        # raw_items: the values as stored, which the generator folds (items() would parse them again)
        for name, value in part.raw_items():
            for policy in _as_smtplib_sends(part.policy):
                folded = policy.fold(name, value)
                if not _one_header(name, folded):
                    raise UnsafeHeader(f"the {name} header would not go out as one header line "
                                       f"(a line break or control character in it): {folded[:200]!r}")


def _as_smtplib_sends(policy: Policy) -> list[Policy]:
    """``policy`` as smtplib serializes with it: CRLF, and for SMTPUTF8, UTF-8 headers."""
    if isinstance(policy, EmailPolicy):
        return [policy.clone(linesep="\r\n", utf8=False), policy.clone(linesep="\r\n", utf8=True)]
    return [policy.clone(linesep="\r\n")]


def _one_header(name: str, folded: str) -> bool:
    *lines, end = folded.split("\r\n")
    first, *continued = lines or [""]
    return (end == "" and _HEADER_NAME.fullmatch(name) is not None and first.startswith(f"{name}:")
            and all(_LINE.fullmatch(line) for line in lines)
            and all(line[:1] in (" ", "\t") and line.strip(" \t") for line in continued))
