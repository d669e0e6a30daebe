"""The EPC QR code ("GiroCode", EPC069-12 version 002) that a banking app scans to fill in a
SEPA credit transfer (SPEC §12): the payee, IBAN, BIC, the amount in euros and the
structured creditor reference. Written by ``segno``; shown on the hosted page and in the PDF
as a PNG data URI, which WeasyPrint's fetcher takes without any network
(app/documents/service.py allows PNG and JPEG data URIs only).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import segno.helpers
from stdnum import iban, iso11649

# EPC069-12: the amount is at least 0.01 and at most 999,999,999.99 euros; the payee's name
# at most 70 characters.
MAX_CENTS = 99_999_999_999
MAX_NAME = 70
# Pixels per QR module in the PNG: the page and the PDF scale it with ``image-rendering:
# pixelated``, so it stays sharp; 4 is enough for a PDF rendered at 150 dpi to scan, and costs
# its writer about half what 8 did.
SCALE = 4


@dataclass(frozen=True)
class Transfer:
    """What a customer needs to pay an invoice by SEPA credit transfer."""

    account_holder: str
    iban: str
    bic: str | None
    cents: int  # the amount remaining, euro cents
    reference: str  # ISO 11649 RF creditor reference

    @property
    def iban_display(self) -> str:
        """The IBAN in blocks of four, as people read and type it."""
        return str(iban.format(self.iban))

    @property
    def reference_display(self) -> str:
        return str(iso11649.format(self.reference))

    def qr(self) -> segno.QRCode:
        """The code, at error correction level M (as EPC069-12 asks). Raises ValueError for an
        amount that is not positive."""
        if self.cents <= 0:
            raise ValueError("a GiroCode's amount is at least 0.01 euros")
        amount = Decimal(min(self.cents, MAX_CENTS)).scaleb(-2)
        return segno.helpers.make_epc_qr(name=self.account_holder[:MAX_NAME], iban=self.iban, amount=amount,
                                         reference=self.reference, bic=self.bic or None, encoding="utf-8")

    def png_data_uri(self) -> str:
        """The QR code as a ``data:image/png;base64,…`` URI (quiet zone included)."""
        return _png_data_uri(self)


@lru_cache(maxsize=512)
def _png_data_uri(transfer: Transfer) -> str:
    # A pure function of the transfer, and segno's encoding costs ~10 ms: a page viewed again,
    # and the PDF of a page just viewed, reuse it.
    return str(transfer.qr().png_data_uri(scale=SCALE, border=4))

