"""Who receives alerts, and by which channels.

Recipients are the active admins, commanders and keepers (auditors read alerts but receive none). A
recipient's channels: the webhook — their own (URL and secret kept in the ``settings`` table under
``alerts.recipient.<user id>``) or else the service's (``INVENTORY_ALERT_WEBHOOK_URL`` and ``…_SECRET``),
each message naming the recipient so a gateway can route it to their phone or group — and e-mail to
``users.email`` when an SMTP server is configured. A webhook without a secret is never used: every message
is signed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.alerts.config import AlertConfig
from inventory.alerts.visibility import Viewer, viewer_of
from inventory.errors import InvalidInput
from inventory.store.models import Setting, User

PREFIX = "alerts.recipient."
RECEIVING_ROLES = ("admin", "commander", "keeper")


@dataclass(frozen=True)
class Webhook:
    """Where a recipient's webhook goes and the secret it is signed with."""

    url: str
    secret: str


@dataclass(frozen=True)
class Recipient:
    """A person alerts are sent to, what they may see, and their channels (channel, target)."""

    user_id: int
    username: str
    display_name: str
    role: str
    phone: str
    email: str | None
    viewer: Viewer
    channels: tuple[tuple[str, str], ...]


def check_webhook_url(url: str, field: str = "webhook_url") -> str:
    """The URL if it is http(s) with a host; else InvalidInput naming the field."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 300:
        raise InvalidInput(f"{field} 应为 http(s):// 开头的地址（不超过 300 字符），收到 {url[:60]!r}", field=field)
    return url.strip()


async def own_webhooks(session: AsyncSession) -> dict[int, Webhook]:
    """Every recipient's own webhook, by user id."""
    out = {}
    for key, value in await session.execute(select(Setting.key, Setting.value).where(Setting.key.startswith(PREFIX))):
        data = json.loads(value)
        if data.get("webhook_url") and data.get("webhook_secret"):
            out[int(key.removeprefix(PREFIX))] = Webhook(data["webhook_url"], data["webhook_secret"])
    return out


async def set_own_webhook(session: AsyncSession, user_id: int, webhook: Webhook | None) -> None:
    """Give a recipient a webhook of their own (None: back to the service's)."""
    key = f"{PREFIX}{user_id}"
    row = await session.get(Setting, key)
    if webhook is None:
        if row is not None:
            await session.delete(row)
        return
    value = json.dumps({"webhook_url": check_webhook_url(webhook.url), "webhook_secret": webhook.secret})
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
    await session.flush()


def webhook_for(user_id: int, own: dict[int, Webhook], config: AlertConfig) -> Webhook | None:
    """The webhook a recipient's messages go to: their own, else the service's; None without a URL and secret."""
    if user_id in own:
        return own[user_id]
    if config.webhook_url and config.webhook_secret:
        return Webhook(config.webhook_url, config.webhook_secret)
    return None


async def recipients(session: AsyncSession, config: AlertConfig) -> list[Recipient]:
    """Every active user who receives alerts and has at least one channel."""
    own = await own_webhooks(session)
    out = []
    for u in await session.scalars(select(User).where(User.active.is_(True), User.role.in_(RECEIVING_ROLES))
                                   .order_by(User.id)):
        channels: list[tuple[str, str]] = []
        hook = webhook_for(u.id, own, config)
        if hook is not None:
            channels.append(("webhook", hook.url))
        if u.email and config.smtp_host:
            channels.append(("email", u.email))
        if channels:
            out.append(Recipient(u.id, u.username, u.display_name, u.role, u.phone, u.email,
                                 viewer_of(u.role, u.scope_regions, u.scope_locations), tuple(channels)))
    return out


def check_email(address: str, field: str = "email") -> str:
    """The address if it looks like one (one ``@``, a dot in the domain, no spaces, ≤ 200 characters)."""
    address = address.strip()
    local, _, domain = address.partition("@")
    if not local or "." not in domain or " " in address or "@" in domain or len(address) > 200:
        raise InvalidInput(f"{field} 不是有效的电子邮件地址：{address[:60]!r}", field=field)
    return address


async def set_email(session: AsyncSession, user: User, email: str | None) -> None:
    """Set (or with None clear) where a user's alert e-mail goes."""
    user.email = check_email(email) if email else None
    await session.flush()
