"""What a label says: its code, the URL in its QR code, a title and a few labelled lines in Chinese."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from labels.codes import Kind, parse_code

DateLike = date | str | None


@dataclass(frozen=True, slots=True)
class LabelContent:
    """The text and code printed on one label; renderers decide where it goes."""

    kind: Kind
    code: str
    url: str
    title: str
    lines: tuple[tuple[str, str], ...] = ()


def format_date(value: DateLike) -> str:
    """A date as people write it on labels (2025-03-01); a datetime keeps only its date."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value.strip()


def _build(kind: Kind, code: str, url: str, title: str, pairs: Iterable[tuple[str, str | None]]) -> LabelContent:
    parsed = parse_code(code)
    if parsed.kind != kind:
        raise ValueError(f"code {parsed.code} names a {parsed.kind}, not a {kind}")
    lines = tuple((name, value.strip()) for name, value in pairs if value is not None and value.strip())
    return LabelContent(kind=kind, code=parsed.code, url=url, title=title.strip(), lines=lines)


def asset_label(
    code: str, url: str, name: str, spec: str | None, serial_number: str | None, location_name: str | None
) -> LabelContent:
    """Label for one piece of equipment (装备): name, 规格, 编号 and where it is kept."""
    return _build("asset", code, url, name, [("规格", spec), ("编号", serial_number), ("位置", location_name)])


def lot_label(
    code: str,
    url: str,
    name: str,
    spec: str | None,
    origin: str | None,
    lot_number: str | None,
    quantity_text: str | None,
    production_date: DateLike,
    expiry_date: DateLike,
    received_date: DateLike,
    *,
    quality: str | None = None,
) -> LabelContent:
    """Label for a batch (批次): 品名、规格、产地、批号、数量、质量、生产日期、有效期、入库时间, empty ones left out."""
    return _build(
        "lot",
        code,
        url,
        name,
        [
            ("规格", spec),
            ("产地", origin),
            ("批号", lot_number),
            ("数量", quantity_text),
            ("质量", quality),
            ("生产日期", format_date(production_date)),
            ("有效期", format_date(expiry_date)),
            ("入库时间", format_date(received_date)),
        ],
    )


def location_label(code: str, url: str, name: str, region_name: str | None, kind_zh: str | None) -> LabelContent:
    """Label for a depot, room or shelf (位置): its name, type and administrative region."""
    return _build("location", code, url, name, [("类型", kind_zh), ("地区", region_name)])
