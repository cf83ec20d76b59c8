"""incidents and dispatch orders

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-28 18:25:15.844414
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('source_crs', sa.String(length=8), nullable=False),
    sa.Column('source_lat', sa.Float(), nullable=False),
    sa.Column('source_lon', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_incidents_location_id_locations')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_incidents_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    op.create_table('dispatches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('approval_mode', sa.String(length=8), nullable=False),
    sa.Column('approved_by', sa.String(length=64), nullable=False),
    sa.Column('document_no', sa.String(length=64), nullable=True),
    sa.Column('paperwork_due_at', sa.DateTime(), nullable=True),
    sa.Column('paperwork_received_at', sa.DateTime(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_dispatches_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatches'))
    )
    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatches_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_paperwork_due_at'), ['paperwork_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_status'), ['status'], unique=False)

    op.create_table('dispatch_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dispatch_id', sa.Integer(), nullable=False),
    sa.Column('item_type_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_dispatch_lines_asset_id_assets')),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatches.id'], name=op.f('fk_dispatch_lines_dispatch_id_dispatches')),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_types.id'], name=op.f('fk_dispatch_lines_item_type_id_item_types')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_dispatch_lines_location_id_locations')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_dispatch_lines_lot_id_lots')),
    sa.ForeignKeyConstraint(['transfer_id'], ['documents.id'], name=op.f('fk_dispatch_lines_transfer_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_lines'))
    )
    with op.batch_alter_table('dispatch_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_lines_dispatch_id'), ['dispatch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_lines_location_id'), ['location_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dispatch_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_lines_location_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_lines_dispatch_id'))

    op.drop_table('dispatch_lines')
    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatches_status'))
        batch_op.drop_index(batch_op.f('ix_dispatches_paperwork_due_at'))
        batch_op.drop_index(batch_op.f('ix_dispatches_incident_id'))

    op.drop_table('dispatches')
    op.drop_table('incidents')
