"""What an email to a customer says (SPEC §5): subject, text and HTML parts rendered
from ``templates/email/<kind>/{subject.txt,body.txt,body.html}``, in the customer's
language, branded like the hosted page (the same ``BrandView``), and saying
"Test mode" for a test-mode invoice (SPEC §7).

Escaping: ``body.html`` is autoescaped (the app's Jinja environment escapes
``.html``), and no merchant or customer text is marked safe; the ``.txt``
parts are plain text and not escaped, which is right for text/plain. The
subject is one line; app/emails/headers.py makes it, and every name in a header,
literal text when the message is built.

Counts of days have one message for 1 ("tomorrow", "1 day") and one for the
rest: the plural rule of English and German alike. A language with other
plural forms needs ``ngettext`` (and tests/portal/test_translations.py, which
compares catalogs by message id, then has to accept plural ids).

Composing needs an app context (templates, translations) but no request: the
worker, which sends, has none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import render_template
from flask_babel import force_locale, gettext

from app.branding.service import BrandView, brand_view
from app.emails.headers import one_line
from app.invoices.models import Invoice
from app.locales import first_supported, long_date
from app.money import display
from app.payments.cards import BRAND_NAMES
from app.payments.models import Payment, Refund

KINDS = ("invoice", "receipt", "refund_receipt", "reminder_before", "reminder_after", "payment_action_required")

_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class InlineLogo:
    """The merchant's logo as a part of the message (app/emails/message.py), which the HTML
    shows as ``cid:<content_id>`` at ``width`` x ``height`` pixels: within the header's
    240 x 48, in its own proportions, never enlarged."""

    data: bytes
    mime: str  # image/png or image/jpeg (app/branding/schemas.py accepts no other)
    content_id: str
    width: int
    height: int


@dataclass(frozen=True)
class Composed:
    """One email's parts. ``subject`` is a single line (never CR or LF)."""

    subject: str
    text: str
    html: str


def choose_locale(preferred_locales: Iterable[str]) -> str:
    """The first supported of the customer's preferred locales ("de-DE" gives "de"), else "en".

    Unlike the page's ``choose_locale`` there is no browser to ask: the worker has no request.
    """
    return first_supported(preferred_locales) or "en"


def compose(kind: str, *, invoice: Invoice, locale: str, hosted_url: str, pdf_url: str,
            payment: Payment | None = None, refund: Refund | None = None, days: int | None = None,
            logo: InlineLogo | None = None) -> Composed:
    """Render the ``kind`` email about ``invoice`` in ``locale`` ("en" or "de"; anything else is English).

    ``kind``: "invoice" (on send), "receipt" (after ``payment``), "refund_receipt" (after
    ``refund`` of ``payment`` succeeded), "reminder_before" (due
    in ``days`` days, 0 = today), "reminder_after" (overdue by ``days`` >= 1 days) or
    "payment_action_required" (VINR's own charge needs the customer: 3DS when ``payment``
    asked for it, else no card to charge).
    Reads ``invoice.account`` (and its branding) and ``invoice.customer``.
    ``logo``: the merchant's logo, when the message carries it as an inline part; the HTML
    header then shows it instead of the name.

    Raises ValueError for an unknown kind, an invoice without a number (a draft), a
    receipt without a payment of this invoice, a refund receipt without a refund of such a
    payment, or a reminder without a valid ``days``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown email kind {kind!r}; one of {', '.join(KINDS)}")
    if not invoice.number:
        raise ValueError("only a finalized invoice (one with a number) is emailed")
    if kind == "receipt" and (payment is None or payment.invoice_id != invoice.id):
        raise ValueError("a receipt needs the payment of this invoice")
    if kind == "refund_receipt" and (refund is None or payment is None or payment.invoice_id != invoice.id
                                     or refund.payment_id != payment.id):
        raise ValueError("a refund receipt needs the refund of a payment of this invoice")
    if kind == "reminder_before" and (days is None or days < 0):
        raise ValueError("reminder_before needs days >= 0 (days until the due date)")
    if kind == "reminder_after" and (days is None or days < 1):
        raise ValueError("reminder_after needs days >= 1 (days past the due date)")
    locale = choose_locale([locale])
    brand = brand_view(invoice.account, invoice.account.branding)
    with force_locale(locale):
        context = _context(invoice, brand, locale, hosted_url=hosted_url, pdf_url=pdf_url, payment=payment,
                           refund=refund, days=days, logo=logo)
        subject = one_line(render_template(f"email/{kind}/subject.txt", **context))
        text = _tidy(render_template(f"email/{kind}/body.txt", **context))
        html = render_template(f"email/{kind}/body.html", subject=subject, **context)
    return Composed(subject, text, html)


def compose_endpoint_disabled(*, merchant: str, endpoint_id: str, url: str, reason: str,
                              livemode: bool) -> Composed:
    """The notice to a merchant's support address that VINR disabled a webhook endpoint
    (SPEC §4). In English, like the API's own messages: it is VINR speaking, not the merchant."""
    context = {"merchant": merchant, "endpoint_id": endpoint_id, "url": url, "reason": reason, "livemode": livemode}
    subject = one_line(render_template("email/endpoint_disabled/subject.txt", **context))
    text = _tidy(render_template("email/endpoint_disabled/body.txt", **context))
    html = render_template("email/endpoint_disabled/body.html", subject=subject, **context)
    return Composed(subject, text, html)


