"""Which database errors mean "unavailable for a moment, retry" (503) and which are bugs (500)."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from sqlalchemy import exc as sa

from inventory.store.db_errors import is_unavailable


def wrapped(cls: type[sa.DBAPIError], orig: BaseException, *, invalidated: bool = False) -> sa.DBAPIError:
    """A driver error as SQLAlchemy raises it."""
    return cls("INSERT INTO documents …", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize("error", [
    wrapped(sa.DBAPIError, Exception("connection was closed in the middle of operation"), invalidated=True),
    wrapped(sa.DBAPIError, asyncpg.exceptions.AdminShutdownError("terminating connection")),
    wrapped(sa.DBAPIError, asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")),
    wrapped(sa.OperationalError, asyncpg.exceptions.CannotConnectNowError("the database system is starting up")),
    wrapped(sa.OperationalError, asyncpg.exceptions.TooManyConnectionsError("too many clients")),
    wrapped(sa.InterfaceError, asyncpg.exceptions.InterfaceError("connection is closed")),
    wrapped(sa.OperationalError, sqlite3.OperationalError("database is locked")),
    sqlite3.OperationalError("database is locked"),
    sqlite3.OperationalError("unable to open database file"),
    sa.TimeoutError("QueuePool limit of size 10 overflow 20 reached"),
    ConnectionRefusedError(111, "Connect call failed"),
], ids=repr)
def test_a_lost_busy_or_unreachable_database_is_unavailable(error: BaseException) -> None:
    assert is_unavailable(error)


@pytest.mark.parametrize("error", [
    wrapped(sa.IntegrityError, sqlite3.IntegrityError("UNIQUE constraint failed: locations.code")),
    wrapped(sa.IntegrityError, asyncpg.exceptions.UniqueViolationError("duplicate key"), invalidated=False),
    wrapped(sa.OperationalError, sqlite3.OperationalError("no such table: incidents")),
    wrapped(sa.ProgrammingError, asyncpg.exceptions.UndefinedColumnError("column x does not exist")),
    wrapped(sa.DataError, asyncpg.exceptions.StringDataRightTruncationError("value too long")),
    wrapped(sa.DBAPIError, asyncpg.exceptions.DeadlockDetectedError("deadlock detected")),
    wrapped(sa.InterfaceError, asyncpg.exceptions.InterfaceError("another operation is in progress")),
    sqlite3.OperationalError("near \"SELEC\": syntax error"),
    RuntimeError("a bug"),
], ids=repr)
def test_a_bug_is_not_mistaken_for_an_unavailable_database(error: BaseException) -> None:
    assert not is_unavailable(error)


def test_an_integrity_error_stays_a_bug_even_when_a_connection_error_is_in_its_history() -> None:
    error = wrapped(sa.IntegrityError, sqlite3.IntegrityError("FOREIGN KEY constraint failed"))
    error.__context__ = ConnectionResetError(104, "reset")
    assert not is_unavailable(error)
