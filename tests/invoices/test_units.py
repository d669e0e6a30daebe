"""The unit codes lines may carry are exactly those EN 16931's rules accept (BR-CL-23)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from app.legal.unit_codes import DEFAULT_UNIT, UNIT_CODES
from tests.conftest import ROOT

VALIDATORS = Path(os.environ.get("VINR_VALIDATORS_DIR", ROOT.parent / "shared" / "validators"))


def test_the_common_units_are_there() -> None:
    assert {DEFAULT_UNIT, "HUR", "DAY", "MON", "ANN", "KGM", "MTR", "LTR", "KWH", "XPP"} <= UNIT_CODES
    assert "hours" not in UNIT_CODES and "" not in UNIT_CODES


@pytest.mark.parametrize("syntax", ["CII", "UBL"])
def test_the_list_is_the_one_the_official_rules_check(syntax: str) -> None:
    rules = VALIDATORS / f"EN16931-{syntax}-validation.xslt"
    if not rules.exists():
        pytest.skip(f"the CEN rule sets are not here ({rules}); set VINR_VALIDATORS_DIR to their folder")
    text = rules.read_text(encoding="utf-8")
    rule = text.index('<xsl:attribute name="id">BR-CL-23</xsl:attribute>')
    listed = re.findall(r"contains\(' ([^']+) '", text[:rule])[-1]
    assert set(listed.split()) == UNIT_CODES
