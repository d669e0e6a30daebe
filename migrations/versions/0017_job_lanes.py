"""jobs: a lane per kind of work and a concurrency key (a delivery's endpoint), so a
worker shares its threads fairly between lanes, accounts and endpoints

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 16:20:00

Jobs already queued get their kind's lane; their concurrency key stays empty (a delivery
queued before this revision is limited by its account only).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# app/jobs/kinds.py as of this revision
LANES = {
    'webhook.deliver': 'webhooks',
    'email.send': 'emails',
    'invoice.auto_finalize': 'collection',
    'invoice.retry_payment': 'collection',
    'invoice.remind': 'collection',
    'invoice.reask_payment': 'collection',
    'payments.finish_dead_claim': 'collection',
    'housekeeping.prune': 'housekeeping',
    'payments.sweep_dead_claims': 'housekeeping',
}


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lane', sa.String(length=16), nullable=False, server_default='other'))
        batch_op.add_column(sa.Column('concurrency_key', sa.String(length=64), nullable=True))
    jobs = sa.table('jobs', sa.column('kind', sa.String), sa.column('lane', sa.String))
    for kind, lane in LANES.items():
        op.execute(jobs.update().where(jobs.c.kind == kind).values(lane=lane))
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.alter_column('lane', server_default=None)
        batch_op.create_index('ix_jobs_lane', ['lane', 'due_at', 'account_id', 'concurrency_key'], unique=False,
                              postgresql_where=sa.text("status = 'queued'"), sqlite_where=sa.text("status = 'queued'"))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_lane', postgresql_where=sa.text("status = 'queued'"),
                            sqlite_where=sa.text("status = 'queued'"))
        batch_op.drop_column('concurrency_key')
        batch_op.drop_column('lane')
