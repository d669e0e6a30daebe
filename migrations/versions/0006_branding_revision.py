"""branding revision: a new value on every change, for the hosted page's cache

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 10:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('brandings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('brandings', schema=None) as batch_op:
        batch_op.drop_column('revision')
