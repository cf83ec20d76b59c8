"""Schemathesis hooks for ``tests/fuzz/run_fuzz.py`` (loaded through ``SCHEMATHESIS_HOOKS``; not a test module).

The fuzzer signs in as the bootstrap admin. A generated ``PATCH /api/v1/users/{id}`` naming that very
account could disable it (revoking the fuzzer's token), demote it or change its password, after which
every later request would be a 401/403 and the run would test nothing. Such a call is pointed at an id
that does not exist instead (a 404, which is documented); every other user id is fuzzed as generated.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis

PROTECTED_USER_ID = int(os.environ.get("FUZZ_PROTECTED_USER_ID", "0") or 0)
MISSING_USER_ID = 2_000_000_000


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    """Keep the fuzzer's own account out of reach of ``PATCH /api/v1/users/{user_id}``."""
    if case.method.upper() != "PATCH" or case.operation.path != "/api/v1/users/{user_id}":
        return
    params = case.path_parameters or {}
    if str(params.get("user_id")) == str(PROTECTED_USER_ID):
        params["user_id"] = MISSING_USER_ID
        case.path_parameters = params


def _loose_int_text(value: object) -> bool:
    """Text that Python's ``int()`` reads but that is not a plain integer: ``" 9"``, ``"9_0"``, ``"+9"``, ``"٩"``."""
    if not isinstance(value, str):
        return False
    try:
        return str(int(value)) != value
    except ValueError:
        return False


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Drop one known framework leniency; every other failure is kept.

    Litestar converts ``{id:int}`` path segments with Python's ``int()``, which also reads surrounding
    whitespace, digit-group underscores, a plus sign and non-ASCII digits, so ``/api/v1/assets/9%20``
    answers asset 9 where the schema's ``integer`` says it should be refused. Harmless (it names the
    same row); the report counts what was dropped under ``filtered``.
    """
    if type(failure).__name__ != "AcceptedNegativeData":
        return True
    return not any(_loose_int_text(value) for value in (case.path_parameters or {}).values())
