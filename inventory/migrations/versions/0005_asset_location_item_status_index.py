"""asset location item status index

Serial units by (location, item type, status): availability reads a location's ready units of the wanted
item types directly instead of every unit kept there (a county depot keeps hundreds).

Revision id 0005 was reserved for availability; it follows 0007, the head when it was written.

Revision ID: 0005
Revises: 0007
Create Date: 2026-11-28 19:25:31.097907
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_assets_location_item_status', 'assets', ['location_id', 'item_type_id', 'status'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_assets_location_item_status', table_name='assets')
