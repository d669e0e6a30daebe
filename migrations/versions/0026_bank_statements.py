"""bank statements: the bank transactions imported from camt.053/camt.054 statements, one per
credit entry, unique per account and mode by their dedup key

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-12 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'bank_transactions',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('dedup_key', sa.String(length=64), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('booked_at', sa.BigInteger(), nullable=False),
        sa.Column('remittance_information', sa.String(length=1000), nullable=True),
        sa.Column('creditor_reference', sa.String(length=35), nullable=True),
        sa.Column('debtor_name', sa.String(length=140), nullable=True),
        sa.Column('debtor_iban', sa.String(length=34), nullable=True),
        sa.Column('bank_account', sa.String(length=34), nullable=True),
        sa.Column('entry_reference', sa.String(length=35), nullable=True),
        sa.Column('statement_reference', sa.String(length=35), nullable=True),
        sa.Column('status', sa.Enum('matched', 'unmatched', 'ignored', name='banktransactionstatus',
                                    native_enum=False, length=16), nullable=False),
        sa.Column('invoice_id', sa.String(length=40), nullable=True),
        sa.Column('payment_id', sa.String(length=40), nullable=True),
        sa.Column('account_id', sa.String(length=40), nullable=False),
        sa.Column('livemode', sa.Boolean(), nullable=False),
        sa.Column('created', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_bank_transactions_account_id_accounts')),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_bank_transactions_invoice_id_invoices')),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_bank_transactions_payment_id_payments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_transactions')),
        sa.UniqueConstraint('account_id', 'livemode', 'dedup_key', name='uq_bank_transactions_dedup_key'),
    )
    op.create_index('ix_bank_transactions_list', 'bank_transactions', ['account_id', 'livemode', 'created', 'id'])
    op.create_index('ix_bank_transactions_status', 'bank_transactions',
                    ['account_id', 'livemode', 'status', 'created', 'id'])


def downgrade() -> None:
    op.drop_table('bank_transactions')
