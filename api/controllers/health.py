"""Liveness and readiness."""

from __future__ import annotations

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec

from api.auth import PUBLIC
from inventory.store.db import Database


@get("/health", tags=["health"], summary="Process is alive", opt=PUBLIC)
async def health() -> dict[str, str]:
    """Answers as long as the process runs."""
    return {"status": "ok"}


@get("/ready", tags=["health"], summary="Database is reachable", opt=PUBLIC,
     responses={503: ResponseSpec(dict[str, str], description="数据库不可用 (database unreachable)",
                                  generate_examples=False)})
async def ready(db: Database) -> Response[dict[str, str]]:
    """200 when the database answers, 503 otherwise."""
    try:
        await db.ping()
    except Exception as exc:  # any driver error means "not ready"
        return Response({"status": "unavailable", "detail": f"数据库不可用: {type(exc).__name__}"}, status_code=503)
    return Response({"status": "ok", "database": "sqlite" if db.is_sqlite else "postgresql"})
