"""Every command's help reads as a person wrote it: Click's type names, no placeholders derived from
Python annotations, arguments as NAME, nothing cut with "…" at 80 columns."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from hookdoor.cli import cli

PLACEHOLDER = re.compile(r"<(?:str|bool|int|float|list|path)[^>]*>|\{[a-z_]+\}|…")


def command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, child in sorted(getattr(command, "commands", {}).items()):
        yield from command_paths(child, (*path, name))


PATHS = list(command_paths(typer.main.get_command(cli)))


def help_of(*path: str, columns: int = 80) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"], env={"COLUMNS": str(columns), "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "hookdoor")
def test_help_has_no_placeholders(path: tuple[str, ...]) -> None:
    text = help_of(*path)
    assert not PLACEHOLDER.findall(text), text


def test_help_shows_types_flags_and_arguments_as_click_does() -> None:
    listed = help_of("deliveries", "list")
    assert re.search(r"--limit\s+-n\s+INTEGER\s+At most this many", listed)
    assert "1 to 1000." in listed
    assert re.search(r"--json\s+Print JSON", listed)  # a flag: no type
    added = help_of("webhooks", "add")
    assert "webhooks add [OPTIONS] NAME TARGET_URL" in added
    assert "[env var: HOOKDOOR_WEBHOOK_SECRET]" in added
    assert re.search(r"--timeout\s+FLOAT\s+Seconds to wait for the", added)
    assert "deliveries show [OPTIONS] DELIVERY" in help_of("deliveries", "show")
    path_help = help_of("listen", columns=200)
    assert re.search(r"--path\s+TEXT\s+Only requests to this path; the default, /, takes every path.\s+│", path_help)
    assert "[default: /]" not in path_help
    assert "retrying" in help_of("deliveries", "list")


def test_events_list_works_without_a_server() -> None:
    result = CliRunner().invoke(cli, ["events", "list", "-c", "mfa", "--json"],
                                env={"HOOKDOOR_URL": "http://127.0.0.1:9", "HOOKDOOR_DATABASE_URL": ""})
    assert result.exit_code == 0, result.output
    names = {e["name"] for e in json.loads(result.stdout)}
    assert "delete-mfa" in names
