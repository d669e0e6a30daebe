"""emails: the invoice's PDF and e-invoice attached to the invoice email and the receipt,
kept at the first try so every try sends the same message; attach_pdf in the settings

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('collection_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attach_pdf', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.create_table(
        'email_attachments',
        sa.Column('email_id', sa.String(length=40), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['email_id'], ['emails.id'], name=op.f('fk_email_attachments_email_id_emails')),
        sa.PrimaryKeyConstraint('email_id', 'position', name=op.f('pk_email_attachments')),
    )


def downgrade() -> None:
    op.drop_table('email_attachments')
    with op.batch_alter_table('collection_settings', schema=None) as batch_op:
        batch_op.drop_column('attach_pdf')
