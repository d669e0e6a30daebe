"""Tax and bank identifiers, checked by their check digits with python-stdnum (SPEC §10, STYLE
"Check digits by library"): VAT ids, German tax numbers, IBANs and BICs.

Only the digits and formats are checked, offline. stdnum's VIES lookup (``check_vies``) is a
network call to the EU's service and is never made: whether a VAT id is registered to whom
is the merchant's to check.

Each check takes what a person typed (spaces, dots, lower case) and returns the compact form
that is stored, or raises ValueError saying what is wrong, which the API turns into a 400
naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Annotated, Literal

from pydantic import AfterValidator, Field
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.ch import vat as ch_vat
from stdnum.de import stnr as de_stnr
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)
from stdnum.gb import vat as gb_vat
from stdnum.no import mva as no_vat

# The types of a customer's tax ids (SPEC §10 ``tax_ids[].type``), each checked below.
TaxIdType = Literal["eu_vat", "gb_vat", "ch_vat", "no_vat", "de_stn"]


def _why(error: ValidationError) -> str:
    if isinstance(error, InvalidChecksum):
        return "its check digits do not match"
    if isinstance(error, InvalidLength):
        return "it has the wrong number of characters"
    if isinstance(error, InvalidComponent):
        return "it does not start with a known country code"
    if isinstance(error, InvalidFormat):
        return "it is not in the expected format"
    return "it is not a valid number"


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _checked(module: ModuleType, value: str, what: str, example: str) -> str:
    try:
        compact: str = module.validate(value)
    except ValidationError as error:
        raise ValueError(f"{_shown(value)} is not a valid {what} ({_why(error)}), e.g. {example}") from None
    return compact.upper()


def _prefixed(prefix: str, compact: str) -> str:
    # stdnum's compact UK, Swiss and Norwegian numbers drop their country prefix; ours keep it.
    return compact if compact.startswith(prefix) else prefix + compact


def eu_vat_id(value: str) -> str:
    """An EU VAT id (``DE123456788``; ``XI`` for Northern Ireland, ``EL`` for Greece), compacted."""
    return _checked(eu_vat, value, "EU VAT id", "DE123456788")


def gb_vat_id(value: str) -> str:
    return _prefixed("GB", _checked(gb_vat, value, "UK VAT number", "GB980780684"))


def ch_vat_id(value: str) -> str:
    return _prefixed("CH", _checked(ch_vat, value, "Swiss VAT number", "CHE-107.787.577 MWST"))


def no_vat_id(value: str) -> str:
    return _prefixed("NO", _checked(no_vat, value, "Norwegian VAT number", "NO995525828MVA"))


def de_tax_number(value: str) -> str:
    """A German Steuernummer, in any of the states' formats (``181/815/08155``), compacted."""
    return _checked(de_stnr, value, "German tax number (Steuernummer)", "181/815/08155")


def vat_id(value: str) -> str:
    """A seller's VAT id: an EU one, or a UK, Swiss or Norwegian VAT number (by its prefix)."""
    check = _NON_EU_VAT.get("".join(value.split())[:2].upper(), eu_vat_id)
    return check(value)


_NON_EU_VAT: dict[str, Callable[[str], str]] = {"GB": gb_vat_id, "CH": ch_vat_id, "NO": no_vat_id}
TAX_ID_CHECKS: dict[str, Callable[[str], str]] = {
    "eu_vat": eu_vat_id, "gb_vat": gb_vat_id, "ch_vat": ch_vat_id, "no_vat": no_vat_id, "de_stn": de_tax_number}


def eu_vat_country(value: str) -> str:
    """The ISO 3166-1 country of a valid EU VAT id (``EL`` is Greece, ``GR``; ``XI`` is the UK's
    Northern Ireland, ``GB``)."""
    prefix = value[:2].upper()
    return {"EL": "GR", "XI": "GB"}.get(prefix, prefix)


def iban(value: str) -> str:
    """An IBAN, checked by its country's length and format and its mod-97 digits, compacted."""
    return _checked(stdnum_iban, value, "IBAN", "DE89370400440532013000")


def bic(value: str) -> str:
    """A BIC (SWIFT code) of 8 or 11 characters, checked by its format and country, compacted."""
    return _checked(stdnum_bic, value, "BIC", "COBADEFFXXX")


VatId = Annotated[str, Field(max_length=40, json_schema_extra={
    "description": "VAT id with its country prefix, e.g. DE123456788 (EU), GB980780684, CHE107787577MWST "
                   "or NO995525828MVA; check digits are validated"}), AfterValidator(vat_id)]
Iban = Annotated[str, Field(max_length=50, json_schema_extra={
    "description": "IBAN, spaces allowed, e.g. DE89 3704 0044 0532 0130 00; check digits are validated"}),
    AfterValidator(iban)]
Bic = Annotated[str, Field(max_length=20, json_schema_extra={
    "description": "BIC (SWIFT code) of 8 or 11 characters, e.g. COBADEFFXXX"}), AfterValidator(bic)]
