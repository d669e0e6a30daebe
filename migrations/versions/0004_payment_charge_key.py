"""payment charge key

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 02:50:20.497146
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('charge_key', sa.String(length=80), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('charge_key')