def _context(invoice: Invoice, brand: BrandView, locale: str, *, hosted_url: str, pdf_url: str,
             payment: Payment | None, refund: Refund | None, days: int | None,
             logo: InlineLogo | None) -> dict[str, Any]:
    customer = invoice.customer
    return {
        "invoice": invoice,  # portal/_test_mode.html reads invoice.livemode
        "brand": brand,
        "colors": _colors(brand),
        "locale": locale,
        "merchant": brand.display_name,
        "logo": logo,
        "number": invoice.number,
        "customer_name": invoice.customer_name or customer.name or "",
        "customer_email": invoice.customer_email or customer.email or "",
        "amount_due": display(invoice.amount_remaining, invoice.currency, locale),
        "total": display(invoice.total, invoice.currency, locale),
        "due_date": long_date(invoice.due_date, locale),
        "hosted_url": hosted_url,
        "pdf_url": pdf_url,
        "days": days,
        "payment": payment,
        "amount_paid": display(payment.amount, payment.currency, locale) if payment is not None else "",
        "card": _card(payment),
        "paid_date": long_date(invoice.paid_at, locale),
        "authenticate": payment is not None and payment.failure_code == "authentication_required",
        "amount_refunded": display(refund.amount, refund.currency, locale) if refund is not None else "",
        "refund_date": long_date(refund.updated, locale) if refund is not None else "",
    }


def _colors(brand: BrandView) -> dict[str, str]:
    """The page's effective colours and font for inline ``style`` attributes (mail clients drop
    ``<style>`` and custom properties). Theme tokens are checked safe (app/branding/themes.py)."""
    tokens = brand.css_variables
    return {
        "bg": tokens["--bg"], "surface": tokens["--surface"], "text": tokens["--text"],
        "muted": tokens["--muted"], "border": tokens["--border"],
        "primary": brand.primary_color, "on_primary": brand.on_primary, "accent": brand.accent_color,
        "warning": tokens.get("--warning", tokens["--text"]), "warning_bg": tokens.get("--warning-bg", tokens["--bg"]),
        "font": tokens["--font-body"],
    }


def _card(payment: Payment | None) -> str:
    """"Visa •••• 4242", or "" when the payment has no card details."""
    if payment is None or not payment.card_last4:
        return ""
    brand = BRAND_NAMES.get(payment.card_brand or "") or gettext("Card")
    return f"{brand} •••• {payment.card_last4}"


def _tidy(text: str) -> str:
    """Templates leave trailing spaces and runs of blank lines where blocks were skipped."""
    lines = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return _BLANK_LINES.sub("\n\n", lines) + "\n"
