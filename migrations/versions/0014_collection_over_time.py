"""collection over time: per-account schedules, auto-finalization errors, last sent, automatic payments, merchant notices

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('collection_settings',
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('auto_advance_delay', sa.Integer(), nullable=False),
    sa.Column('dunning_retry_days', JSON, nullable=False),
    sa.Column('reminder_days_before_due', JSON, nullable=False),
    sa.Column('reminder_days_after_due', JSON, nullable=False),
    sa.Column('updated', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_collection_settings_account_id_accounts')),
    sa.PrimaryKeyConstraint('account_id', 'livemode', name=op.f('pk_collection_settings'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_finalization_error', JSON, nullable=True))
        batch_op.add_column(sa.Column('last_sent_at', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('automatic', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_endpoint_id', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.drop_column('webhook_endpoint_id')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('automatic')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('last_sent_at')
        batch_op.drop_column('last_finalization_error')
    op.drop_table('collection_settings')
