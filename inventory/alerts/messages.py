"""What a delivery says: the JSON body of a webhook (and of an e-mail's text), and the signature it carries.

The body names the recipient (so a gateway can route it to their phone, 企业微信 or 钉钉 group) and holds a
ready ``text`` within 2,048 bytes — what a group robot takes — beside the structured ``alerts``. The
signature header is ``X-Inventory-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, the
scheme a receiver checks with :func:`verify` (and rejects when ``t`` is too old, against replays).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from inventory.alerts.kinds import KINDS, SEVERITY_ZH

SIGNATURE_HEADER = "X-Inventory-Signature"
TEXT_BYTES = 2048
MAX_LISTED = 200  # alerts listed in one message; ``count`` tells how many there were


@dataclass(frozen=True)
class AlertLine:
    """What a message says of one alert."""

    id: int
    kind: str
    severity: str
    title: str
    detail: str
    region_code: str
    location_id: int | None
    due_on: dt.date | None
    first_seen: dt.datetime


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for this body at this time."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and its time lies within ``tolerance`` s of ``now``."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    stamp = parts.get("t", "")
    if not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(stamp), body), f"t={stamp},v1={parts.get('v1', '')}")


def _robot_text(heading: str, lines: list[AlertLine], url: str) -> str:
    """The heading and one line per alert, cut to what a group robot takes (2,048 bytes)."""
    tail = f"详见 {url}"
    out = [heading]
    for n, a in enumerate(lines, 1):
        line = f"{n}. [{SEVERITY_ZH.get(a.severity, a.severity)}] {a.title}"
        after = len(lines) - n
        footer = [f"…另有 {after} 条"] if after else []
        if len("\n".join([*out, line, *footer, tail]).encode()) > TEXT_BYTES:
            out.append(f"…另有 {after + 1} 条")  # the check of the line before made room for this
            break
        out.append(line)
    out.append(tail)
    return "\n".join(out)


def message(event: str, key: str, recipient: dict[str, Any], lines: list[AlertLine], *, at: dt.datetime,
            day: dt.date, public_url: str) -> dict[str, Any]:
    """The body of a digest (``event`` digest) or of the high-severity alerts of one run (``urgent``)."""
    high = sum(1 for a in lines if a.severity == "high")
    name = recipient.get("display_name") or recipient.get("username")
    if event == "digest":
        heading = f"【应急物资告警】{name}：{day} 待处理告警 {len(lines)} 条（紧急 {high} 条）"
    else:
        heading = f"【应急物资紧急告警】{name}：新增紧急告警 {len(lines)} 条"
    url = f"{public_url}/alerts"
    return {
        "event": event, "key": key, "generated_at": at.astimezone(dt.UTC).isoformat(), "day": day.isoformat(),
        "recipient": recipient, "count": len(lines), "high": high, "subject": heading, "url": url,
        "text": _robot_text(heading, lines, url),
        "alerts": [{"id": a.id, "kind": a.kind, "kind_zh": KINDS[a.kind].zh if a.kind in KINDS else a.kind,
                    "severity": a.severity, "title": a.title, "detail": a.detail, "region_code": a.region_code,
                    "location_id": a.location_id, "due_on": a.due_on.isoformat() if a.due_on else None,
                    "first_seen": a.first_seen.astimezone(dt.UTC).isoformat()}
                   for a in lines[:MAX_LISTED]],
    }


def encode(body: dict[str, Any]) -> str:
    """The JSON text of a body, as stored and sent (UTF-8, Chinese unescaped)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def email_text(body: dict[str, Any]) -> str:
    """An e-mail's plain text: every listed alert with its detail, and the link."""
    parts = [body["subject"], ""]
    for n, a in enumerate(body["alerts"], 1):
        parts.append(f"{n}. [{SEVERITY_ZH.get(a['severity'], a['severity'])}] {a['title']}")
        if a["detail"]:
            parts.append(f"   {a['detail']}")
    if body["count"] > len(body["alerts"]):
        parts.append(f"…另有 {body['count'] - len(body['alerts'])} 条")
    parts += ["", f"详见 {body['url']}"]
    return "\n".join(parts)
