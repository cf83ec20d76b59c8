"""dispatch response-time targets (issue 17)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 00:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# incidents.level: every incident opened before this revision is a county-level (县级) response.
# dispatches: ordered = created_at; executed_at, delivered_at and the target fixed at ordering are new and
# nullable — orders placed before this revision have no target (never counted late). Neither table carries
# the site_stock triggers, so adding columns (ALTER TABLE … ADD COLUMN on SQLite too) touches nothing else.


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level', sa.String(length=8), server_default='county', nullable=False))

    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('executed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('target_hours', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('target_due_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('estimated_minutes', sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f('ix_dispatches_target_due_at'), ['target_due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatches_target_due_at'))
        batch_op.drop_column('estimated_minutes')
        batch_op.drop_column('target_due_at')
        batch_op.drop_column('target_hours')
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('executed_at')

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('level')
