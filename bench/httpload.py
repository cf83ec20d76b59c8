"""A tiny keep-alive HTTP/1.1 load generator on asyncio streams (little CPU, so the server gets the cores)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class Result:
    """Latencies (seconds) and status counts of one load run."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)  # the path of each request, in the order of ``latencies``

    @property
    def rate(self) -> float:
        """Completed requests per second."""
        return len(self.latencies) / self.seconds

    def pct(self, p: float) -> float:
        """Latency percentile in milliseconds."""
        if not self.latencies:
            return float("nan")
        if len(self.latencies) == 1:  # quantiles() needs two
            return self.latencies[0] * 1000
        q = statistics.quantiles(self.latencies, n=1000, method="inclusive")
        return q[min(len(q) - 1, int(p * 10) - 1)] * 1000

    def line(self, label: str) -> str:
        """One printable summary line."""
        return (f"{label:<28} {self.rate:9.0f} req/s   p50 {self.pct(50):7.2f} ms   p99 {self.pct(99):7.2f} ms"
                f"   statuses {dict(sorted(self.statuses.items()))}")


RequestFactory = Callable[[int, int], tuple[str, str, bytes, dict[str, str]]]


async def _one_client(host: str, port: int, make: RequestFactory, client_no: int, deadline: float,
                      result: Result, interval: float = 0.0) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    n = 0
    try:
        while time.perf_counter() < deadline:
            method, path, body, headers = make(client_no, n)
            n += 1
            head = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
            head += [f"{k}: {v}" for k, v in headers.items()]
            t0 = time.perf_counter()
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            status_line = await reader.readline()
            length = 0
            chunked = False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "transfer-encoding" and "chunked" in value:
                    chunked = True
            if chunked:
                while True:
                    size = int((await reader.readline()).strip(), 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            elif length:
                await reader.readexactly(length)
            result.latencies.append(time.perf_counter() - t0)
            result.paths.append(path)
            status = int(status_line.split()[1])
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if interval:  # paced: the next request starts ``interval`` after this one did (or at once if late)
                await asyncio.sleep(max(0.0, t0 + interval - time.perf_counter()))
    finally:
        writer.close()


async def run_load(host: str, port: int | Sequence[int], make: RequestFactory, clients: int,
                   seconds: float, interval: float = 0.0) -> Result:
    """Drive ``clients`` keep-alive connections for ``seconds``; every request's latency is recorded.

    Several ports (one per server process) are shared out round-robin: client ``c`` talks to
    ``ports[c % len(ports)]`` for the whole run. With ``interval``, each client starts a request at most
    every ``interval`` seconds (a probe) instead of back to back. Several groups of clients run at once by
    gathering several ``run_load`` calls in one event loop (bench/fairness.py).
    """
    ports = [port] if isinstance(port, int) else list(port)
    start = time.perf_counter()
    result = Result(seconds=seconds)
    await asyncio.gather(*[_one_client(host, ports[c % len(ports)], make, c, start + seconds, result, interval)
                           for c in range(clients)])
    result.seconds = time.perf_counter() - start
    return result
