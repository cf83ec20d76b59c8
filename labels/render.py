"""Single labels as PNG (Pillow) or self-contained SVG (text converted to glyph outlines)."""

from __future__ import annotations

import io
import math
from functools import lru_cache
from html import escape
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from labels.content import LabelContent
from labels.fonts import FONT_ENV, FONT_PATH, Face, FontMissing, font_path, mono_face, sans_face
from labels.layout import BOLD_EM, QUIET_MODULES, LabelLayout, layout_label
from labels.qr import dark_runs

__all__ = ["FONT_ENV", "FONT_PATH", "FontMissing", "font_path", "render_png", "render_svg"]

MM_PER_INCH = 25.4


@lru_cache(maxsize=64)
def _pil_font(path: Path, index: int, size_px: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size=size_px, index=index)  # Raqm when present: unhinted advances


def _paste_qr(image: Image.Image, layout: LabelLayout, px_per_mm: float) -> None:
    """Draw the QR with a whole number of pixels per module, centred in its box."""
    size = len(layout.matrix)
    box_px = layout.qr_side * px_per_mm
    module_px = max(1, int(box_px // (size + 2 * QUIET_MODULES)))
    symbol_px = module_px * size
    pixels = bytes(0 if dark else 255 for row in layout.matrix for dark in row)
    symbol = Image.frombytes("L", (size, size), pixels).resize((symbol_px, symbol_px), Image.Resampling.NEAREST)
    left = round(layout.qr_x * px_per_mm + (box_px - symbol_px) / 2)
    top = round(layout.qr_y * px_per_mm + (box_px - symbol_px) / 2)
    image.paste(symbol, (left, top))


def render_png(content: LabelContent, *, width_mm: float = 70, height_mm: float = 37, dpi: int = 300) -> bytes:
    """One label as a grayscale PNG at dpi (QR left, text right), tagged with its resolution."""
    layout = layout_label(content, width_mm, height_mm)
    px_per_mm = dpi / MM_PER_INCH
    image = Image.new("L", (round(width_mm * px_per_mm), round(height_mm * px_per_mm)), 255)
    _paste_qr(image, layout, px_per_mm)
    draw = ImageDraw.Draw(image)
    clip_right = layout.text_right * px_per_mm
    for run in layout.runs:
        face = mono_face() if run.mono else sans_face()
        size_px = run.size * px_per_mm
        stroke = round(BOLD_EM / 2 * size_px) if run.bold else 0
        x, y = run.x * px_per_mm, run.baseline * px_per_mm
        font = _pil_font(face.path, face.index, math.floor(size_px * 4) / 4)
        # FreeType's hinted advances can differ slightly from the layout's: shrink rather than cross the margin.
        while (length := font.getlength(run.text)) and x + length + stroke > clip_right and font.size > 1:
            size_px = min(font.size - 0.25, font.size * (clip_right - x - stroke) / length)
            font = _pil_font(face.path, face.index, math.floor(size_px * 4) / 4)
        draw.text((x, y), run.text, fill=0, font=font, anchor="ls", stroke_width=stroke, stroke_fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi), optimize=False)
    return buffer.getvalue()


def _num(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def qr_path_data(layout: LabelLayout) -> str:
    """SVG path data of the QR's dark modules, in module units from the symbol's top-left corner."""
    return "".join(f"M{column} {row}h{length}v1h-{length}z" for column, row, length in dark_runs(layout.matrix))


def _glyph_group(face: Face, x: float, baseline: float, size: float, text: str, bold: bool) -> str:
    scale = size / face.units_per_em
    parts = [f'<g transform="translate({_num(x)} {_num(baseline)}) scale({scale:.6g} {-scale:.6g})"']
    if bold:
        parts.append(f' stroke="#000" stroke-width="{_num(BOLD_EM * face.units_per_em)}" stroke-linejoin="round"')
    parts.append(">")
    advance = 0
    for char in text:
        data, width = face.outline(char)
        if data:
            parts.append(f'<path transform="translate({advance} 0)" d="{data}"/>' if advance else f'<path d="{data}"/>')
        advance += width
    parts.append("</g>")
    return "".join(parts)


def render_svg(content: LabelContent, *, width_mm: float = 70, height_mm: float = 37) -> str:
    """One label as a self-contained SVG in mm: the QR as one path, text as glyph outlines, no font needed."""
    layout = layout_label(content, width_mm, height_mm)
    width, height = _num(width_mm), _num(height_mm)
    sym_x, sym_y, _ = layout.symbol_box
    title = escape(f"{content.title} {content.code}")
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
        f'width="{width}mm" height="{height}mm" viewBox="0 0 {width} {height}">',
        f"<title>{title}</title>",
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<path fill="#000" shape-rendering="crispEdges" transform="translate({_num(sym_x)} {_num(sym_y)}) '
        f'scale({layout.module:.6g})" d="{qr_path_data(layout)}"/>',
        '<g fill="#000">',
    ]
    for run in layout.runs:
        face = mono_face() if run.mono else sans_face()
        parts.append(_glyph_group(face, run.x, run.baseline, run.size, run.text, run.bold))
    parts.append("</g></svg>\n")
    return "\n".join(parts)
