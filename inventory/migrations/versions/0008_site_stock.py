"""site stock (SQLite): available stock per site, item type and last good day, kept by triggers

What ``nearest`` reads on SQLite instead of walking every site near the origin (see
:mod:`inventory.stock.site_stock`, which holds the statements). Nothing on PostgreSQL, which reads the stock tables.

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-30 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from inventory.stock import site_stock

revision = '0008'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for statement in site_stock.create_statements():
        bind.execute(sa.text(statement))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for statement in site_stock.drop_statements():
        bind.execute(sa.text(statement))
