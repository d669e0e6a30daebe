"""invoice documents: kept under the digest of the HTML they were rendered from

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 20:30:00

The stored PDFs were kept per "variant" (open or paid) from their first download, and
stayed as they were when the invoice's footer, its "Past due", the merchant's branding
or the reader's language changed. They are renders of the hosted page's partials, made
again on demand, so the table is dropped with them rather than converted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('invoice_documents')
    _create_documents(sa.Column('html_sha256', sa.String(length=64), nullable=False))


def downgrade() -> None:
    op.drop_table('invoice_documents')
    _create_documents(sa.Column('variant', sa.String(length=16), nullable=False))


def _create_documents(key: sa.Column[str]) -> None:
    """The table, with ``key`` beside the invoice as its primary key."""
    op.create_table('invoice_documents',
    sa.Column('invoice_id', sa.String(length=40), nullable=False),
    key,
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_documents_invoice_id_invoices'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('invoice_id', key.name, name=op.f('pk_invoice_documents'))
    )
