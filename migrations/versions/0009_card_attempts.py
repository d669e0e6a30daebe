"""card attempts: the card-testing limit counted in the database, the same for every process

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('card_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created', sa.BigInteger(), nullable=False),
    sa.Column('client_address', sa.String(length=64), nullable=False),
    sa.Column('invoice_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('under_way', 'failed', name='cardattemptstatus', native_enum=False, length=16),
              nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_attempts')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('card_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_card_attempts_client', ['client_address', 'created'], unique=False)
        batch_op.create_index('ix_card_attempts_invoice', ['invoice_id', 'created'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_attempts_created'), ['created'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('card_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_attempts_created'))
        batch_op.drop_index('ix_card_attempts_invoice')
        batch_op.drop_index('ix_card_attempts_client')

    op.drop_table('card_attempts')
