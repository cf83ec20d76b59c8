"""Benchmark fairness at province scale (issue 22): does a heavy read hold up the small requests meanwhile?

On the province database of bench/province.py (the one bench/nearest.py builds: 20,000 locations, 1,000,000
bulk units, 100,000 serial units), ``inventory serve`` answers, in one run:

* alone — each heavy read once, nothing else running (its cost, and the warm-up);
* (a) baseline — ``--movers`` clients posting single-line receipts and issues at random county depots (as
  bench/movements.py: each with its own Idempotency-Key; an issue takes back the receipt before it) and one
  client probing ``GET /health`` every 20 ms;
* (b) the same, plus ``--readers`` clients running the heavy reads in a loop, each starting at another one:
  ``GET /api/v1/stock?region=36&limit=500``, ``GET /api/v1/stock?limit=500&offset=200000``,
  ``GET /api/v1/availability/summary?region=3601&category=pump``, ``GET /api/v1/assets?limit=500&offset=90000``
  and the reports over the whole province: stock by county (per city) and a year of 收发存 (``--no-reports``
  leaves them out).

It prints, per phase, ``/health`` p50/p99/max, movement p50/p99 and throughput, heavy reads p50/p99 and
count (per read too), the status counts, and the targets: while the heavy readers run, ``/health`` p99 under
50 ms and movement p99 under 100 ms — PASS or FAIL each. The probe is paced: a probe that waited starts the
next one at once, so a stalled event loop shows in its max and p99. The server runs without its alert timer
(``INVENTORY_ALERT_EVERY_MINUTES=0``); the load generator is one asyncio process (little CPU). The machine's
load average is printed with the figures, since other work on it slows every phase.

    python bench/fairness.py                        # SQLite in a temporary directory (builds the province first)
    python bench/fairness.py --reuse /tmp/prov.db   # SQLite in this file: built once, then reused as it is
    python bench/fairness.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test
    python bench/fairness.py --postgres URL --reuse-postgres    # the database bench/nearest.py built, reused
    python bench/fairness.py --movers 4 --readers 8 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from bench.httpload import Result, run_load
from bench.movements import bench_credentials, free_port, start_server, token_for
from bench.nearest import DATABASES, built, postgres_database
from bench.province import Province, build_province, load_province
from inventory.clock import beijing_today
from inventory.store.db import Database
from inventory.store.migrate import upgrade
from inventory.store.models import ItemType, Location

HEAVY = ["/api/v1/stock?region=36&limit=500", "/api/v1/stock?limit=500&offset=200000",
         "/api/v1/availability/summary?region=3601&category=pump", "/api/v1/assets?limit=500&offset=90000"]
PROBE_EVERY = 0.020  # seconds between /health probes
HEALTH_P99_MS = 50.0  # targets while the heavy readers run
MOVEMENT_P99_MS = 100.0

Request = tuple[str, str, bytes, dict[str, str]]


def reports(year: int) -> list[str]:
    """The reports over the whole province: stock by county per city, and a year of 收发存."""
    return ["/api/v1/reports/stock-by-county?region=36", f"/api/v1/reports/receipts-issues?region=36&period={year}"]


async def movement_targets(db: Database) -> tuple[list[int], list[int]]:
    """The county depots and the bulk item types without lots (a receipt needs no lot, an issue no choice)."""
    async with db.read() as session:
        depots = list(await session.scalars(select(Location.id).where(Location.kind == "depot", Location.active)
                                            .order_by(Location.id)))
        items = list(await session.scalars(select(ItemType.id).where(ItemType.tracking == "bulk",
                                                                     ItemType.shelf_life_days.is_(None))
                                           .order_by(ItemType.id)))
    return depots, items


class Movements:
    """Request factory: per client, a receipt of 1–5 at a random depot, then an issue of the same back."""

    def __init__(self, depots: list[int], items: list[int], auth: dict[str, str], seed: int) -> None:
        self.depots, self.items, self.auth = depots, items, auth
        self.rng = random.Random(seed)
        self.last: dict[int, tuple[int, int, int]] = {}

    def __call__(self, client: int, n: int) -> Request:
        if n % 2 == 0 or client not in self.last:
            self.last[client] = (self.rng.choice(self.depots), self.rng.choice(self.items), self.rng.randint(1, 5))
            kind = "receipt"
        else:
            kind = "issue"
        depot, item, quantity = self.last[client]
        body = json.dumps({"kind": kind, "location_id": depot, "reason": "压测",
                           "lines": [{"item_type_id": item, "quantity": quantity}]}).encode()
        return "POST", "/api/v1/movements", body, {
            "Content-Type": "application/json", "Idempotency-Key": f"fair-{client}-{n}-{uuid.uuid4().hex[:12]}",
            **self.auth}


def health(client: int, n: int) -> Request:
    """The probe."""
    return "GET", "/health", b"", {}


async def phase(port: int, movements: Movements, seconds: float, readers: int = 0,
                paths: list[str] | None = None, auth: dict[str, str] | None = None,
                movers: int = 4) -> tuple[Result, Result, Result | None]:
    """Movers and the probe (and, with ``readers``, the heavy readers) at once for ``seconds``."""

    def heavy(client: int, n: int) -> Request:
        assert paths is not None
        return "GET", paths[(client + n) % len(paths)], b"", auth or {}

    groups = [run_load("127.0.0.1", port, movements, movers, seconds),
              run_load("127.0.0.1", port, health, 1, seconds, interval=PROBE_EVERY)]
    if readers:
        groups.append(run_load("127.0.0.1", port, heavy, readers, seconds))
    results = await asyncio.gather(*groups)
    return results[0], results[1], results[2] if readers else None


def alone(base: str, paths: list[str], auth: dict[str, str]) -> list[tuple[str, float, int]]:
    """Each heavy read once, one at a time, nothing else running: (path, seconds, status)."""
    answers = []
    for path in paths:
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(urllib.request.Request(base + path, headers=auth), timeout=120) as resp:
                resp.read()
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        answers.append((path, time.perf_counter() - t0, status))
    return answers


def figures(result: Result) -> str:
    """p50, p99, max and count of one group."""
    if not result.latencies:
        return "no requests"
    return (f"p50 {result.pct(50):8.1f} ms   p99 {result.pct(99):8.1f} ms   max {max(result.latencies) * 1000:8.1f} ms"
            f"   {len(result.latencies):6d} requests")


def statuses(result: Result) -> str:
    """Status counts, as printed beside the figures."""
    return f"statuses {dict(sorted(result.statuses.items()))}"


def per_path(result: Result) -> dict[str, Result]:
    """The heavy readers' figures split by request path."""
    split: dict[str, Result] = {}
    for path, latency in zip(result.paths, result.latencies, strict=True):
        split.setdefault(path, Result(seconds=result.seconds)).latencies.append(latency)
    return split


