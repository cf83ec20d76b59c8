"""write-off requests: pending until a second person approves

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('write_off_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('rejection_reason', sa.String(length=200), nullable=False),
    sa.Column('reservation_document_id', sa.Integer(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'cancelled')", name=op.f('ck_write_off_requests_status')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_write_off_requests_document_id_documents')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_write_off_requests_location_id_locations')),
    sa.ForeignKeyConstraint(['reservation_document_id'], ['documents.id'], name=op.f('fk_write_off_requests_reservation_document_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_write_off_requests'))
    )
    with op.batch_alter_table('write_off_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_write_off_requests_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_write_off_requests_status'), ['status'], unique=False)

    op.create_table('write_off_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('item_type_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('asset_status', sa.String(length=16), nullable=True),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_write_off_lines_quantity')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_write_off_lines_asset_id_assets')),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_types.id'], name=op.f('fk_write_off_lines_item_type_id_item_types')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_write_off_lines_location_id_locations')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_write_off_lines_lot_id_lots')),
    sa.ForeignKeyConstraint(['request_id'], ['write_off_requests.id'], name=op.f('fk_write_off_lines_request_id_write_off_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_write_off_lines'))
    )
    with op.batch_alter_table('write_off_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_write_off_lines_request_id'), ['request_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('write_off_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_write_off_lines_request_id'))

    op.drop_table('write_off_lines')
    with op.batch_alter_table('write_off_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_write_off_requests_status'))
        batch_op.drop_index(batch_op.f('ix_write_off_requests_location_id'))

    op.drop_table('write_off_requests')
