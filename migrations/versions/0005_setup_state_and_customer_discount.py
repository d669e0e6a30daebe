"""setup state, default on success, customer discount

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 03:27:42.388292
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_discount_pk', sa.Integer(), nullable=True))

    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('setup_ref', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('setup_action_url', sa.String(length=2000), nullable=True))

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('set_default_on_success', sa.Boolean(), server_default=sa.false(), nullable=False))




def downgrade() -> None:

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('set_default_on_success')

    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.drop_column('setup_action_url')
        batch_op.drop_column('setup_ref')

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('customer_discount_pk')


