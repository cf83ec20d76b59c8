"""What every command module shares: printing for the operator, and the table each command group joins."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeAlias

from inventory.config import Settings

# The sub-command table of ``inventory``: each command module adds its group to it.
CommandGroups: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
# What a group runs: the settings and the parsed arguments in, the exit code out.
Handler = Callable[[Settings, argparse.Namespace], int]


def say(message: str) -> None:
    """Print one line at once (progress shows while a long command runs)."""
    print(message, flush=True)
