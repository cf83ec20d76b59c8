"""The label font: where it is, its metrics (shared by every renderer) and its glyph outlines for SVG."""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from fontTools.pens.svgPathPen import SVGPathPen  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

FONT_ENV: Final = "INVENTORY_LABEL_FONT"
FONT_PATH: Final = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
SANS_INDEX: Final = 0
MONO_INDEX: Final = 1  # "WenQuanYi Micro Hei Mono" in the Debian collection


class FontMissing(RuntimeError):
    """The label font file is not installed; the message says how to fix it, in Chinese and English."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"找不到标签字体 {path}：请安装 fonts-wqy-microhei（apt-get install -y fonts-wqy-microhei），"
            f"或用环境变量 {FONT_ENV} 指定一个中文 TrueType 字体文件。"
            f" Label font not found at {path}: install fonts-wqy-microhei or set {FONT_ENV} to a CJK TrueType font."
        )
        self.path = path


def font_path() -> Path:
    """The font file to use: $INVENTORY_LABEL_FONT if set, else Debian's WenQuanYi Micro Hei; FontMissing if absent."""
    configured = os.environ.get(FONT_ENV, "").strip()
    path = Path(configured) if configured else FONT_PATH
    if not path.is_file():
        raise FontMissing(path)
    return path


def collection_size(path: Path) -> int:
    """How many fonts the file holds (a .ttc collection holds several, a .ttf one)."""
    with path.open("rb") as handle:
        header = handle.read(12)
    if header[:4] != b"ttcf":
        return 1
    return int.from_bytes(header[8:12], "big")


class Face:
    """One font of the file, with advance widths for layout and outlines for SVG paths."""

    def __init__(self, path: Path, index: int) -> None:
        self.path = path
        self.index = index
        self._font: Any = TTFont(str(path), fontNumber=index, lazy=True)
        self.units_per_em: int = self._font["head"].unitsPerEm
        self.ascent: float = self._font["hhea"].ascent / self.units_per_em
        self.descent: float = -self._font["hhea"].descent / self.units_per_em
        metrics = self._font["hmtx"].metrics
        self._glyph_names: dict[int, str] = self._font.getBestCmap()
        self._notdef: str = self._font.getGlyphOrder()[0]
        self._notdef_advance: int = metrics[self._notdef][0]
        self._advances: dict[str, int] = {}
        for codepoint, glyph in self._glyph_names.items():
            self._advances[chr(codepoint)] = metrics[glyph][0]
        self._outlines: dict[str, tuple[str, int]] = {}
        self._glyph_set: Any = None
        self._lock = threading.Lock()  # fontTools reads glyphs lazily from one shared file handle

    def width(self, text: str, size: float) -> float:
        """Width of text set at size (same unit as size), from the font's advance widths."""
        get = self._advances.get
        default = self._notdef_advance
        return sum(get(char, default) for char in text) * size / self.units_per_em

    def has_char(self, char: str) -> bool:
        """Whether the font has a glyph for char."""
        return char in self._advances

    def outline(self, char: str) -> tuple[str, int]:
        """SVG path data of char's glyph in font units (y up) and its advance width."""
        cached = self._outlines.get(char)
        if cached is not None:
            return cached
        name = self._glyph_names.get(ord(char), self._notdef) if len(char) == 1 else self._notdef
        with self._lock:
            if self._glyph_set is None:
                self._glyph_set = self._font.getGlyphSet()
            pen = SVGPathPen(self._glyph_set)
            self._glyph_set[name].draw(pen)
            result = (str(pen.getCommands()), self._font["hmtx"].metrics[name][0])
        self._outlines[char] = result
        return result


@lru_cache(maxsize=8)
def _load(path: Path, index: int) -> Face:
    return Face(path, index)


def sans_face() -> Face:
    """The regular face used for titles and lines."""
    return _load(font_path(), SANS_INDEX)


def mono_face() -> Face:
    """The monospaced face used for the printed code (falls back to the regular face)."""
    path = font_path()
    return _load(path, MONO_INDEX if collection_size(path) > MONO_INDEX else SANS_INDEX)
