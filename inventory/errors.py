"""Domain errors raised by services; the API maps them to problem details in one place."""

from __future__ import annotations

from typing import Any


class InventoryError(Exception):
    """Base of every domain error; ``detail`` is a sentence a person can act on (Chinese first)."""

    def __init__(self, detail: str, *, field: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra or {}


class NotFound(InventoryError):
    """The named thing does not exist."""


class Conflict(InventoryError):
    """The request contradicts the current state (duplicate code, wrong status…)."""


class InsufficientStock(Conflict):
    """Fewer units are available than requested."""


class InvalidInput(InventoryError):
    """The input breaks a rule; ``field`` names the field at fault."""


class PermissionDenied(InventoryError):
    """The actor may not do this (role or scope)."""


class Unauthenticated(InventoryError):
    """No valid credentials."""
