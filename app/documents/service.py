"""Invoice PDFs (SPEC §7 "Download PDF", §10): the hosted page's own partials, rendered by
WeasyPrint, kept once rendered; the Factur-X hybrid (app/documents/facturx.py) when the
invoice's e-invoice can be made, else the plain PDF.

The PDF (100+ ms of WeasyPrint) is rendered once per issued invoice as shown, and kept
(``InvoiceDocument``) under a key of everything it shows (``document_key``: the invoice's
version, its presentation, the renderer), so the same invoice as shown is the same bytes, a
changed one is never served stale, and a download of a kept one reads neither the lines nor
renders any HTML. An invoice keeps its newest document only. WeasyPrint fetches through ``fetch_asset``,
which serves our own static files and image data URIs and refuses anything
else (no file://, no network), so merchant text cannot make the renderer
reach out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import mimetypes
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import babel
import sqlalchemy as sa
import weasyprint
from flask import render_template
from sqlalchemy.orm import Session
from weasyprint import CSS, HTML  # imported with the app: a worker's first PDF skips ~1 s
from weasyprint.text.fonts import FontConfiguration

from app import clock
from app.branding.themes import THEMES_DIR
from app.credit_notes import einvoice as credit_note_einvoice
from app.credit_notes.models import CreditNote
from app.documents import facturx
from app.documents.models import InvoiceDocument
from app.documents.view import Presentation, build, build_credit_note, presentation, tax_rates_shown, template_context
from app.einvoicing import service as einvoicing
from app.einvoicing.document import EInvoice
from app.einvoicing.syntax import Format, writer_fingerprint
from app.einvoicing.syntax import render as write_xml
from app.invoices.models import Invoice
from app.transactions import commit_transaction, step

log = logging.getLogger(__name__)

ASSET_BASE = "vinr-asset:///"
_STATIC = Path(__file__).resolve().parents[1] / "static"
_ALLOWED_DATA = ("data:image/png;base64,", "data:image/jpeg;base64,")


class AssetRefused(ValueError):
    """WeasyPrint asked for something that is not one of our assets."""


def _inside(root: Path, relative: str) -> Path | None:
    candidate = (root / relative).resolve()
    if root.resolve() not in candidate.parents or not candidate.is_file():
        return None
    return candidate


def fetch_asset(url: str) -> dict[str, Any]:
    """Our static files and theme files, PNG/JPEG data URIs, nothing else.

    Raises AssetRefused for any other URL (file://, http(s)://, traversal).
    """
    if url.startswith(_ALLOWED_DATA):
        mime = url[5:url.index(";")]
        try:
            data = base64.b64decode(url.split(",", 1)[1], validate=True)
        except (binascii.Error, ValueError):
            raise AssetRefused("malformed data URI") from None
        return {"string": data, "mime_type": mime}
    parts = urlsplit(url)
    if parts.scheme != "vinr-asset" or parts.netloc:
        raise AssetRefused(f"refused to fetch {parts.scheme or 'relative'} URL")
    path = unquote(parts.path).lstrip("/")
    found: Path | None = None
    if path.startswith("static/"):
        found = _inside(_STATIC, path.removeprefix("static/"))
    elif path.startswith("themes/"):
        from app.branding.themes import static_file

        _, theme, _, filename = (path.split("/", 3) + ["", "", ""])[:4]
        found = static_file(theme, filename)
    if found is None:
        raise AssetRefused(f"no such asset: {path}")
    mime = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
    return {"string": found.read_bytes(), "mime_type": mime}


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AssetFetcher(URLFetcher):  # WeasyPrint ships no types: URLFetcher is Any to mypy
        """WeasyPrint's fetcher, replaced: never opens a URL, only serves fetch_asset."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            asset = fetch_asset(url)
            return URLFetcherResponse(url, asset["string"], {"Content-Type": asset["mime_type"]})

    return AssetFetcher(allowed_protocols=set(), allow_redirects=False)


_APP = Path(__file__).resolve().parents[1]
# Every file a PDF's HTML or its rendering reads: the templates, the compiled translations,
# our static files and the themes (``fetch_asset``).
_RENDERED_FROM = (_APP / "templates", _APP / "translations", _STATIC, THEMES_DIR)


@lru_cache(maxsize=1)
def renderer_fingerprint() -> bytes:
    """What a PDF depends on besides the invoice and its presentation, read once per process:
    WeasyPrint's and Babel's versions, the Factur-X XML's writer, and every file the HTML is
    made from or the renderer may fetch, so a deploy that changes one of them renders
    documents anew."""
    digest = hashlib.sha256(f"{weasyprint.__version__}\0{babel.__version__}\0".encode())
    digest.update(facturx.FINGERPRINT + writer_fingerprint())
    for root in _RENDERED_FROM:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".po"):
            digest.update(f"\0{path.relative_to(root)}\0".encode())
            digest.update(path.read_bytes())
    return digest.digest()


def invoice_pdf(session: Session, invoice: Invoice) -> bytes:
    """The PDF of ``invoice`` as its hosted page shows it now, in the reader's language (the
    request's, or the one ``flask_babel.force_locale`` sets): the Download PDF and the emails'
    attachment. The Factur-X hybrid when ``einvoicing.service.embedded`` gives its model, else
    the plain PDF. A document rendered before is found without reading the invoice's lines or
    rendering its HTML (``document_key``). Commits (``render``)."""
    shown = presentation(session, invoice)
    key = document_key(session, invoice, shown)
    kept = session.get(InvoiceDocument, (invoice.id, key)) if key is not None else None
    if kept is not None:
        return kept.content
    view = build(session, invoice, shown)
    return render(session, invoice, key, template_context(view), einvoicing.embedded(invoice, view.document))


