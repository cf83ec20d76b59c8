"""Where a movement goes on a 收发存 report and how the stock ledger names it: pure rules, no I/O.

On-hand movements fall in one column each, by the kind of their document:

======================  =========  ===============================================
column                  side       documents
======================  =========  ===============================================
receipts 入库           in         receipt
returns 归还            in         return
transfers_in 调入       in         transfer_receipt (stock arriving from transit)
gains 盘盈              in         adjustment that added stock
issues 出库             out        issue, dispatch
transfers_out 调出      out        transfer (stock leaving on its way, at the sender)
losses 盘亏             out        adjustment that took stock
write_offs 报废         out        write_off
======================  =========  ===============================================

A column on the "in" side adds the movement's quantity, one on the "out" side subtracts it, so
closing = opening + Σ in − Σ out = opening + Σ quantity, whatever the mix.

Reversals (冲销, 红字): a reversing document has the kind of the document it undoes and the opposite
quantities. It is counted in the period of its own ``occurred_at`` (the time it was posted), in the column
of the document it reverses, as a negative figure — so a report already printed and signed for the original
period never changes, and the reversal shows as a red figure in the period it happened.

Stock in transit is a separate bucket at the receiver: a transfer is 调出 at the sender when shipped, shows
as 在途 at the receiver, and becomes 调入 there when it is received; a shortfall closed on receipt leaves
transit without ever entering stock.
"""

from __future__ import annotations

from typing import Final, Literal

Column = Literal["receipts", "returns", "transfers_in", "gains", "issues", "transfers_out", "losses", "write_offs"]
INFLOWS: Final[tuple[Column, ...]] = ("receipts", "returns", "transfers_in", "gains")
OUTFLOWS: Final[tuple[Column, ...]] = ("issues", "transfers_out", "losses", "write_offs")
COLUMN_ZH: Final[dict[Column, str]] = {
    "receipts": "入库", "returns": "归还", "transfers_in": "调入", "gains": "盘盈",
    "issues": "出库", "transfers_out": "调出", "losses": "盘亏", "write_offs": "报废",
}
_BY_KIND: Final[dict[str, Column]] = {
    "receipt": "receipts", "return": "returns", "transfer_receipt": "transfers_in", "issue": "issues",
    "dispatch": "issues", "transfer": "transfers_out", "write_off": "write_offs",
}


def original_direction(quantity: int, reversal: bool) -> int:
    """+1 when the movement (or, for a reversal, the movement it undoes) added stock, −1 when it took stock."""
    direction = 1 if quantity > 0 else -1
    return -direction if reversal else direction


def column_of(kind: str, quantity: int, reversal: bool) -> Column:
    """The 收发存 column of an on-hand movement of a document of ``kind`` (module doc)."""
    if kind == "adjustment":
        return "gains" if original_direction(quantity, reversal) > 0 else "losses"
    column = _BY_KIND.get(kind)
    if column is not None:
        return column
    # A kind that never moves stock on hand (reservation): still counted, on the side it moved.
    return "gains" if original_direction(quantity, reversal) > 0 else "losses"


def amount(column: Column, quantity: int) -> int:
    """What a movement adds to its column: the quantity on the in side, its negation on the out side."""
    return quantity if column in INFLOWS else -quantity


def entry_label(kind: str, quantity: int, reversal: bool) -> str:
    """The ledger's 摘要 kind: 入库, 调出, 盘亏…, and 入库冲销 for the reversal of a receipt."""
    label = COLUMN_ZH[column_of(kind, quantity, reversal)]
    return f"{label}冲销" if reversal else label


def entry_sides(quantity: int, reversal: bool) -> tuple[int, int]:
    """(in, out) figures of a ledger entry; a reversal stays on its original's side with a negative figure."""
    if original_direction(quantity, reversal) > 0:
        return quantity, 0
    return 0, -quantity
