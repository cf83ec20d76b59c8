"""Alert rules with no database: signatures, the robot text's limit, backoff, configuration, visibility."""

from __future__ import annotations

import datetime as dt

import pytest

from inventory.alerts.config import AlertConfig, load_alert_config, parse_expiry_days
from inventory.alerts.delivery import backoff
from inventory.alerts.kinds import KINDS, audience_kinds
from inventory.alerts.messages import TEXT_BYTES, AlertLine, message, sign, verify
from inventory.alerts.registry import SOURCES
from inventory.alerts.visibility import Viewer, sees

BODY = b'{"event":"digest"}'
DEC5 = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)


def test_a_signature_verifies_only_for_its_body_secret_and_time() -> None:
    header = sign("s3cret", 1_800_000_000, BODY)
    assert header.startswith("t=1800000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify("s3cret", header, BODY, now=1_800_000_100)
    assert not verify("s3cret", header, BODY + b" ", now=1_800_000_100)
    assert not verify("other", header, BODY, now=1_800_000_100)
    assert not verify("s3cret", header, BODY, now=1_800_000_301), "older than five minutes: a replay"
    assert not verify("s3cret", "v1=abc", BODY, now=1_800_000_000)


def line(n: int, severity: str = "normal") -> AlertLine:
    return AlertLine(n, "lot_expiring", severity, f"临期：瓶装饮用水 批次 W-{n:04d} 将于 2026-12-20 过期（还有 15 天）",
                     "南昌县储备库现存 40 箱", "360121", 1, dt.date(2026, 12, 20), DEC5)


def test_the_robot_text_fits_2048_bytes_and_says_how_many_are_left_out() -> None:
    lines = [line(n, "high" if n < 3 else "normal") for n in range(1, 101)]
    body = message("digest", "digest:2026-12-05:7:webhook", {"username": "keeper"}, lines,
                   at=dt.datetime(2026, 12, 5, 1, tzinfo=dt.UTC), day=dt.date(2026, 12, 5), public_url="http://x")
    text = body["text"]
    assert len(text.encode()) <= TEXT_BYTES
    shown = sum(1 for t in text.splitlines() if t[0].isdigit())
    assert 5 < shown < 100 and f"…另有 {100 - shown} 条" in text and text.endswith("详见 http://x/alerts")
    assert body["count"] == 100 and body["high"] == 2 and len(body["alerts"]) == 100
    short = message("urgent", "k", {"display_name": "张三"}, [line(1, "high")], at=DEC5,
                    day=dt.date(2026, 12, 5), public_url="http://x")
    assert "另有" not in short["text"] and short["subject"].startswith("【应急物资紧急告警】张三")


def test_backoff_doubles_from_a_minute_up_to_an_hour() -> None:
    config = AlertConfig()
    assert [backoff(n, config).total_seconds() for n in (1, 2, 3, 4, 7, 8, 50)] == [
        60, 120, 240, 480, 3600, 3600, 3600]


def test_expiry_lead_times_per_category_and_bad_settings_named() -> None:
    assert parse_expiry_days("45,food:10, medicine:20") == (
        45, {"food": 10, "water": 15, "medicine": 20, "medical": 15})
    with pytest.raises(ValueError, match="INVENTORY_ALERT_EXPIRY_DAYS"):
        parse_expiry_days("food:ten")
    config = load_alert_config({"INVENTORY_ALERT_EXPIRY_DAYS": "60", "INVENTORY_ALERT_TRANSIT_DAYS": "5",
                                "INVENTORY_SMTP_HOST": "mail.intranet", "INVENTORY_SMTP_STARTTLS": "1"})
    assert (config.expiry_days_for("tent"), config.expiry_days_for("food"), config.transit_days) == (60, 15, 5)
    assert config.smtp_host == "mail.intranet" and config.smtp_starttls and config.webhook_url is None
    with pytest.raises(ValueError, match="INVENTORY_ALERT_DIGEST_HOUR"):
        load_alert_config({"INVENTORY_ALERT_DIGEST_HOUR": "25"})


def test_every_kind_has_one_source_and_an_audience() -> None:
    owned = sorted(k for s in SOURCES for k in s.kinds)
    assert owned == sorted(KINDS)
    assert "agreement_expiring" not in audience_kinds("keeper") and "lot_expired" in audience_kinds("keeper")
    assert audience_kinds("auditor") == audience_kinds("admin") == frozenset(KINDS)


@pytest.mark.parametrize(("viewer", "kind", "region", "path", "seen"), [
    (Viewer("keeper", ("360121",), ()), "lot_expired", "360121", "/5/", True),
    (Viewer("keeper", ("360121",), ()), "lot_expired", "360102", "/6/", False),
    (Viewer("keeper", ("360121",), ()), "settlement_due", "360121", "/5/", False),
    (Viewer("keeper", (), (5,)), "lot_expired", "360102", "/5/", True),
    (Viewer("keeper", (), (5,)), "lot_expired", "360102", "/5/9/", True),  # a place under his depot
    (Viewer("keeper", (), (9,)), "lot_expired", "360102", "/5/", False),  # his shelf is not the depot
    (Viewer("keeper", (), (5,)), "lot_expired", "360102", "/15/", False),
    (Viewer("commander", ("3601",), ()), "settlement_due", "360121", None, True),
    (Viewer("commander", (), ()), "lot_expired", "360121", "/5/", False),
    (Viewer("auditor", (), ()), "settlement_due", "360999", None, True),
])
def test_who_sees_an_alert(viewer: Viewer, kind: str, region: str, path: str | None, seen: bool) -> None:
    assert sees(viewer, kind, region, path) is seen
