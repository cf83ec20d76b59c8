"""Label codes: format, normalisation, the Luhn mod 32 check and recovery from scanned payloads."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from labels.codes import (
    ALPHABET,
    CODE_LENGTH,
    InvalidCode,
    Kind,
    check_char,
    code_from_payload,
    display_code,
    new_code,
    normalise,
    parse_code,
    scan_url,
)

KINDS: tuple[Kind, ...] = get_args(Kind)
PREFIX_CHARS = ALPHABET + "L"  # every character a person could put in the prefix position


def _codes(count: int, seed: int = 20250301) -> list[str]:
    rng = random.Random(seed)
    return [new_code(KINDS[index % 3], rng) for index in range(count)]


def _is_rejected(text: str) -> bool:
    try:
        parse_code(text)
    except InvalidCode:
        return True
    return False


@pytest.mark.parametrize(("kind", "prefix"), [("asset", "A"), ("lot", "L"), ("location", "P")])
def test_new_code_is_prefix_eight_crockford_characters_and_a_valid_check(kind: Kind, prefix: str) -> None:
    code = new_code(kind, random.Random(7))
    assert len(code) == CODE_LENGTH == 10
    assert code[0] == prefix
    assert all(char in ALPHABET for char in code[1:])
    assert code[-1] == check_char(code[:-1])
    assert parse_code(code).kind == kind


def test_new_code_is_reproducible_with_a_seeded_rng_and_random_without_one() -> None:
    assert new_code("lot", random.Random(1)) == new_code("lot", random.Random(1))
    assert len({new_code("asset") for _ in range(50)}) == 50


def test_new_code_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown code kind"):
        new_code("box")  # type: ignore[arg-type]


def test_check_character_matches_a_hand_computed_luhn_mod_32_value() -> None:
    # "A" has code point 10 and is doubled (odd count of characters from the right): 20 → check (32 - 20) = 12 = "C".
    assert check_char("A00000000") == "C"
    assert parse_code("A00000000C").code == "A00000000C"


def test_every_generated_code_has_a_weighted_digit_sum_divisible_by_32() -> None:
    values = {char: index for index, char in enumerate(ALPHABET)} | {"L": 1}
    for code in _codes(300):
        total = 0
        for offset, char in enumerate(reversed(code)):
            addend = values[char] * (2 if offset % 2 else 1)
            total += addend // 32 + addend % 32
        assert total % 32 == 0, code


def test_every_single_substitution_in_every_position_of_200_codes_is_detected() -> None:
    missed = []
    checked = 0
    for code in _codes(200):
        for position, original in enumerate(code):
            for replacement in PREFIX_CHARS if position == 0 else ALPHABET:
                if replacement == original:
                    continue
                wrong = code[:position] + replacement + code[position + 1 :]
                checked += 1
                if not _is_rejected(wrong):
                    missed.append(wrong)
    assert checked > 200 * 10 * 30
    assert missed == []


def test_adjacent_transpositions_are_almost_all_detected() -> None:
    detected = swapped = 0
    escaped_pairs = set()
    for code in _codes(500):
        for position in range(len(code) - 1):
            a, b = code[position], code[position + 1]
            if a == b:
                continue
            swapped += 1
            if _is_rejected(code[:position] + b + a + code[position + 2 :]):
                detected += 1
            else:
                escaped_pairs.add(frozenset((a, b)))
    assert detected / swapped >= 0.90
    # Luhn mod N misses only swaps of the first and last code points (here "0" and "Z").
    assert escaped_pairs <= {frozenset("0Z")}


def test_normalise_uppercases_drops_separators_and_maps_look_alikes_after_the_prefix() -> None:
    assert normalise(" l7k2m-9qx4t ") == "L7K2M9QX4T"
    assert normalise("Lo1I-lOoo0") == "L01110000"
    assert normalise("a-b c") == "ABC"
    assert normalise("ａ７ｋ２ｍ－９ｑｘ４ｔ") == "A7K2M9QX4T"  # typed with a Chinese IME in full-width mode


def test_labels_package_stands_alone_without_web_or_database_imports() -> None:
    script = "import sys, labels.sheets, labels.render; print(sorted({m.split('.')[0] for m in sys.modules}))"
    root = Path(__file__).resolve().parents[2]
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=root).stdout
    for forbidden in ("litestar", "sqlalchemy", "inventory", "api", "msgspec"):
        assert f"'{forbidden}'" not in loaded


def test_parse_code_accepts_what_a_person_types_from_a_label() -> None:
    code = new_code("lot", random.Random(3))
    typed = display_code(code).lower().replace("1", "l").replace("0", "o")
    assert parse_code(typed).code == code
    assert parse_code(typed).kind == "lot"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "编码为空"),
        ("A1234", "应为 10 位"),
        ("A00000000CC", "现在是 11 位"),
        ("X00000000C", "首字母“X”不是已知的类别"),
        ("A0000U000C", "无效字符“U”"),
        ("A0000#000C", "无效字符“#”"),
        ("A00000000D", "校验位不符，可能输错或看错了一个字符"),
    ],
)
def test_parse_code_explains_in_chinese_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(InvalidCode) as caught:
        parse_code(text)
    assert reason in caught.value.reason_zh
    assert isinstance(caught.value, ValueError)


def test_a_prefix_swapped_for_another_kind_fails_the_check() -> None:
    code = new_code("asset", random.Random(11))
    with pytest.raises(InvalidCode, match="校验位不符"):
        parse_code("P" + code[1:])


def test_scan_url_joins_public_url_and_code_with_one_slash() -> None:
    assert scan_url("https://yjgl.example.cn/", "A00000000C") == "https://yjgl.example.cn/s/A00000000C"
    assert scan_url("https://yjgl.example.cn/app", "A00000000C") == "https://yjgl.example.cn/app/s/A00000000C"


def test_code_from_payload_reads_urls_and_bare_codes() -> None:
    code = new_code("location", random.Random(5))
    url = scan_url("https://yjgl.example.cn/inventory/", code)
    assert code_from_payload(url) == code
    assert code_from_payload(url + "/") == code
    assert code_from_payload(url + "?from=wechat#top") == code
    assert code_from_payload(f"  {display_code(code).lower()} ") == code
    assert code_from_payload(f"/s/{code}") == code


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("https://example.cn/items/A00000000C", "不是本系统的标签二维码"),
        ("https://example.cn/s/A00000000C/edit", "/s/ 后面应只有编码"),
        ("https://example.cn/s/A00000000D", "校验位不符"),
        ("WIFI:S:depot;T:WPA;P:secret;;", "应为 10 位"),
    ],
)
def test_code_from_payload_refuses_foreign_or_damaged_payloads(payload: str, reason: str) -> None:
    with pytest.raises(InvalidCode, match=reason):
        code_from_payload(payload)
