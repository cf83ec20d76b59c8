"""Benchmark ``nearest`` availability at province or national scale (issue: nearest pumps to a levee breach).

Builds a database, then times ``nearest_available`` for random origins and item filters:

* ``--scale province`` (the default): Jiangxi (bench/province.py: 20,000 locations, 200 item types, 1,000,000
  units of bulk stock over balances, 100,000 serial units; schema by the migrations, rows by Core executemany);
* ``--scale national`` (PostgreSQL only; bench/national.py): 500,000 locations over a synthesised country, the
  same 200 item types, 5,000,000 bulk units, 1,000,000 serial units, written by COPY (a few minutes).

Then it times:

* in process — the service call with its own reader (``Database.reader()``, as the API handler), one at a
  time: p50 and p99; and in the same run, as baselines, a read session and a reader running ``SELECT 1``;
* over HTTP — ``GET /api/v1/availability/nearest`` on ``inventory serve`` with a bearer token, and in the
  same run ``GET /health`` with the same clients: p50 and p99 of each, and the ratio of the p50s.

Building is not timed with the rest: its time is printed on its own. The server runs without its alert timer
(``INVENTORY_ALERT_EVERY_MINUTES=0``), whose first round would otherwise overlap the HTTP phases. The machine's
load average is printed with the figures, since other work on it slows every phase.

Targets: province on PostgreSQL, in-process p99 under 5 ms and HTTP p50 of nearest at most 5× the health p50;
province on SQLite, 10 ms and 10×; national on PostgreSQL, in-process p99 under 20 ms (HTTP figures printed,
no target). National on SQLite is refused: it has no bulk load that bypasses its ``site_stock`` triggers.

    python bench/nearest.py                    # SQLite in a temporary directory
    python bench/nearest.py --reuse /tmp/p.db  # SQLite in this file: built once, then timed again as it is
    python bench/nearest.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test
    python bench/nearest.py --scale national --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test
    python bench/nearest.py --scale national --postgres URL --reuse-postgres   # time the built one again
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.httpload import Result, run_load
from bench.movements import bench_credentials, free_port, start_server, token_for
from bench.national import build_national
from bench.province import Province, build_province, load_province
from inventory.availability.service import nearest_available
from inventory.store.db import Database
from inventory.store.migrate import upgrade

PUMP_FLOWS = (100, 300, 500, 1000)


def random_queries(province: Province, count: int, seed: int) -> list[dict[str, Any]]:
    """Origins anywhere people live in the province (within ~10 km of a random location); varied item filters."""
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        lat, lon = rng.choice(province.points)
        lat, lon = lat + rng.uniform(-0.09, 0.09), lon + rng.uniform(-0.09, 0.09)
        roll = rng.random()
        q: dict[str, Any]
        if roll < 0.4:
            q = {"item_type": rng.choice(province.item_codes)}
        elif roll < 0.65:
            q = {"category": rng.choice(province.categories)}
        elif roll < 0.8:
            q = {"category": "pump", "attr": [f"flow_m3h>={rng.choice(PUMP_FLOWS)}"]}
        elif roll < 0.9:
            q = {"tag": rng.choice(["small", "fast", "light", "smart"])}
        else:
            q = {"tag": rng.choice(["fast", "light"]), "category": rng.choice(province.categories)}
        q |= {"lat": round(lat, 6), "lon": round(lon, 6), "quantity": rng.choice([1, 2, 6, 10, 20, 50, 200]),
              "limit": rng.choice([10, 10, 10, 20]), "include_agreement": rng.random() < 0.8}
        if rng.random() < 0.1:
            q["max_km"] = rng.choice([20, 50, 100])
        queries.append(q)
    return queries


def pct(values: list[float], p: float) -> float:
    """Percentile in milliseconds."""
    q = statistics.quantiles(values, n=1000, method="inclusive")
    return q[min(len(q) - 1, int(p * 10) - 1)] * 1000


async def in_process(db: Database, queries: list[dict[str, Any]]) -> tuple[list[float], dict[str, float]]:
    """Latency of each service call (its reader included), and what the answers looked like."""
    latencies, sources, fulfilled = [], 0, 0
    for q in queries:
        kw = {k: v for k, v in q.items() if k != "attr"} | {"attrs": q.get("attr", [])}
        t0 = time.perf_counter()
        async with db.reader() as reader:  # as the API handler reads
            answer = await nearest_available(reader, **kw)
        latencies.append(time.perf_counter() - t0)
        sources += len(answer.sources)
        fulfilled += answer.fulfilled
    return latencies, {"sources per answer": sources / len(queries), "fulfilled": fulfilled / len(queries)}


async def trivial_reads(db: Database, count: int) -> list[float]:
    """Latency of the least a service call can cost: a read session running ``SELECT 1`` (the baseline)."""
    latencies = []
    for _ in range(count):
        t0 = time.perf_counter()
        async with db.read() as session:
            await session.execute(text("SELECT 1"))
        latencies.append(time.perf_counter() - t0)
    return latencies


async def trivial_reader_reads(db: Database, count: int) -> list[float]:
    """The same through ``Database.reader()``, what ``nearest`` reads with (on SQLite: no session)."""
    latencies = []
    for _ in range(count):
        t0 = time.perf_counter()
        async with db.reader() as reader:
            if isinstance(reader, AsyncSession):
                await reader.execute(text("SELECT 1"))
            else:
                reader.fetchall("SELECT 1", ())
        latencies.append(time.perf_counter() - t0)
    return latencies


def http_phase(port: int, token: str | None, queries: list[dict[str, Any]], clients: int,
               seconds: float) -> tuple[Result, Result]:
    """Nearest requests (cycling through the queries), then /health, with the same clients and duration."""
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    paths = [f"/api/v1/availability/nearest?{urlencode(q, doseq=True)}".replace("True", "true")
             .replace("False", "false") for q in queries]

    def nearest(client: int, n: int) -> tuple[str, str, bytes, dict[str, str]]:
        return "GET", paths[(client * 7919 + n) % len(paths)], b"", auth

    def health(client: int, n: int) -> tuple[str, str, bytes, dict[str, str]]:
        return "GET", "/health", b"", {}

    asyncio.run(run_load("127.0.0.1", port, nearest, clients, 2.0))  # warm-up
    asyncio.run(run_load("127.0.0.1", port, health, clients, 1.0))
    found = asyncio.run(run_load("127.0.0.1", port, nearest, clients, seconds))
    probe = asyncio.run(run_load("127.0.0.1", port, health, clients, seconds))
    return found, probe


DATABASES = {"province": "inventory_bench_nearest", "national": "inventory_bench_national"}
# (in-process p99 ms, HTTP p50 ratio to /health or None) per (scale, PostgreSQL?)
TARGETS: dict[tuple[str, bool], tuple[float, float | None]] = {
    ("province", True): (5.0, 5.0), ("province", False): (10.0, 10.0), ("national", True): (20.0, None)}


def postgres_database(url: str, name: str, keep: bool) -> str:
    """Database ``name`` beside the one in ``url``, recreated empty (or, with ``keep``, created if missing); its URL."""
    import asyncpg

    async def prepare() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if exists and not keep:
                await conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
            if not exists or not keep:
                await conn.execute(f"CREATE DATABASE {name}")
        finally:
            await conn.close()

    asyncio.run(prepare())
    return f"{url.rpartition('/')[0]}/{name}"


async def built(db: Database) -> bool:
    """Whether the database already holds a build (any location)."""
    async with db.read() as session:
        return bool(await session.scalar(text("SELECT EXISTS (SELECT 1 FROM locations)")))


def main() -> None:
    """Build (or reuse) the database, time the service, then time HTTP; print the figures and the targets."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=("province", "national"), default="province",
                        help="province (Jiangxi) or national (PostgreSQL only)")
    parser.add_argument("--postgres", metavar="URL", help="benchmark PostgreSQL: a database inventory_bench_nearest "
                        "(national: inventory_bench_national) is (re)created beside the one in URL")
    parser.add_argument("--reuse-postgres", action="store_true", help="PostgreSQL: time the database built by an "
                        "earlier run as it is (migrated first), or build it if it holds nothing")
    parser.add_argument("--queries", type=int, default=3000, help="in-process calls timed (after 300 warm-up)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8], help="HTTP concurrency levels")
    parser.add_argument("--seconds", type=float, default=8.0, help="per HTTP phase")
    parser.add_argument("--reuse", metavar="FILE", type=Path, help="SQLite: build the province in FILE, or time "
                        "the one already there")
    args = parser.parse_args()
    if args.scale == "national" and not args.postgres:
        parser.error("--scale national needs --postgres: on SQLite a bulk load would fire the site_stock triggers "
                     "for every one of some 5 million rows (not supported)")
    if args.reuse_postgres and not args.postgres:
        parser.error("--reuse-postgres needs --postgres")
    tmp = tempfile.TemporaryDirectory()
    file = args.reuse or Path(tmp.name) / "province.db"
    url = (postgres_database(args.postgres, DATABASES[args.scale], args.reuse_postgres) if args.postgres
           else f"sqlite+aiosqlite:///{file}")
    label = "PostgreSQL" if args.postgres else "SQLite"
    t0 = time.perf_counter()
    upgrade(url)  # a reused database may predate the newest migrations
    print(f"migrated {label} database in {time.perf_counter() - t0:.1f} s")

    async def build_and_time() -> tuple[Province, str, dict[str, list[float]], dict[str, float]]:
        db = Database(url)
        timings: dict[str, list[float]] = {}
        try:
            t0 = time.perf_counter()
            reuse = (args.reuse_postgres or (args.reuse is not None and not args.postgres)) and await built(db)
            if reuse:
                province = await load_province(db)
                build = f"reused the database built earlier (read in {time.perf_counter() - t0:.1f} s)"
            else:
                province = await (build_national if args.scale == "national" else build_province)(db, print)
                build = f"built in {time.perf_counter() - t0:.1f} s (generation and load; not part of the figures)"
            queries = random_queries(province, args.queries + 300, seed=1)
            await in_process(db, queries[:300])
            timings["in process"], shape = await in_process(db, queries[300:])
            timings["in process, read session + SELECT 1 (baseline)"] = await trivial_reads(db, 2000)
            timings["in process, reader + SELECT 1 (baseline)"] = await trivial_reader_reads(db, 2000)
            return province, build, timings, shape
        finally:
            await db.dispose()

    province, build, timings, shape = asyncio.run(build_and_time())
    load_in_process = os.getloadavg()[0]
    env, _ = bench_credentials()
    # No alert timer in the server: its first round starts with the server and would run during the timed phases
    # (at national scale some 2 minutes and a minute of the server's CPU, opening ~280,000 alerts).
    env["INVENTORY_ALERT_EVERY_MINUTES"] = "0"
    port = free_port()
    proc = start_server(url, port, env)
    runs: list[tuple[int, Result, Result]] = []
    try:
        token = token_for(f"http://127.0.0.1:{port}", env)
        http_queries = random_queries(province, 2000, seed=2)
        for clients in args.clients:
            runs.append((clients, *http_phase(port, token, http_queries, clients, args.seconds)))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        tmp.cleanup()

    print(f"\nbench/nearest.py — {args.scale}, {label}, {os.cpu_count()} CPUs, load average {load_in_process:.2f} "
          f"after the in-process phase and {os.getloadavg()[0]:.2f} after HTTP; locations {province.counts}")
    print(build)
    print(f"answers: {shape['sources per answer']:.1f} sources on average, {shape['fulfilled']:.0%} fulfilled")
    for name, latencies in timings.items():
        print(f"{name}: {len(latencies)} calls   p50 {pct(latencies, 50):.2f} ms   p99 {pct(latencies, 99):.2f} ms   "
              f"max {max(latencies) * 1000:.1f} ms")
    ratios = []
    for clients, found, probe in runs:
        ratio = found.pct(50) / probe.pct(50)
        ratios.append(ratio)
        print(f"HTTP, {clients} client(s):")
        print("  " + found.line("GET /availability/nearest"))
        print("  " + probe.line("GET /health (same run)"))
        print(f"  ratio of p50s nearest / health: {ratio:.1f}")
    target_p99, target_ratio = TARGETS[(args.scale, bool(args.postgres))]
    p99 = pct(timings["in process"], 99)
    line = f"target in-process p99 < {target_p99:g} ms: {'met' if p99 < target_p99 else 'NOT met'} ({p99:.1f} ms)"
    if target_ratio is not None:
        line += (f"; target HTTP p50 ≤ {target_ratio:g}× health p50: "
                 f"{'met' if all(r <= target_ratio for r in ratios) else 'NOT met'} "
                 f"({', '.join(f'{r:.1f}×' for r in ratios)})")
    else:
        line += "; HTTP: no target at this scale"
    print(line)


if __name__ == "__main__":
    main()
