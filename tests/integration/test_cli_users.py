"""``inventory users add | list | disable`` and the bootstrap admin, against a real database."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select

from api.cli import main
from inventory.access import tokens, users
from inventory.config import load_settings
from inventory.errors import Unauthenticated
from inventory.store.db import Database
from inventory.store.models import AuthToken

PASSWORD = "zhang-password-2026"
Cli = Callable[..., Awaitable[tuple[int, str]]]


@pytest.fixture
def cli(db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``await cli(*argv, stdin=…)`` → (exit code, what was printed), on this test's database."""
    monkeypatch.setenv("INVENTORY_DATABASE_URL", db.url)

    async def run(*argv: str, stdin: str = "") -> tuple[int, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = await asyncio.to_thread(main, list(argv))  # main calls asyncio.run
        return code, capsys.readouterr().out

    return run


async def test_users_add_creates_a_keeper_with_a_scope_and_a_password_from_stdin(db: Database, cli: Cli) -> None:
    code, out = await cli("users", "add", "zhang", "--role", "keeper", "--scope", "360121",
                          "--display-name", "张保管", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert code == 0, out
    assert "zhang" in out
    assert "360121" in out
    assert PASSWORD not in out
    async with db.write() as session:
        user = await users.get_user_by_name(session, "zhang")
        assert (user.role, user.scope_regions, user.display_name, user.active) == ("keeper", ["360121"], "张保管", True)
        assert user.password_hash.startswith("$argon2")
        assert PASSWORD not in user.password_hash
        assert await users.authenticate(session, "zhang", PASSWORD) is not None


async def test_users_list_shows_each_user_with_role_state_and_scope(cli: Cli) -> None:
    for name, role, scope in (("zhang", "keeper", "360121"), ("li", "commander", "3601")):
        code, out = await cli("users", "add", name, "--role", role, "--scope", scope,
                              "--password-stdin", stdin=f"{PASSWORD}\n")
        assert code == 0, out
    code, out = await cli("users", "list")
    assert code == 0, out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["zhang"] == ["zhang", "keeper", "启用", "360121"]
    assert rows["li"] == ["li", "commander", "启用", "3601"]
    assert PASSWORD not in out
    assert "argon2" not in out


async def test_users_disable_stops_the_user_and_revokes_their_tokens(db: Database, cli: Cli) -> None:
    code, out = await cli("users", "add", "zhang", "--role", "keeper", "--scope", "360121",
                          "--password-stdin", stdin=f"{PASSWORD}\n")
    assert code == 0, out
    async with db.write() as session:
        token, _ = await tokens.issue_token(session, await users.get_user_by_name(session, "zhang"))
    code, out = await cli("users", "disable", "zhang")
    assert code == 0, out
    assert "zhang" in out
    async with db.read() as session:
        assert (await users.get_user_by_name(session, "zhang")).active is False
        assert all(t.revoked_at is not None for t in await session.scalars(select(AuthToken)))
        with pytest.raises(Unauthenticated):
            await tokens.resolve_token(session, token)
        assert await users.authenticate(session, "zhang", PASSWORD) is None
    code, out = await cli("users", "list")
    assert "停用" in next(line for line in out.splitlines() if line.startswith("zhang"))


async def test_users_set_password_replaces_the_password_and_signs_the_user_out_everywhere(
        db: Database, cli: Cli) -> None:
    code, out = await cli("users", "add", "demo-keeper", "--role", "keeper", "--scope", "360121",
                          "--password-stdin", stdin=f"{PASSWORD}\n")
    assert code == 0, out
    async with db.write() as session:
        token, _ = await tokens.issue_token(session, await users.get_user_by_name(session, "demo-keeper"))
    new_password = "a-new-password-2026"
    code, out = await cli("users", "set-password", "demo-keeper", "--password-stdin", stdin=f"{new_password}\n")
    assert code == 0, out
    assert "demo-keeper" in out and new_password not in out
    async with db.read() as session:
        assert await users.authenticate(session, "demo-keeper", new_password) is not None
        assert await users.authenticate(session, "demo-keeper", PASSWORD) is None
        with pytest.raises(Unauthenticated):
            await tokens.resolve_token(session, token)


async def test_users_set_password_refuses_a_missing_user_a_short_password_or_no_stdin(db: Database, cli: Cli) -> None:
    code, out = await cli("users", "add", "zhang", "--role", "keeper", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert code == 0, out
    code, out = await cli("users", "set-password", "zhang")
    assert code == 2 and "--password-stdin" in out
    code, out = await cli("users", "set-password", "zhang", "--password-stdin", stdin="short\n")
    assert code == 1 and "密码" in out and "Traceback" not in out
    code, out = await cli("users", "set-password", "nobody", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert code == 1 and "不存在" in out
    async with db.read() as session:
        assert await users.authenticate(session, "zhang", PASSWORD) is not None


async def test_users_commands_refuse_bad_input_without_a_traceback(db: Database, cli: Cli) -> None:
    code, out = await cli("users", "add", "zhang", "--role", "keeper")
    assert code == 2
    assert "--password-stdin" in out
    code, out = await cli("users", "add", "zhang", "--role", "keeper", "--password-stdin",
                          stdin="short\n")
    assert code == 1
    assert "密码" in out
    code, out = await cli("users", "add", "zhang", "--role", "keeper", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert code == 0, out
    code, out = await cli("users", "add", "zhang", "--role", "auditor", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert code == 1
    assert "已存在" in out
    code, out = await cli("users", "disable", "nobody")
    assert code == 1
    assert "不存在" in out
    for scope in ("loc:²", "36²", "loc:99999999999999999999"):
        code, out = await cli("users", "add", "li", "--role", "keeper", "--scope", scope, "--password-stdin",
                              stdin=f"{PASSWORD}\n")
        assert code == 1, (scope, out)
        assert "不合法" in out and "Traceback" not in out
    async with db.read() as session:
        assert [u.username for u in await users.list_users(session)] == ["zhang"]


async def test_the_bootstrap_admin_is_created_only_when_there_are_no_users(
    db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INVENTORY_BOOTSTRAP_ADMIN_PASSWORD", "first-admin-password")
    password = load_settings().bootstrap_admin_password
    async with db.write() as session:
        assert await users.ensure_bootstrap_admin(session, None) is False
        assert await users.count_users(session) == 0
        assert await users.ensure_bootstrap_admin(session, password) is True
    async with db.write() as session:
        admin = await users.authenticate(session, "admin", "first-admin-password")
        assert admin is not None
        assert admin.role == "admin"
        assert admin.active
        assert await users.ensure_bootstrap_admin(session, "another-admin-password") is False
        assert await users.count_users(session) == 1
        assert await users.authenticate(session, "admin", "another-admin-password") is None


async def test_the_bootstrap_admin_is_not_created_when_other_users_exist(db: Database) -> None:
    async with db.write() as session:
        await users.create_user(session, users.UserCreate(username="zhang", password=PASSWORD, role="keeper"))
        assert await users.ensure_bootstrap_admin(session, "first-admin-password") is False
        assert [u.username for u in await users.list_users(session)] == ["zhang"]
