"""An invoice's tax treatment (SPEC §10 "Tax categories"): the one rule for whether an invoice
charges VAT and, where it charges none, what EN 16931 calls that and what the invoice must say.

The rule, from the customer's ``tax_exempt`` and ``tax_ids`` and the seller's business profile
(``app/business_profile/service.legal_fields``: its country, VAT id and ``small_business``), first match:

1. ``tax_exempt: "reverse"`` and an ``eu_vat`` tax id of another member state than the seller's
   → ``reverse_charge`` (UNTDID 5305 ``AE``, Art. 196 Directive 2006/112/EC). This wins over
   ``small_business``: § 19 UStG covers supplies within Germany, and a supply to a business in
   another member state is taxed there, by the recipient, whoever the seller is.
2. The seller is a small business → ``small_business`` (``E``, the § 19 UStG note): it charges
   no VAT to anyone, even where the account has tax rates.
3. ``tax_exempt: "exempt"`` → ``exempt`` (``E``).
4. Otherwise ``standard``: its lines pay their rates (``S``); a line paying none is ``E``.

``tax_exempt: "reverse"`` without a qualifying VAT id (none, or only ones of the seller's own
country) is still ``reverse_charge`` while the invoice is a draft, so the draft previews what
the merchant asked for and charges no VAT (SPEC §3: reverse customers pay none); finalizing it
is refused with ``customer_tax_id_required`` (``Decision.refusal`` says what to add) until the
customer has the VAT id, or is no longer ``reverse``. Reverse charge within one member state
(German § 13b UStG) is not offered: SPEC §10 names the cross-border case only.

The seller's country is its address's, else its VAT id's prefix; when neither is known (an
account without a profile) any EU VAT id qualifies, as there is nothing to compare it with.

Finalization freezes the treatment on the invoice (``Invoice.tax_treatment``), next to the
buyer's tax ids and the seller (``account_legal``) it was decided from, so a later change of
the customer or the profile changes no issued invoice, PDF or XML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from app.business_profile import service as profile
from app.customers.models import Customer
from app.invoices.models import Invoice
from app.legal.identifiers import eu_vat_country


class Treatment(StrEnum):
    STANDARD = "standard"
    REVERSE_CHARGE = "reverse_charge"
    EXEMPT = "exempt"
    SMALL_BUSINESS = "small_business"


# UNTDID 5305 VAT categories (EN 16931 BT-118 / BT-151).
STANDARD_RATED = "S"
EXEMPT_FROM_VAT = "E"
REVERSE_CHARGE = "AE"

# Customers' tax ids that are VAT ids (EN 16931 BT-48), by the type customers give them.
VAT_ID_TYPES = frozenset({"eu_vat", "gb_vat", "ch_vat", "no_vat"})


@dataclass(frozen=True, slots=True)
class Untaxed:
    """How the documents name a line that pays no rate under a treatment."""

    category: str  # UNTDID 5305 (BT-151, BT-118)
    reason: str  # VAT exemption reason text (BT-120); BR-E-10 and BR-AE-10 want one
    reason_code: str | None  # VAT exemption reason code (BT-121), the CEF VATEX list
    # The invoice's note (BG-1), German and English, as the XML says it; the page and the PDF
    # print the reader's language instead (app/portal/presenter.py ``tax_note``).
    note: str | None


UNTAXED: Mapping[Treatment, Untaxed] = {
    Treatment.STANDARD: Untaxed(EXEMPT_FROM_VAT, "No VAT charged", None, None),
    Treatment.REVERSE_CHARGE: Untaxed(
        REVERSE_CHARGE, "Reverse charge", "VATEX-EU-AE",
        "Steuerschuldnerschaft des Leistungsempfängers. "
        "Reverse charge – VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)."),
    Treatment.EXEMPT: Untaxed(EXEMPT_FROM_VAT, "VAT exempt", None,
                              "Steuerfreie Leistung: Es wird keine Umsatzsteuer berechnet. "
                              "VAT exempt: no VAT is charged."),
    Treatment.SMALL_BUSINESS: Untaxed(EXEMPT_FROM_VAT, "Kleinunternehmer gemäß § 19 UStG", None,
                                      "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet. "
                                      "No VAT is charged (small business, § 19 UStG)."),
}


@dataclass(frozen=True, slots=True)
class Decision:
    """An invoice's treatment, and why finalizing it is refused, if it is."""

    treatment: Treatment
    refusal: str | None = None  # the 400 ``customer_tax_id_required`` message

    @property
    def charges_vat(self) -> bool:
        """Whether the invoice's lines pay tax rates at all."""
        return self.treatment is Treatment.STANDARD

    @property
    def untaxed(self) -> Untaxed:
        """The category, reason and note of the lines paying no rate."""
        return UNTAXED[self.treatment]


