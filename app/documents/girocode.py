"""The EPC QR code ("GiroCode", EPC069-12 version 002) that a banking app scans to fill in a
SEPA credit transfer (SPEC §12): the payee, IBAN, BIC, the amount in euros and the
structured creditor reference. Written by ``segno``; shown on the hosted page and in the PDF
as a PNG data URI, which WeasyPrint's fetcher takes without any network
(app/documents/service.py allows PNG and JPEG data URIs only).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import segno.helpers
from stdnum import iban, iso11649

# EPC069-12: the amount is at least 0.01 and at most 999,999,999.99 euros; the payee's name
# at most 70 characters.
MAX_CENTS = 99_999_999_999
MAX_NAME = 70
# Modules per QR module in the PNG: sharp enough for a screenshot of the page and for the
# PDF at print resolution; the image is sized by CSS.
SCALE = 8


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
        return str(self.qr().png_data_uri(scale=SCALE, border=4))

