"""business profiles; customers' tax ids and e-invoice settings; invoices' service period, buyer
reference, units and what finalization freezes (SPEC §10)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('business_profiles',
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('legal_name', sa.String(length=200), nullable=True),
    sa.Column('address', JSON, nullable=True),
    sa.Column('vat_id', sa.String(length=40), nullable=True),
    sa.Column('tax_number', sa.String(length=40), nullable=True),
    sa.Column('registration', sa.String(length=200), nullable=True),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('website', sa.String(length=500), nullable=True),
    sa.Column('bank_account', JSON, nullable=True),
    sa.Column('small_business', sa.Boolean(), nullable=False),
    sa.Column('updated', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_business_profiles_account_id_accounts')),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_business_profiles'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_ids', JSON, server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('einvoice_buyer_reference', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('einvoice_format', sa.String(length=16), server_default='none',
                                      nullable=False))
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_tax_ids', JSON, nullable=True))
        batch_op.add_column(sa.Column('account_legal', JSON, nullable=True))
        batch_op.add_column(sa.Column('service_period_start', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('service_period_end', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('buyer_reference', sa.String(length=200), nullable=True))
    for table in ('invoice_lines', 'invoice_items'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('unit', sa.String(length=3), server_default='C62', nullable=False))
            batch_op.add_column(sa.Column('service_period_start', sa.BigInteger(), nullable=True))
            batch_op.add_column(sa.Column('service_period_end', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for table in ('invoice_items', 'invoice_lines'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('service_period_end')
            batch_op.drop_column('service_period_start')
            batch_op.drop_column('unit')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('buyer_reference')
        batch_op.drop_column('service_period_end')
        batch_op.drop_column('service_period_start')
        batch_op.drop_column('account_legal')
        batch_op.drop_column('customer_tax_ids')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('einvoice_format')
        batch_op.drop_column('einvoice_buyer_reference')
        batch_op.drop_column('tax_ids')
    op.drop_table('business_profiles')
