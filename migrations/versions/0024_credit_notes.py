"""credit notes and the customer balance: credit notes and their lines, the customer's balance
with its ledger, and an invoice's starting and ending balance and credit-noted amounts

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('balance', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('balance_currency', sa.String(length=3), nullable=True))
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('starting_balance', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('ending_balance', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('pre_payment_credit_notes_amount', sa.BigInteger(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('post_payment_credit_notes_amount', sa.BigInteger(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('credit_note_count', sa.Integer(), nullable=False, server_default='0'))
    # Finalized invoices had no balance applied: their ending balance is their starting one, 0.
    op.execute("UPDATE invoices SET ending_balance = 0 WHERE status <> 'draft'")

    op.create_table(
        'customer_balance_transactions',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('customer_id', sa.String(length=40), nullable=False),
        sa.Column('type', sa.Enum('credit_note', 'credit_note_voided', 'applied_to_invoice',
                                  name='balancetransactiontype', native_enum=False, length=24), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('ending_balance', sa.BigInteger(), nullable=False),
        sa.Column('credit_note_id', sa.String(length=40), nullable=True),
        sa.Column('invoice_id', sa.String(length=40), nullable=True),
        sa.Column('account_id', sa.String(length=40), nullable=False),
        sa.Column('livemode', sa.Boolean(), nullable=False),
        sa.Column('created', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                                name=op.f('fk_customer_balance_transactions_account_id_accounts')),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_customer_balance_transactions_customer_id_customers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_balance_transactions')),
    )
    op.create_index('ix_customer_balance_transactions_customer', 'customer_balance_transactions',
                    ['customer_id', 'created', 'id'], unique=False)

    op.create_table(
        'credit_notes',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('invoice_id', sa.String(length=40), nullable=False),
        sa.Column('customer_id', sa.String(length=40), nullable=False),
        sa.Column('number', sa.String(length=48), nullable=False),
        sa.Column('status', sa.Enum('issued', 'void', name='creditnotestatus', native_enum=False, length=16),
                  nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=True),
        sa.Column('memo', sa.Text(), nullable=True),
        sa.Column('subtotal', sa.BigInteger(), nullable=False),
        sa.Column('tax', sa.BigInteger(), nullable=False),
        sa.Column('total', sa.BigInteger(), nullable=False),
        sa.Column('tax_amounts', JSON, nullable=False),
        sa.Column('tax_rate_details', JSON, nullable=False),
        sa.Column('pre_payment_amount', sa.BigInteger(), nullable=False),
        sa.Column('post_payment_amount', sa.BigInteger(), nullable=False),
        sa.Column('refund_amount', sa.BigInteger(), nullable=False),
        sa.Column('out_of_band_amount', sa.BigInteger(), nullable=False),
        sa.Column('credit_amount', sa.BigInteger(), nullable=False),
        sa.Column('refund_id', sa.String(length=40), nullable=True),
        sa.Column('voided_at', sa.BigInteger(), nullable=True),
        sa.Column('metadata', JSON, nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.String(length=40), nullable=False),
        sa.Column('livemode', sa.Boolean(), nullable=False),
        sa.Column('created', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_credit_notes_account_id_accounts')),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_credit_notes_customer_id_customers')),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_credit_notes_invoice_id_invoices')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_notes')),
        sa.UniqueConstraint('invoice_id', 'number', name=op.f('uq_credit_notes_invoice_id_number')),
    )
    op.create_index('ix_credit_notes_list', 'credit_notes', ['account_id', 'livemode', 'created', 'id'], unique=False)
    op.create_index('ix_credit_notes_invoice', 'credit_notes', ['invoice_id', 'created', 'id'], unique=False)
    op.create_index('ix_credit_notes_customer', 'credit_notes', ['customer_id', 'created', 'id'], unique=False)

    op.create_table(
        'credit_note_lines',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('credit_note_id', sa.String(length=40), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('type', sa.String(length=24), nullable=False),
        sa.Column('invoice_line_id', sa.String(length=40), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('quantity', sa.BigInteger(), nullable=False),
        sa.Column('unit', sa.String(length=3), nullable=False),
        sa.Column('unit_amount', sa.BigInteger(), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('discount_amount', sa.BigInteger(), nullable=False),
        sa.Column('net_amount', sa.BigInteger(), nullable=False),
        sa.Column('tax_amounts', JSON, nullable=False),
        sa.ForeignKeyConstraint(['credit_note_id'], ['credit_notes.id'], ondelete='CASCADE',
                                name=op.f('fk_credit_note_lines_credit_note_id_credit_notes')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_note_lines')),
    )
    op.create_index('ix_credit_note_lines_credit_note', 'credit_note_lines', ['credit_note_id', 'position'],
                    unique=False)
    op.create_index('ix_credit_note_lines_invoice_line', 'credit_note_lines', ['invoice_line_id'], unique=False)


def downgrade() -> None:
    op.drop_table('credit_note_lines')
    op.drop_table('credit_notes')
    op.drop_table('customer_balance_transactions')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('credit_note_count')
        batch_op.drop_column('post_payment_credit_notes_amount')
        batch_op.drop_column('pre_payment_credit_notes_amount')
        batch_op.drop_column('ending_balance')
        batch_op.drop_column('starting_balance')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('balance_currency')
        batch_op.drop_column('balance')
