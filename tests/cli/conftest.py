"""Running the CLI in tests: in-process (Typer's runner, fast) and as the real ``hookdoor`` program."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hookdoor.cli import cli
from tests.support import ADMIN_PASSWORD, ServerProcess

CREDENTIAL_VARS = ("HOOKDOOR_URL", "HOOKDOOR_TOKEN", "HOOKDOOR_CLIENT_ID", "HOOKDOOR_CLIENT_SECRET",
                   "HOOKDOOR_USERNAME", "HOOKDOOR_PASSWORD", "HOOKDOOR_ORGANIZATION", "HOOKDOOR_CONFIG",
                   "HOOKDOOR_DATABASE_URL", "HOOKDOOR_NEW_PASSWORD", "HOOKDOOR_LISTEN_SECRET",
                   "HOOKDOOR_WEBHOOK_SECRET")


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


Run = Callable[..., Outcome]


@pytest.fixture
def cli_env(server: ServerProcess, tmp_path: Path) -> dict[str, str]:
    """A server URL and a private config file; no credentials."""
    return {"HOOKDOOR_URL": server.url, "HOOKDOOR_CONFIG": str(tmp_path / "cli.json"), "COLUMNS": "200"}


@pytest.fixture
def run(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run("webhooks", "list", env={...}, input="...")``: the CLI in this process."""
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Outcome:
        result = CliRunner().invoke(cli, list(args), env={**cli_env, **(env or {})}, input=input)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Outcome(result.exit_code, result.stdout, result.stderr)

    return invoke


@pytest.fixture
def logged_in(run: Run) -> Run:
    outcome = run("login", "--password-stdin", input=ADMIN_PASSWORD + "\n")
    assert outcome.exit_code == 0, outcome
    return run


def run_program(*args: str, env: dict[str, str], timeout: float = 60, input: str | None = None) -> Outcome:
    """The installed ``hookdoor`` program, as a user runs it."""
    clean = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    result = subprocess.run([sys.executable, "-m", "hookdoor", *args], env={**clean, **env}, capture_output=True,
                            text=True, timeout=timeout, input=input)
    return Outcome(result.returncode, result.stdout, result.stderr)