def credit_note_pdf(session: Session, invoice: Invoice, note: CreditNote) -> bytes:
    """The PDF of ``note``, a credit note of ``invoice``, in the reader's language: the Factur-X
    hybrid (its 381 XML embedded) when ``credit_notes.einvoice.embedded`` gives its model, else
    the plain PDF. Rendered outside any transaction on each download, not kept (an invoice keeps
    one document, its own). Commits."""
    view = build_credit_note(session, invoice, note)
    html = render_template("pdf/credit_note.html", **template_context(view.invoice_view, credit=view))
    einvoice = credit_note_einvoice.embedded(note, invoice) if view.document is not None else None
    return _render_outside_a_transaction(session, html, einvoice, note.created)


def credit_note_filename(note: CreditNote) -> str:
    return f"credit-note-{note.number}.pdf"


def document_key(session: Session, invoice: Invoice, shown: Presentation) -> str | None:
    """What an issued invoice's stored PDF is kept under: every input of its HTML and of its
    embedded XML. The invoice row's ``version`` moves with each change of it (a footer, a
    payment, a void); its lines never change once it is issued; its seller, buyer and tax rates
    were frozen at finalization (read from the catalog only for an invoice issued before rates
    were kept); the rest is its presentation and the renderer. None for a draft: its lines
    still change, so its PDF is rendered each time and never kept."""
    if invoice.finalized_at is None:
        return None
    found = hashlib.sha256(renderer_fingerprint())
    found.update(repr((invoice.id, invoice.version, shown)).encode())
    if invoice.tax_rate_details is None:
        found.update(repr(sorted(tax_rates_shown(session, invoice).items())).encode())
    return found.hexdigest()


def render(session: Session, invoice: Invoice, key: str | None, context: dict[str, Any],
           einvoice: EInvoice | None) -> bytes:
    """The PDF of ``invoice`` as ``context`` shows it, with the Factur-X XML of ``einvoice``
    embedded (a hybrid) unless None, rendered and kept under ``key`` in place of the invoice's
    older one (the bytes kept first win a race); not kept when ``key`` is None.

    Rendering is a workflow of two named steps (app/transactions.py), like a processor call:
    WeasyPrint runs outside any transaction (``_render_outside_a_transaction``: the
    transaction in progress is committed first), so no render holds the SQLite write lock,
    then ``_keep`` stores the document in a short transaction of its own. Commits then.
    """
    html = render_template("pdf/invoice.html", **context)
    assert einvoice is None or invoice.finalized_at is not None  # only a finalized invoice has an e-invoice
    content = _render_outside_a_transaction(session, html, einvoice, invoice.finalized_at or 0)
    return content if key is None else _keep(session, invoice, key, content)


_per_thread = threading.local()


def _styles() -> dict[str, Any]:
    """WeasyPrint's ``font_config`` and our parsed ``pdf.css``, made once per thread and given to
    every render (WeasyPrint's documented way to share them): parsing the stylesheet compiles
    its selectors, about a fifth of a render's CPU. Per thread, as fontconfig's state is."""
    styles: dict[str, Any] | None = getattr(_per_thread, "styles", None)
    if styles is None:
        font_config = FontConfiguration()
        css = CSS(url=f"{ASSET_BASE}static/pdf.css", url_fetcher=_fetcher(),
                  font_config=font_config)
        styles = _per_thread.styles = {"font_config": font_config, "stylesheets": [css]}
    return styles


def _render_outside_a_transaction(session: Session, html: str, einvoice: EInvoice | None, issued: int) -> bytes:
    """The PDF of ``html`` (with the Factur-X XML of ``einvoice``, dated ``issued``), rendered
    after the transaction in progress is committed."""
    commit_transaction(session)
    document = HTML(string=html, base_url=ASSET_BASE, url_fetcher=_fetcher())
    if einvoice is None:
        return bytes(document.write_pdf(**_styles()))
    return facturx.write(document, write_xml(einvoice, Format.FACTURX), issued, **_styles())


def _keep(session: Session, invoice: Invoice, key: str, content: bytes) -> bytes:
    """Store the rendered document in place of the invoice's older one, in a step of its own;
    the bytes to serve: these, or those a concurrent render kept first."""
    with step(session):
        try:
            with session.begin_nested():
                session.add(InvoiceDocument(invoice_id=invoice.id, html_sha256=key, content=content,
                                            created=clock.now()))
        except sa.exc.IntegrityError:
            # A concurrent request kept it first: serve that one, so every download of
            # the same document is the same bytes.
            existing = session.get(InvoiceDocument, (invoice.id, key))
            assert existing is not None
            return existing.content
        session.execute(sa.delete(InvoiceDocument).where(InvoiceDocument.invoice_id == invoice.id,
                                                         InvoiceDocument.html_sha256 != key))
    log.info("rendered a PDF for %s", invoice.id)
    return content


def filename(invoice: Invoice) -> str:
    return f"invoice-{invoice.number or invoice.id}.pdf"
