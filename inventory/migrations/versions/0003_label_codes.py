"""label codes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 17:59:34.840723
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('label_codes',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('target_type', sa.String(length=10), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('retired_at', sa.DateTime(), nullable=True),
    sa.Column('replaced_by', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_label_codes'))
    )
    with op.batch_alter_table('label_codes', schema=None) as batch_op:
        batch_op.create_index('ix_label_codes_target', ['target_type', 'target_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('label_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_label_codes_target')

    op.drop_table('label_codes')
