"""Where everything goes on one label, in millimetres from its top-left corner (y down).

Every renderer (PNG, SVG, PDF) draws the same layout, so a label looks the same in all three. The
QR code sits on the left at full label height (minus margins) inside a quiet zone of two modules;
text fills the rest: the title larger and bold, then the labelled lines, then the code pinned to
the bottom. Text that is too wide wraps (Chinese rules, :mod:`labels.wrap`: no row starts with
"，" or "）"); a text just a little too wide for one row shrinks a little instead. When the rows do
not fit the height, everything shrinks together until they do, down to ``FLOOR``. Only text that
does not fit even then is cut, visibly ("…"), and the layout names the fields it cut (``cut``).
Nothing is ever drawn outside the margins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from labels.codes import display_code
from labels.content import LabelContent
from labels.fonts import Face, mono_face, sans_face
from labels.qr import QrMatrix, qr_matrix
from labels.wrap import Wrapper

QUIET_MODULES: Final = 2
LEADING: Final = 1.22
TITLE_SCALE: Final = 1.3
MIN_SHRINK: Final = 0.8  # a text this little too wide for one row shrinks rather than wraps
STEP: Final = 0.95  # each try at fitting the height sets everything this much smaller
LEGIBLE: Final = 1.8  # mm (about 5 pt): no row shrinks below it to avoid wrapping; the demo's data never goes below
FLOOR: Final = 1.2  # mm: nothing is set smaller; what does not fit at this size is cut with "…"
BOLD_EM: Final = 0.04  # stroke width added around bold glyphs, as a fraction of the font size
ELLIPSIS: Final = "…"
SEPARATOR: Final = "："
TITLE_FIELD: Final = "名称"
IDENTIFYING: Final = frozenset({"编号", "批号"})  # cut last: they tell one unit or batch from another
INDENT_SHARE: Final = 0.25  # later rows of a line hang under its value unless the name takes more of the width


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
    cut: tuple[str, ...] = ()
    """Fields cut with "…" because they did not fit even at ``FLOOR`` (``名称`` for the title); empty normally."""

    @property
    def module(self) -> float:
        """Size of one QR module in mm."""
        return self.qr_side / (len(self.matrix) + 2 * QUIET_MODULES)

    @property
    def symbol_box(self) -> tuple[float, float, float]:
        """The QR symbol without its quiet zone: (x, y, side) in mm."""
        inset = QUIET_MODULES * self.module
        return self.qr_x + inset, self.qr_y + inset, self.module * len(self.matrix)


def label_margin(width: float, height: float) -> float:
    """Blank border kept around a label's content, in mm."""
    return min(2.5, max(1.0, 0.04 * min(width, height)))


@dataclass(slots=True)
class _Block:
    """The title or one labelled line, broken into rows at one size."""

    field: str
    wrapper: Wrapper
    bold: bool
    scale: float  # of the base size: TITLE_SCALE for the title, 1 for lines
    key_width: float = 0.0  # width at size 1 of "名称：", for the hanging indent of a line's later rows
    size: float = 0.0  # nominal size: the rows' height is LEADING × size
    rows: tuple[tuple[str, float, float], ...] = ()  # (text, size, indent)
    limits: tuple[float, ...] = ()  # the width each row may take

    def set(self, base: float, text_width: float) -> None:
        """Break the text into rows at base × scale: one row if it fits (shrunk a little if need be), else wrapped."""
        size = self.size = base * self.scale
        ink = BOLD_EM if self.bold else 0.0
        indent = self.key_width * size if self.key_width * size <= INDENT_SHARE * text_width else 0.0
        whole = self.wrapper.width(0, len(self.wrapper.text), 1.0) + ink
        if whole * max(size * MIN_SHRINK, min(size, LEGIBLE)) <= text_width:  # never shrunk below legible
            self.rows = ((self.wrapper.text, min(size, text_width / whole), 0.0),)
            self.limits = (text_width,)
            return
        texts = self.wrapper.rows(size, (text_width, text_width - indent), ink * size)
        self.rows = tuple((text, size, indent if i else 0.0) for i, text in enumerate(texts))
        self.limits = tuple(text_width - (indent if i else 0.0) for i in range(len(texts)))

    @property
    def height(self) -> float:
        """Height of the rows in mm."""
        return LEADING * self.size * len(self.rows)

    def overflows(self, face: Face) -> bool:
        """Whether a row is wider than it may be (a word that could only break at a forbidden place)."""
        ink = BOLD_EM if self.bold else 0.0
        return any(face.width(text, size) + ink * size > limit + 1e-9
                   for (text, size, _), limit in zip(self.rows, self.limits, strict=True))

    def cut_to(self, count: int, face: Face) -> None:
        """Keep the first count rows, the last of them ending in "…"."""
        text, size, indent = self.rows[count - 1]
        limit = self.limits[count - 1] - (BOLD_EM * size if self.bold else 0.0) - face.width(ELLIPSIS, size)
        while text and face.width(text, size) > limit:
            text = text[:-1]
        self.rows = (*self.rows[: count - 1], (text.rstrip() + ELLIPSIS, size, indent))
        self.limits = self.limits[:count]


