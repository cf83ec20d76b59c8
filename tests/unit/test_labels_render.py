"""Label rendering: PNG, SVG and PDF sheets decode back to their URLs, fit their boxes and sit where templates say."""

from __future__ import annotations

import io
import math
import os
import random
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime
from pathlib import Path

import cairosvg  # type: ignore[import-untyped]
import numpy as np
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_raw  # type: ignore[import-untyped]
import pytest
import zxingcpp
from PIL import Image

from inventory.demo.agreements import AGREEMENT_FIRMS
from inventory.demo.catalog import ITEM_TYPES, VENDORS
from inventory.demo.loader import CITY, _depots, _reserve_points, _vendors, _wgs84_centres, read_centres
from inventory.demo.stock import DEFAULT_QUALITY, DEPOT_STOCK, POINT_STOCK, QUALITY
from inventory.migrations.seed import read_regions
from inventory.scan.resolve import LOCATION_KIND_ZH
from inventory.store.models import Region
from labels.codes import display_code, new_code, scan_url
from labels.content import LabelContent, asset_label, location_label, lot_label
from labels.fonts import FONT_ENV, FONT_PATH, FontMissing, font_path, mono_face, sans_face
from labels.layout import BOLD_EM, ELLIPSIS, FLOOR, LEGIBLE, SEPARATOR, LabelLayout, layout_label
from labels.render import render_png, render_svg
from labels.sheets import PT_PER_MM, TEMPLATES, render_sheet
from labels.wrap import NO_END, NO_START, Wrapper

PUBLIC_URL = "https://yjgl.nanchang.example.cn"
MM_PER_INCH = 25.4
DPI = 300
PX_PER_MM = DPI / MM_PER_INCH

font_missing = not Path(os.environ.get(FONT_ENV) or FONT_PATH).is_file()
needs_font = pytest.mark.skipif(
    font_missing, reason="label font missing: apt-get install fonts-wqy-microhei or set INVENTORY_LABEL_FONT"
)


def _asset(rng: random.Random, index: int = 0, location: str = "南昌县综合应急物资储备库") -> LabelContent:
    code = new_code("asset", rng)
    return asset_label(code, scan_url(PUBLIC_URL, code), f"离心泵{index}号", "300 m³/h", f"SN-{index:05d}", location)


def _lot(rng: random.Random) -> LabelContent:
    code = new_code("lot", rng)
    url = scan_url(PUBLIC_URL, code)
    return lot_label(
        code, url, "帐篷（单帐篷）", "3×4 m", "江西南昌", "PC-2025-0301", "200 顶",
        date(2025, 3, 1), date(2030, 2, 28), datetime(2025, 4, 10, 14, 30), quality="合格",
    )  # fmt: skip


def _location(rng: random.Random) -> LabelContent:
    code = new_code("location", rng)
    return location_label(code, scan_url(PUBLIC_URL, code), "塔城乡救灾物资储备点", "南昌县塔城乡", "乡镇储备点")


def _long(rng: random.Random) -> LabelContent:
    code = new_code("asset", rng)
    name = "数字集群手持终端（防爆型，含备用电池两块及充电座）" * 2
    spec = "PDT 350-400 MHz IP67 Exib IIC T4 Gb " * 3
    location = "南昌县综合应急物资储备库 A 区 3 号架" * 3
    return asset_label(code, scan_url(PUBLIC_URL, code), name, spec, "SN-" + "0123456789" * 6, location)


def _longest_allowed(rng: random.Random) -> LabelContent:
    """An asset label with every field as long as the API accepts (name 100, spec 200, serial 60, place 100)."""
    code = new_code("asset", rng)
    name = ("数字集群手持终端（防爆型，含备用电池两块及充电座）" * 5)[:100]
    spec = ("PDT 350-400 MHz IP67 Exib IIC T4 Gb，" * 10)[:200]
    location = ("南昌县综合应急物资储备库 A 区 3 号架，" * 6)[:100]
    return asset_label(code, scan_url(PUBLIC_URL, code), name, spec, ("SN-" + "0123456789" * 6)[:60], location)


