"""Where everything goes on one label, in millimetres from its top-left corner (y down).

Every renderer (PNG, SVG, PDF) draws the same layout, so a label looks the same in all three. The
QR code sits on the left at full label height (minus margins) inside a quiet zone of two modules;
text fills the rest: the title larger and bold, then the labelled lines, then the code pinned to
the bottom. Text that is too wide first shrinks a little, then is cut with "…"; the sizes are
chosen so that all rows fit the height. Nothing is ever drawn outside the margins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from labels.codes import display_code
from labels.content import LabelContent
from labels.fonts import Face, mono_face, sans_face
from labels.qr import QrMatrix, qr_matrix

QUIET_MODULES: Final = 2
LEADING: Final = 1.22
TITLE_SCALE: Final = 1.3
MIN_SHRINK: Final = 0.8
BOLD_EM: Final = 0.04  # stroke width added around bold glyphs, as a fraction of the font size
ELLIPSIS: Final = "…"
SEPARATOR: Final = "："


@dataclass(frozen=True, slots=True)
class TextRun:
    """One line of text: left x and baseline y in mm, font size in mm (em height)."""

    x: float
    baseline: float
    size: float
    text: str
    mono: bool = False
    bold: bool = False


@dataclass(frozen=True, slots=True)
class LabelLayout:
    """A label's geometry: the QR box (including its quiet zone), its matrix, and the text runs."""

    width: float
    height: float
    margin: float
    qr_x: float
    qr_y: float
    qr_side: float
    matrix: QrMatrix
    text_left: float
    text_right: float
    runs: tuple[TextRun, ...]

    @property
    def module(self) -> float:
        """Size of one QR module in mm."""
        return self.qr_side / (len(self.matrix) + 2 * QUIET_MODULES)

    @property
    def symbol_box(self) -> tuple[float, float, float]:
        """The QR symbol without its quiet zone: (x, y, side) in mm."""
        inset = QUIET_MODULES * self.module
        return self.qr_x + inset, self.qr_y + inset, self.module * len(self.matrix)


def fit_text(text: str, face: Face, size: float, max_width: float, *, bold: bool = False) -> tuple[str, float]:
    """Text and size that fit max_width: shrink down to 80 % of size, then cut the end with "…"."""
    extra = BOLD_EM * size if bold else 0.0
    width = face.width(text, size) + extra
    if width <= max_width:
        return text, size
    smallest = size * MIN_SHRINK
    needed = size * max_width / width
    if needed >= smallest:
        return text, needed
    size = smallest
    extra = BOLD_EM * size if bold else 0.0
    budget = max_width - extra - face.width(ELLIPSIS, size)
    kept = 0
    used = 0.0
    for char in text:
        used += face.width(char, size)
        if used > budget:
            break
        kept += 1
    return text[:kept].rstrip() + ELLIPSIS, size


def label_margin(width: float, height: float) -> float:
    """Blank border kept around a label's content, in mm."""
    return min(2.5, max(1.0, 0.04 * min(width, height)))


def _fitting_prefix(text: str, face: Face, size: float, max_width: float) -> int:
    """How many leading characters of text fit max_width (at least one, so wrapping always advances)."""
    used = 0.0
    for count, char in enumerate(text):
        used += face.width(char, size)
        if used > max_width:
            return max(1, count)
    return len(text)


def wrap_text(
    text: str, face: Face, size: float, widths: tuple[float, float], max_rows: int, *, bold: bool = False
) -> list[tuple[str, float]]:
    """Break text into at most max_rows rows (first row widths[0], others widths[1]); the last may shrink or be cut."""
    extra = BOLD_EM * size if bold else 0.0
    if face.width(text, size * MIN_SHRINK) + BOLD_EM * size * MIN_SHRINK <= widths[0]:
        return [fit_text(text, face, size, widths[0], bold=bold)]  # shrinking a little reads better than wrapping
    rows: list[tuple[str, float]] = []
    rest = text
    while len(rows) < max_rows - 1:
        width = widths[0] if not rows else widths[1]
        if face.width(rest, size) + extra <= width:
            break
        count = _fitting_prefix(rest, face, size, width - extra)
        if count < len(rest) and rest[count - 1].isascii() and rest[count].isascii():
            space = rest.rfind(" ", 0, count)
            if space > count // 2:  # break a Latin word at its space rather than in the middle
                count = space + 1
        rows.append((rest[:count], size))
        rest = rest[count:].lstrip()
    rows.append(fit_text(rest, face, size, widths[0] if not rows else widths[1], bold=bold))
    return rows


def layout_label(content: LabelContent, width: float, height: float, matrix: QrMatrix | None = None) -> LabelLayout:
    """Lay out content on a width × height mm label (matrix may be passed if already computed)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"label size must be positive, got {width} × {height} mm")
    matrix = qr_matrix(content.url) if matrix is None else matrix
    sans, mono = sans_face(), mono_face()
    margin = label_margin(width, height)
    qr_side = min(height - 2 * margin, width * 0.5)
    text_left = margin + qr_side
    text_right = width - margin
    text_width = text_right - text_left
    text_height = height - 2 * margin

    base = min(0.085 * height, text_height / (LEADING * (TITLE_SCALE + len(content.lines) + 1)))
    # Whole rows left over once the title, every line and the code have one row each: long text may wrap into them.
    spare = int(text_height / (LEADING * base) - TITLE_SCALE - 1 - len(content.lines) + 1e-6)
    pad = (LEADING - sans.ascent - sans.descent) / 2
    runs: list[TextRun] = []
    top = margin

    title_size = base * TITLE_SCALE
    title_rows = wrap_text(content.title, sans, title_size, (text_width, text_width), 2 if spare >= 2 else 1, bold=True)
    spare -= 2 * (len(title_rows) - 1)  # a second title row takes 1.3 line rows: count it as two
    for text, size in title_rows:
        runs.append(TextRun(text_left, top + (pad + sans.ascent) * title_size, size, text, bold=True))
        top += LEADING * title_size

    for name, value in content.lines:
        key = f"{name}{SEPARATOR}"
        indent = sans.width(key, base)
        if indent > 0.4 * text_width:
            indent = 0.0
        rows = wrap_text(key + value, sans, base, (text_width, text_width - indent), 1 + max(0, spare))
        spare -= len(rows) - 1
        for index, (text, size) in enumerate(rows):
            x = text_left + (indent if index else 0.0)
            runs.append(TextRun(x, top + (pad + sans.ascent) * base, size, text))
            top += LEADING * base

    code, size = fit_text(display_code(content.code), mono, base, text_width)
    baseline = height - margin - (pad + mono.descent) * base
    runs.append(TextRun(text_left, baseline, size, code, mono=True))
    return LabelLayout(
        width=width,
        height=height,
        margin=margin,
        qr_x=margin,
        qr_y=(height - qr_side) / 2,
        qr_side=qr_side,
        matrix=matrix,
        text_left=text_left,
        text_right=text_right,
        runs=tuple(runs),
    )
