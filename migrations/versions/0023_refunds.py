"""refunds: money given back on a completed payment (issue 28), the payment's amount_refunded,
each refund's processor calls, and the refund receipt's email

A refund's credit_note_id is a plain nullable id without a foreign key: the credit notes'
table comes with its own migration, and a refund made through POST /v1/refunds has none.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

# SQLite rebuilds processor_calls to add the foreign key: it keeps its AUTOINCREMENT ids
KEEP_AUTOINCREMENT = {'sqlite_autoincrement': True}


def upgrade() -> None:
    op.create_table('refunds',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('created', sa.BigInteger(), nullable=False),
    sa.Column('payment_id', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('pending', 'succeeded', 'failed', 'canceled', name='refundstatus',
                                native_enum=False, length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('failure_reason', sa.String(length=64), nullable=True),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=False),
    sa.Column('credit_note_id', sa.String(length=40), nullable=True),
    sa.Column('processor', sa.String(length=16), nullable=False),
    sa.Column('processor_id', sa.String(length=128), nullable=True),
    sa.Column('updated', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_refunds_account_id_accounts')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index('ix_refunds_list', ['account_id', 'livemode', 'created', 'id'], unique=False)
        batch_op.create_index('ix_refunds_payment', ['payment_id', 'created', 'id'], unique=False)
        batch_op.create_index('ix_refunds_pending', ['updated'], unique=False,
                              postgresql_where=sa.text("status = 'pending'"),
                              sqlite_where=sa.text("status = 'pending'"))
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amount_refunded', sa.BigInteger(), server_default='0', nullable=False))
    with op.batch_alter_table('processor_calls', schema=None, table_kwargs=KEEP_AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column('refund_id', sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_processor_calls_refund_id_refunds'), 'refunds',
                                    ['refund_id'], ['id'])
        batch_op.create_index('ix_processor_calls_refund', ['refund_id', 'created'], unique=False)
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_id', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.drop_column('refund_id')
    with op.batch_alter_table('processor_calls', schema=None, table_kwargs=KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_index('ix_processor_calls_refund')
        batch_op.drop_constraint(batch_op.f('fk_processor_calls_refund_id_refunds'), type_='foreignkey')
        batch_op.drop_column('refund_id')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('amount_refunded')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_pending', sqlite_where=sa.text("status = 'pending'"),
                            postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index('ix_refunds_payment')
        batch_op.drop_index('ix_refunds_list')
    op.drop_table('refunds')
