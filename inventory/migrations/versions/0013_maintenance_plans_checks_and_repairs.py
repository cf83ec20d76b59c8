"""maintenance plans, readiness checks and repairs (issue 17)

New tables only: assets keeps its readiness columns (readiness, last_inspected_at, next_inspection_due),
which the checks now keep, so the site_stock triggers on assets are untouched.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_TASKS = "task IN ('run_test', 'battery_charge', 'visual_check', 'annual_service', 'pre_flood_check', 'other')"


def upgrade() -> None:
    op.create_table('maintenance_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_type_id', sa.Integer(), nullable=True),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('task', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('anchor', sa.String(length=10), nullable=False),
    sa.Column('interval_days', sa.Integer(), nullable=True),
    sa.Column('interval_months', sa.Integer(), nullable=True),
    sa.Column('due_month', sa.Integer(), nullable=True),
    sa.Column('due_day', sa.Integer(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('run_minutes', sa.Integer(), nullable=True),
    sa.Column('load_pct', sa.Integer(), nullable=True),
    sa.Column('instructions', sa.String(length=500), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(anchor = 'completion' AND due_month IS NULL AND due_day IS NULL AND ((interval_days IS NULL) <> (interval_months IS NULL))) OR (anchor = 'calendar' AND interval_days IS NULL AND interval_months IS NULL AND due_month BETWEEN 1 AND 12 AND due_day BETWEEN 1 AND 31)", name=op.f('ck_maintenance_plans_schedule')),
    sa.CheckConstraint("anchor IN ('completion', 'calendar')", name=op.f('ck_maintenance_plans_anchor')),
    sa.CheckConstraint(_TASKS, name=op.f('ck_maintenance_plans_task')),
    sa.CheckConstraint('(item_type_id IS NULL) <> (asset_id IS NULL)', name=op.f('ck_maintenance_plans_target')),
    sa.CheckConstraint('interval_days IS NULL OR interval_days > 0', name=op.f('ck_maintenance_plans_interval_days')),
    sa.CheckConstraint('interval_months IS NULL OR interval_months > 0', name=op.f('ck_maintenance_plans_interval_months')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_maintenance_plans_asset_id_assets')),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_types.id'], name=op.f('fk_maintenance_plans_item_type_id_item_types')),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['maintenance_plans.id'], name=op.f('fk_maintenance_plans_replaced_by_id_maintenance_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_plans'))
    )
    op.create_index(op.f('ix_maintenance_plans_asset_id'), 'maintenance_plans', ['asset_id'], unique=False)
    op.create_index(op.f('ix_maintenance_plans_item_type_id'), 'maintenance_plans', ['item_type_id'], unique=False)
    op.create_index('uq_maintenance_plans_asset_task', 'maintenance_plans', ['asset_id', 'task'], unique=True, sqlite_where=sa.text('active AND asset_id IS NOT NULL'), postgresql_where=sa.text('active AND asset_id IS NOT NULL'))
    op.create_index('uq_maintenance_plans_item_task', 'maintenance_plans', ['item_type_id', 'task'], unique=True, sqlite_where=sa.text('active AND item_type_id IS NOT NULL'), postgresql_where=sa.text('active AND item_type_id IS NOT NULL'))

    op.create_table('asset_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('task', sa.String(length=16), nullable=False),
    sa.Column('performed_at', sa.DateTime(), nullable=False),
    sa.Column('performed_by', sa.String(length=64), nullable=False),
    sa.Column('result', sa.String(length=10), nullable=False),
    sa.Column('battery_pct', sa.Integer(), nullable=True),
    sa.Column('battery_voltage', sa.Float(), nullable=True),
    sa.Column('fuel_pct', sa.Integer(), nullable=True),
    sa.Column('run_minutes', sa.Integer(), nullable=True),
    sa.Column('load_pct', sa.Integer(), nullable=True),
    sa.Column('fault_description', sa.String(length=300), nullable=False),
    sa.Column('notes', sa.String(length=200), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("result IN ('ok', 'fault', 'not_ready')", name=op.f('ck_asset_checks_result')),
    sa.CheckConstraint("task <> 'run_test' OR run_minutes IS NOT NULL", name=op.f('ck_asset_checks_run_test_minutes')),
    sa.CheckConstraint(_TASKS, name=op.f('ck_asset_checks_task')),
    sa.CheckConstraint('battery_pct IS NULL OR (battery_pct BETWEEN 0 AND 100)', name=op.f('ck_asset_checks_battery')),
    sa.CheckConstraint('fuel_pct IS NULL OR (fuel_pct BETWEEN 0 AND 100)', name=op.f('ck_asset_checks_fuel')),
    sa.CheckConstraint('load_pct IS NULL OR (load_pct BETWEEN 0 AND 100)', name=op.f('ck_asset_checks_load')),
    sa.CheckConstraint('run_minutes IS NULL OR run_minutes > 0', name=op.f('ck_asset_checks_run_minutes')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_asset_checks_asset_id_assets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asset_checks'))
    )
    op.create_index('ix_asset_checks_asset_task_performed', 'asset_checks', ['asset_id', 'task', 'performed_at'], unique=False)

    op.create_table('asset_repairs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('vendor', sa.String(length=100), nullable=False),
    sa.Column('problem', sa.String(length=300), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('sent_by', sa.String(length=64), nullable=False),
    sa.Column('status_before', sa.String(length=16), nullable=False),
    sa.Column('back_on', sa.Date(), nullable=True),
    sa.Column('work_done', sa.String(length=300), nullable=False),
    sa.Column('cost', sa.Float(), nullable=True),
    sa.Column('returned_by', sa.String(length=64), nullable=False),
    sa.Column('returned_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('back_on IS NULL OR back_on >= sent_on', name=op.f('ck_asset_repairs_dates')),
    sa.CheckConstraint('cost IS NULL OR cost >= 0', name=op.f('ck_asset_repairs_cost')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_asset_repairs_asset_id_assets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asset_repairs'))
    )
    op.create_index(op.f('ix_asset_repairs_asset_id'), 'asset_repairs', ['asset_id'], unique=False)
    op.create_index('uq_asset_repairs_away', 'asset_repairs', ['asset_id'], unique=True, sqlite_where=sa.text('back_on IS NULL'), postgresql_where=sa.text('back_on IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_asset_repairs_away', table_name='asset_repairs', sqlite_where=sa.text('back_on IS NULL'), postgresql_where=sa.text('back_on IS NULL'))
    op.drop_index(op.f('ix_asset_repairs_asset_id'), table_name='asset_repairs')
    op.drop_table('asset_repairs')
    op.drop_index('ix_asset_checks_asset_task_performed', table_name='asset_checks')
    op.drop_table('asset_checks')
    op.drop_index('uq_maintenance_plans_item_task', table_name='maintenance_plans', sqlite_where=sa.text('active AND item_type_id IS NOT NULL'), postgresql_where=sa.text('active AND item_type_id IS NOT NULL'))
    op.drop_index('uq_maintenance_plans_asset_task', table_name='maintenance_plans', sqlite_where=sa.text('active AND asset_id IS NOT NULL'), postgresql_where=sa.text('active AND asset_id IS NOT NULL'))
    op.drop_index(op.f('ix_maintenance_plans_item_type_id'), table_name='maintenance_plans')
    op.drop_index(op.f('ix_maintenance_plans_asset_id'), table_name='maintenance_plans')
    op.drop_table('maintenance_plans')
