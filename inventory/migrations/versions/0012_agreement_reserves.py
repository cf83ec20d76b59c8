"""agreement reserves (协议储备): agreements, lines, checks, call-offs; dispatch lines may name an agreement

New tables, and one nullable column on dispatch_lines (rebuilt by batch mode on SQLite: it carries none of
the site_stock triggers).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('vendor_location_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('response_hours', sa.Float(), nullable=False),
    sa.Column('delivery_point', sa.String(length=200), nullable=False),
    sa.Column('price_mechanism', sa.String(length=8), nullable=False),
    sa.Column('rotation_by', sa.String(length=8), nullable=False),
    sa.Column('check_interval_days', sa.Integer(), nullable=False),
    sa.Column('contact_name', sa.String(length=50), nullable=False),
    sa.Column('contact_phone', sa.String(length=30), nullable=False),
    sa.Column('notes', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('physical', 'capacity')", name=op.f('ck_agreements_kind')),
    sa.CheckConstraint("price_mechanism IN ('fixed', 'market', 'subsidy')", name=op.f('ck_agreements_price_mechanism')),
    sa.CheckConstraint("rotation_by IN ('vendor', 'bureau')", name=op.f('ck_agreements_rotation_by')),
    sa.CheckConstraint('check_interval_days > 0', name=op.f('ck_agreements_check_interval')),
    sa.CheckConstraint('response_hours > 0', name=op.f('ck_agreements_response_hours')),
    sa.CheckConstraint('valid_until >= valid_from', name=op.f('ck_agreements_validity')),
    sa.ForeignKeyConstraint(['vendor_location_id'], ['locations.id'], name=op.f('fk_agreements_vendor_location_id_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreements')),
    sa.UniqueConstraint('number', name=op.f('uq_agreements_number'))
    )
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreements_valid_until'), ['valid_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreements_vendor_location_id'), ['vendor_location_id'], unique=False)

    op.create_table('agreement_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('checked_on', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('result', sa.String(length=10), nullable=False),
    sa.Column('deficiency', sa.String(length=300), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=True),
    sa.Column('arrived_at', sa.DateTime(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("method IN ('regular', 'spot', 'drill')", name=op.f('ck_agreement_checks_method')),
    sa.CheckConstraint("result IN ('pass', 'deficient', 'fail')", name=op.f('ck_agreement_checks_result')),
    sa.CheckConstraint('arrived_at IS NULL OR (requested_at IS NOT NULL AND arrived_at >= requested_at)', name=op.f('ck_agreement_checks_drill_times')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_agreement_checks_agreement_id_agreements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_checks'))
    )
    with op.batch_alter_table('agreement_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_checks_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('agreement_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('item_type_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('outstanding', sa.Integer(), nullable=False),
    sa.CheckConstraint('outstanding >= 0 AND outstanding <= quantity', name=op.f('ck_agreement_lines_outstanding')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_agreement_lines_quantity')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_agreement_lines_agreement_id_agreements')),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_types.id'], name=op.f('fk_agreement_lines_item_type_id_item_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_lines')),
    sa.UniqueConstraint('agreement_id', 'item_type_id', name='uq_agreement_lines_item')
    )
    with op.batch_alter_table('agreement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_lines_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreement_lines_item_type_id'), ['item_type_id'], unique=False)

    op.create_table('agreement_calloffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('item_type_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('dispatch_id', sa.Integer(), nullable=False),
    sa.Column('dispatch_line_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('called_at', sa.DateTime(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('receipt_id', sa.Integer(), nullable=True),
    sa.Column('settlement_due', sa.Date(), nullable=True),
    sa.Column('settled_at', sa.DateTime(), nullable=True),
    sa.Column('settled_by', sa.String(length=64), nullable=False),
    sa.Column('settlement_note', sa.String(length=200), nullable=False),
    sa.CheckConstraint("state IN ('reserved', 'called_off', 'delivered', 'released')", name=op.f('ck_agreement_calloffs_state')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_agreement_calloffs_quantity')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_agreement_calloffs_agreement_id_agreements')),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatches.id'], name=op.f('fk_agreement_calloffs_dispatch_id_dispatches')),
    sa.ForeignKeyConstraint(['dispatch_line_id'], ['dispatch_lines.id'], name=op.f('fk_agreement_calloffs_dispatch_line_id_dispatch_lines')),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_types.id'], name=op.f('fk_agreement_calloffs_item_type_id_item_types')),
    sa.ForeignKeyConstraint(['line_id'], ['agreement_lines.id'], name=op.f('fk_agreement_calloffs_line_id_agreement_lines')),
    sa.ForeignKeyConstraint(['receipt_id'], ['documents.id'], name=op.f('fk_agreement_calloffs_receipt_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_calloffs')),
    sa.UniqueConstraint('dispatch_line_id', name=op.f('uq_agreement_calloffs_dispatch_line_id'))
    )
    with op.batch_alter_table('agreement_calloffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_calloffs_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreement_calloffs_dispatch_id'), ['dispatch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreement_calloffs_settlement_due'), ['settlement_due'], unique=False)

    op.create_table('agreement_check_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('check_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('counted', sa.Integer(), nullable=False),
    sa.CheckConstraint('counted >= 0', name=op.f('ck_agreement_check_counts_counted')),
    sa.ForeignKeyConstraint(['check_id'], ['agreement_checks.id'], name=op.f('fk_agreement_check_counts_check_id_agreement_checks')),
    sa.ForeignKeyConstraint(['line_id'], ['agreement_lines.id'], name=op.f('fk_agreement_check_counts_line_id_agreement_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_check_counts'))
    )
    with op.batch_alter_table('agreement_check_counts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_check_counts_check_id'), ['check_id'], unique=False)

    with op.batch_alter_table('dispatch_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agreement_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_dispatch_lines_agreement_id_agreements'), 'agreements', ['agreement_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('dispatch_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_dispatch_lines_agreement_id_agreements'), type_='foreignkey')
        batch_op.drop_column('agreement_id')

    with op.batch_alter_table('agreement_check_counts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_check_counts_check_id'))

    op.drop_table('agreement_check_counts')
    with op.batch_alter_table('agreement_calloffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_calloffs_settlement_due'))
        batch_op.drop_index(batch_op.f('ix_agreement_calloffs_dispatch_id'))
        batch_op.drop_index(batch_op.f('ix_agreement_calloffs_agreement_id'))

    op.drop_table('agreement_calloffs')
    with op.batch_alter_table('agreement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_lines_item_type_id'))
        batch_op.drop_index(batch_op.f('ix_agreement_lines_agreement_id'))

    op.drop_table('agreement_lines')
    with op.batch_alter_table('agreement_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_checks_agreement_id'))

    op.drop_table('agreement_checks')
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreements_vendor_location_id'))
        batch_op.drop_index(batch_op.f('ix_agreements_valid_until'))

    op.drop_table('agreements')
