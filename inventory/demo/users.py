"""Demo accounts: one per role, and a commander and a keeper for a county as well as the city's, with random
passwords shown once when they are created."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.users import UserCreate, create_user
from inventory.store.models import User

DEMO_USERS: tuple[tuple[str, str, str, list[str]], ...] = (
    ("demo-admin", "admin", "演示管理员", []),
    ("demo-commander", "commander", "南昌市应急指挥中心值班员", ["3601"]),
    ("demo-commander-nanchang", "commander", "南昌县应急管理局值班员", ["360121"]),
    ("demo-commander-xinjian", "commander", "新建区应急管理局值班员", ["360112"]),
    ("demo-keeper", "keeper", "南昌县储备库保管员", ["360121"]),
    ("demo-keeper-xinjian", "keeper", "新建区储备库保管员", ["360112"]),
    ("demo-auditor", "auditor", "审计员", []),
)


async def ensure_demo_users(session: AsyncSession) -> list[tuple[str, str, str]]:
    """Create the demo accounts that are missing; returns (username, role, password) of those created."""
    existing = set(await session.scalars(select(User.username)))
    created = []
    for username, role, display, regions in DEMO_USERS:
        if username in existing:
            continue
        password = secrets.token_urlsafe(12)
        await create_user(session, UserCreate(username=username, password=password, role=role,
                                              display_name=display, scope_regions=regions))
        created.append((username, role, password))
    return created
