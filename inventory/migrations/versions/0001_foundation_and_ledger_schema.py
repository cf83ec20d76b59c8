"""foundation and ledger schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 17:28:18.358971
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from inventory.migrations.seed import APPEND_ONLY_TABLES, append_only_triggers, load_regions

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.LargeBinary(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('actor', 'key', name=op.f('pk_idempotency_keys'))
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_created_at'), ['created_at'], unique=False)

    op.create_table('item_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('gbt_code', sa.String(length=7), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('spec', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('tracking', sa.String(length=8), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('tags_mask', sa.Integer(), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('shelf_life_days', sa.Integer(), nullable=True),
    sa.Column('inspection_interval_days', sa.Integer(), nullable=True),
    sa.Column('min_stock', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("tracking IN ('bulk', 'serial')", name=op.f('ck_item_types_tracking')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_types')),
    sa.UniqueConstraint('code', name=op.f('uq_item_types_code'))
    )
    with op.batch_alter_table('item_types', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_types_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_types_gbt_code'), ['gbt_code'], unique=False)

    op.create_table('regions',
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('parent_code', sa.String(length=12), nullable=True),
    sa.ForeignKeyConstraint(['parent_code'], ['regions.code'], name=op.f('fk_regions_parent_code_regions')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_regions'))
    )
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regions_parent_code'), ['parent_code'], unique=False)

    op.create_table('settings',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_settings'))
    )
    op.create_table('item_type_attributes',
    sa.Column('item_type_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('num_value', sa.Float(), nullable=True),
    sa.Column('str_value', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_types.id'], name=op.f('fk_item_type_attributes_item_type_id_item_types')),
    sa.PrimaryKeyConstraint('item_type_id', 'name', name=op.f('pk_item_type_attributes'))
    )
    with op.batch_alter_table('item_type_attributes', schema=None) as batch_op:
        batch_op.create_index('ix_item_type_attributes_name_num', ['name', 'num_value'], unique=False)

    op.create_table('locations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('contact_name', sa.String(length=50), nullable=False),
    sa.Column('contact_phone', sa.String(length=30), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('source_crs', sa.String(length=8), nullable=True),
    sa.Column('source_lat', sa.Float(), nullable=True),
    sa.Column('source_lon', sa.Float(), nullable=True),
    sa.Column('coord_approximate', sa.Boolean(), nullable=False),
    sa.Column('agreement_lead_hours', sa.Float(), nullable=True),
    sa.Column('label_code', sa.String(length=20), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['locations.id'], name=op.f('fk_locations_parent_id_locations')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_locations_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_locations')),
    sa.UniqueConstraint('code', name=op.f('uq_locations_code')),
    sa.UniqueConstraint('label_code', name=op.f('uq_locations_label_code'))
    )
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_locations_kind'), ['kind'], unique=False)
        batch_op.create_index('ix_locations_lat_lon', ['lat', 'lon'], unique=False)
        batch_op.create_index(batch_op.f('ix_locations_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_locations_path'), ['path'], unique=False)
        batch_op.create_index(batch_op.f('ix_locations_region_code'), ['region_code'], unique=False)

    op.create_table('lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_type_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('origin', sa.String(length=100), nullable=False),
    sa.Column('production_date', sa.Date(), nullable=True),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('label_code', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_types.id'], name=op.f('fk_lots_item_type_id_item_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lots')),
    sa.UniqueConstraint('item_type_id', 'number', name='uq_lots_item_type_number'),
    sa.UniqueConstraint('label_code', name=op.f('uq_lots_label_code'))
    )
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lots_expiry_date'), ['expiry_date'], unique=False)

    op.create_table('assets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_type_id', sa.Integer(), nullable=False),
    sa.Column('serial_number', sa.String(length=60), nullable=False),
    sa.Column('label_code', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=True),
    sa.Column('ownership', sa.String(length=12), nullable=False),
    sa.Column('readiness', sa.String(length=8), nullable=False),
    sa.Column('battery_pct', sa.Integer(), nullable=True),
    sa.Column('fuel_pct', sa.Integer(), nullable=True),
    sa.Column('fault_note', sa.String(length=200), nullable=False),
    sa.Column('last_inspected_at', sa.DateTime(), nullable=True),
    sa.Column('next_inspection_due', sa.Date(), nullable=True),
    sa.Column('notes', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('battery_pct IS NULL OR (battery_pct BETWEEN 0 AND 100)', name=op.f('ck_assets_battery')),
    sa.CheckConstraint('fuel_pct IS NULL OR (fuel_pct BETWEEN 0 AND 100)', name=op.f('ck_assets_fuel')),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_types.id'], name=op.f('fk_assets_item_type_id_item_types')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_assets_location_id_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assets')),
    sa.UniqueConstraint('item_type_id', 'serial_number', name='uq_assets_item_type_serial'),
    sa.UniqueConstraint('label_code', name=op.f('uq_assets_label_code'))
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assets_item_type_id'), ['item_type_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_status'), ['status'], unique=False)

    op.create_table('balances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('item_type_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('lot_key', sa.Integer(), nullable=False),
    sa.Column('on_hand', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), nullable=False),
    sa.Column('in_transit', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('in_transit >= 0', name=op.f('ck_balances_in_transit')),
    sa.CheckConstraint('on_hand >= 0', name=op.f('ck_balances_on_hand')),
    sa.CheckConstraint('reserved >= 0 AND reserved <= on_hand', name=op.f('ck_balances_reserved')),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_types.id'], name=op.f('fk_balances_item_type_id_item_types')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_balances_location_id_locations')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_balances_lot_id_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_balances')),
    sa.UniqueConstraint('location_id', 'item_type_id', 'lot_key', name='uq_balances_key')
    )
    with op.batch_alter_table('balances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_balances_item_type_id'), ['item_type_id'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('to_location_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('approver', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('transfer_id', sa.Integer(), nullable=True),
    sa.Column('counterparty', sa.String(length=100), nullable=False),
    sa.CheckConstraint("kind IN ('receipt', 'issue', 'transfer', 'transfer_receipt', 'adjustment', 'write_off', 'return', 'reservation', 'dispatch')", name=op.f('ck_documents_kind')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_documents_location_id_locations')),
    sa.ForeignKeyConstraint(['reverses_id'], ['documents.id'], name=op.f('fk_documents_reverses_id_documents')),
    sa.ForeignKeyConstraint(['to_location_id'], ['locations.id'], name=op.f('fk_documents_to_location_id_locations')),
    sa.ForeignKeyConstraint(['transfer_id'], ['documents.id'], name=op.f('fk_documents_transfer_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_documents_reverses_id'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_transfer_id'), ['transfer_id'], unique=False)

    op.create_table('movements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('item_type_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('bucket', sa.String(length=10), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('asset_status_before', sa.String(length=16), nullable=True),
    sa.Column('asset_status_after', sa.String(length=16), nullable=True),
    sa.Column('asset_location_before', sa.Integer(), nullable=True),
    sa.Column('asset_location_after', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("bucket IN ('on_hand', 'in_transit', 'reserved')", name=op.f('ck_movements_bucket')),
    sa.CheckConstraint('quantity <> 0', name=op.f('ck_movements_nonzero')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_movements_asset_id_assets')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_movements_document_id_documents')),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_types.id'], name=op.f('fk_movements_item_type_id_item_types')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_movements_location_id_locations')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_movements_lot_id_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_movements'))
    )
    with op.batch_alter_table('movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_movements_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_movements_document_id'), ['document_id'], unique=False)
        batch_op.create_index('ix_movements_item_created', ['item_type_id', 'created_at'], unique=False)
        batch_op.create_index('ix_movements_location_item', ['location_id', 'item_type_id', 'id'], unique=False)

    load_regions(op.get_bind())
    for statement in append_only_triggers(op.get_bind().dialect.name, APPEND_ONLY_TABLES):
        op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table('movements', schema=None) as batch_op:
        batch_op.drop_index('ix_movements_location_item')
        batch_op.drop_index('ix_movements_item_created')
        batch_op.drop_index(batch_op.f('ix_movements_document_id'))
        batch_op.drop_index(batch_op.f('ix_movements_asset_id'))

    op.drop_table('movements')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_transfer_id'))
        batch_op.drop_index(batch_op.f('ix_documents_location_id'))
        batch_op.drop_index(batch_op.f('ix_documents_kind'))
        batch_op.drop_index(batch_op.f('ix_documents_created_at'))

    op.drop_table('documents')
    with op.batch_alter_table('balances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_balances_item_type_id'))

    op.drop_table('balances')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assets_status'))
        batch_op.drop_index(batch_op.f('ix_assets_location_id'))
        batch_op.drop_index(batch_op.f('ix_assets_item_type_id'))

    op.drop_table('assets')
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lots_expiry_date'))

    op.drop_table('lots')
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_locations_region_code'))
        batch_op.drop_index(batch_op.f('ix_locations_path'))
        batch_op.drop_index(batch_op.f('ix_locations_parent_id'))
        batch_op.drop_index('ix_locations_lat_lon')
        batch_op.drop_index(batch_op.f('ix_locations_kind'))

    op.drop_table('locations')
    with op.batch_alter_table('item_type_attributes', schema=None) as batch_op:
        batch_op.drop_index('ix_item_type_attributes_name_num')

    op.drop_table('item_type_attributes')
    op.drop_table('settings')
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_regions_parent_code'))

    op.drop_table('regions')
    with op.batch_alter_table('item_types', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_types_gbt_code'))
        batch_op.drop_index(batch_op.f('ix_item_types_category'))

    op.drop_table('item_types')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_created_at'))

    op.drop_table('idempotency_keys')
