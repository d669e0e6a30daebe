"""idempotency keys: the process holding an in-flight key, so a retry can take over the key
of a process that died mid-request at once instead of waiting out the lease

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder', sa.String(length=160), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_column('holder')
