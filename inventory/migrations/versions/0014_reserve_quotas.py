"""reserve quotas (储备定额, issue 17)

A quota per location and item type replaces the catalogue's global ``item_types.min_stock``. Each item type's
min_stock (when above 0) becomes a quota of that minimum at every active depot (kind ``depot``) that holds the
item type — a balance on hand, or a unit that is not lost or retired, at the depot or one of its bins — since
the figure was each depot's floor of what it carries. Item types held at no depot get no quota. Then the column
goes, with a plain ``DROP COLUMN`` (no table copy, which the site_stock triggers on SQLite would refuse). Downgrading puts
the column back with the largest minimum of each item type's quotas.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 00:30:00
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

NOTE = '由品目最低库存 min_stock 迁移'
MIGRATED_BY = 'migration-0014'
_HOLDS = """
    EXISTS (SELECT 1 FROM balances B JOIN locations H ON H.id = B.location_id
            WHERE H.site_id = L.id AND B.item_type_id = I.id AND B.on_hand > 0)
    OR EXISTS (SELECT 1 FROM assets A JOIN locations H ON H.id = A.location_id
               WHERE H.site_id = L.id AND A.item_type_id = I.id AND A.status NOT IN ('lost', 'retired'))
"""


def upgrade() -> None:
    op.create_table('reserve_quotas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('item_type_id', sa.Integer(), nullable=False),
    sa.Column('minimum', sa.Integer(), nullable=False),
    sa.Column('warning_margin', sa.Integer(), nullable=False),
    sa.Column('season_name', sa.String(length=20), nullable=False),
    sa.Column('season_start', sa.String(length=5), nullable=True),
    sa.Column('season_end', sa.String(length=5), nullable=True),
    sa.Column('season_minimum', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('minimum >= 0', name=op.f('ck_reserve_quotas_minimum')),
    sa.CheckConstraint('warning_margin >= 0', name=op.f('ck_reserve_quotas_warning_margin')),
    sa.CheckConstraint(
        '(season_start IS NULL AND season_end IS NULL AND season_minimum IS NULL) OR '
        '(season_start IS NOT NULL AND season_end IS NOT NULL AND season_minimum IS NOT NULL '
        'AND season_minimum >= minimum)', name=op.f('ck_reserve_quotas_season')),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_types.id'], name=op.f('fk_reserve_quotas_item_type_id_item_types')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_reserve_quotas_location_id_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reserve_quotas')),
    sa.UniqueConstraint('location_id', 'item_type_id', name='uq_reserve_quotas_location_item')
    )
    with op.batch_alter_table('reserve_quotas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reserve_quotas_item_type_id'), ['item_type_id'], unique=False)

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    op.get_bind().execute(sa.text(
        "INSERT INTO reserve_quotas (location_id, item_type_id, minimum, warning_margin, season_name, note, "
        "created_by, created_at, updated_by, updated_at) "
        "SELECT L.id, I.id, I.min_stock, 0, '', :note, :by, :now, :by, :now "
        "FROM item_types I JOIN locations L ON L.kind = 'depot' AND L.active "
        f"WHERE I.min_stock > 0 AND ({_HOLDS}) ORDER BY L.id, I.id"
    ), {"note": NOTE, "by": MIGRATED_BY, "now": now})

    # A plain DROP COLUMN (SQLite 3.35+, as RETURNING already needs), not a batch copy: renaming a rebuilt
    # item_types fails on SQLite while the site_stock triggers of other tables name it.
    op.drop_column('item_types', 'min_stock')


def downgrade() -> None:
    op.add_column('item_types', sa.Column('min_stock', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE item_types SET min_stock = COALESCE((SELECT MAX(Q.minimum) FROM reserve_quotas Q "
               "WHERE Q.item_type_id = item_types.id), 0)")

    with op.batch_alter_table('reserve_quotas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reserve_quotas_item_type_id'))

    op.drop_table('reserve_quotas')
