"""site stock on PostgreSQL: available stock per site, item type and last good day, kept by triggers

What ``nearest`` reads on PostgreSQL too (see :mod:`inventory.stock.site_stock`, which holds the statements):
differences noted per change and applied at commit in one order. SQLite has had it since 0008.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from inventory.stock import site_stock

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for statement in site_stock.pg_create_statements():
        bind.execute(sa.text(statement))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for statement in site_stock.pg_drop_statements():
        bind.execute(sa.text(statement))
