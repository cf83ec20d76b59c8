"""Resident ID numbers (居民身份证号码, GB 11643): checked, reduced to the last four and a salted hash.

The whole number is never stored or shown: a household keeps its last four characters (to read back to the
head at the table) and an HMAC-SHA256 of the number under a salt kept in the database (to find the same
household again in the next round or at another table). Without the salt the hash cannot be looked up
against a list of numbers; with it, only a number already in hand can be matched.

A 15-digit number (issued before 1999) is upgraded to its 18-digit form first (``19`` inserted after the
area code, the check character computed), so both forms of one person's number name one household.
"""

from __future__ import annotations

import hashlib
import hmac

from inventory.errors import InvalidInput

FIELD = "household.id_number"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2^(17-i) mod 11, GB 11643-1999
CHECK_CHARACTERS = "10X98765432"  # indexed by the weighted sum mod 11


def check_character(first17: str) -> str:
    """The check character (0–9 or X) of the first 17 digits of an 18-character number."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def normalise_id_number(raw: str) -> str:
    """The 18-character form of a resident ID number, or InvalidInput on ``household.id_number``.

    Spaces are ignored and a lower-case ``x`` is read as ``X``. The messages never repeat the number.
    """
    number = "".join(raw.split()).upper()
    if len(number) == 15:
        if not (number.isascii() and number.isdigit()):
            raise InvalidInput("身份证号码有误：15 位旧号码只能是数字，请核对", field=FIELD)
        first17 = number[:6] + "19" + number[6:]
        return first17 + check_character(first17)
    if len(number) != 18:
        raise InvalidInput(f"身份证号码应为 18 位（或 15 位旧号码），输入了 {len(number)} 位，请核对", field=FIELD)
    first17, last = number[:17], number[17]
    if not (first17.isascii() and first17.isdigit()) or last not in "0123456789X":
        raise InvalidInput("身份证号码有误：前 17 位应为数字，最后一位为数字或 X，请核对", field=FIELD)
    if check_character(first17) != last:
        raise InvalidInput("身份证号码校验位不符，可能抄错了某一位，请对照身份证逐位核对", field=FIELD)
    return number


def last_four(number: str) -> str:
    """The last four characters, the only part of the number kept and shown."""
    return number[-4:]


def id_hash(salt: str, number: str) -> str:
    """HMAC-SHA256 of the normalised number under the kept salt, as 64 hex characters."""
    return hmac.new(salt.encode(), number.encode(), hashlib.sha256).hexdigest()


def masked(last4: str) -> str:
    """How a number is shown: ``**************123X``."""
    return "*" * 14 + last4
