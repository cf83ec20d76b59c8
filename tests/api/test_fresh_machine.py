"""What a new user meets first: the QR base URL of `serve`, and labels without the label font."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from api.cli import main, serve_public_url
from labels.fonts import FONT_ENV, FONT_PATH
from tests.api.helpers import location_body

ROOT = Path(__file__).resolve().parents[2]
needs_font = pytest.mark.skipif(not FONT_PATH.is_file() and not os.environ.get(FONT_ENV),
                                reason="label font missing (apt-get install fonts-wqy-microhei)")


def test_the_public_url_follows_host_and_port_when_unset() -> None:
    assert serve_public_url(None, "127.0.0.1", 8765) == ("http://127.0.0.1:8765", None)
    assert serve_public_url(None, "192.168.1.20", 9000) == ("http://192.168.1.20:9000", None)
    assert serve_public_url("https://yingji.example.cn/", "0.0.0.0", 8000) == ("https://yingji.example.cn", None)


def test_a_loopback_public_url_while_listening_on_all_interfaces_is_warned_about() -> None:
    url, warning = serve_public_url(None, "0.0.0.0", 8080)
    assert url == "http://127.0.0.1:8080"
    assert warning is not None and "INVENTORY_PUBLIC_URL" in warning and "手机" in warning
    _, warning = serve_public_url("http://localhost:8080", "::", 8080)
    assert warning is not None
    assert serve_public_url("http://10.1.2.3:8080", "0.0.0.0", 8080)[1] is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Server:
    def __init__(self, process: subprocess.Popen[str], port: int, lines: list[str]) -> None:
        self.process, self.port, self.lines = process, port, lines


def _start(tmp_path: Path, host: str, port: int) -> _Server:
    env = {k: v for k, v in os.environ.items() if k != "INVENTORY_PUBLIC_URL"}
    env.update(INVENTORY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
               INVENTORY_BOOTSTRAP_ADMIN_PASSWORD="first-admin-password", PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--host", host, "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "listening on" in line:
            break
    return _Server(process, port, lines)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    servers: list[_Server] = []

    def start(host: str) -> _Server:
        server = _start(tmp_path, host, _free_port())
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()


def _wait_ready(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("the server did not answer /health")


@needs_font
def test_serve_on_another_port_prints_that_port_into_the_qr_codes(serve: Any) -> None:
    import zxingcpp

    server = serve("127.0.0.1")
    output = "".join(server.lines)
    assert f"http://127.0.0.1:{server.port}/s/" in output, output
    _wait_ready(server.port)
    base = f"http://127.0.0.1:{server.port}"
    token = httpx.post(f"{base}/api/v1/auth/token",
                       json={"username": "admin", "password": "first-admin-password"}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    created = httpx.post(f"{base}/api/v1/locations", json=location_body("D-PORT"), headers=headers)
    assert created.status_code == 201, created.text
    code = created.json()["label_code"]
    png = httpx.get(f"{base}/api/v1/labels/{code}.png", headers=headers, timeout=30)
    assert png.status_code == 200, png.text
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))]
    assert decoded == [f"{base}/s/{code}"]


def test_serve_on_all_interfaces_without_a_public_url_warns_at_start(serve: Any) -> None:
    server = serve("0.0.0.0")
    output = "".join(server.lines)
    assert "INVENTORY_PUBLIC_URL" in output and "手机" in output, output


async def test_without_the_label_font_a_label_is_a_503_naming_the_package(
        client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    created = await client.post("/api/v1/locations", json=location_body("D-FONT"))
    code = created.json()["label_code"]
    monkeypatch.setenv(FONT_ENV, str(tmp_path / "no-such-font.ttc"))
    for r in (await client.get(f"/api/v1/labels/{code}.png"), await client.get(f"/api/v1/labels/{code}.svg"),
              await client.post("/api/v1/labels/sheets", json={"codes": [code]})):
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "fonts-wqy-microhei" in r.json()["detail"]


async def test_without_the_label_font_the_cli_prints_one_line_and_no_traceback(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(FONT_ENV, str(tmp_path / "no-such-font.ttc"))
    monkeypatch.setenv("INVENTORY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    code = await asyncio.to_thread(main, ["labels", "sheet", "--code", "A00000000X", "--out",
                                          str(tmp_path / "out.pdf")])
    captured = capsys.readouterr()
    assert code == 1
    errors = [line for line in captured.out.splitlines() if line.startswith("错误")]
    assert len(errors) == 1 and "fonts-wqy-microhei" in errors[0]
    assert "Traceback" not in captured.out + captured.err
    assert not (tmp_path / "out.pdf").exists()
