"""People and their sessions: users, tokens, failed sign-ins, the audit log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow


class User(Base):
    """A person who signs in: role and scope decide what they may do."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str | None] = mapped_column(String(200))  # where alert e-mail goes (告警邮件)
    role: Mapped[str] = mapped_column(String(16))
    scope_regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope_locations: Mapped[list[int]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (CheckConstraint("role IN ('admin', 'commander', 'keeper', 'auditor')", name="role"),)


class AuthToken(Base):
    """An opaque bearer token or page session, stored only as its SHA-256 hash."""

    __tablename__ = "auth_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # bearer | session
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class LoginFailure(Base):
    """A failed sign-in, kept for throttling (five per username per 15 minutes)."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    __table_args__ = (Index("ix_login_failures_username_at", "username", "at"),)


class AuditEntry(Base):
    """One write attempt: who, when, from where, what, on which targets, and how it ended. Append-only."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_ids: Mapped[str] = mapped_column(String(300), default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(16))  # ok | denied | rejected | error | replayed
    status_code: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(500), default="")
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_ids"),)
