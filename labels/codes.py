"""Label codes: a kind prefix, a random Crockford base32 body and a Luhn mod 32 check character.

A code looks like ``A7K2M9QX4T``: ``A`` (asset), ``L`` (lot) or ``P`` (place/location), eight random
characters from Crockford's base32 alphabet, then one check character computed with the Luhn mod N
algorithm over prefix and body. The check catches every single-character error and most swaps of
two neighbouring characters, so a code typed in by hand from a worn label is either right or refused.
"""

from __future__ import annotations

import random
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import unquote, urlsplit

Kind = Literal["asset", "lot", "location"]

ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY_LENGTH: Final = 8
CODE_LENGTH: Final = 1 + BODY_LENGTH + 1
SCAN_PATH: Final = "/s/"

PREFIXES: Final[dict[Kind, str]] = {"asset": "A", "lot": "L", "location": "P"}
KINDS_BY_PREFIX: Final[dict[str, Kind]] = {prefix: kind for kind, prefix in PREFIXES.items()}
KIND_NAMES_ZH: Final[dict[Kind, str]] = {"asset": "装备", "lot": "批次", "location": "位置"}

_N: Final = len(ALPHABET)
_VALUES: Final[dict[str, int]] = {char: value for value, char in enumerate(ALPHABET)}
# "L" is not a Crockford character, so each prefix gets its own code point for the checksum;
# the three values differ, so swapping one prefix for another is caught like any other error.
_PREFIX_VALUES: Final[dict[str, int]] = {"A": _VALUES["A"], "L": _VALUES["1"], "P": _VALUES["P"]}
_LOOK_ALIKES: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})


class InvalidCode(ValueError):
    """A label code that is malformed or fails its check; ``reason_zh`` says why, in Chinese."""

    def __init__(self, reason_zh: str) -> None:
        super().__init__(reason_zh)
        self.reason_zh = reason_zh


@dataclass(frozen=True, slots=True)
class ParsedCode:
    """A validated code and the kind of thing it names."""

    kind: Kind
    code: str


def _code_point(char: str, position: int) -> int:
    return _PREFIX_VALUES[char] if position == 0 else _VALUES[char]


def check_char(payload: str) -> str:
    """The Luhn mod 32 check character for a prefix + body (already normalised and valid)."""
    total = 0
    factor = 2
    for position in range(len(payload) - 1, -1, -1):
        addend = factor * _code_point(payload[position], position)
        total += addend // _N + addend % _N
        factor = 3 - factor
    return ALPHABET[(_N - total % _N) % _N]


def new_code(kind: Kind, rng: random.Random | None = None) -> str:
    """A fresh random code for an asset, lot or location (cryptographic randomness unless rng is given)."""
    if kind not in PREFIXES:
        raise ValueError(f"unknown code kind {kind!r}; expected one of {sorted(PREFIXES)}")
    choose = secrets.choice if rng is None else rng.choice
    payload = PREFIXES[kind] + "".join(choose(ALPHABET) for _ in range(BODY_LENGTH))
    return payload + check_char(payload)


def normalise(text: str) -> str:
    """Upper-case, fold full-width input, drop spaces and hyphens, map look-alikes (O→0, I/L→1) after the prefix."""
    cleaned = "".join(unicodedata.normalize("NFKC", text).split()).replace("-", "").replace("‐", "").upper()
    return cleaned[:1] + cleaned[1:].translate(_LOOK_ALIKES)


def parse_code(text: str) -> ParsedCode:
    """Normalise and validate a code; raise InvalidCode with a Chinese reason if it is wrong."""
    code = normalise(text)
    if not code:
        raise InvalidCode("编码为空")
    if len(code) != CODE_LENGTH:
        raise InvalidCode(f"编码应为 {CODE_LENGTH} 位（1 位类别字母 + 8 位编码 + 1 位校验位），现在是 {len(code)} 位")
    prefix = code[0]
    if prefix not in KINDS_BY_PREFIX:
        known = "、".join(f"{p}={KIND_NAMES_ZH[k]}" for p, k in KINDS_BY_PREFIX.items())
        raise InvalidCode(f"首字母“{prefix}”不是已知的类别（{known}）")
    bad = sorted({char for char in code[1:] if char not in _VALUES})
    if bad:
        raise InvalidCode(f"含有无效字符“{''.join(bad)}”（只能用数字和字母，不含 U）")
    if check_char(code[:-1]) != code[-1]:
        raise InvalidCode("校验位不符，可能输错或看错了一个字符")
    return ParsedCode(kind=KINDS_BY_PREFIX[prefix], code=code)


def display_code(code: str) -> str:
    """The code grouped for people to read and type: ``A7K2M-9QX4T`` (hyphens are ignored on input)."""
    return f"{code[:5]}-{code[5:]}"


def scan_url(public_url: str, code: str) -> str:
    """The URL a label's QR code carries: ``{public_url}/s/{code}``."""
    return f"{public_url.rstrip('/')}{SCAN_PATH}{code}"


def code_from_payload(payload: str) -> str:
    """Recover and validate the code from a scanned label URL or from a bare code typed or scanned offline."""
    text = payload.strip()
    if "://" in text or text.startswith("/"):
        path = unquote(urlsplit(text).path).rstrip("/")
        marker = path.rfind(SCAN_PATH)
        if marker < 0:
            raise InvalidCode("不是本系统的标签二维码（网址中没有 /s/ 编码）")
        text = path[marker + len(SCAN_PATH) :]
        if "/" in text:
            raise InvalidCode("不是本系统的标签二维码（/s/ 后面应只有编码）")
    return parse_code(text).code
