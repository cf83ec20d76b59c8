"""Who is acting. Until accounts exist every request acts as the anonymous operator."""

from __future__ import annotations

from typing import Any

from litestar import Request


def provide_actor(request: Request[Any, Any, Any]) -> str:
    """The acting user's name, recorded on documents and idempotency keys."""
    return "anonymous"
