"""How every generated sheet prints: A4, fitted to the page width, the header row repeated, pages numbered."""

from __future__ import annotations

from typing import Any, Literal

from openpyxl.worksheet.properties import PageSetupProperties

PAPER_A4 = 9  # OOXML paperSize code


def print_on_a4(sheet: Any, *, orientation: Literal["portrait", "landscape"], title_rows: str,
                top_bottom_margin: float | None = None) -> None:
    """Set up ``sheet`` to print on A4 one page wide (as many pages long as it takes), centred, with
    ``title_rows`` (e.g. "4:4") on every page and 第 N 页，共 M 页 in the footer. On a write-only sheet,
    call it before the first row is written."""
    setup = sheet.page_setup
    setup.orientation = orientation
    setup.paperSize = PAPER_A4
    setup.fitToWidth = 1
    setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_title_rows = title_rows
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    if top_bottom_margin is not None:
        sheet.page_margins.top = sheet.page_margins.bottom = top_bottom_margin
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页"
