"""How the CLI shows things: Rich tables for people, ``--json`` for scripts, progress on stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
if not out.is_terminal and "COLUMNS" not in os.environ:
    out.width = 200  # piped: do not fold lines at 80 columns


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def say(message: str) -> None:
    """A result line (stdout), never wrapped: scripts may read it."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def note(message: str) -> None:
    """Secondary information (stderr), so stdout stays the command's result."""
    if err.is_terminal:
        err.print(message, markup=False, style="dim")
    else:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> None:
    grid = Table(title=title, show_edge=False, header_style="bold", pad_edge=False)
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    out.print(grid)


def fields(pairs: Iterable[tuple[str, Any]]) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for name, value in pairs:
        if isinstance(value, list | dict):
            value = json.dumps(value, ensure_ascii=False)
        grid.add_row(name, "" if value is None else str(value))
    out.print(grid)


def pretty_json(data: Any) -> None:
    out.print_json(data=data) if out.is_terminal else print_json(data)


def short_time(value: str) -> str:
    """``2026-03-01T12:00:05.123456Z`` -> ``2026-03-01 12:00:05Z``."""
    if not value or "T" not in value:
        return value
    date, _, rest = value.partition("T")
    clock = rest[:8]
    zone = "Z" if rest.endswith("Z") or rest.endswith("+00:00") else rest[-6:]
    return f"{date} {clock}{zone}"
