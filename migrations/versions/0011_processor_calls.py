"""payments as a state machine: every processor call a row, an explicit status for an
unknown outcome, and the legacy charge_key column dropped

Payments whose outcome the processor never made clear were stored as 'failed' with
failure_code processor_unavailable or processor_invalid_response; they become 'unknown'
(the API still shows them as failed). charge_key only held keys of payments made before
migration 0007, which are long past the 23 hours in which an unknown outcome is asked
about again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

UNKNOWN_CODES = ('processor_unavailable', 'processor_invalid_response')


def upgrade() -> None:
    op.create_table('processor_calls',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Enum('charge', 'confirm', 'setup', 'confirm_setup', name='callkind', native_enum=False,
                              length=16), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('invoice_id', sa.String(length=40), nullable=True),
    sa.Column('payment_id', sa.String(length=40), nullable=True),
    sa.Column('payment_method_id', sa.String(length=40), nullable=True),
    sa.Column('outcome', sa.Enum('succeeded', 'requires_action', 'declined', 'no_answer', name='calloutcome',
                                 native_enum=False, length=16), nullable=False),
    sa.Column('processor_id', sa.String(length=128), nullable=True),
    sa.Column('failure_code', sa.String(length=64), nullable=True),
    sa.Column('decline_code', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_processor_calls_payment_id_payments')),
    sa.ForeignKeyConstraint(['payment_method_id'], ['payment_methods.id'],
                            name=op.f('fk_processor_calls_payment_method_id_payment_methods')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processor_calls')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('processor_calls', schema=None) as batch_op:
        batch_op.create_index('ix_processor_calls_invoice', ['invoice_id', 'created'], unique=False)
    payments = sa.table('payments', sa.column('status', sa.String), sa.column('failure_code', sa.String))
    op.execute(payments.update().where(payments.c.status == 'failed', payments.c.failure_code.in_(UNKNOWN_CODES))
               .values(status='unknown'))
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('charge_key')


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('charge_key', sa.String(length=80), nullable=True))
    payments = sa.table('payments', sa.column('status', sa.String))
    op.execute(payments.update().where(payments.c.status == 'unknown').values(status='failed'))
    with op.batch_alter_table('processor_calls', schema=None) as batch_op:
        batch_op.drop_index('ix_processor_calls_invoice')
    op.drop_table('processor_calls')
