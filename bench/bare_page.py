"""The hosted-page baseline: a bare Flask app rendering a comparable Jinja page.

``GET /page`` renders ``bench/templates/bare_page.html``: the same outline as
VINR's hosted invoice page (a style block of theme variables, a header, the
invoice facts, a table of 10 lines, totals, two links and a pay form with a
hidden token, card fields and a button), about the same size (~7 KB), with
the amounts formatted per request. No database, no session, no forms
library, no translations: the floor that ``bench/portal.py`` compares the
hosted page against. It sends the same security headers as the hosted page
(static strings, plus a fresh nonce), so both answers carry the same bytes
of headers, give or take the session cookie.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask, Response, render_template

app = Flask(__name__, template_folder=str(Path(__file__).resolve().parent / "templates"))

THEME = {
    "--bg": "#f6f7f9", "--surface": "#ffffff", "--surface-2": "#f2f4f7", "--text": "#1b1f24",
    "--muted": "#5b6472", "--border": "#d0d5dd", "--border-strong": "#7a8494", "--input-bg": "#ffffff",
    "--primary": "#1a56db", "--on-primary": "#ffffff", "--accent": "#2e6be6", "--link": "#1a56db",
    "--danger": "#b42318", "--danger-bg": "#fef3f2", "--success": "#067647", "--success-bg": "#ecfdf3",
    "--warning": "#b54708", "--warning-bg": "#fffaeb", "--info": "#1849a9", "--info-bg": "#eff4ff",
    "--neutral": "#475467", "--neutral-bg": "#f2f4f7", "--radius": "10px", "--radius-sm": "6px",
    "--font-body": "system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, Noto Sans, sans-serif",
    "--font-heading": "system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, Noto Sans, sans-serif",
    "--font-mono": "ui-monospace, SFMono-Regular, Menlo, Consolas, Liberation Mono, monospace",
    "--heading-weight": "650", "--shadow": "0 1px 2px rgba(16, 24, 40, 0.06), 0 1px 3px rgba(16, 24, 40, 0.10)",
    "--max-width": "46rem",
}
LINES = [(f"Consulting item {n + 1}", n + 1, 12_500) for n in range(10)]
LINK = "/i/inv_0000000000000000000000000/" + "x" * 120


def money(cents: int) -> str:
    return f"€{cents / 100:,.2f}"


@app.get("/page")
def page() -> Any:
    nonce = secrets.token_urlsafe(16)
    lines = [{"description": d, "quantity": q, "unit": money(u), "amount": money(q * u)} for d, q, u in LINES]
    total = money(sum(q * u for _, q, u in LINES))
    html = render_template("bare_page.html", nonce=nonce, theme=THEME, lines=lines, total=total,
                           number="BENCH-0001", merchant="Bench", customer="Bench Customer",
                           email="bench@example.com", due="December 22, 2026", issued="November 22, 2026",
                           link=LINK, token=secrets.token_urlsafe(60))
    response = Response(html, mimetype="text/html")
    response.headers.update({
        "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow",
        "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'none'; "
            f"style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; font-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    })
    return response


@app.get("/ping")
def ping() -> Response:
    return Response("{}", mimetype="application/json")
