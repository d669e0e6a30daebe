"""A credit note's EN 16931 e-invoice (SPEC §11 with §10): type code 381, its invoice as the
preceding invoice reference (BT-25, BT-26), the invoice's frozen seller, buyer and tax
treatment, the credit note's own lines and amounts; written by the invoices' writers
(app/einvoicing/syntax.py) from the one model (app/einvoicing/document.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.accounts.service import Caller
from app.credit_notes.models import CreditNote
from app.einvoicing.document import EInvoice, Unrepresentable, build_credit_note
from app.einvoicing.service import Rendered, customer_format, refusal
from app.einvoicing.syntax import Format, render
from app.errors import Conflict
from app.invoices.models import Invoice
from app.tenancy import get_for

_SUFFIX = {Format.FACTURX: "factur-x", Format.UBL: "ubl", Format.XRECHNUNG_CII: "xrechnung-cii",
           Format.XRECHNUNG_UBL: "xrechnung-ubl"}


def document(note: CreditNote, invoice: Invoice) -> EInvoice:
    """The credit note's model. Raises Conflict ``einvoice_unsupported`` for what EN 16931
    cannot express (as for invoices)."""
    rates = {rate_id: int(d["percentage_e4"]) for rate_id, d in note.tax_rate_details.items()}
    try:
        return build_credit_note(note, invoice, rates)
    except Unrepresentable as error:
        raise Conflict(str(error), code="einvoice_unsupported") from None


def model(note: CreditNote, invoice: Invoice, fmt: Format) -> EInvoice:
    """The model for ``fmt``, refused as the invoice's own would be (its frozen seller and buyer
    lack what ``fmt`` needs: ``business_profile_incomplete``, ``customer_details_incomplete``,
    ``buyer_reference_required``)."""
    refused = refusal(invoice, fmt)
    if refused is not None:
        raise refused
    return document(note, invoice)


def embedded(note: CreditNote, invoice: Invoice) -> EInvoice | None:
    """The model its PDF embeds as Factur-X XML (a hybrid, as an invoice's), or None: a plain PDF."""
    if refusal(invoice, Format.FACTURX) is not None:
        return None
    try:
        return document(note, invoice)
    except Conflict:
        return None


def einvoice(session: Session, caller: Caller, credit_note_id: str, fmt: Format | None) -> Rendered:
    """The e-invoice of the caller's credit note in ``fmt`` (default: the customer's
    ``einvoice.format``, else Factur-X). Raises NotFound, and what ``model`` raises."""
    note = get_for(session, caller, CreditNote, credit_note_id)
    invoice = note.invoice
    chosen = fmt or customer_format(invoice) or Format.FACTURX
    return Rendered(chosen, f"credit-note-{note.number}-{_SUFFIX[chosen]}.xml",
                    render(model(note, invoice, chosen), chosen))
