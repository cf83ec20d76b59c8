"""Printable PDF sheets of labels (A4 label stock or one label per page for roll printers)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Final

from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

from labels.content import LabelContent
from labels.fonts import MONO_INDEX, SANS_INDEX, collection_size, font_path
from labels.layout import BOLD_EM, LabelLayout, layout_label
from labels.qr import dark_runs

PT_PER_MM: Final = 72 / 25.4


@dataclass(frozen=True, slots=True)
class SheetTemplate:
    """A page of equal labels in a grid; every length in mm, offsets from the page's top-left corner."""

    name: str
    title_zh: str
    page_width: float
    page_height: float
    label_width: float
    label_height: float
    columns: int
    rows: int
    left: float = 0.0
    top: float = 0.0
    column_gap: float = 0.0
    row_gap: float = 0.0

    @property
    def per_page(self) -> int:
        """Labels on one page."""
        return self.columns * self.rows

    def label_origin(self, slot: int) -> tuple[float, float]:
        """Top-left corner (x, y) in mm of the label in slot (0-based, row by row) of a page."""
        if not 0 <= slot < self.per_page:
            raise ValueError(f"slot {slot} is outside 0..{self.per_page - 1} of template {self.name}")
        row, column = divmod(slot, self.columns)
        return (
            self.left + column * (self.label_width + self.column_gap),
            self.top + row * (self.label_height + self.row_gap),
        )


TEMPLATES: Final[dict[str, SheetTemplate]] = {
    template.name: template
    for template in (
        SheetTemplate("a4-3x8", "A4 不干胶 3×8（70×37 mm）", 210, 297, 70, 37, 3, 8, top=0.5),
        SheetTemplate("a4-2x5", "A4 不干胶 2×5（105×59.4 mm）", 210, 297, 105, 59.4, 2, 5),
        SheetTemplate("roll-50x30", "标签打印机卷纸 50×30 mm", 50, 30, 50, 30, 1, 1),
        SheetTemplate("roll-60x40", "标签打印机卷纸 60×40 mm", 60, 40, 60, 40, 1, 1),
    )
}


def get_template(name: str) -> SheetTemplate:
    """The template called name; ValueError listing the known ones otherwise."""
    try:
        return TEMPLATES[name]
    except KeyError:
        known = ", ".join(TEMPLATES)
        raise ValueError(f"未知的标签模板“{name}”，可用：{known} (unknown label template {name!r})") from None


@lru_cache(maxsize=4)
def _registered_fonts(path: Path) -> tuple[str, str]:
    """Register the label font with reportlab once per file; returns the (sans, mono) font names."""
    tag = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    mono_index = MONO_INDEX if collection_size(path) > MONO_INDEX else SANS_INDEX
    names = (f"LabelSans-{tag}", f"LabelMono-{tag}")
    for name, index in zip(names, (SANS_INDEX, mono_index), strict=True):
        pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=index))
    return names


def _qr_operators(layout: LabelLayout, x_pt: float, y_pt: float) -> str:
    """PDF operators filling the QR's dark runs as one path, in module units (rows going down)."""
    sym_x, sym_y, _ = layout.symbol_box
    module = layout.module * PT_PER_MM
    left = x_pt + sym_x * PT_PER_MM
    top = y_pt - sym_y * PT_PER_MM
    rects = " ".join(f"{column} {row} {length} 1 re" for column, row, length in dark_runs(layout.matrix))
    return f"q 0 g {module:.5f} 0 0 {-module:.5f} {left:.4f} {top:.4f} cm {rects} f Q"


def _draw_label(
    canvas: Canvas, layout: LabelLayout, x_mm: float, y_mm: float, page_height: float, fonts: tuple[str, str]
) -> None:
    """Draw one laid-out label whose top-left corner is at (x_mm, y_mm) from the page's top-left."""
    x_pt = x_mm * PT_PER_MM
    y_pt = (page_height - y_mm) * PT_PER_MM
    canvas.addLiteral(_qr_operators(layout, x_pt, y_pt))
    sans, mono = fonts
    for run in layout.runs:
        size = run.size * PT_PER_MM
        x = x_pt + run.x * PT_PER_MM
        y = y_pt - run.baseline * PT_PER_MM
        if run.bold:
            text = canvas.beginText(x, y)
            text.setFont(sans, size)
            text.setTextRenderMode(2)
            canvas.setLineWidth(BOLD_EM * size)
            text.textOut(run.text)
            text.setTextRenderMode(0)  # the render mode outlives the text object: reset it for the lines
            canvas.drawText(text)
        else:
            canvas.setFont(mono if run.mono else sans, size)
            canvas.drawString(x, y, run.text)


def render_sheet(
    contents: Sequence[LabelContent],
    template: str | SheetTemplate,
    *,
    progress: Callable[[int, int], None] | None = None,
    cut: Callable[[int, tuple[str, ...]], None] | None = None,
) -> bytes:
    """A PDF of contents laid out on template, as many pages as needed; progress(done, total) after each label.

    cut(index, fields) is called for each label whose layout had to cut fields with "…" (``LabelLayout.cut``).
    """
    sheet = template if isinstance(template, SheetTemplate) else get_template(template)
    if not contents:
        raise ValueError("没有要打印的标签 (no labels to print)")
    fonts = _registered_fonts(font_path())
    buffer = BytesIO()
    canvas = Canvas(
        buffer,
        pagesize=(sheet.page_width * PT_PER_MM, sheet.page_height * PT_PER_MM),
        pageCompression=1,
        invariant=1,
        initialFontName=fonts[0],
    )
    canvas.setTitle(f"应急物资标签 {sheet.title_zh}")
    canvas.setCreator("emergency-inventory labels")
    canvas.setLineJoin(1)
    total = len(contents)
    for index, content in enumerate(contents):
        slot = index % sheet.per_page
        if index and slot == 0:
            canvas.showPage()
            canvas.setLineJoin(1)
        layout = layout_label(content, sheet.label_width, sheet.label_height)
        x_mm, y_mm = sheet.label_origin(slot)
        _draw_label(canvas, layout, x_mm, y_mm, sheet.page_height, fonts)
        if cut is not None and layout.cut:
            cut(index, layout.cut)
        if progress is not None:
            progress(index + 1, total)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
