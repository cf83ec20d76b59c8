"""pre-positioning plans and risk points (issue 18)

New tables ``risk_points``, ``risk_needs``, ``plan_proposals``, ``plans`` and ``plan_lines``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('objective', sa.String(length=8), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('progress', sa.JSON(), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_proposals'))
    )
    with op.batch_alter_table('plan_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_proposals_status'), ['status'], unique=False)

    op.create_table('plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('season', sa.String(length=20), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('target_minutes', sa.Integer(), nullable=False),
    sa.Column('item_type_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('approved_by', sa.String(length=64), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('executed_by', sa.String(length=64), nullable=True),
    sa.Column('executed_at', sa.DateTime(), nullable=True),
    sa.Column('in_place_at', sa.DateTime(), nullable=True),
    sa.Column('recalled_by', sa.String(length=64), nullable=True),
    sa.Column('recalled_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'approved', 'executing', 'in_place', 'recalled')", name=op.f('ck_plans_status')),
    sa.CheckConstraint('target_minutes > 0', name=op.f('ck_plans_target_minutes')),
    sa.ForeignKeyConstraint(['proposal_id'], ['plan_proposals.id'], name=op.f('fk_plans_proposal_id_plan_proposals')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_plans_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans'))
    )
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plans_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_plans_status'), ['status'], unique=False)

    op.create_table('risk_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('weight > 0', name=op.f('ck_risk_points_weight')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_risk_points_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_points')),
    sa.UniqueConstraint('code', name=op.f('uq_risk_points_code'))
    )
    with op.batch_alter_table('risk_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_points_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_points_region_code'), ['region_code'], unique=False)

    op.create_table('risk_needs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk_point_id', sa.Integer(), nullable=False),
    sa.Column('item_type_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_risk_needs_quantity')),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_types.id'], name=op.f('fk_risk_needs_item_type_id_item_types')),
    sa.ForeignKeyConstraint(['risk_point_id'], ['risk_points.id'], name=op.f('fk_risk_needs_risk_point_id_risk_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_needs')),
    sa.UniqueConstraint('risk_point_id', 'item_type_id', name='uq_risk_needs_point_item')
    )
    with op.batch_alter_table('risk_needs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_needs_item_type_id'), ['item_type_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_needs_risk_point_id'), ['risk_point_id'], unique=False)

    op.create_table('plan_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('from_location_id', sa.Integer(), nullable=False),
    sa.Column('to_location_id', sa.Integer(), nullable=False),
    sa.Column('item_type_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('asset_ids', sa.JSON(), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=True),
    sa.Column('recall_transfer_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('from_location_id <> to_location_id', name=op.f('ck_plan_lines_distinct_ends')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_plan_lines_quantity')),
    sa.ForeignKeyConstraint(['from_location_id'], ['locations.id'], name=op.f('fk_plan_lines_from_location_id_locations')),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_types.id'], name=op.f('fk_plan_lines_item_type_id_item_types')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_lines_plan_id_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recall_transfer_id'], ['documents.id'], name=op.f('fk_plan_lines_recall_transfer_id_documents')),
    sa.ForeignKeyConstraint(['to_location_id'], ['locations.id'], name=op.f('fk_plan_lines_to_location_id_locations')),
    sa.ForeignKeyConstraint(['transfer_id'], ['documents.id'], name=op.f('fk_plan_lines_transfer_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_lines'))
    )
    with op.batch_alter_table('plan_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_lines_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_lines_to_location_id'), ['to_location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_lines_transfer_id'), ['transfer_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('plan_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_lines_transfer_id'))
        batch_op.drop_index(batch_op.f('ix_plan_lines_to_location_id'))
        batch_op.drop_index(batch_op.f('ix_plan_lines_plan_id'))

    op.drop_table('plan_lines')
    with op.batch_alter_table('risk_needs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_needs_risk_point_id'))
        batch_op.drop_index(batch_op.f('ix_risk_needs_item_type_id'))

    op.drop_table('risk_needs')
    with op.batch_alter_table('risk_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_points_region_code'))
        batch_op.drop_index(batch_op.f('ix_risk_points_kind'))

    op.drop_table('risk_points')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plans_status'))
        batch_op.drop_index(batch_op.f('ix_plans_region_code'))

    op.drop_table('plans')
    with op.batch_alter_table('plan_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_proposals_status'))

    op.drop_table('plan_proposals')
