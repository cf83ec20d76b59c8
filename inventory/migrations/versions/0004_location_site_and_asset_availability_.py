"""location site and asset availability index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 18:19:18.828634
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index('ix_assets_item_status', ['item_type_id', 'status'], unique=False)

    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_locations_site_id'), ['site_id'], unique=False)

    # Backfill: a location's site is the nearest ancestor-or-self that is not a bin.
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, kind, path FROM locations")).all()
    kinds = {r[0]: r[1] for r in rows}
    for loc_id, _kind, path in rows:
        chain = [int(p) for p in path.strip("/").split("/") if p]
        site = next((i for i in reversed(chain) if kinds.get(i) != "bin"), loc_id)
        bind.execute(sa.text("UPDATE locations SET site_id = :s WHERE id = :i"), {"s": site, "i": loc_id})


def downgrade() -> None:
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_locations_site_id'))
        batch_op.drop_column('site_id')

    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index('ix_assets_item_status')

