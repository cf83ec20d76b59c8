"""Benchmark the stock write path over HTTP (issue #3).

Starts ``inventory serve`` on a fresh database, seeds stock, then drives it with N concurrent
keep-alive clients posting single-line issues and receipts (each with its own Idempotency-Key)
for a fixed time. In the same run it measures ``GET /health`` with the same clients, and a plain
``sqlite3`` loop of the same statements in one process (what Python itself can reach).

    python bench/movements.py                       # SQLite, 16 clients, 10 s per phase
    python bench/movements.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test
    python bench/movements.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test --servers 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.httpload import Result, run_load


def free_port() -> int:
    """An unused local TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_json(method: str, url: str, body: object | None = None, token: str | None = None) -> dict[str, object]:
    """A blocking JSON request for seeding."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        result: dict[str, object] = json.loads(resp.read())
        return result


def start_server(database_url: str, port: int, env_extra: dict[str, str]) -> subprocess.Popen[bytes]:
    """Run ``inventory serve`` and wait until it is ready."""
    env = {**os.environ, "INVENTORY_DATABASE_URL": database_url, **env_extra}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not become ready")


def seed(base: str, token: str | None) -> tuple[int, int]:
    """A depot with a large stock of one bulk item; returns (location id, item type id)."""
    loc = http_json("POST", f"{base}/api/v1/locations", {
        "code": "BENCH-D", "name": "压测储备库", "kind": "depot", "region_code": "360121",
        "lat": 28.5457, "lon": 115.944}, token)
    item = http_json("POST", f"{base}/api/v1/item-types", {
        "code": "BENCH-BAG", "name": "编织袋", "unit": "条", "tracking": "bulk", "category": "flood_control"}, token)
    http_json("POST", f"{base}/api/v1/movements", {
        "kind": "receipt", "location_id": loc["id"], "reason": "压测期初",
        "lines": [{"item_type_id": item["id"], "quantity": 100_000_000}]}, token)
    return int(loc["id"]), int(item["id"])  # type: ignore[call-overload]


def plain_sqlite_baseline(seconds: float) -> Result:
    """The same statements per movement through the sqlite3 module, one process, commit each time."""
    with tempfile.TemporaryDirectory() as tmp:
        con = sqlite3.connect(Path(tmp) / "plain.db", isolation_level=None)
        con.executescript("""
            PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;
            CREATE TABLE idem (actor TEXT, key TEXT, hash TEXT, status INT, body BLOB, created TEXT,
                               PRIMARY KEY (actor, key));
            CREATE TABLE doc (id INTEGER PRIMARY KEY, kind TEXT, location_id INT, actor TEXT, created TEXT,
                              occurred TEXT, reason TEXT);
            CREATE TABLE bal (id INTEGER PRIMARY KEY, location_id INT, item_type_id INT, lot_key INT,
                              on_hand INT CHECK (on_hand >= 0), reserved INT,
                              UNIQUE (location_id, item_type_id, lot_key));
            CREATE TABLE mov (id INTEGER PRIMARY KEY, document_id INT REFERENCES doc(id), location_id INT,
                              item_type_id INT, bucket TEXT, quantity INT, created TEXT);
            CREATE TABLE audit (id INTEGER PRIMARY KEY, actor TEXT, action TEXT, target TEXT, created TEXT);
            INSERT INTO bal VALUES (1, 1, 1, 0, 100000000, 0);
        """)
        result = Result(seconds=seconds)
        start = time.perf_counter()
        n = 0
        while time.perf_counter() - start < seconds:
            t0 = time.perf_counter()
            qty = -1 if n % 2 else 1
            now = time.strftime("%Y-%m-%d %H:%M:%S")
            con.execute("BEGIN IMMEDIATE")
            con.execute("INSERT INTO idem VALUES ('bench', ?, 'h', 0, x'', ?)", (uuid.uuid4().hex, now))
            cur = con.execute("INSERT INTO doc (kind, location_id, actor, created, occurred, reason) "
                              "VALUES ('issue', 1, 'bench', ?, ?, '')", (now, now))
            changed = con.execute("UPDATE bal SET on_hand = on_hand + ? WHERE location_id = 1 AND item_type_id = 1 "
                                  "AND lot_key = 0 AND on_hand - reserved >= ?", (qty, -qty if qty < 0 else 0))
            assert changed.rowcount == 1
            con.execute("INSERT INTO mov (document_id, location_id, item_type_id, bucket, quantity, created) "
                        "VALUES (?, 1, 1, 'on_hand', ?, ?)", (cur.lastrowid, qty, now))
            con.execute("INSERT INTO audit (actor, action, target, created) VALUES ('bench', 'post', 'doc', ?)",
                        (now,))
            con.execute("UPDATE idem SET status = 201, body = x'00' WHERE actor = 'bench' AND key = ?", ("k",))
            con.execute("COMMIT")
            result.latencies.append(time.perf_counter() - t0)
            n += 1
        result.seconds = time.perf_counter() - start
        result.statuses = {200: n}
        con.close()
    return result


def main() -> None:
    """Run the phases and print the figures side by side."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--postgres", metavar="URL", help="benchmark PostgreSQL at this URL (a fresh database "
                        "named inventory_bench is created beside it)")
    parser.add_argument("--servers", type=int, default=1, metavar="N",
                        help="N separate server processes on N ports against the one database, clients shared out "
                        "round-robin (PostgreSQL; the first migrates, the others start once it is ready)")
    args = parser.parse_args()
    if args.servers < 1 or (args.servers > 1 and not args.postgres):
        parser.error("--servers N: N >= 1, and more than one needs --postgres")
    ports = [free_port() for _ in range(args.servers)]
    tmp = tempfile.TemporaryDirectory()
    if args.postgres:
        url = _fresh_postgres(args.postgres)
        label = "PostgreSQL"
    else:
        url = f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.db'}"
        label = "SQLite"
    env_extra, token = bench_credentials()
    procs = [start_server(url, ports[0], env_extra)]
    try:
        procs += [start_server(url, port, env_extra) for port in ports[1:]]
        base = f"http://127.0.0.1:{ports[0]}"
        token = token_for(base, env_extra)
        loc_id, item_id = seed(base, token)
        auth = {"Authorization": f"Bearer {token}"} if token else {}

        def movement(client: int, n: int) -> tuple[str, str, bytes, dict[str, str]]:
            kind = "issue" if n % 2 else "receipt"
            body = json.dumps({"kind": kind, "location_id": loc_id,
                               "lines": [{"item_type_id": item_id, "quantity": 1}]}).encode()
            return "POST", "/api/v1/movements", body, {
                "Content-Type": "application/json", "Idempotency-Key": f"{client}-{n}-{uuid.uuid4().hex[:8]}", **auth}

        def health(client: int, n: int) -> tuple[str, str, bytes, dict[str, str]]:
            return "GET", "/health", b"", {}

        load_before = os.getloadavg()
        asyncio.run(run_load("127.0.0.1", ports, movement, args.clients, 2.0))  # warm-up
        moves = asyncio.run(run_load("127.0.0.1", ports, movement, args.clients, args.seconds))
        probe = asyncio.run(run_load("127.0.0.1", ports, health, args.clients, args.seconds))
        load_after = os.getloadavg()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        tmp.cleanup()
    plain = plain_sqlite_baseline(args.seconds)
    print(f"\nbench/movements.py — {label}, {args.servers} server process{'es' if args.servers > 1 else ''}, "
          f"{args.clients} concurrent clients, {args.seconds:.0f} s per phase, {os.cpu_count()} CPUs, "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(moves.line("POST /api/v1/movements"))
    print(probe.line("GET /health (same run)"))
    print(plain.line("plain sqlite3 loop (same run)"))
    print(f"movements/s: {moves.rate:.0f}   p50 {moves.pct(50):.1f} ms   p99 {moves.pct(99):.1f} ms")
    print(f"ratio movements / health: {moves.rate / probe.rate:.2f}   "
          f"ratio movements / plain sqlite3: {moves.rate / plain.rate:.2f}")
    ok = moves.rate >= 1000 and moves.pct(99) < 50
    print(f"target ({label}): >= 1000 movements/s and p99 < 50 ms: {'met' if ok else 'NOT met'}")


def bench_credentials() -> tuple[dict[str, str], str | None]:
    """Environment for the server so the benchmark can sign in (when accounts exist)."""
    return {"INVENTORY_BOOTSTRAP_ADMIN_PASSWORD": "bench-admin-password-1"}, None


def token_for(base: str, env: dict[str, str]) -> str | None:
    """A bearer token for the bootstrap admin, or None while the API has no sign-in."""
    try:
        answer = http_json("POST", f"{base}/api/v1/auth/token",
                           {"username": "admin", "password": env["INVENTORY_BOOTSTRAP_ADMIN_PASSWORD"]})
    except OSError:
        return None
    token = answer.get("token") or answer.get("access_token")
    return str(token) if token else None


def _fresh_postgres(url: str) -> str:
    import asyncpg

    base, _, _ = url.rpartition("/")

    async def recreate() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute("DROP DATABASE IF EXISTS inventory_bench WITH (FORCE)")
            await conn.execute("CREATE DATABASE inventory_bench")
        finally:
            await conn.close()

    asyncio.run(recreate())
    return f"{base}/inventory_bench"


if __name__ == "__main__":
    main()
