"""drop brandings.revision: it keyed the rendered-page cache, which is gone

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('brandings', schema=None) as batch_op:
        batch_op.drop_column('revision')


def downgrade() -> None:
    with op.batch_alter_table('brandings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.String(length=32), nullable=True))
