"""invoices: the tax treatment (standard, reverse charge, exempt, small business) frozen at
finalization, so a later change of the customer's tax_exempt changes no issued invoice

Invoices finalized before keep NULL: their documents read a small business's treatment from
the seller they froze (account_legal), else the standard one, as they said when issued.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_treatment', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('tax_treatment')
