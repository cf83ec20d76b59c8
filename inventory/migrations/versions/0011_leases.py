"""leases: contracts, their lines and extensions (new tables only; no existing table is altered)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('leases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('agreement_number', sa.String(length=60), nullable=False),
    sa.Column('counterparty', sa.String(length=100), nullable=False),
    sa.Column('counterparty_kind', sa.String(length=4), nullable=False),
    sa.Column('contact_name', sa.String(length=50), nullable=False),
    sa.Column('contact_phone', sa.String(length=30), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('counterparty_location_id', sa.Integer(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('fee_basis', sa.String(length=8), nullable=False),
    sa.Column('rate', sa.Float(), nullable=False),
    sa.Column('deposit', sa.Float(), nullable=False),
    sa.Column('notes', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('out_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_leases_direction')),
    sa.CheckConstraint("fee_basis IN ('per_day', 'per_use', 'lump_sum', 'free')", name=op.f('ck_leases_fee_basis')),
    sa.CheckConstraint('due_date >= start_date', name=op.f('ck_leases_due')),
    sa.ForeignKeyConstraint(['counterparty_location_id'], ['locations.id'], name=op.f('fk_leases_counterparty_location_id_locations')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_leases_location_id_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leases'))
    )
    with op.batch_alter_table('leases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leases_counterparty'), ['counterparty'], unique=False)
        batch_op.create_index(batch_op.f('ix_leases_direction'), ['direction'], unique=False)
        batch_op.create_index(batch_op.f('ix_leases_due_date'), ['due_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_leases_location_id'), ['location_id'], unique=False)

    op.create_table('lease_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lease_id', sa.Integer(), nullable=False),
    sa.Column('item_type_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('serial_number', sa.String(length=60), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('returned', sa.Integer(), nullable=False),
    sa.Column('damaged', sa.Integer(), nullable=False),
    sa.Column('lost', sa.Integer(), nullable=False),
    sa.Column('condition_out', sa.String(length=200), nullable=False),
    sa.Column('condition_back', sa.String(length=200), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_lease_lines_quantity')),
    sa.CheckConstraint('returned + lost <= quantity AND damaged <= returned', name=op.f('ck_lease_lines_back')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_lease_lines_asset_id_assets')),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_types.id'], name=op.f('fk_lease_lines_item_type_id_item_types')),
    sa.ForeignKeyConstraint(['lease_id'], ['leases.id'], name=op.f('fk_lease_lines_lease_id_leases')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_lease_lines_lot_id_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lease_lines'))
    )
    with op.batch_alter_table('lease_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lease_lines_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lease_lines_lease_id'), ['lease_id'], unique=False)

    op.create_table('lease_extensions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lease_id', sa.Integer(), nullable=False),
    sa.Column('previous_due', sa.Date(), nullable=False),
    sa.Column('new_due', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lease_id'], ['leases.id'], name=op.f('fk_lease_extensions_lease_id_leases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lease_extensions'))
    )
    with op.batch_alter_table('lease_extensions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lease_extensions_lease_id'), ['lease_id'], unique=False)


def downgrade() -> None:
    op.drop_table('lease_extensions')
    op.drop_table('lease_lines')
    op.drop_table('leases')