def _blocks(content: LabelContent, sans: Face) -> list[_Block]:
    blocks = [_Block(TITLE_FIELD, Wrapper(content.title, sans), bold=True, scale=TITLE_SCALE)]
    for name, value in content.lines:
        key = f"{name}{SEPARATOR}"
        blocks.append(_Block(name, Wrapper(key + value, sans, keep=len(key)), bold=False, scale=1.0,
                             key_width=sans.width(key, 1.0)))
    return blocks


def _arrange(blocks: list[_Block], sans: Face, text_width: float, text_height: float,
             preferred: float) -> tuple[float, tuple[str, ...]]:
    """Set every block at the largest base size (≤ preferred) where all rows fit; cut at FLOOR if none does.

    Returns the base size (for the code row) and the fields cut.
    """
    def fits(base: float) -> bool:
        for block in blocks:
            block.set(base, text_width)
        used = sum(block.height for block in blocks) + LEADING * base
        return used <= text_height + 1e-9 and not any(block.overflows(sans) for block in blocks)

    floor = min(FLOOR, preferred)
    base, too_big = preferred, preferred
    while not fits(base):
        if base <= floor:
            return base, _cut(blocks, sans, text_height - LEADING * base)
        base, too_big = max(floor, base * STEP), base
    if base < preferred:  # a step too far, perhaps: look for the largest size in between that still fits
        fitting = base
        for _ in range(4):
            middle = (fitting + too_big) / 2
            fitting, too_big = (middle, too_big) if fits(middle) else (fitting, middle)
        fits(base := fitting)
    return base, ()


def _cut(blocks: list[_Block], sans: Face, room: float) -> tuple[str, ...]:
    """The blocks, set at the floor, need more than room (mm of height): cut fields until they fit; the fields cut."""
    used = sum(block.height for block in blocks)
    # Take rows off the longest field (the lowest on the label when fields tie; the serial or lot number only
    # when nothing else is left to cut), ending it with "…", until the rest fits. One row per field always fits:
    # see ``preferred`` in layout_label.
    counts = [len(block.rows) for block in blocks]
    while used > room + 1e-9:
        longest = max(range(len(blocks)),
                      key=lambda i: (counts[i] > 1 and blocks[i].field not in IDENTIFYING, counts[i], i))
        if counts[longest] <= 1:
            break
        counts[longest] -= 1
        used -= LEADING * blocks[longest].size
    cut = []
    for block, count in zip(blocks, counts, strict=True):
        if count < len(block.rows) or block.overflows(sans):
            block.cut_to(count, sans)
            cut.append(block.field)
    return tuple(cut)


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

    # The preferred size gives the title, every line and the code one row each.
    preferred = min(0.085 * height, text_height / (LEADING * (TITLE_SCALE + len(content.lines) + 1)))
    blocks = _blocks(content, sans)
    base, cut = _arrange(blocks, sans, text_width, text_height, preferred)
    pad = (LEADING - sans.ascent - sans.descent) / 2
    runs: list[TextRun] = []
    top = margin
    for block in blocks:
        for text, size, indent in block.rows:
            runs.append(TextRun(text_left + indent, top + (pad + sans.ascent) * block.size, size, text,
                                bold=block.bold))
            top += LEADING * block.size

    code = display_code(content.code)
    code_size = min(base, text_width / mono.width(code, 1.0))  # the code is never cut: it shrinks to fit
    baseline = height - margin - (pad + mono.descent) * base
    runs.append(TextRun(text_left, baseline, code_size, code, mono=True))
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
        cut=cut,
    )
