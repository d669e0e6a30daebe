"""The one rule for an invoice's tax treatment (app/invoices/tax_treatment.py), case by case."""

from __future__ import annotations

from typing import Any

import pytest

from app.invoices.tax_treatment import Treatment, buyer_vat_id, decide

DE_SELLER = {"address": {"country": "DE"}, "vat_id": "DE123456788", "small_business": False}
SMALL_DE_SELLER = {**DE_SELLER, "small_business": True}
NO_PROFILE: dict[str, Any] = {"address": None, "vat_id": None, "small_business": False}
FR, DE, EL, AT = ("FR40303265045", "DE136695976", "EL094259216", "ATU13585627")

R, E, SB, S = Treatment.REVERSE_CHARGE, Treatment.EXEMPT, Treatment.SMALL_BUSINESS, Treatment.STANDARD


def ids(*values: str) -> list[dict[str, str]]:
    return [{"type": "eu_vat", "value": v} for v in values]


@pytest.mark.parametrize(("tax_exempt", "tax_ids", "seller", "treatment", "refused"), [
    ("reverse", ids(FR), DE_SELLER, R, False),
    ("reverse", ids(EL), DE_SELLER, R, False),  # Greece's VAT ids start with EL
    ("reverse", ids(DE, AT), DE_SELLER, R, False),
    ("reverse", ids(DE), DE_SELLER, R, True),  # the seller's own country
    ("reverse", [], DE_SELLER, R, True),
    ("reverse", [{"type": "gb_vat", "value": "GB980780684"}], DE_SELLER, R, True),  # not an EU VAT id
    ("reverse", ids(DE), {**DE_SELLER, "address": None}, R, True),  # the country from the seller's VAT id
    ("reverse", ids(DE), NO_PROFILE, R, False),  # nothing to compare with
    ("reverse", ids(FR), SMALL_DE_SELLER, R, False),  # a supply taxed in France, not under § 19 UStG
    ("exempt", ids(FR), SMALL_DE_SELLER, SB, False),
    ("none", [], SMALL_DE_SELLER, SB, False),
    ("exempt", [], DE_SELLER, E, False),
    ("none", ids(FR), DE_SELLER, S, False),
])
def test_the_rule(tax_exempt: str, tax_ids: list[dict[str, str]], seller: dict[str, Any], treatment: Treatment,
                  refused: bool) -> None:
    decision = decide(tax_exempt, tax_ids, seller)
    assert decision.treatment is treatment
    assert (decision.refusal is not None) is refused
    assert decision.charges_vat is (treatment is S)


def test_the_buyer_vat_id_of_a_reverse_charge_is_the_one_that_qualified() -> None:
    assert buyer_vat_id(ids(DE, AT), DE_SELLER, R) == AT
    assert buyer_vat_id(ids(DE, AT), DE_SELLER, S) == DE
    assert buyer_vat_id([], DE_SELLER, S) is None