def seller_country(seller: Mapping[str, Any]) -> str | None:
    """The seller's ISO country: its address's, else its VAT id's; None when neither is set."""
    country = ((seller.get("address") or {}).get("country") or "").upper()
    if country:
        return str(country)
    vat_id = seller.get("vat_id")
    return eu_vat_country(vat_id) if vat_id else None


def reverse_charge_vat_id(tax_ids: Sequence[Mapping[str, Any]], seller: Mapping[str, Any]) -> str | None:
    """The buyer's first EU VAT id of another member state than the seller's, or None."""
    home = seller_country(seller)
    for tax_id in tax_ids:
        value = tax_id.get("value")
        if tax_id.get("type") == "eu_vat" and value and eu_vat_country(value) != home:
            return str(value)
    return None


def buyer_vat_id(tax_ids: Sequence[Mapping[str, Any]], seller: Mapping[str, Any],
                 treatment: Treatment) -> str | None:
    """The buyer's VAT id the documents print (EN 16931 BT-48): under reverse charge the one
    that qualified for it, else the first VAT id among ``tax_ids``."""
    if treatment is Treatment.REVERSE_CHARGE:
        qualifying = reverse_charge_vat_id(tax_ids, seller)
        if qualifying is not None:
            return qualifying
    return next((str(t["value"]) for t in tax_ids if t.get("type") in VAT_ID_TYPES and t.get("value")), None)


def decide(tax_exempt: str, tax_ids: Sequence[Mapping[str, Any]], seller: Mapping[str, Any]) -> Decision:
    """The treatment of an invoice to a customer with ``tax_exempt`` and ``tax_ids`` from the
    ``seller`` (``legal_fields``), by the rule in this module's docstring."""
    if tax_exempt == "reverse":
        return Decision(Treatment.REVERSE_CHARGE, _refusal(tax_ids, seller))
    if seller.get("small_business"):
        return Decision(Treatment.SMALL_BUSINESS)
    if tax_exempt == "exempt":
        return Decision(Treatment.EXEMPT)
    return Decision(Treatment.STANDARD)


def _refusal(tax_ids: Sequence[Mapping[str, Any]], seller: Mapping[str, Any]) -> str | None:
    if reverse_charge_vat_id(tax_ids, seller) is not None:
        return None
    own = [str(t["value"]) for t in tax_ids if t.get("type") == "eu_vat" and t.get("value")]
    remedy = ('Add it to the customer\'s tax_ids ({"type": "eu_vat", "value": "FR40303265045"}), or set the '
              'customer\'s tax_exempt to "none" or "exempt", then finalize again.')
    if own:
        return (f'The customer has tax_exempt "reverse", but its EU VAT id ({", ".join(own)}) is of the seller\'s '
                f"own country ({seller_country(seller)}): reverse charge needs the customer's EU VAT id in another "
                f"member state. {remedy}")
    return ('The customer has tax_exempt "reverse" but no EU VAT id, which a reverse charge invoice must name. '
            + remedy)


def for_customer(session: Session, account_id: str, customer: Customer) -> Decision:
    """The treatment a draft of ``account_id`` for ``customer`` has now (the profile as it is)."""
    seller = profile.legal_fields(profile.get_profile(session, account_id))
    return decide(customer.tax_exempt, customer.tax_ids, seller)


def of_invoice(invoice: Invoice) -> Decision:
    """The treatment a finalized invoice froze. An invoice finalized before treatments were
    frozen is a small business's when its frozen seller was one, else standard: what its
    documents said when it was issued."""
    if invoice.tax_treatment is not None:
        return Decision(Treatment(invoice.tax_treatment))
    small = bool((invoice.account_legal or {}).get("small_business"))
    return Decision(Treatment.SMALL_BUSINESS if small else Treatment.STANDARD)
