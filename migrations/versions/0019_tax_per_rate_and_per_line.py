"""tax per rate and per line: lines and invoice items name their own tax rates, an invoice's
default_tax_rates tells "not given" (NULL) from "none" ([]), and each line keeps its net amount
(EN 16931 BT-131); stored tax amounts gain their taxable amount and VAT category

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
STANDARD, EXEMPT = "S", "E"  # UNTDID 5305; every tax rate is above 0 %


def upgrade() -> None:
    # invoices.default_tax_rate_ids stays NOT NULL: "not given" is the JSON null (what sa.JSON stores
    # for None). Making it nullable would rebuild the table on SQLite, and dropping the old one would
    # cascade to every invoice line.
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('net_amount', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('tax_rate_ids', JSON, nullable=True))
    with op.batch_alter_table('invoice_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_rate_ids', JSON, nullable=True))
    _backfill()


def _backfill() -> None:
    """Existing invoices keep the figures they were computed with (per line); what they lacked is
    derived from those figures: an empty default_tax_rates meant "not given"; a line's net is its
    amount, less its inclusive tax (rounded per line as it then was); each tax amount's taxable
    amount is the lines' gross less their inclusive tax."""
    bind = op.get_bind()
    invoices = sa.table('invoices', sa.column('id', sa.String), sa.column('default_tax_rate_ids', JSON),
                        sa.column('tax_amounts', JSON))
    lines = sa.table('invoice_lines', sa.column('id', sa.String), sa.column('invoice_id', sa.String),
                     sa.column('position', sa.Integer), sa.column('amount', sa.BigInteger),
                     sa.column('discount_amount', sa.BigInteger), sa.column('net_amount', sa.BigInteger),
                     sa.column('tax_amounts', JSON))
    rates = dict(bind.execute(sa.text('SELECT id, percentage_e4 FROM tax_rates')).all())
    by_invoice: dict[str, list[Any]] = {}
    for row in bind.execute(sa.select(lines.c.id, lines.c.invoice_id, lines.c.amount, lines.c.discount_amount,
                                      lines.c.tax_amounts).order_by(lines.c.invoice_id, lines.c.position)):
        by_invoice.setdefault(row.invoice_id, []).append(row)
    for invoice_id, default_ids, tax_amounts in bind.execute(
            sa.select(invoices.c.id, invoices.c.default_tax_rate_ids, invoices.c.tax_amounts)).all():
        basis: dict[str, int] = {}
        untaxed: int | None = None
        for line in by_invoice.get(invoice_id, []):
            inclusive = [t for t in line.tax_amounts if t["inclusive"]]
            taxable = line.amount - line.discount_amount - sum(int(t["amount"]) for t in inclusive)
            scale = 1_000_000 + sum(rates.get(t["tax_rate"], 0) for t in inclusive)
            net = _div_round_half_away(line.amount * 1_000_000, scale)
            for t in line.tax_amounts:
                basis[t["tax_rate"]] = basis.get(t["tax_rate"], 0) + taxable
            if not line.tax_amounts:
                untaxed = (untaxed or 0) + taxable
            bind.execute(sa.update(lines).where(lines.c.id == line.id).values(
                net_amount=net,
                tax_amounts=[{**t, "taxable_amount": taxable, "category": STANDARD} for t in line.tax_amounts]))
        entries = [{**t, "taxable_amount": basis.get(t["tax_rate"], 0), "category": STANDARD}
                   for t in tax_amounts]
        if untaxed is not None:
            entries.append({"tax_rate": None, "amount": 0, "inclusive": False, "taxable_amount": untaxed,
                            "category": EXEMPT})
        bind.execute(sa.update(invoices).where(invoices.c.id == invoice_id).values(
            tax_amounts=entries, default_tax_rate_ids=default_ids or None))


def _div_round_half_away(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    return quotient + 1 if remainder * 2 >= denominator else quotient


def downgrade() -> None:
    bind = op.get_bind()
    invoices = sa.table('invoices', sa.column('id', sa.String), sa.column('default_tax_rate_ids', JSON))
    for invoice_id, ids in bind.execute(sa.select(invoices.c.id, invoices.c.default_tax_rate_ids)).all():
        if ids is None:
            bind.execute(sa.update(invoices).where(invoices.c.id == invoice_id).values(default_tax_rate_ids=[]))
    with op.batch_alter_table('invoice_items', schema=None) as batch_op:
        batch_op.drop_column('tax_rate_ids')
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_column('tax_rate_ids')
        batch_op.drop_column('net_amount')

