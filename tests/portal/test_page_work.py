"""How much work a first view of the hosted page does: the statements it runs, and
that what is computed once per process gives the same page as before."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event

from app.extensions import db
from app.invoices.models import Invoice
from tests.branding.images import data_uri, draw
from tests.portal.conftest import Hosted, make_hosted


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _selects(seen: list[str]) -> list[str]:
    # The test's own savepoints are not the page's work.
    return [s for s in seen if not s.upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]


def test_a_first_view_reads_the_invoice_its_lines_and_its_surroundings(app: Flask, hosted: Hosted,
                                                                       api: Any) -> None:
    api.ok("POST", "/v1/account/branding", {"display_name": "Nordlicht Studio", "primary_color": "#1f2a44"})
    visitor = app.test_client()
    with statements(app) as seen:
        response = visitor.get(hosted.path)
    assert response.status_code == 200 and "Nordlicht Studio" in response.get_data(as_text=True)
    # The invoice with its lines, customer, account and branding, in one statement.
    assert len(_selects(seen)) == 1, seen


def test_a_logo_is_read_on_its_own_and_shown(app: Flask, hosted: Hosted, api: Any) -> None:
    logo = data_uri(draw("PNG", (64, 32)), "image/png")
    api.ok("POST", "/v1/account/branding", {"display_name": "Nordlicht Studio", "logo": logo})
    with statements(app) as seen:
        html = app.test_client().get(hosted.path).get_data(as_text=True)
    assert f'src="{logo}"' in html
    # A line's row does not repeat the logo's bytes: they come in a statement of their own.
    assert len(_selects(seen)) == 2, seen
    assert "logo" not in _selects(seen)[0].split("FROM")[0] and "logo" in _selects(seen)[1], seen


def test_an_account_without_branding_costs_no_extra_statement(app: Flask, hosted: Hosted) -> None:
    with statements(app) as seen:
        response = app.test_client().get(hosted.path)
    assert response.status_code == 200 and "Acme GmbH" in response.get_data(as_text=True)
    assert len(_selects(seen)) == 1, seen


@pytest.mark.parametrize(("locales", "expected"), [
    ([], ["VAT 19 %", "Reduced 7.5 % (included)"]),
    (["de"], ["VAT 19 %", "Reduced 7,5 % (enthalten)"]),
])
def test_tax_lines_keep_the_invoice_rate_order_with_no_extra_statement(app: Flask, api: Any, locales: list[str],
                                                                       expected: list[str]) -> None:
    reduced = api.ok("POST", "/v1/tax_rates", {"display_name": "Reduced", "percentage": 7.5, "inclusive": True})
    vat = api.ok("POST", "/v1/tax_rates", {"display_name": "VAT", "percentage": 19})
    customer = api.ok("POST", "/v1/customers", {"email": "kim@example.com", "preferred_locales": locales})
    invoice = make_hosted(api, customer["id"], default_tax_rates=[vat["id"], reduced["id"]])
    hosted = Hosted(app.test_client(), api, invoice)
    with statements(app) as seen:
        html = hosted.page().get_data(as_text=True)
    labels = [label for label in expected if label in html]
    assert labels == expected, html
    assert html.index(expected[0]) < html.index(expected[1])
    assert len(_selects(seen)) == 1, seen  # the rates' names came with the invoice, as it was issued


def test_a_rate_renamed_after_finalization_changes_no_issued_page_or_pdf(app: Flask, api: Any) -> None:
    vat = api.ok("POST", "/v1/tax_rates", {"display_name": "USt", "percentage": 19})
    customer = api.ok("POST", "/v1/customers", {"email": "kim@example.com", "preferred_locales": ["de"]})
    hosted = Hosted(app.test_client(), api, make_hosted(api, customer["id"], default_tax_rates=[vat["id"]]))
    api.ok("POST", f"/v1/tax_rates/{vat['id']}", {"display_name": "Mehrwertsteuer"})
    page = hosted.page().get_data(as_text=True)
    assert "USt 19 %" in page and "Mehrwertsteuer" not in page
    assert "USt 19 %" in hosted.pdf_text()



def test_an_invoice_issued_before_rates_were_kept_shows_them_as_the_catalog_names_them(
        app: Flask, api: Any) -> None:
    vat = api.ok("POST", "/v1/tax_rates", {"display_name": "USt", "percentage": 19})
    customer = api.ok("POST", "/v1/customers", {"email": "kim@example.com", "preferred_locales": ["de"]})
    hosted = Hosted(app.test_client(), api, make_hosted(api, customer["id"], default_tax_rates=[vat["id"]]))
    with app.app_context():  # as migration 0022 left the invoices issued before it
        db.session.execute(sa.update(Invoice).where(Invoice.id == hosted.invoice["id"]).values(tax_rate_details=None))
        db.session.commit()
    assert "USt 19 %" in hosted.pdf_text()
    api.ok("POST", f"/v1/tax_rates/{vat['id']}", {"display_name": "Mehrwertsteuer"})
    assert "Mehrwertsteuer 19 %" in hosted.pdf_text()

def test_a_download_of_a_kept_pdf_reads_no_line_and_renders_nothing(hosted: Hosted, app: Flask,
                                                                     renders: list[int]) -> None:
    first = hosted.page("/pdf").get_data()
    with statements(app) as seen:
        assert hosted.page("/pdf").get_data() == first
    assert len(renders) == 1 and seen and not any("invoice_lines" in statement for statement in seen)
