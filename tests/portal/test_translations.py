"""The German catalog is complete and compiled (the page and the PDF use it)."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "app" / "translations" / "de" / "LC_MESSAGES"

METHODS = [("app/**.py", "python"), ("app/templates/**.html", "jinja2"), ("app/templates/**.txt", "jinja2"),
           ("themes/**.html", "jinja2")]


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=METHODS, keywords={"_": None, "gettext": None, "_l": None, "lazy_gettext": None}):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_visible_string_has_a_german_translation() -> None:
    po = read_po(io.BytesIO((CATALOG / "messages.po").read_bytes()))
    missing = sorted(m for m in _source_messages() if not (po.get(m) and po.get(m).string))
    assert missing == []


def test_compiled_catalog_matches_the_source_catalog() -> None:
    po = read_po(io.BytesIO((CATALOG / "messages.po").read_bytes()))
    mo = read_mo(io.BytesIO((CATALOG / "messages.mo").read_bytes()))
    assert {m.id: m.string for m in po if m.id} == {m.id: m.string for m in mo if m.id}
