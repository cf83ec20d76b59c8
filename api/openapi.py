"""The problem responses in the OpenAPI description: each operation documents the statuses it can answer with.

Errors are answered in one place (api/errors.py) as ``application/problem+json``; the description says so
for every operation, from what the route table already knows, instead of on each handler:

* 401 — every operation that needs a token; 403 — when the permission table does not allow the action to
  every role, or limits it to the user's scope;
* 400 — a request body that is not JSON; 422 — a request whose parameters, body or ``Idempotency-Key`` break
  the rules. Litestar describes its own validation failure as a 400 "Validation Exception" on every operation
  that takes input; this API answers those with 422, so that entry is replaced (operations with a body) or
  dropped from the served document (the others: see :class:`ProblemJsonRenderPlugin`);
* 404 — a path naming a row, or a write whose body names rows; 409 — writes (state conflicts, and an
  ``Idempotency-Key`` reused for a different request).

A handler adds what only it answers (410 for a retired label, 429 for sign-in throttling…) with
``responses=problem_responses(…)``; what it declares itself wins over the defaults here.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.routes import HTTPRoute

from api.errors import PROBLEM
from inventory.access.permissions import PERMISSIONS, ROLES

DESCRIPTIONS = {
    400: "请求体不是合法的 JSON (malformed request body)",
    401: "未登录、令牌无效或已过期 (missing, invalid or expired token)",
    403: "角色无权执行此操作，或目标不在辖区内 (role or scope does not allow this)",
    404: "所指的记录不存在 (not found)",
    409: "与当前状态冲突，如编码重复、库存不足、幂等键已用于其他请求 (conflict)",
    410: "标签已停用，见 replaced_by (label retired)",
    422: "请求内容不合法，errors 列出出错的字段 (validation failed)",
    429: "请求过于频繁，见 Retry-After (too many requests)",
}
# Handler arguments that are not request input: Litestar's reserved names (the body ``data`` aside).
_RESERVED = {"request", "state", "scope", "headers", "cookies", "query", "socket", "body"}
_SAFE = {"GET", "HEAD", "OPTIONS"}
# Actions of unsafe methods that change no inventory (sign-in/out, a PDF of labels).
_NOT_WRITES = {"public", "session", "read"}


class ProblemError(msgspec.Struct):
    """One field at fault."""

    field: str
    message: str
    source: str | None = None


class Problem(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details; some errors add members, such as ``available`` or ``replaced_by``."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for these error statuses, answered as problem details."""
    return {
        status: ResponseSpec(data_container=Problem, media_type=PROBLEM, description=DESCRIPTIONS[status],
                             generate_examples=False)
        for status in statuses
    }


def problem_statuses(handler: HTTPRouteHandler, has_path_parameters: bool) -> set[int]:
    """The error statuses this handler can answer with (see the module docstring)."""
    statuses: set[int] = set()
    params = handler.parsed_fn_signature.parameters
    dependencies = handler.resolve_dependencies()
    if any(name not in _RESERVED and name not in dependencies for name in params):
        statuses.add(422)
    if "data" in params:
        statuses.add(400)
    if has_path_parameters:
        statuses.add(404)
    action = str(handler.opt.get("action"))
    if not handler.opt.get("exclude_from_auth"):
        statuses.add(401)
        rule = PERMISSIONS.get(action)
        if rule is not None and (rule.scoped or rule.roles != frozenset(ROLES)):
            statuses.add(403)
    if not handler.http_methods <= _SAFE and action not in _NOT_WRITES:
        statuses.update((404, 409, 422))
    return statuses


def document_problems(app: Litestar) -> None:
    """Declare the problem responses of every described operation; public ones need no credentials.

    Runs once the routes are registered and before the description is first built (it is built lazily).
    """
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            own: dict[int, Any] = dict(handler.responses or {})
            handler.responses = {**problem_responses(*sorted(problem_statuses(handler, bool(route.path_parameters)))),
                                 **own}
            if handler.opt.get("exclude_from_auth") and not handler.security:
                handler.security = [{}]  # overrides the global bearer requirement: no token needed


def drop_framework_validation_400(schema: dict[str, Any]) -> dict[str, Any]:
    """Remove Litestar's generated 400 "Validation Exception" entries (this API answers validation with 422)."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses") if isinstance(operation, dict) else None
            if not responses or "400" not in responses:
                continue
            described = responses["400"].get("content", {}).get("application/json", {}).get("schema", {})
            if described.get("description") == "Validation Exception":
                del responses["400"]
    return schema


class ProblemJsonRenderPlugin(JsonRenderPlugin):
    """``/schema/openapi.json`` without Litestar's 400 entries for validation failures that are answered as 422.

    Litestar adds them while building the description and a handler cannot remove them; they are removed
    from the (cached) dictionary before it is served, which is idempotent.
    """

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The description as JSON."""
        return super().render(request, drop_framework_validation_400(openapi_schema))
