"""QR code matrices for labels: the bare symbol (no quiet zone; the layout adds it)."""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_M

QrMatrix = list[list[bool]]


def qr_matrix(payload: str) -> QrMatrix:
    """The QR symbol for payload (error correction M, smallest version that fits), True = dark module."""
    code = qrcode.QRCode(version=None, error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(payload)
    code.make(fit=True)
    matrix: QrMatrix = code.get_matrix()
    return matrix


def dark_runs(matrix: QrMatrix) -> list[tuple[int, int, int]]:
    """Horizontal runs of dark modules as (column, row, length), so a renderer draws one shape per run."""
    runs: list[tuple[int, int, int]] = []
    for row_index, row in enumerate(matrix):
        start = -1
        for column, dark in enumerate(row):
            if dark and start < 0:
                start = column
            elif not dark and start >= 0:
                runs.append((start, row_index, column - start))
                start = -1
        if start >= 0:
            runs.append((start, row_index, len(row) - start))
    return runs
