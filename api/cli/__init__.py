"""The one command-line entry point, ``inventory``: one module per command group.

``serve``, ``db upgrade``, ``demo load``, ``ledger verify``, ``users …``, ``labels sheet``,
``stocktake import``, ``import opening-balances``, ``alerts run | recipient`` and ``plan optimise``. Each
group's module adds its arguments to the parser and names the handler that runs it; ``main`` parses, loads the
settings and calls that handler.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from api.cli import alerts, db, demo, labels, ledger, plan, serve, stocktake, users
from api.cli.serve import serve_public_url
from api.cli.terminal import Handler
from inventory.config import load_settings

__all__ = ["build_parser", "main", "serve_public_url"]

# In the order ``inventory --help`` lists them.
_GROUPS = (serve, db, labels, stocktake, ledger, users, demo, alerts, plan)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests)."""
    parser = argparse.ArgumentParser(prog="inventory", description="应急物资装备管理 emergency inventory service")
    groups = parser.add_subparsers(dest="command", required=True)
    for group in _GROUPS:
        group.add_commands(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line."""
    args = build_parser().parse_args(argv)
    settings = load_settings()
    handler: Handler = args.handler
    return handler(settings, args)
