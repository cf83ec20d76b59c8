"""Benchmark label sheets: an A4 3×8 PDF of 1,000 asset labels against plain qrcode generation.

In the same run it times ``render_sheet`` on 1,000 asset labels and ``qrcode.make`` (error correction
M, a PIL image each) on the same 1,000 URLs, best of 3 each, and says whether the sheet takes at most
twice as long as the plain QR codes.

    python bench/labels.py            # 1,000 labels, best of 3
    python bench/labels.py --count 240 --runs 5
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import qrcode
from qrcode.constants import ERROR_CORRECT_M

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labels.codes import new_code, scan_url
from labels.content import LabelContent, asset_label
from labels.sheets import render_sheet

PUBLIC_URL = "https://yjgl.nanchang.example.cn"
TARGET_RATIO = 2.0


def sample_labels(count: int) -> list[LabelContent]:
    """Asset labels with realistic Chinese text and random codes (seeded, so runs compare)."""
    rng = random.Random(2025)
    names = ["离心泵", "龙吸水排涝车", "橡皮艇", "应急电源", "风力灭火机", "数字集群手持终端", "卫星电话", "无人机"]
    labels = []
    for index in range(count):
        code = new_code("asset", rng)
        labels.append(
            asset_label(
                code,
                scan_url(PUBLIC_URL, code),
                names[index % len(names)],
                "300 m³/h",
                f"SN-2025-{index:05d}",
                f"南昌县综合应急物资储备库 {index % 12 + 1} 号架",
            )
        )
    return labels


def best_of(runs: int, work: Callable[[], object]) -> float:
    """The fastest of runs timings of work, in seconds."""
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> int:
    """Run both timings and print them with the ratio and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    labels = sample_labels(args.count)
    payloads = [label.url for label in labels]
    pages = -(-args.count // 24)

    def plain() -> None:
        for payload in payloads:
            qrcode.make(payload, error_correction=ERROR_CORRECT_M)

    sheet_size = len(render_sheet(labels[:24], "a4-3x8"))  # warm-up: font loading happens once per process
    plain_s = best_of(args.runs, plain)
    pdf: list[bytes] = []
    sheet_s = best_of(args.runs, lambda: pdf.append(render_sheet(labels, "a4-3x8")))
    ratio = sheet_s / plain_s
    met = ratio <= TARGET_RATIO

    print(f"labels: {args.count} asset labels, A4 3×8 ({pages} pages), best of {args.runs}")
    print(f"qrcode.make (M, PIL image) × {args.count}: {plain_s:8.3f} s  ({plain_s / args.count * 1000:.2f} ms each)")
    print(f"render_sheet a4-3x8 × {args.count}:       {sheet_s:8.3f} s  ({sheet_s / args.count * 1000:.2f} ms each)")
    print(f"PDF size: {len(pdf[-1]) / 1024:.0f} KiB (one page alone: {sheet_size / 1024:.0f} KiB)")
    print(f"ratio: {ratio:.2f}× (target ≤ {TARGET_RATIO:.0f}×) → {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