def main() -> None:
    """Build (or reuse) the province, start the server, run the two phases; print the figures and the targets."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", metavar="URL", help="benchmark PostgreSQL: a database "
                        f"{DATABASES['province']} (bench/nearest.py's) is (re)created beside the one in URL")
    parser.add_argument("--reuse-postgres", action="store_true", help="PostgreSQL: run on the database built by an "
                        "earlier run (of this bench or bench/nearest.py) as it is, or build it if it holds nothing")
    parser.add_argument("--reuse", metavar="FILE", type=Path, help="SQLite: build the province in FILE, or run on "
                        "the one already there")
    parser.add_argument("--movers", type=int, default=4, metavar="M", help="clients posting movements")
    parser.add_argument("--readers", type=int, default=4, metavar="N", help="clients running heavy reads, phase (b)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    parser.add_argument("--no-reports", action="store_true", help="leave the province-wide reports out of the "
                        "heavy reads")
    args = parser.parse_args()
    if args.reuse_postgres and not args.postgres:
        parser.error("--reuse-postgres needs --postgres")
    if args.movers < 1 or args.readers < 1:
        parser.error("--movers and --readers: at least 1")
    tmp = tempfile.TemporaryDirectory()
    file = args.reuse or Path(tmp.name) / "province.db"
    url = (postgres_database(args.postgres, DATABASES["province"], args.reuse_postgres) if args.postgres
           else f"sqlite+aiosqlite:///{file}")
    label = "PostgreSQL" if args.postgres else "SQLite"
    t0 = time.perf_counter()
    upgrade(url)  # a reused database may predate the newest migrations
    print(f"migrated {label} database in {time.perf_counter() - t0:.1f} s")

    async def build() -> tuple[Province, str, list[int], list[int]]:
        db = Database(url)
        try:
            t0 = time.perf_counter()
            reuse = (args.reuse_postgres or (args.reuse is not None and not args.postgres)) and await built(db)
            if reuse:
                province = await load_province(db)
                how = f"reused the database built earlier (read in {time.perf_counter() - t0:.1f} s)"
            else:
                province = await build_province(db, print)
                how = f"built in {time.perf_counter() - t0:.1f} s (generation and load; not part of the figures)"
            return (province, how, *await movement_targets(db))
        finally:
            await db.dispose()

    province, how, depots, items = asyncio.run(build())
    paths = HEAVY + ([] if args.no_reports else reports(beijing_today().year))
    env, _ = bench_credentials()
    env["INVENTORY_ALERT_EVERY_MINUTES"] = "0"  # no alert round during the phases
    port = free_port()
    proc = start_server(url, port, env)
    try:
        token = token_for(f"http://127.0.0.1:{port}", env)
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        movements = Movements(depots, items, auth, seed=22)

        async def run() -> tuple[list[tuple[str, float, int]], tuple[Result, Result, Result | None],
                                 tuple[Result, Result, Result | None], tuple[float, float]]:
            await run_load("127.0.0.1", port, movements, args.movers, 2.0)  # warm-up
            single = await asyncio.to_thread(alone, f"http://127.0.0.1:{port}", paths, auth)
            load_before = os.getloadavg()[0]
            base = await phase(port, movements, args.seconds, movers=args.movers)
            loaded = await phase(port, movements, args.seconds, args.readers, paths, auth, movers=args.movers)
            return single, base, loaded, (load_before, os.getloadavg()[0])

        single, base, loaded, loads = asyncio.run(run())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        tmp.cleanup()

    print(f"\nbench/fairness.py — province, {label}, {os.cpu_count()} CPUs, {args.movers} movement clients, "
          f"{args.readers} heavy readers, /health every {PROBE_EVERY * 1000:.0f} ms, {args.seconds:g} s per phase; "
          f"load average {loads[0]:.2f} before the phases, {loads[1]:.2f} after; locations {province.counts}")
    print(how)
    print("alone (one at a time, nothing else running):")
    for path, seconds, status in single:
        print(f"  {path:<58} {seconds * 1000:8.1f} ms   status {status}")
    for name, (moves, probe, heavy) in (("(a) baseline: movements + /health", base),
                                        (f"(b) + {args.readers} heavy readers (same run)", loaded)):
        print(name)
        print(f"  GET /health            {figures(probe)}   {statuses(probe)}")
        print(f"  POST /movements        {figures(moves)}   {moves.rate:6.0f}/s   {statuses(moves)}")
        if heavy is not None:
            print(f"  heavy reads            {figures(heavy)}   {statuses(heavy)}")
            for path, part in sorted(per_path(heavy).items(), key=lambda kv: paths.index(kv[0])):
                print(f"    {path:<58} p50 {part.pct(50):8.1f} ms   p99 {part.pct(99):8.1f} ms   "
                      f"{len(part.latencies):4d}")
    probe, moves = loaded[1], loaded[0]
    for what, value, baseline, target in (("/health p99", probe.pct(99), base[1].pct(99), HEALTH_P99_MS),
                                          ("movement p99", moves.pct(99), base[0].pct(99), MOVEMENT_P99_MS)):
        print(f"target {what} < {target:g} ms while heavy readers run: {'PASS' if value < target else 'FAIL'} "
              f"({value:.1f} ms; {baseline:.1f} ms without them)")


if __name__ == "__main__":
    main()
