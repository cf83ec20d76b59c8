"""Hostile workbooks and a server in a child process, for the upload abuse tests and ``bench/uploads.py``.

The workbooks start as a real counting sheet written by openpyxl (styles, relationships, the lot) and
then have one part replaced by a stream: a shared-strings table of millions of entries (a zip bomb of
well under a megabyte), or a worksheet of hundreds of thousands of invalid rows. Nothing is held in
memory whole, so building even the 20-million-string bomb takes seconds and a few MB.

``UploadServer`` runs ``inventory serve`` from a given source tree on a given database, signs in as
the bootstrap admin, and reads the child's resident memory from ``/proc`` (its peak is reset before
each measured upload, where the kernel allows it).
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

SHARED_STRINGS = "xl/sharedStrings.xml"
SHEET = "xl/worksheets/sheet1.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
HEADER = ("序号", "物资编号", "物资名称", "实盘数量", "差异原因")
ADMIN_PASSWORD = "bench-admin-password-1"
_BATCH = 10_000


def _base_workbook() -> bytes:
    """A small counting sheet as openpyxl writes it: a title, the table header and two rows."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "盘点表"
    sheet.append(["南昌县储备库物资盘点表"])
    sheet.append(list(HEADER))
    sheet.append([1, "WZ-00001", "编织袋", "十二", ""])
    sheet.append([2, "WZ-00002", "救生衣", "三十", ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rebuilt(parts: dict[str, Iterator[bytes]]) -> bytes:
    """The base workbook with each of ``parts`` written from its chunks (deflated as they stream), added if new."""
    source = zipfile.ZipFile(io.BytesIO(_base_workbook()))
    output = io.BytesIO()
    with source, zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        names = [info.filename for info in source.infolist()]
        for name in [*names, *(part for part in parts if part not in names)]:
            if name not in parts:
                target.writestr(source.getinfo(name), source.read(name))
                continue
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 28, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with target.open(info, "w", force_zip64=True) as stream:
                for chunk in parts[name]:
                    stream.write(chunk)
    return output.getvalue()


def shared_strings_bomb(entries: int, *, distinct: bool = False) -> bytes:
    """A counting sheet with a shared-strings table of ``entries`` one-character strings (registered as Excel does).

    ``distinct`` makes them seven-digit numbers instead: a table that compresses like real text.
    """
    base = zipfile.ZipFile(io.BytesIO(_base_workbook()))
    types = base.read("[Content_Types].xml").replace(b"</Types>", (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))
    rels = base.read(WORKBOOK_RELS).replace(b"</Relationships>", (
        b'<Relationship Id="rIdStrings" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'))
    item = b"<si><t>x</t></si>"

    def strings() -> Iterator[bytes]:
        yield (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
               b'openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">' % (entries, entries))
        for start in range(0, entries, _BATCH):
            if distinct:
                yield "".join(f"<si><t>{n:07d}</t></si>" for n in range(start, min(start + _BATCH, entries))).encode()
            else:
                yield item * min(_BATCH, entries - start)
        yield b"</sst>"

    return _rebuilt({"[Content_Types].xml": iter([types]), WORKBOOK_RELS: iter([rels]), SHARED_STRINGS: strings()})


def invalid_rows_sheet(rows: int, *, name_length: int = 0) -> bytes:
    """A counting sheet with ``rows`` data rows under its header, each with a count that is not a number.

    ``name_length`` adds a 物资名称 of that many characters to every row (a fatter sheet, as many rows).
    """
    name_cell = f'<c r="C{{n}}" t="inlineStr"><is><t>{"救" * name_length}</t></is></c>' if name_length else ""
    original = zipfile.ZipFile(io.BytesIO(_base_workbook())).read(SHEET)
    start = original.index(b"<sheetData>") + len(b"<sheetData>")
    end = original.index(b"</sheetData>")
    head, tail = original[:start], original[end:]
    header = "".join(f'<c r="{letter}2" t="inlineStr"><is><t>{name}</t></is></c>'
                      for letter, name in zip("ABCDE", HEADER, strict=True))

    def chunks() -> Iterator[bytes]:
        yield head + f'<row r="2">{header}</row>'.encode()
        for first in range(3, rows + 3, _BATCH):
            yield "".join(
                f'<row r="{n}"><c r="A{n}"><v>{n - 2}</v></c><c r="B{n}" t="inlineStr"><is><t>WZ-{n:07d}</t></is>'
                f'</c>{name_cell.format(n=n)}'
                f'<c r="D{n}" t="inlineStr"><is><t>约{n % 97}箱</t></is></c></row>'
                for n in range(first, min(first + _BATCH, rows + 3))
            ).encode()
        yield tail

    return _rebuilt({SHEET: chunks()})


def free_port() -> int:
    """An unused local TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident) of a process, in KiB."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            figures[name] = int(value.split()[0])
    return figures


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux ≥ 4.0); False when the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class Probe:
    """Latencies (s) of ``GET /health`` and of small writes, sampled while something else runs."""

    health: list[float] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class UploadServer:
    """``inventory serve`` in a child process, run from ``root`` on ``database_url``."""

    def __init__(self, database_url: str, root: Path | None = None) -> None:
        self.root = root or Path(__file__).resolve().parents[2]
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "INVENTORY_DATABASE_URL": database_url,
               "INVENTORY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONPATH": str(self.root)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port)], cwd=self.root, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.token = ""
        self._wait_ready()
        self.token = str(self.request("POST", "/api/v1/auth/token",
                                      {"username": "admin", "password": ADMIN_PASSWORD})[1]["token"])

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                urllib.request.urlopen(f"{self.base}/ready", timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the server did not become ready within 60 s")

    def stop(self) -> None:
        """End the child process (it was started here)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def request(self, method: str, path: str, body: object | None = None, *, data: bytes | None = None,
                content_type: str = "application/json", timeout: float = 900) -> tuple[int, dict[str, object]]:
        """A blocking request; the status and the JSON answer (any status)."""
        if body is not None:
            data = json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base}{path}", data=data, method=method,
                                     headers={"Content-Type": content_type})
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def seed(self) -> tuple[int, int, int]:
        """A depot, a bulk item with stock there and an open stocktake: (location id, item id, stocktake id)."""
        _, loc = self.request("POST", "/api/v1/locations", {
            "code": "D-UPLOAD", "name": "上传测试储备库", "kind": "depot", "region_code": "360121",
            "lat": 28.5457, "lon": 115.944})
        _, item = self.request("POST", "/api/v1/item-types", {
            "code": "WZ-00001", "name": "编织袋", "unit": "条", "tracking": "bulk", "category": "flood_control"})
        self.request("POST", "/api/v1/movements", {"kind": "receipt", "location_id": loc["id"],
                                                   "lines": [{"item_type_id": item["id"], "quantity": 1000}]})
        _, st = self.request("POST", "/api/v1/stocktakes/", {"location_id": loc["id"], "period": "2026Q4",
                                                             "counted_by": "张保管", "supervised_by": "李监盘"})
        return int(str(loc["id"])), int(str(item["id"])), int(str(st["id"]))

    def upload(self, path: str, data: bytes, fields: dict[str, str] | None = None,
               timeout: float = 900) -> tuple[int, dict[str, object]]:
        """A multipart upload of ``data`` as the field ``file`` (plus text fields)."""
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                 for name, value in (fields or {}).items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload.xlsx"\r\n'
                     "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
                     .encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", path, data=body, content_type=f"multipart/form-data; boundary={boundary}",
                            timeout=timeout)

    def probe(self, stop: threading.Event, location_id: int, item_id: int, every: float = 0.05,
              write_every: int = 5) -> Probe:
        """Until ``stop`` is set: ``GET /health`` every ``every`` s, and a one-unit receipt every few probes."""
        result = Probe()
        n = 0
        while not stop.is_set():
            started = time.perf_counter()
            try:
                urllib.request.urlopen(f"{self.base}/health", timeout=120).close()
            except OSError as exc:
                result.failures.append(f"health: {exc!r}")
            result.health.append(time.perf_counter() - started)
            n += 1
            if write_every and n % write_every == 0:
                began = time.perf_counter()
                try:
                    status, answer = self.request("POST", "/api/v1/movements", {
                        "kind": "receipt", "location_id": location_id,
                        "lines": [{"item_type_id": item_id, "quantity": 1}]}, timeout=120)
                except OSError as exc:
                    status, answer = 0, {"error": repr(exc)}
                result.writes.append(time.perf_counter() - began)
                if status != 201:
                    result.failures.append(f"write: {status} {answer}")
            stop.wait(max(0.0, every - (time.perf_counter() - started)))
        return result


@dataclass
class Measured:
    """One upload measured: its answer, how long it took, the server's memory and what /health did meanwhile."""

    status: int
    answer: dict[str, object]
    seconds: float
    peak_growth_mb: float
    rss_after_mb: float
    probe: Probe


def measure_upload(server: UploadServer, path: str, data: bytes, location_id: int, item_id: int,
                   fields: dict[str, str] | None = None, timeout: float = 900) -> Measured:
    """Upload while probing; the peak resident growth is over the RSS just before the upload."""
    before = memory_kb(server.process.pid)
    reset_peak(server.process.pid)
    stop = threading.Event()
    probes: list[Probe] = []
    prober = threading.Thread(target=lambda: probes.append(server.probe(stop, location_id, item_id)))
    prober.start()
    started = time.perf_counter()
    try:
        status, answer = server.upload(path, data, fields, timeout=timeout)
    except TimeoutError:
        status, answer = 0, {"detail": f"no answer within {timeout:.0f} s"}
    finally:
        seconds = time.perf_counter() - started
        stop.set()
        prober.join()
    after = memory_kb(server.process.pid)
    return Measured(status, answer, seconds, (after["VmHWM"] - before["VmRSS"]) / 1024, after["VmRSS"] / 1024,
                    probes[0])
