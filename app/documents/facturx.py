"""The Factur-X / ZUGFeRD EN 16931 hybrid (SPEC §10): the invoice's PDF as PDF/A-3b, with the
CII XML of ``app/einvoicing`` embedded as ``factur-x.xml`` (AFRelationship ``Alternative``)
and the Factur-X XMP metadata (conformance level ``EN 16931``).

WeasyPrint writes the whole hybrid in the one pass that writes the plain PDF. Its
``pdf/a-3b`` variant gives what PDF/A-3b asks of the content (every font embedded, one sRGB
output intent, the document id, pdfaid part 3 conformance B in the XMP), and its
``attachments`` embed the XML (``/EmbeddedFiles``, subtype ``text/xml``, the AFRelationship,
the dates PDF/A-3 asks of an embedded file). What WeasyPrint 70 gets wrong or leaves out is
mended by ``_finish``, its ``finisher`` hook, on the PDF objects just before they are
written, so nothing is parsed or written twice:

- it lists each attachment twice in the catalog's ``/AF`` (once from the name tree, once
  from the file specification): the list is made unique;
- it writes no Factur-X XMP: the PDF/A extension schema of the ``fx`` namespace and the four
  ``fx`` properties go into WeasyPrint's own ``rdf:RDF``, which already agrees with the
  document information dictionary, as PDF/A asks.

factur-x's ``generate_from_binary`` (the library that writes the XML) would do the embedding
too, but only after the fact: it parses the finished PDF again with pypdf and writes it anew
(about 10 ms more per render of a one-page invoice that takes 140 ms, measured, and twice
the bytes), its XMP names pypdf as the producer while the information dictionary keeps
WeasyPrint's (PDF/A asks that they agree), and its default XSD check would parse the XML
once more on every render, where the tests already run the XSD and the official EN 16931
rules over what ``app/einvoicing/syntax.py`` writes.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from weasyprint import HTML, Attachment
from weasyprint.css import ColorProfile

FILENAME = "factur-x.xml"
VARIANT = "pdf/a-3b"
RELATIONSHIP = "Alternative"  # the XML is the same invoice as the pages (Factur-X 1.0, EN 16931 profile)
# The output intent: WeasyPrint's own sRGB profile, read once per process. Its pdf/a variant
# would open that file on every render and leave it open (a ResourceWarning, in version 70);
# an output intent named here is used instead. Each render gets a ColorProfile of its own,
# since WeasyPrint writes the render's PDF reference onto it.
_SRGB = (files("weasyprint") / "pdf" / "sRGB2014.icc").read_bytes()
_INTENT = "vinr-srgb"
_FX_NAMESPACE = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
# The fx properties, each with the description its PDF/A extension schema gives it.
_PROPERTIES = (
    ("DocumentType", "INVOICE", "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"),
    ("DocumentFileName", FILENAME, "The name of the embedded XML document"),
    ("Version", "1.0", "The actual version of the standard applying to the embedded XML document"),
    ("ConformanceLevel", "EN 16931", "The conformance level of the embedded XML document"),
)


def _xmp() -> bytes:
    """The rdf:Descriptions Factur-X adds to the XMP: the extension schema PDF/A asks for any
    namespace it does not predefine, then the values."""
    schema_properties = "".join(
        '<rdf:li rdf:parseType="Resource">'
        f"<pdfaProperty:name>{name}</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType>"
        f"<pdfaProperty:category>external</pdfaProperty:category>"
        f"<pdfaProperty:description>{description}</pdfaProperty:description></rdf:li>"
        for name, _, description in _PROPERTIES)
    values = "".join(f"<fx:{name}>{value}</fx:{name}>" for name, value, _ in _PROPERTIES)
    return (
        '<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" '
        'xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">'
        '<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">'
        "<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>"
        f"<pdfaSchema:namespaceURI>{_FX_NAMESPACE}</pdfaSchema:namespaceURI><pdfaSchema:prefix>fx</pdfaSchema:prefix>"
        f"<pdfaSchema:property><rdf:Seq>{schema_properties}</rdf:Seq></pdfaSchema:property>"
        "</rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>"
        f'<rdf:Description rdf:about="" xmlns:fx="{_FX_NAMESPACE}">{values}</rdf:Description>'
    ).encode()


_XMP = _xmp()
# Everything besides the HTML and the XML that the hybrid's bytes depend on (WeasyPrint's
# version is in the renderer's own fingerprint): a change to it renders stored hybrids anew.
FINGERPRINT = hashlib.sha256(b"\0".join((VARIANT.encode(), RELATIONSHIP.encode(), FILENAME.encode(), _XMP,
                                          _INTENT.encode()))).digest()


def _finish(_document: Any, pdf: Any) -> None:
    """WeasyPrint's finisher: one /AF entry per attachment, and the Factur-X XMP."""
    catalog = pdf.catalog
    catalog["AF"][:] = list(dict.fromkeys(catalog["AF"]))  # references, as b"12 0 R"
    metadata = pdf.objects[int(catalog["Metadata"].split()[0])]
    packet = b"".join(part if isinstance(part, bytes) else str(part).encode() for part in metadata.stream)
    assert packet.count(b"</rdf:RDF>") == 1  # WeasyPrint's one RDF, closed once
    metadata.stream = [packet.replace(b"</rdf:RDF>", _XMP + b"</rdf:RDF>")]


def write(html: HTML, xml: bytes, issued: int, **styles: Any) -> bytes:
    """``html`` as the hybrid PDF carrying ``xml``; the attachment dated ``issued`` (unix
    seconds, the invoice's finalization), so the same document is the same bytes. ``styles``:
    WeasyPrint's ``font_config`` and ``stylesheets``, as the plain PDF is rendered with."""
    when = datetime.fromtimestamp(issued, UTC).replace(tzinfo=None)  # WeasyPrint writes it as UTC ("Z")
    attachment = Attachment(string=xml, name=FILENAME, description="Factur-X EN 16931 invoice",
                            relationship=RELATIONSHIP, created=when, modified=when)
    srgb = ColorProfile(io.BytesIO(_SRGB), "sRGB2014.icc", "relative-colorimetric", (["r"], ["g"], ["b"]))
    return bytes(html.write_pdf(pdf_variant=VARIANT, attachments=[attachment], finisher=_finish,
                                color_profiles={_INTENT: srgb}, output_intent=_INTENT, **styles))
