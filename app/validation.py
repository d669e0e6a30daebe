"""Shared field types for request schemas (pydantic), and the mapping of a
validation failure to the SPEC §2 error object naming the parameter."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import pycountry
from babel import Locale, UnknownLocaleError
from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, ValidationError

from app.errors import DomainError, InvalidRequest
from app.money import MAX_AMOUNT, MAX_QUANTITY, normalize_currency

METADATA_MAX_KEYS = 50
METADATA_MAX_KEY = 40
METADATA_MAX_VALUE = 500


class Params(BaseModel):
    """A request body: strict JSON types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class QueryParams(BaseModel):
    """Query strings are text: lax coercion, unknown parameters still refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _currency(value: str) -> str:
    try:
        return normalize_currency(value)
    except DomainError:
        raise ValueError(f"{value!r} is not an ISO 4217 currency that money is invoiced in "
                         "(test, metal, fund and withdrawn codes are refused)") from None


def _country(value: str) -> str:
    code = value.upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _locale(value: str) -> str:
    try:
        Locale.parse(value.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        raise ValueError(f"{value!r} is not a known locale") from None
    return value


def _metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > METADATA_MAX_KEYS:
        raise ValueError(f"at most {METADATA_MAX_KEYS} keys are allowed")
    for key, item in value.items():
        if not key or len(key) > METADATA_MAX_KEY:
            raise ValueError(f"keys must be 1 to {METADATA_MAX_KEY} characters ({key[:50]!r})")
        if len(item) > METADATA_MAX_VALUE:
            raise ValueError(f"value of {key!r} is longer than {METADATA_MAX_VALUE} characters")
    return value


def _email_address(value: str) -> str:
    # An address goes into email headers as it is (SPEC §5). Mail software, Python's email
    # package too, decodes an RFC 2047 encoded word even there, into another address or into
    # line breaks; no real mailbox is named like one.
    if "=?" in value:
        raise ValueError("must not contain an RFC 2047 encoded word (=?...?=)")
    return value


def decimal_places(value: int | float, places: int, low: Decimal, high: Decimal) -> Decimal:
    """A JSON number as a Decimal with at most ``places`` decimals in (low, high]."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not number.is_finite() or number <= low or number > high:
        raise ValueError(f"must be greater than {low} and at most {high}")
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"must have at most {places} decimal places")
    return number


# ``json_schema_extra`` documents in the OpenAPI document what the validators check, for
# clients and their generated SDKs; the validators themselves give the clearer messages.
Currency = Annotated[str, Field(min_length=3, max_length=3, json_schema_extra={
    "pattern": "^[A-Za-z]{3}$",
    "description": "ISO 4217 code of a currency that is legal tender today, in any case, e.g. eur "
                   "(not XXX, XTS, metals, funds or withdrawn codes)"}), AfterValidator(_currency)]
Country = Annotated[str, Field(json_schema_extra={
    "minLength": 2, "maxLength": 2, "pattern": "^[A-Za-z]{2}$",
    "description": "ISO 3166-1 alpha-2 country code, e.g. DE"}), AfterValidator(_country)]
LocaleTag = Annotated[str, Field(max_length=20), AfterValidator(_locale)]
Metadata = Annotated[dict[str, str], Field(json_schema_extra={
    "maxProperties": METADATA_MAX_KEYS,
    "propertyNames": {"minLength": 1, "maxLength": METADATA_MAX_KEY},
    "additionalProperties": {"type": "string", "maxLength": METADATA_MAX_VALUE}}), AfterValidator(_metadata)]
Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT)]  # minor units
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
ShortText = Annotated[str, Field(max_length=500)]
LongText = Annotated[str, Field(max_length=5000)]
ObjectRef = Annotated[str, Field(min_length=1, max_length=64)]
EmailAddress = Annotated[EmailStr, Field(max_length=254), AfterValidator(_email_address)]


def param_name(loc: tuple[int | str, ...]) -> str:
    """('address', 'country') -> 'address[country]', the Stripe-style name."""
    head, *rest = [str(part) for part in loc] or ["body"]
    return head + "".join(f"[{part}]" for part in rest)


# Embeddings, overrides and isolates: in a name or a description they would reorder the
# text around them on the hosted page and in the PDF ("edirrevo-LTR"), so they are refused
# at input like the characters no database can store. Plain RTL text needs none of them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# The same characters as they appear raw in a UTF-8 body (E2 80 AA-AE, E2 81 A6-A9).
BIDI_CONTROLS_UTF8 = re.compile(rb"\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]")


def _refused_text(text: str) -> str | None:
    """What in this text is refused, if anything: what no database of ours can store, and
    bidirectional controls."""
    if "\x00" in text:
        return "NUL (\\u0000) characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # only half of a surrogate pair, escaped in JSON as \ud800 and the like
        return "unpaired surrogates (\\ud800-\\udfff)"
    if not BIDI_CONTROLS.isdisjoint(text):
        return "bidirectional control characters (U+202A-U+202E, U+2066-U+2069)"
    return None


def refuse_bad_text(value: Any, loc: tuple[int | str, ...] = ()) -> None:
    """Raise InvalidRequest naming the first parameter whose text, or one of whose keys, holds
    a NUL character, half a surrogate pair or a bidirectional control. PostgreSQL can store
    neither of the first two (and would fail the request late, a 500), SQLite one of them;
    the last would reorder what surrounds the text where it is shown. No field of ours has a
    use for any of them: refused alike on both databases."""
    if isinstance(value, str):
        problem = _refused_text(value)
        if problem is not None:
            name = param_name(loc)
            raise InvalidRequest(f"Invalid {name}: text may not contain {problem}.", param=name)
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = _refused_text(key)
            if problem is not None:
                name = param_name(loc)
                raise InvalidRequest(f"Invalid {name}: keys may not contain {problem}.", param=name)
            refuse_bad_text(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            refuse_bad_text(item, (*loc, index))


def validation_error(exc: ValidationError) -> InvalidRequest:
    """The first problem of a pydantic error, as an error naming its parameter."""
    first = exc.errors(include_url=False)[0]
    param = param_name(tuple(first["loc"]))
    kind = first["type"]
    if kind == "extra_forbidden":
        return InvalidRequest(f"Received unknown parameter: {param}", param=param, code="parameter_unknown")
    if kind == "missing":
        return InvalidRequest(f"Missing required param: {param}.", param=param, code="parameter_missing")
    message = str(first["msg"]).removeprefix("Value error, ")
    return InvalidRequest(f"Invalid {param}: {message}.", param=param)


def parse(model: type[BaseModel], data: Any) -> Any:
    """Validate ``data`` against ``model`` or raise InvalidRequest."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None
