"""Charts drawn on the server as SVG: pure functions from (label, value) pairs to an SVG document.

No script and nothing loaded from outside: the SVG goes inline in the page (it prints with it). Colours are
attributes, not CSS, so a chart looks the same in a page, a printout and a saved file. Each bar is a
``<rect class="bar">`` carrying ``data-label`` and ``data-value``; every text is escaped. Building a chart
costs time in proportion to its bars: the pages call these in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

BAR = "#b3261e"
GRID = "#e3e7ee"
INK = "#1d2433"
MUTED = "#5b6475"
FONT = 'font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"'


def nice_max(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value`` (at least 1): the end of the value axis."""
    if value <= 1:
        return 1
    power = int("1" + "0" * (len(str(value - 1)) - 1))  # 10ⁿ ≤ value − 1 < 10ⁿ⁺¹ (value ≥ 2)
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _ticks(top: int) -> list[int]:
    """Values of the grid lines: 0 to ``top`` in 4 or 5 even steps (whole numbers)."""
    for parts in (5, 4, 2, 1):
        if top % parts == 0:
            return [top * i // parts for i in range(parts + 1)]
    return [0, top]  # pragma: no cover - top is 1, 2 or 5 × 10ⁿ


def _open(width: int, height: int, title: str) -> list[str]:
    t = escape(title)
    return [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
            f'role="img" aria-label="{t}" class="chart" {FONT}>',
            f"<title>{t}</title>",
            f'<text x="{width / 2:g}" y="20" text-anchor="middle" font-size="15" font-weight="600" fill="{INK}">{t}'
            "</text>"]


def horizontal_bars(title: str, bars: Sequence[tuple[str, int]], *, unit: str = "", width: int = 560) -> str:
    """One horizontal bar per label (a county), its value written at its end; an empty list says so."""
    label_w, right, top, row = 92, 56, 44, 26
    height = top + max(1, len(bars)) * row + 26
    plot = width - label_w - right
    scale = nice_max(max((v for _, v in bars), default=0))
    parts = _open(width, height, title)
    for tick in _ticks(scale):
        x = label_w + plot * tick / scale
        parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 22}" stroke="{GRID}"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" font-size="11" '
                     f'fill="{MUTED}">{tick}</text>')
    if not bars:
        parts.append(f'<text x="{width / 2:g}" y="{top + 16}" text-anchor="middle" font-size="13" '
                     f'fill="{MUTED}">暂无数据</text>')
    parts.append('<g class="bars">')
    for i, (label, value) in enumerate(bars):
        y = top + i * row
        w = plot * max(value, 0) / scale
        name, shown = escape(label), f"{value}{escape(unit)}"
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="13" fill="{INK}">{name}'
                     "</text>")
        parts.append(f'<rect class="bar" data-label="{name}" data-value="{value}" x="{label_w}" y="{y + 3}" '
                     f'width="{w:.1f}" height="{row - 8}" rx="2" fill="{BAR}"><title>{name}：{shown}</title></rect>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 15}" font-size="12" fill="{INK}">{shown}</text>')
    parts.append("</g></svg>")
    return "".join(parts)


def column_bars(title: str, bars: Sequence[tuple[str, int]], *, unit: str = "", width: int = 560,
                height: int = 240) -> str:
    """One vertical column per label (a month), its value above it; labels under the axis."""
    left, right, top, bottom = 36, 12, 44, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    scale = nice_max(max((v for _, v in bars), default=0))
    parts = _open(width, height, title)
    for tick in _ticks(scale):
        y = top + plot_h - plot_h * tick / scale
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{MUTED}">{tick}'
                     "</text>")
    slot = plot_w / max(1, len(bars))
    parts.append('<g class="bars">')
    for i, (label, value) in enumerate(bars):
        h = plot_h * max(value, 0) / scale
        x = left + i * slot + slot * 0.18
        y = top + plot_h - h
        name, shown = escape(label), f"{value}{escape(unit)}"
        parts.append(f'<rect class="bar" data-label="{name}" data-value="{value}" x="{x:.1f}" y="{y:.1f}" '
                     f'width="{slot * 0.64:.1f}" height="{h:.1f}" rx="2" fill="{BAR}"><title>{name}：{shown}</title>'
                     "</rect>")
        if value:
            parts.append(f'<text x="{x + slot * 0.32:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="11" '
                         f'fill="{INK}">{value}</text>')
        parts.append(f'<text x="{x + slot * 0.32:.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11" '
                     f'fill="{MUTED}">{name}</text>')
    parts.append("</g></svg>")
    return "".join(parts)
