"""payment methods detached from a deleted customer: kept for the payments that used them, never charged again

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detached_at', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.drop_column('detached_at')
