"""Benchmark hostile uploads (issue 13): a shared-strings zip bomb and a sheet of a million invalid rows.

Each case runs against a fresh ``inventory serve`` (a child process on a temporary SQLite file, or a
fresh PostgreSQL database with ``--postgres``) with a depot, an item and an open stocktake. While the
counts upload runs, ``GET /health`` is probed every 50 ms and a one-unit receipt is posted every fifth
probe. Printed per case: the answer and how long it took, the server's peak resident growth over its
RSS just before the upload (VmHWM after ``clear_refs``) and its RSS afterwards, ``/health`` p50/p99/max
and the slowest write meanwhile, and how much the database grew — beside a same-run baseline of the
same probes with no upload.

    python bench/uploads.py                          # 20,000,000 shared strings; 1,048,574 data rows
    python bench/uploads.py --strings 2000000 --rows 250000
    python bench/uploads.py --root /tmp/before       # the server from another source tree (e.g. a worktree)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

# Run as a file, this folder comes first on sys.path and bench/labels.py would shadow the labels package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.abuse.hostile_xlsx import (
    Measured,
    Probe,
    UploadServer,
    invalid_rows_sheet,
    measure_upload,
    shared_strings_bomb,
)


def ms(values: list[float], q: float | None = None) -> str:
    """A latency figure in ms: the q-quantile (0–1), or the maximum."""
    if not values:
        return "-"
    if q is None or len(values) < 2:
        return f"{max(values) * 1000:.0f}"
    return f"{statistics.quantiles(values, n=100, method='inclusive')[int(q * 100) - 1] * 1000:.0f}"


def probe_line(label: str, probe: Probe) -> str:
    """/health and write latencies of one probe run."""
    return (f"{label:<22} /health n={len(probe.health):<5} p50 {ms(probe.health, 0.5):>6} ms  "
            f"p99 {ms(probe.health, 0.99):>6} ms  max {ms(probe.health):>6} ms   "
            f"writes n={len(probe.writes):<4} max {ms(probe.writes):>6} ms   failures {len(probe.failures)}")


def database_bytes(url: str) -> int:
    """The SQLite file and its WAL, in bytes (0 for PostgreSQL, measured apart)."""
    if not url.startswith("sqlite"):
        return 0
    path = Path(url.split("///", 1)[1])
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def postgres_database(base: str, name: str) -> tuple[str, Callable[[], int], Callable[[], None]]:
    """A fresh PostgreSQL database: its URL, a size probe and a drop."""
    import asyncio

    import asyncpg

    admin = base.replace("postgresql+asyncpg://", "postgresql://")

    async def run(sql: str) -> object:
        conn = await asyncpg.connect(admin)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    asyncio.run(run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    asyncio.run(run(f"CREATE DATABASE {name}"))
    url = f"{base.rpartition('/')[0]}/{name}"

    def drop() -> None:
        asyncio.run(run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    return url, lambda: int(str(asyncio.run(run(f"SELECT pg_database_size('{name}')")))), drop


def one_case(key: str, label: str, data: bytes, root: Path, postgres: str | None, seconds: float,
             timeout: float) -> None:
    """A fresh server: baseline probes, then the upload under probes; prints the figures."""
    with tempfile.TemporaryDirectory() as folder:
        drop: Callable[[], None] = lambda: None  # noqa: E731
        if postgres:
            url, size, drop = postgres_database(postgres, f"inv_bench_uploads_{key}")
        else:
            url = f"sqlite+aiosqlite:///{folder}/bench.db"
            size = lambda: database_bytes(url)  # noqa: E731
        server = UploadServer(url, root)
        try:
            location, item, stocktake = server.seed()
            stop = threading.Event()
            timer = threading.Timer(seconds, stop.set)
            timer.start()
            baseline = server.probe(stop, location, item)
            grown_from = size()
            measured: Measured = measure_upload(server, f"/api/v1/stocktakes/{stocktake}/counts", data,
                                                location, item, timeout=timeout)
            grown = size() - grown_from
        finally:
            server.stop()
            drop()
    errors = measured.answer.get("errors")
    shown = measured.answer.get("detail") or measured.answer.get("title") or ""
    print(f"\n== {label}: {len(data) / 1e6:.2f} MB upload")
    print(probe_line("baseline (no upload)", baseline))
    print(probe_line("during the upload", measured.probe))
    print(f"answer {measured.status} after {measured.seconds:.2f} s; peak RSS growth {measured.peak_growth_mb:.0f} MB,"
          f" RSS afterwards {measured.rss_after_mb:.0f} MB; database grew {grown / 1e6:.2f} MB; "
          f"errors listed {len(errors) if isinstance(errors, list) else '-'}")
    print(f"detail: {str(shown)[:300]}")
    for failure in measured.probe.failures[:5]:
        print(f"probe failure: {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strings", type=int, default=20_000_000, help="entries in the bomb's shared strings")
    parser.add_argument("--rows", type=int, default=1_048_574, help="invalid data rows (1,048,576 sheet rows)")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="source tree the server runs from")
    parser.add_argument("--postgres", help="a PostgreSQL URL whose server gets a fresh database per case")
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    parser.add_argument("--only", choices=["bomb", "rows"])
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for an answer")
    args = parser.parse_args()
    print(f"server from {args.root}; database {'PostgreSQL' if args.postgres else 'SQLite'}")
    if args.only in (None, "bomb"):
        one_case("bomb", f"bomb of {args.strings:,} shared strings", shared_strings_bomb(args.strings), args.root,
                 args.postgres, args.baseline_seconds, args.timeout)
    if args.only in (None, "rows"):
        one_case("rows", f"{args.rows:,} invalid rows", invalid_rows_sheet(args.rows), args.root, args.postgres,
                 args.baseline_seconds, args.timeout)


if __name__ == "__main__":
    main()
