"""What the alerts run with: lead times per kind, the digest hour, the webhook and the SMTP server.

Read from ``INVENTORY_ALERT_*`` and ``INVENTORY_SMTP_*`` environment variables with safe defaults (see the
README's "Alerts" section). A recipient's own webhook (URL and secret) is kept in the ``settings`` table
under ``alerts.recipient.<user id>`` (:mod:`inventory.alerts.recipients`); their e-mail is ``users.email``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_EXPIRY_BY_CATEGORY: Mapping[str, int] = {"food": 15, "water": 15, "medicine": 15, "medical": 15}
"""Short-lived goods are flagged later: their rotation is planned in weeks, not months."""


@dataclass(frozen=True)
class AlertConfig:
    """Lead times, the timer, and the delivery channels; build with :func:`load_alert_config`."""

    every_minutes: int = 10  # how often ``serve`` computes alerts (0: never)
    expiry_days: int = 30  # a lot is 临期 this many days before its expiry date …
    expiry_days_by_category: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_EXPIRY_BY_CATEGORY))
    lease_due_days: int = 3
    transit_days: int = 3  # a transfer still in transit after this many days
    settlement_due_days: int = 7
    agreement_check_due_days: int = 7
    digest_hour: int = 8  # Beijing time: the day's digest goes out at the first run from this hour
    webhook_url: str | None = None
    webhook_secret: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "inventory@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    retry_base_seconds: int = 60  # a failed delivery is tried again after 1, 2, 4 … minutes
    retry_max_seconds: int = 3600  # … and at least hourly from then on, until it arrives
    send_timeout_seconds: float = 10.0

    def expiry_days_for(self, category: str) -> int:
        """Days before expiry that a lot of this category is flagged 临期."""
        return self.expiry_days_by_category.get(category, self.expiry_days)

    @property
    def longest_expiry_days(self) -> int:
        """The widest expiry window over every category."""
        return max([self.expiry_days, *self.expiry_days_by_category.values()])


def parse_expiry_days(text: str) -> tuple[int, dict[str, int]]:
    """``"30,food:15,medicine:10"`` → (30, {"food": 15, "medicine": 10}); a ValueError names the bad part."""
    default = AlertConfig.expiry_days
    by_category = dict(DEFAULT_EXPIRY_BY_CATEGORY)
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, days = part.rpartition(":")
        if not days.isdigit() or not 0 < int(days) <= 3650:
            raise ValueError(f"INVENTORY_ALERT_EXPIRY_DAYS: “{part}” 应为天数（1–3650）或 类别:天数")
        if name:
            by_category[name.strip()] = int(days)
        else:
            default = int(days)
    return default, by_category


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{name}={raw!r}：应为 {low}–{high} 之间的整数")
    return int(raw)


def load_alert_config(env: Mapping[str, str] | None = None) -> AlertConfig:
    """The alert configuration from the environment (``env`` in tests)."""
    env = os.environ if env is None else env
    expiry, by_category = parse_expiry_days(env.get("INVENTORY_ALERT_EXPIRY_DAYS", ""))
    return AlertConfig(
        every_minutes=_int(env, "INVENTORY_ALERT_EVERY_MINUTES", 10, 0, 1440),
        expiry_days=expiry, expiry_days_by_category=by_category,
        lease_due_days=_int(env, "INVENTORY_ALERT_LEASE_DUE_DAYS", 3, 0, 365),
        transit_days=_int(env, "INVENTORY_ALERT_TRANSIT_DAYS", 3, 1, 365),
        digest_hour=_int(env, "INVENTORY_ALERT_DIGEST_HOUR", 8, 0, 23),
        webhook_url=env.get("INVENTORY_ALERT_WEBHOOK_URL") or None,
        webhook_secret=env.get("INVENTORY_ALERT_WEBHOOK_SECRET") or None,
        smtp_host=env.get("INVENTORY_SMTP_HOST") or None,
        smtp_port=_int(env, "INVENTORY_SMTP_PORT", 25, 1, 65535),
        smtp_from=env.get("INVENTORY_SMTP_FROM") or "inventory@localhost",
        smtp_user=env.get("INVENTORY_SMTP_USER") or None,
        smtp_password=env.get("INVENTORY_SMTP_PASSWORD") or None,
        smtp_starttls=env.get("INVENTORY_SMTP_STARTTLS", "") in ("1", "true", "yes"),
    )
