"""One mapping of errors to RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import logging
import re
import sqlite3
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import SQLAlchemyError

from api.page_text import http_phrase, is_page, page_error
from inventory.errors import (
    Conflict,
    InsufficientStock,
    InvalidInput,
    InventoryError,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from inventory.store.db_errors import RETRY_AFTER_SECONDS, is_unavailable
from labels.fonts import FontMissing

log = logging.getLogger("api")
PROBLEM = "application/problem+json"

_STATUS: list[tuple[type[InventoryError], int, str]] = [
    (InsufficientStock, 409, "库存不足"),
    (NotFound, 404, "未找到"),
    (Conflict, 409, "冲突"),
    (InvalidInput, 422, "输入不合法"),
    (PermissionDenied, 403, "无权操作"),
    (Unauthenticated, 401, "未登录"),
]
_TITLES = {400: "请求有误", 401: "未登录", 403: "无权操作", 404: "未找到", 405: "方法不允许",
           409: "冲突", 413: "请求过大", 415: "不支持的内容类型", 422: "输入不合法", 429: "请求过于频繁",
           500: "服务器内部错误", 503: "服务暂不可用"}


def problem(status: int, detail: str, *, title: str | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> Response[dict[str, Any]]:
    """A problem-details response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title or _TITLES.get(status, "错误"),
                            "status": status, "detail": detail}
    body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM, headers=headers)


def domain_error_handler(request: Request[Any, Any, Any], exc: InventoryError) -> Response[dict[str, Any]]:
    """Map a domain error to its status; the field at fault travels as ``errors``."""
    status, title = next(((s, t) for cls, s, t in _STATUS if isinstance(exc, cls)), (400, "请求有误"))
    reserved = {"type", "title", "status", "detail", "headers"}
    extra: dict[str, Any] = {(f"{k}_" if k in reserved else k): v for k, v in exc.extra.items()}
    if exc.field:
        extra.setdefault("errors", [{"field": exc.field, "message": exc.detail}])
    response = problem(status, exc.detail, title=title, **extra)
    if isinstance(exc, Unauthenticated):
        response.headers["WWW-Authenticate"] = 'Bearer realm="inventory"'
    return response


_AT = re.compile(r"\s*-\s*at\s*`\$(?P<path>[^`]*)`")


def _field_path(raw: str) -> str:
    path = raw.lstrip(".")
    return re.sub(r"\[(\d+)\]", r".\1", path)


_TRANSLATIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Object contains unknown field `(?P<f>[^`]+)`"), "未知字段 {f}（unknown field）"),
    (re.compile(r"Object missing required field `(?P<f>[^`]+)`"), "缺少必填字段 {f}（required）"),
    (re.compile(r"Expected `(?P<t>[^`]+)`, got `(?P<g>[^`]+)`"), "类型应为 {t}，实际为 {g}"),
    (re.compile(r"Expected `(?P<t>[^`]+)` (?P<c>.+)"), "取值应为 {t} 且 {c}"),
    (re.compile(r"Expected `(?P<t>[^`]+)`$"), "类型应为 {t}"),
    (re.compile(r"Invalid enum value '?(?P<v>[^']*)'?"), "取值 {v} 不在允许范围内"),
    (re.compile(r"Time `(?P<f>[^`]+)` out of range \((?P<r>[^)]*)\)"), "时间 {f} 超出范围，应在 {r} 年之间"),
]


_MISSING = re.compile(r"Missing required (?P<source>query|header|cookie|path) parameter '(?P<name>[^']+)'")


def _translate(message: str) -> tuple[str, str | None]:
    """A Chinese rendering of a msgspec message (English kept), and an unknown/missing field name."""
    for pattern, template in _TRANSLATIONS:
        m = pattern.search(message)
        if m:
            return f"{template.format(**m.groupdict())} — {message}", m.groupdict().get("f")
    return message, None


def validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    """Request-shape errors (types, unknown fields, ranges) → 422 with the failing field paths."""
    errors: list[dict[str, str]] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        key = str(item.get("key") or "")
        source = item.get("source") or "body"
        source = str(getattr(source, "value", source))
        if source == "body" and key == "data":
            key = ""
        m = _AT.search(message)
        if m:
            key = m.group("path") or key
            message = message[: m.start()]
        key = _field_path(key)
        message, named = _translate(message)
        if named:
            key = f"{key}.{named}" if key else named
        errors.append({"field": key or "$", "message": message, "source": source})
    missing = _MISSING.search(str(exc.detail))
    if not errors and missing:  # Litestar names a missing parameter only in its message
        where = {"query": "查询", "header": "请求头", "cookie": "Cookie", "path": "路径"}[missing["source"]]
        errors.append({"field": missing["name"], "message": f"缺少必填{where}参数 {missing['name']} — {exc.detail}",
                       "source": missing["source"]})
    if not errors:
        errors.append({"field": "$", "message": exc.detail, "source": "body"})
    fields = "、".join(e["field"] for e in errors)
    detail = f"请求内容不合法（字段 {fields}）：" + "；".join(e["message"] for e in errors)
    return problem(422, detail, errors=errors)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Framework HTTP errors (404 route, 405, 401…) as problem details; on a page route, as a Chinese page."""
    if is_page(request.url.path) and not isinstance(exc, NotAuthorizedException):
        return page_error(exc.status_code, headers=exc.headers)
    detail = str(exc.detail)
    if detail.startswith("JSON is malformed"):
        detail = f"请求体不是合法的 JSON — {detail}"
    elif detail == http_phrase(exc.status_code):  # the framework's English default ("Not Found")
        detail = f"{_TITLES.get(exc.status_code, '错误')}：{request.method} {request.url.path}"
    response = problem(exc.status_code, detail)
    if isinstance(exc, NotAuthorizedException):
        response.headers["WWW-Authenticate"] = 'Bearer realm="inventory"'
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything unexpected: logged with its traceback, answered without internals."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    if is_page(request.url.path):
        return page_error(HTTP_500_INTERNAL_SERVER_ERROR)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "服务器内部错误，请稍后重试；若持续出现请联系管理员")


def database_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A database unavailable for a moment (connection lost, unreachable, locked): 503 with Retry-After.

    The transaction did not commit, so the client sends the same request again; its Idempotency-Key makes
    the retry count once even if the commit's answer was what got lost. Any other database error is a bug.
    """
    if not is_unavailable(exc):
        return internal_error_handler(request, exc)
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if is_page(request.url.path):
        return page_error(503, headers=headers)
    return problem(503, f"数据库暂时不可用（连接中断或正忙），请求未能完成。请 {RETRY_AFTER_SECONDS} 秒后重试；"
                        "带同一 Idempotency-Key 重试不会重复记账", headers=headers)


def font_missing_handler(request: Request[Any, Any, Any], exc: FontMissing) -> Response[dict[str, Any]]:
    """Labels cannot be drawn without the CJK font: a 503 that says which package to install."""
    log.error("label font missing: %s", exc.path)
    return problem(503, str(exc), title="标签字体未安装")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    FontMissing: font_missing_handler,
    InventoryError: domain_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_error_handler,
    SQLAlchemyError: database_error_handler,
    sqlite3.Error: database_error_handler,
    ConnectionError: database_error_handler,
    Exception: internal_error_handler,
}
