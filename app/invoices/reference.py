"""An invoice's payment reference (SPEC §12): the ISO 11649 structured creditor reference
(``RF`` + two check digits + up to 21 letters and digits) that a bank transfer quotes, so
the statement import finds the invoice it pays. It is EN 16931 BT-83 in the e-invoice.

Derived from the invoice number alone (its letters and digits, upper case), so it is the
same whenever it is computed; finalization stores it on the invoice, which freezes it.
Check digits by library (python-stdnum), never by hand.
"""

from __future__ import annotations

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

MAX_BODY = 21  # ISO 11649: at most 21 characters after RF and the check digits


def payment_reference_for(number: str) -> str:
    """The RF reference of invoice number ``number`` (e.g. ``ACME-0042`` -> ``RF45ACME0042``).

    Only letters and digits are kept. A longer number keeps its last 21 characters: the
    sequence part, which tells an account's invoices apart. Raises ValueError for a number
    with no letter or digit at all.
    """
    body = "".join(ch for ch in number.upper() if ch.isascii() and ch.isalnum())[-MAX_BODY:]
    if not body:
        raise ValueError(f"invoice number {number!r} has no letter or digit for a payment reference")
    reference = f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"
    return str(iso11649.validate(reference))


def format_reference(reference: str) -> str:
    """The reference in blocks of four, as people read and type it (``RF45 ACME 0042``)."""
    return str(iso11649.format(reference))
