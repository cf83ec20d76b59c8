"""Telling a database that is unavailable for a moment from a bug.

A connection killed under a request (the server restarted, a failover, an administrator's
``pg_terminate_backend``), a database that cannot be reached, a pool with no free connection, or a
SQLite file whose write lock another process holds past the busy timeout: the request's
transaction did not commit, and the same request can simply be sent again (its Idempotency-Key makes
that safe). Everything else — a broken constraint, bad SQL, a value the column refuses — is a bug
and must stay one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from sqlalchemy import exc as sa

RETRY_AFTER_SECONDS = 5

# SQLSTATE classes and codes of PostgreSQL that say "not now" rather than "never":
# 08 connection exception; 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now;
# 53300 too many connections.
_PG_CLASSES = ("08",)
_PG_CODES = frozenset({"57P01", "57P02", "57P03", "53300"})
_SQLITE_MESSAGES = ("database is locked", "database table is locked", "unable to open database file")
_BUGS = (sa.IntegrityError, sa.ProgrammingError, sa.DataError, sa.NotSupportedError)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps (``orig``) and what caused it, each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo.extend(x for x in (getattr(e, "orig", None), e.__cause__, e.__context__) if isinstance(x, BaseException))


def _says_unavailable(e: BaseException) -> bool:
    if isinstance(e, sa.DBAPIError) and e.connection_invalidated:
        return True
    if isinstance(e, sa.TimeoutError | ConnectionError):  # no pooled connection free in time; socket gone
        return True
    if isinstance(e, sqlite3.OperationalError):
        return any(m in str(e).lower() for m in _SQLITE_MESSAGES)
    state = getattr(e, "sqlstate", None)
    if isinstance(state, str) and (state in _PG_CODES or state.startswith(_PG_CLASSES)):
        return True
    # asyncpg's InterfaceError for a connection it already knows to be closed (no SQLSTATE).
    return type(e).__name__ == "InterfaceError" and "connection is closed" in str(e)


def is_unavailable(exc: BaseException) -> bool:
    """True when the database could not be used for now (connection lost, unreachable, busy), not for a bug."""
    if isinstance(exc, _BUGS):
        return False
    return any(_says_unavailable(e) for e in _chain(exc))