def _all_kinds() -> list[LabelContent]:
    rng = random.Random(42)
    return [_asset(rng), _lot(rng), _location(rng)]


def _decode(image: Image.Image) -> list[zxingcpp.Barcode]:
    return list(zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)))


def _dark(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L")) < 128


def test_lot_label_carries_the_batch_fields_in_order_and_leaves_out_empty_ones() -> None:
    lot = _lot(random.Random(1))
    assert lot.title == "帐篷（单帐篷）"
    assert [name for name, _ in lot.lines] == ["规格", "产地", "批号", "数量", "质量", "生产日期", "有效期", "入库时间"]
    assert dict(lot.lines)["入库时间"] == "2025-04-10"
    code = new_code("lot", random.Random(2))
    bare = lot_label(code, "u", "棉被", None, "", "B1", "50 床", None, None, "2025-01-02")
    assert [name for name, _ in bare.lines] == ["批号", "数量", "入库时间"]


def test_builders_refuse_a_code_of_another_kind() -> None:
    code = new_code("lot", random.Random(3))
    with pytest.raises(ValueError, match="names a lot, not a asset"):
        asset_label(code, "u", "水泵", None, None, None)


def test_missing_font_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(FONT_ENV, str(tmp_path / "nothing.ttc"))
    with pytest.raises(FontMissing) as caught:
        font_path()
    assert "fonts-wqy-microhei" in str(caught.value)
    assert "INVENTORY_LABEL_FONT" in str(caught.value)
    assert "找不到标签字体" in str(caught.value)


@needs_font
@pytest.mark.parametrize("content", _all_kinds(), ids=lambda content: content.kind)
def test_png_label_of_each_kind_decodes_to_its_url_with_a_quiet_zone(content: LabelContent) -> None:
    image = Image.open(io.BytesIO(render_png(content)))
    assert image.size == (round(70 * PX_PER_MM), round(37 * PX_PER_MM))
    assert round(image.info["dpi"][0]) == DPI
    assert [barcode.text for barcode in _decode(image)] == [content.url]

    layout = layout_label(content, 70, 37)
    dark = _dark(image)[:, : int(layout.text_left * PX_PER_MM)]
    rows, columns = np.where(dark.any(axis=1))[0], np.where(dark.any(axis=0))[0]
    module_px = (columns[-1] + 1 - columns[0]) / len(layout.matrix)
    assert module_px >= 4
    assert columns[0] >= 2 * module_px
    assert rows[0] >= 2 * module_px
    assert dark.shape[0] - rows[-1] - 1 >= 2 * module_px
    assert dark.shape[1] - columns[-1] - 1 >= 2 * module_px


def _written(content: LabelContent) -> str:
    """Everything a label should print, in order, without spaces (rows may break at a space)."""
    fields = "".join(f"{name}{SEPARATOR}{value}" for name, value in content.lines)
    return (content.title + fields + display_code(content.code)).replace(" ", "")


def _printed(layout: LabelLayout) -> str:
    """Everything the layout prints, in order, without spaces."""
    return "".join(run.text for run in layout.runs).replace(" ", "")


def _assert_inside(layout: LabelLayout) -> None:
    """Every run lies inside the text box: right of the QR code, within the margins."""
    for run in layout.runs:
        face = mono_face() if run.mono else sans_face()
        ink = BOLD_EM * run.size if run.bold else 0.0
        assert run.x >= layout.text_left - 1e-9, run
        assert run.x + face.width(run.text, run.size) + ink <= layout.text_right + 1e-9, run
        assert run.baseline - face.ascent * run.size >= layout.margin - 0.2, run
        assert run.baseline + face.descent * run.size <= layout.height - layout.margin + 1e-9, run


def _assert_kinsoku(texts: list[str]) -> None:
    """No row starts with closing punctuation (，。、）…) or ends with opening punctuation (（「《…)."""
    for text in texts:
        assert text[0] not in NO_START, f"row starts with {text[0]!r}: {texts}"
        assert text[-1] not in NO_END, f"row ends with {text[-1]!r}: {texts}"


@needs_font
@pytest.mark.parametrize(("width", "height"), [(70, 37), (50, 30), (60, 40), (105, 59.4)])
def test_long_text_wraps_and_shrinks_whole_and_never_crosses_the_margins(width: float, height: float) -> None:
    content = _long(random.Random(9))
    layout = layout_label(content, width, height)
    assert layout.cut == ()
    assert _printed(layout) == _written(content)
    assert min(run.size for run in layout.runs) >= FLOOR
    _assert_inside(layout)
    _assert_kinsoku([run.text for run in layout.runs])

    dark = _dark(Image.open(io.BytesIO(render_png(content, width_mm=width, height_mm=height))))
    margin_px = int(layout.margin * PX_PER_MM) - 1
    assert not dark[:, -margin_px:].any(), "text ran into the right margin"
    assert not dark[-margin_px:, :].any(), "text ran into the bottom margin"
    assert [barcode.text for barcode in _decode(Image.fromarray(~dark))] == [content.url]


@needs_font
@pytest.mark.parametrize("name", list(TEMPLATES))
def test_text_too_long_even_at_the_smallest_size_is_cut_visibly_and_the_layout_names_what_it_cut(name: str) -> None:
    template = TEMPLATES[name]
    content = _longest_allowed(random.Random(10))
    layout = layout_label(content, template.label_width, template.label_height)
    _assert_inside(layout)
    assert layout.runs[-1].text == display_code(content.code)  # the code is never cut
    if name == "roll-50x30":
        assert layout.cut, "the longest text the API accepts cannot fit 50×30 mm whole"
    if not layout.cut:
        assert _printed(layout) == _written(content)
        return
    assert min(run.size for run in layout.runs) >= FLOOR
    assert sum(run.text.endswith(ELLIPSIS) for run in layout.runs) == len(layout.cut)
    starts = {run.text.split(SEPARATOR)[0]: index for index, run in enumerate(layout.runs) if SEPARATOR in run.text}
    for field in layout.cut:
        if field in starts:  # a cut line: its last row, the one before the next field, ends with "…"
            following = [i for i in starts.values() if i > starts[field]] or [len(layout.runs) - 1]
            assert layout.runs[min(following) - 1].text.endswith(ELLIPSIS), (field, layout.runs)


def _widest(values: list[str]) -> str:
    """The value that takes the most room on a label."""
    face = sans_face()
    return max(values, key=lambda value: face.width(value, 1.0))


def _demo_place_names() -> tuple[list[str], list[str]]:
    """Every location name the demo creates, and every region name of 南昌市 (label line 地区)."""
    regions = [Region(**row) for row in read_regions() if str(row["code"]).startswith(CITY)]
    counties = [r for r in regions if r.level == 3 and r.parent_code == CITY]
    towns = [r for r in regions if r.level == 4 and r.parent_code in {c.code for c in counties}]
    centres = read_centres()
    wgs = _wgs84_centres(counties, centres)
    places = [*_depots(counties, centres), *_reserve_points(counties, towns, wgs),
              *_vendors(counties, wgs, VENDORS + AGREEMENT_FIRMS)]
    return [place.name for place in places] + ["货架 A"], [region.name for region in regions]


def _longest_demo_labels() -> list[LabelContent]:
    """An asset, a lot and a location label, each with the widest value of every field in the demo data."""
    rng = random.Random(11)
    serial = [it for it in ITEM_TYPES if it.tracking == "serial"]
    bulk = [it for it in ITEM_TYPES if it.tracking == "bulk"]
    places, regions = _demo_place_names()
    units = {it.code: it.unit for it in bulk}
    asset, lot, location = new_code("asset", rng), new_code("lot", rng), new_code("location", rng)
    return [
        asset_label(asset, scan_url(PUBLIC_URL, asset), _widest([it.name for it in serial]),
                    _widest([it.spec for it in serial]), _widest([f"{it.code}-2024-0888" for it in serial]),
                    _widest(places)),
        lot_label(lot, scan_url(PUBLIC_URL, lot), _widest([it.name for it in bulk]), _widest([it.spec for it in bulk]),
                  "江西", _widest([f"{it.code}-20250808" for it in bulk]),
                  _widest([f"{hi}{units[code]}" for code, _, hi in (*DEPOT_STOCK, *POINT_STOCK)]),
                  date(2025, 8, 8), date(2028, 8, 8), date(2025, 9, 28),
                  quality=_widest([*QUALITY.values(), DEFAULT_QUALITY])),
        location_label(location, scan_url(PUBLIC_URL, location), _widest(places), _widest(regions),
                       _widest(list(LOCATION_KIND_ZH.values()))),
    ]


def _every_demo_label() -> list[LabelContent]:
    """Each demo item type as an asset or lot label, at the widest demo place."""
    rng = random.Random(12)
    places, _ = _demo_place_names()
    contents = []
    for it in ITEM_TYPES:
        if it.tracking == "serial":
            code = new_code("asset", rng)
            contents.append(asset_label(code, scan_url(PUBLIC_URL, code), it.name, it.spec, f"{it.code}-2024-0888",
                                        _widest(places)))
        else:
            code = new_code("lot", rng)
            contents.append(lot_label(code, scan_url(PUBLIC_URL, code), it.name, it.spec, "江西",
                                      f"{it.code}-20250808", f"20000{it.unit}", date(2025, 8, 8), date(2028, 8, 8),
                                      date(2025, 9, 28), quality=QUALITY.get(it.code, DEFAULT_QUALITY)))
    return contents


@needs_font
@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_demo_label_fits_whole_legible_and_without_a_row_starting_with_punctuation(name: str) -> None:
    template = TEMPLATES[name]
    for content in [*_longest_demo_labels(), *_every_demo_label()]:
        layout = layout_label(content, template.label_width, template.label_height)
        assert layout.cut == (), (content.title, layout.runs)
        assert _printed(layout) == _written(content), layout.runs
        assert min(run.size for run in layout.runs) >= LEGIBLE, layout.runs
        _assert_inside(layout)
        _assert_kinsoku([run.text for run in layout.runs])


@needs_font
@pytest.mark.parametrize("name", list(TEMPLATES))
def test_longest_demo_values_print_whole_inside_the_label_as_a_pdf_reader_sees_them(name: str) -> None:
    template = TEMPLATES[name]
    for content in _longest_demo_labels():
        page = pdfium.PdfDocument(render_sheet([content], name))[0]
        layout = layout_label(content, template.label_width, template.label_height)
        left, top = template.label_origin(0)
        page_height = page.get_size()[1]
        text = page.get_textpage()
        extracted = text.get_text_range()
        # pdfium joins a row ending in a hyphen to the next one, writing the hyphen as U+FFFE.
        rows = [row for row in extracted.replace("\ufffe", "-\r\n").split("\r\n") if row.strip()]
        assert "".join(rows).replace(" ", "") == _written(content), rows
        _assert_kinsoku(rows)
        for index in range(text.count_chars()):
            if extracted[index].isspace():
                continue
            x0, y0, x1, y1 = (value / PT_PER_MM for value in text.get_charbox(index))
            where = (extracted[index], index, x0, y0, x1, y1)
            assert left + layout.text_left - 0.15 <= x0 and x1 <= left + layout.text_right + 0.15, where
            top_mm, bottom_mm = page_height / PT_PER_MM - y1, page_height / PT_PER_MM - y0
            assert top + layout.margin - 0.3 <= top_mm, where
            assert bottom_mm <= top + template.label_height - layout.margin, where
            size_mm = pdfium_raw.FPDFText_GetFontSize(text.raw, index) / PT_PER_MM
            assert size_mm >= LEGIBLE - 1e-6, where


@needs_font
def test_rows_never_start_with_closing_or_end_with_opening_punctuation_at_any_width() -> None:
    text = "规格：浮筒式，90 m³/h（自吸式），扬程 20 m；380 V、11 kW。“防汛用”《说明书》FLOOD-BAG-WOVEN-2024-0888"
    wrapper = Wrapper(text, sans_face())
    for tenths in range(25, 600):
        rows = wrapper.rows(1.0, (tenths / 10,))
        assert "".join(rows).replace(" ", "") == text.replace(" ", "")
        _assert_kinsoku(rows)
        if tenths >= 50:  # wide enough for "90 m³/h": a number stays with its unit
            assert not any(row.endswith(("90", "20", "380", "11")) for row in rows[:-1]), rows


@needs_font
def test_every_line_fits_without_cutting_on_an_a4_label_for_ordinary_data() -> None:
    for content in _all_kinds():
        texts = [run.text for run in layout_label(content, 70, 37).runs]
        assert not any("…" in text for text in texts), texts


@needs_font
@pytest.mark.parametrize("content", _all_kinds(), ids=lambda content: content.kind)
def test_svg_is_self_contained_text_as_paths_and_rasterises_to_the_same_label(content: LabelContent) -> None:
    svg = render_svg(content, width_mm=70, height_mm=37)
    root = ET.fromstring(svg)
    assert root.get("width") == "70mm"
    assert root.get("viewBox") == "0 0 70 37"
    tags = {element.tag.split("}")[-1] for element in root.iter()}
    assert tags <= {"svg", "title", "rect", "path", "g"}
    assert not re.search(r"href|url\(|font|<text|<image", svg)
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 30

    png = Image.open(io.BytesIO(cairosvg.svg2png(bytestring=svg.encode(), output_width=round(70 * PX_PER_MM))))
    svg_image = Image.alpha_composite(Image.new("RGBA", png.size, "white"), png.convert("RGBA")).convert("L")
    assert [barcode.text for barcode in _decode(svg_image)] == [content.url]

    # The glyph outlines land where Pillow draws the same text: same ink box and about the same amount of ink.
    text_left = int(layout_label(content, 70, 37).text_left * PX_PER_MM)
    from_svg = _dark(svg_image)[:, text_left:]
    from_png = _dark(Image.open(io.BytesIO(render_png(content))))[:, text_left:]
    assert from_svg.shape == from_png.shape
    for axis in (0, 1):
        edges_svg = np.where(from_svg.any(axis=axis))[0][[0, -1]]
        edges_png = np.where(from_png.any(axis=axis))[0][[0, -1]]
        assert np.abs(edges_svg - edges_png).max() <= 0.3 * PX_PER_MM
    assert 0.8 < from_svg.sum() / from_png.sum() < 1.25


def _sheet_contents(count: int) -> list[LabelContent]:
    rng = random.Random(count)
    contents = [_asset(rng, index, location="南昌县储备库") for index in range(count)]
    contents[1] = _lot(rng)
    contents[2] = _location(rng)
    return contents


@needs_font
@pytest.mark.parametrize("name", list(TEMPLATES))
def test_each_pdf_label_decodes_to_its_own_url_at_its_template_position(name: str) -> None:
    template = TEMPLATES[name]
    contents = _sheet_contents(template.per_page + 2 if template.per_page > 1 else 3)
    progress: list[tuple[int, int]] = []
    document = pdfium.PdfDocument(
        render_sheet(contents, name, progress=lambda done, total: progress.append((done, total)))
    )
    assert progress[-1] == (len(contents), len(contents))
    assert len(progress) == len(contents)
    assert len(document) == math.ceil(len(contents) / template.per_page)

    for page_index, page in enumerate(document):
        width_pt, height_pt = page.get_size()
        assert width_pt / 72 * MM_PER_INCH == pytest.approx(template.page_width, abs=0.01)
        assert height_pt / 72 * MM_PER_INCH == pytest.approx(template.page_height, abs=0.01)
        on_page = contents[page_index * template.per_page : (page_index + 1) * template.per_page]
        image = page.render(scale=DPI / 72, grayscale=True).to_pil().convert("L")
        barcodes = _decode(image)
        assert len(barcodes) == len(on_page)
        assert sorted(barcode.text for barcode in barcodes) == sorted(content.url for content in on_page)
        dark = _dark(image)
        for barcode in barcodes:
            slot = [content.url for content in on_page].index(barcode.text)
            layout = layout_label(on_page[slot], template.label_width, template.label_height)
            left, top = template.label_origin(slot)
            symbol_x, symbol_y, side = layout.symbol_box
            expected = np.array([left + symbol_x, top + symbol_y, left + symbol_x + side, top + symbol_y + side])
            corners = barcode.position
            xs = [corners.top_left.x, corners.top_right.x, corners.bottom_left.x, corners.bottom_right.x]
            ys = [corners.top_left.y, corners.top_right.y, corners.bottom_left.y, corners.bottom_right.y]
            reach = 1.5 * layout.module * PX_PER_MM  # inside the 2-module quiet zone: only the symbol is dark there
            x0, y0 = int(min(xs) - reach), int(min(ys) - reach)
            window = dark[y0 : int(max(ys) + reach), x0 : int(max(xs) + reach)]
            rows, columns = np.where(window.any(axis=1))[0], np.where(window.any(axis=0))[0]
            measured = np.array([x0 + columns[0], y0 + rows[0], x0 + columns[-1] + 1, y0 + rows[-1] + 1]) / PX_PER_MM
            assert np.abs(measured - expected).max() <= 0.25, (name, slot, measured, expected)


@needs_font
def test_pdf_has_the_chinese_text_and_embeds_the_font() -> None:
    contents = _sheet_contents(5)
    data = render_sheet(contents, "a4-3x8")
    page = pdfium.PdfDocument(data)[0]
    text = page.get_textpage().get_text_range()
    assert "帐篷（单帐篷）" in text
    assert "批号：PC-2025-0301" in text
    assert "塔城乡救灾物资储备点" in text
    assert contents[0].title in text
    fonts = [pdfium_raw.FPDFTextObj_GetFont(obj.raw) for obj in page.get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_TEXT])]
    assert fonts
    assert all(pdfium_raw.FPDFFont_GetIsEmbedded(font) for font in fonts)
    assert b"/FontFile2" in data
    assert set(re.findall(rb"/BaseFont /(\S+)", data)) == {
        b"AAAAAA+WenQuanYiMicroHei-0",
        b"AAAAAA+WenQuanYiMicroHeiMono-1",
    }


