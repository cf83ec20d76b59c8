"""Text answers are sent gzipped to clients that ask; PNG labels (compressed already) are sent as they are."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import location_body


async def test_pages_and_json_are_gzipped_when_asked_and_plain_otherwise(client: Any) -> None:
    asked = await client.get("/schema/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert asked.status_code == 200
    assert asked.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in asked.headers.get("vary", "").lower()
    plain = await client.get("/schema/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert asked.json() == plain.json()  # httpx decoded the gzipped body to the same document


async def test_label_images_are_not_gzipped_again(client: Any) -> None:
    made = await client.post("/api/v1/locations", json=location_body("D-GZIP"))
    assert made.status_code == 201, made.text
    code = (await client.get(f"/api/v1/locations/{made.json()['id']}")).json()["label_code"]
    png = await client.get(f"/api/v1/labels/{code}.png", headers={"Accept-Encoding": "gzip"})
    assert png.status_code == 200, png.text
    assert png.headers["content-type"] == "image/png"
    assert "content-encoding" not in png.headers
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"

