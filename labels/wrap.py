"""Breaking label text into rows the way Chinese is set: between characters, at Latin spaces and hyphens.

Kinsoku (禁则): no row starts with closing punctuation (，。、；：）」 …) and no row ends with opening
punctuation (（「《 …). A Latin word (a serial number, "m³/h") is kept whole when it fits a row; only a
word longer than a whole row is broken inside, and even then no row starts with closing punctuation.
Nothing here shrinks or cuts: :mod:`labels.layout` decides the size so that every row fits.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Final

from labels.fonts import Face

# May not start a row (行首禁则): closing brackets and quotes, sentence and clause punctuation, iteration marks.
NO_START: Final = frozenset("，。、；：？！）」』】》〉〕］｝〗〙”’…‥·・％‰℃々〻ー,.;:?!)]}%")
# May not end a row (行尾禁则): opening brackets and quotes.
NO_END: Final = frozenset("（「『【《〈〔［｛〖〘“‘([{")


def is_wide(char: str) -> bool:
    """CJK ideographs, kana, full-width forms and CJK punctuation: a row may break before or after them."""
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF  # radicals, CJK punctuation, kana, ideographs
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFE30 <= code <= 0xFE4F  # vertical forms
        or 0xFF00 <= code <= 0xFFEF  # full-width forms (，：（） …)
        or 0x20000 <= code <= 0x3FFFF  # ideographs beyond the basic plane
    )


def may_break_before(text: str, index: int) -> bool:
    """Whether a row may end just before text[index] (0 < index < len(text))."""
    before, after = text[index - 1], text[index]
    if after in NO_START or before in NO_END or after == " ":
        return False
    if before == " ":
        # Keep a number with its unit: "20 m", "380 V", "90 m³/h" (a letter after "PDT " may still start a row).
        return not (index >= 2 and text[index - 2].isdigit() and after.isascii() and after.isalpha())
    if before == "-" and after.isalnum() and index >= 2 and text[index - 2].isalnum():
        return True  # FLOOD-BAG-WOVEN-2024-0123 may break after a hyphen
    return is_wide(before) or is_wide(after)


class Wrapper:
    """One text measured once at size 1 (advance widths), broken into rows for a given size and row widths."""

    def __init__(self, text: str, face: Face, *, keep: int = 0) -> None:
        """``keep``: no break within the first ``keep`` characters (a field's name stays with its value)."""
        self.text = text
        self.face = face
        self._edges = [0.0, *accumulate(face.width(char, 1.0) for char in text)]
        self._breaks = [i for i in range(max(1, keep + 1), len(text)) if may_break_before(text, i)]

    def width(self, start: int, end: int, size: float) -> float:
        """Width of text[start:end] without trailing spaces, set at size."""
        while end > start and self.text[end - 1] == " ":
            end -= 1
        return (self._edges[end] - self._edges[start]) * size

    def rows(self, size: float, widths: Sequence[float], extra: float = 0.0) -> list[str]:
        """The rows at size: row i is at most widths[min(i, len(widths) - 1)] wide (plus ``extra`` ink)."""
        text, start = self.text, 0
        rows: list[str] = []
        while start < len(text):
            limit = widths[min(len(rows), len(widths) - 1)] - extra
            end = self._row_end(start, size, limit)
            rows.append(text[start:end].rstrip())
            start = end
            while start < len(text) and text[start] == " ":
                start += 1
        return rows or [""]

    def _row_end(self, start: int, size: float, limit: float) -> int:
        """Where the row beginning at start ends: the last break that fits, else a forced break inside a word."""
        text = self.text
        if self.width(start, len(text), size) <= limit:
            return len(text)
        best, after = 0, len(text)
        for index in self._breaks[bisect_right(self._breaks, start):]:
            if self.width(start, index, size) > limit:
                after = index
                break
            best = index
        if best and self.width(best, after, size) <= limit:
            return best
        # No break fits, or the word after the last one that does is itself wider than a row ("SN-" and sixty
        # digits; breaking there would only leave this row part empty): break inside the word where it overflows,
        # moving back over characters that may not start the next row or end this one.
        end = start + 1
        while end < len(text) and self.width(start, end + 1, size) <= limit:
            end += 1
        while start + 1 < end < len(text) and (text[end] in NO_START or text[end - 1] in NO_END):
            end -= 1
        # Still at a forbidden place (one character per row): keep the punctuation on this row instead. The row is
        # then wider than the limit, which the layout sees and answers with a smaller size.
        while end < len(text) and (text[end] in NO_START or text[end - 1] in NO_END):
            end += 1
        return end