def test_templates_tile_their_pages_exactly() -> None:
    expected = {"a4-3x8": (210, 297, 70, 37, 3, 8), "a4-2x5": (210, 297, 105, 59.4, 2, 5),
                "roll-50x30": (50, 30, 50, 30, 1, 1), "roll-60x40": (60, 40, 60, 40, 1, 1)}  # fmt: skip
    assert set(TEMPLATES) == set(expected)
    for name, template in TEMPLATES.items():
        t = template
        assert (t.page_width, t.page_height, t.label_width, t.label_height, t.columns, t.rows) == expected[name]
        last_x, last_y = template.label_origin(template.per_page - 1)
        assert last_x + template.label_width <= template.page_width + 1e-9
        assert last_y + template.label_height <= template.page_height + 1e-9
    assert TEMPLATES["a4-3x8"].label_origin(0) == (0, 0.5)
    assert TEMPLATES["a4-3x8"].label_origin(23) == pytest.approx((140, 0.5 + 7 * 37), abs=0.01)
    assert TEMPLATES["a4-2x5"].label_origin(9) == pytest.approx((105, 4 * 59.4), abs=0.01)


def test_unknown_template_and_empty_sheet_are_refused() -> None:
    with pytest.raises(ValueError, match="a4-3x8, a4-2x5, roll-50x30, roll-60x40"):
        render_sheet(_all_kinds(), "letter-4x10")
    with pytest.raises(ValueError, match="没有要打印的标签"):
        render_sheet([], "a4-3x8")
