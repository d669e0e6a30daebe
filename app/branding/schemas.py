"""Request schema of ``POST /v1/account/branding`` (SPEC §3 Branding) and the
checks behind each field. Every failure is a ValueError, which the API turns
into a 400 naming the field.

Logo decision: the declared type must match the bytes. A JPEG sent as
``data:image/png;base64,…`` is refused (400 ``logo``), not silently relabelled,
so what the merchant reads back is what they meant to send.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from PIL import Image
from pydantic import AfterValidator, Field

from app.branding import themes
from app.validation import EmailAddress, Params

LOGO_MAX_BYTES = 256 * 1024  # decoded
LOGO_MIN_SIDE = 16  # pixels
LOGO_MAX_SIDE = 2000  # pixels
LOGO_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG"}  # declared MIME type -> Pillow format
_MAX_BASE64 = 4 * -(-LOGO_MAX_BYTES // 3)  # characters that can hold LOGO_MAX_BYTES

_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_PHONE = re.compile(r"\+?[0-9 ()\-]+")
_HOST = re.compile(r"[\w.:-]+")  # letters (IDN too), digits, dots, hyphens; ':' for IPv6
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Logo:
    data: bytes
    mime: str  # image/png or image/jpeg


def _short(value: str) -> str:
    return repr(value if len(value) <= 64 else value[:61] + "...")


def _color(value: str) -> str:
    if not _HEX_COLOR.fullmatch(value):
        raise ValueError("must be a colour in #rrggbb form, e.g. #1a73e8")
    return value.lower()


def _theme(value: str) -> str:
    names = themes.available_themes()
    if value not in names:
        raise ValueError(f"unknown theme {_short(value)}; available: {', '.join(names)}")
    return value


def _plain_text(value: str) -> str:
    # Names reach email headers and the PDF: no line breaks or control characters. An encoded
    # word (=?...?=) is taken, and is sent as its characters (app/emails/headers.py).
    if _CONTROL.search(value):
        raise ValueError("must not contain line breaks or control characters")
    return value


def _phone(value: str) -> str:
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE.fullmatch(value) or not 4 <= digits <= 20:
        raise ValueError("must be a phone number: digits, spaces, +, - and parentheses, with 4 to 20 digits")
    return value


def _url(value: str) -> str:
    if _CONTROL.search(value) or any(ch.isspace() for ch in value) or "\\" in value:
        raise ValueError("must be an http or https URL without spaces or backslashes")
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        raise ValueError("must be a valid http or https URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http or https URL")
    host = parts.hostname or ""
    if not host or not _HOST.fullmatch(host) or not port_ok:
        raise ValueError("must be an http or https URL with a host name")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain a user name or password")
    return value


def decode_data_uri(value: str) -> tuple[str, bytes]:
    """``data:<mime>;base64,<payload>`` -> (declared mime, bytes), checking type and size only."""
    header, comma, payload = value.partition(",")
    mime = header.lower().removeprefix("data:").removesuffix(";base64")
    if not comma or not header.lower().startswith("data:") or not header.lower().endswith(";base64"):
        raise ValueError("must be a data URI: data:image/png;base64,... or data:image/jpeg;base64,...")
    if mime == "image/jpg":  # a common misspelling, same format
        mime = "image/jpeg"
    if mime not in LOGO_TYPES:
        raise ValueError("must be a PNG or JPEG image (data:image/png or data:image/jpeg)")
    payload = "".join(payload.split())  # tolerate line-wrapped base64
    if len(payload) > _MAX_BASE64:
        raise ValueError(f"must be at most {LOGO_MAX_BYTES // 1024} KiB")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None
    if len(data) > LOGO_MAX_BYTES:
        raise ValueError(f"must be at most {LOGO_MAX_BYTES // 1024} KiB")
    if not data:
        raise ValueError("is empty")
    return mime, data


def _complete(data: bytes, fmt: str) -> bool:
    """The file is whole: a PNG's chunks verify up to IEND, a JPEG ends with EOI."""
    if fmt == "JPEG":
        return data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")
    if b"IEND" not in data[-16:]:
        return False
    with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
        image.verify()  # checks every chunk's CRC
    return True


def check_image(data: bytes, mime: str) -> None:
    """Decode ``data`` with Pillow and insist it is a still ``mime`` image of a sane size.

    Only the PNG and JPEG decoders are tried (no exotic parser sees merchant
    bytes); the format is sniffed from the bytes, not taken from ``mime``.
    """
    expected = LOGO_TYPES[mime]
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 89 and 179 megapixels; for a logo that is an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(LOGO_TYPES.values())) as image:
                actual, (width, height) = image.format, image.size
                frames = getattr(image, "n_frames", 1)
                if actual == expected and frames == 1 and _sides_ok(width, height):
                    image.load()  # a full decode: corrupt data fails here
            # WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES at
            # import, so load() alone accepts a cut-off file: check the ends.
            if actual == expected and not _complete(data, expected):
                raise ValueError("truncated")
    except Image.DecompressionBombError:
        raise ValueError("is far too large in pixels") from None
    except Image.DecompressionBombWarning:
        raise ValueError("is far too large in pixels") from None
    except Exception:  # Pillow raises many types for hostile bytes; all mean "not a usable image"
        raise ValueError("is not a readable PNG or JPEG image") from None
    if actual != expected:
        raise ValueError(f"is declared as {mime} but the data is {'a ' + actual if actual else 'another format'}")
    if frames != 1:
        raise ValueError("must be a still image, not an animation")
    if not _sides_ok(width, height):
        raise ValueError(f"must be between {LOGO_MIN_SIDE}x{LOGO_MIN_SIDE} and "
                         f"{LOGO_MAX_SIDE}x{LOGO_MAX_SIDE} pixels (got {width}x{height})")


def _sides_ok(width: int, height: int) -> bool:
    return LOGO_MIN_SIDE <= width <= LOGO_MAX_SIDE and LOGO_MIN_SIDE <= height <= LOGO_MAX_SIDE


def parse_logo(value: str) -> Logo:
    """A validated logo from its data URI (raises ValueError saying what is wrong)."""
    mime, data = decode_data_uri(value)
    check_image(data, mime)
    return Logo(data=data, mime=mime)


def _logo(value: str) -> str:
    logo = parse_logo(value)
    # Canonical form: lower-case type, unwrapped base64.
    return f"data:{logo.mime};base64,{base64.b64encode(logo.data).decode('ascii')}"


def logo_data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


HexColor = Annotated[str, Field(json_schema_extra={"pattern": "^#[0-9A-Fa-f]{6}$"}), AfterValidator(_color)]
ThemeName = Annotated[str, Field(max_length=64), AfterValidator(_theme)]
DisplayName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_plain_text)]
LogoDataUri = Annotated[str, AfterValidator(_logo)]
SupportEmail = EmailAddress
SupportPhone = Annotated[str, Field(max_length=40), AfterValidator(_phone)]
SupportUrl = Annotated[str, Field(max_length=500), AfterValidator(_url)]


class BrandingUpdate(Params):
    """Fields given are set; a field sent as null is cleared (theme: back to default)."""

    theme: ThemeName | None = None
    display_name: DisplayName | None = None
    primary_color: HexColor | None = None
    accent_color: HexColor | None = None
    logo: LogoDataUri | None = Field(default=None, description="PNG or JPEG as a base64 data URI, "
                                     "at most 256 KiB, 16x16 to 2000x2000 pixels")
    support_email: SupportEmail | None = None
    support_phone: SupportPhone | None = None
    support_url: SupportUrl | None = None
