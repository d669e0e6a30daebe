"""branding and invoice documents

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:29:59.380176
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('brandings',
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('theme', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('primary_color', sa.String(length=7), nullable=True),
    sa.Column('accent_color', sa.String(length=7), nullable=True),
    sa.Column('logo', sa.LargeBinary(), nullable=True),
    sa.Column('logo_mime', sa.String(length=32), nullable=True),
    sa.Column('support_email', sa.String(length=254), nullable=True),
    sa.Column('support_phone', sa.String(length=40), nullable=True),
    sa.Column('support_url', sa.String(length=500), nullable=True),
    sa.Column('updated', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_brandings_account_id_accounts')),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_brandings'))
    )
    op.create_table('invoice_documents',
    sa.Column('invoice_id', sa.String(length=40), nullable=False),
    sa.Column('variant', sa.String(length=16), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_documents_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('invoice_id', 'variant', name=op.f('pk_invoice_documents'))
    )



def downgrade() -> None:

    op.drop_table('invoice_documents')
    op.drop_table('brandings')

