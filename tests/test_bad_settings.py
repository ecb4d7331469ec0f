"""A bad setting stops `hookdoor serve` at start with one line naming it: never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hookdoor.config import Settings
from tests.support import free_port


def serve_with(tmp_path: Path, name: str, value: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOOKDOOR_PORT": str(free_port()), "HOOKDOOR_DATABASE_URL": f"sqlite:///{tmp_path}/h.db",
           name: value}
    return subprocess.run([sys.executable, "-m", "hookdoor", "serve"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("HOOKDOOR_DATABASE_URL", "not a url at all", "not a database URL"),
    ("HOOKDOOR_DATABASE_URL", "", "not a database URL"),
    ("HOOKDOOR_DATABASE_URL", "postgresql://user:hunter2@127.0.0.1:notaport/db", "not a database URL"),
    ("HOOKDOOR_DATABASE_URL", "mysql://user@127.0.0.1/db", "unknown database 'mysql'"),
    ("HOOKDOOR_DATABASE_URL", "postgresql+psycopg2://user@127.0.0.1/db", "through asyncpg, not psycopg2"),
    ("HOOKDOOR_PORT", "eighty", "valid integer"),
    ("HOOKDOOR_PORT", "-1", "greater than or equal to 1"),
    ("HOOKDOOR_PORT", "70000", "less than or equal to 65535"),
    ("HOOKDOOR_WORKER_LEASE_SECONDS", "-5", "greater than or equal to 1"),
    ("HOOKDOOR_WORKER_POLL_SECONDS", "inf", "finite number"),
    ("HOOKDOOR_RETENTION_DAYS", "1e308", "less than or equal to 36500"),
    ("HOOKDOOR_ACCESS_TOKEN_TTL_HOURS", "99999999999999", "less than or equal to"),
    ("HOOKDOOR_LOGIN_MAX_FAILURES", "1.5", "valid integer"),
    ("HOOKDOOR_SECURE_COOKIES", "maybe", "valid boolean"),
    ("HOOKDOOR_PUBLIC_URL", "hookdoor.example", "no http:// or https:// address"),
    ("HOOKDOOR_WEBHOOK_ALLOW_TARGETS", "10.0.0.0/33", "neither an IP network nor a hostname"),
])
def test_a_bad_value_is_one_line_naming_the_setting(tmp_path: Path, name: str, value: str, problem: str) -> None:
    result = serve_with(tmp_path, name, value)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [result.stderr.strip()]  # one line
    assert result.stderr.startswith(f"error: invalid setting {name}: ") and problem in result.stderr
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(("url", "problem"), [
    ("sqlite:///{tmp}/no/such/folder/h.db", "unable to open database file"),
    ("postgresql://postgres:hunter2@127.0.0.1:1/hookdoor", "Connect call failed"),
    ("postgresql://postgres@127.0.0.1:1/hookdoor?password=hunter2", "Connect call failed"),
])
def test_a_database_that_cannot_be_opened_is_one_line(tmp_path: Path, url: str, problem: str) -> None:
    result = serve_with(tmp_path, "HOOKDOOR_DATABASE_URL", url.format(tmp=tmp_path))
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error: cannot open ") and problem in result.stderr
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(("url", "used"), [
    ("postgres://user@db.internal/hookdoor", "postgresql+asyncpg://user@db.internal/hookdoor"),
    ("postgresql://user@db.internal:5433/hookdoor", "postgresql+asyncpg://user@db.internal:5433/hookdoor"),
    ("sqlite:///hookdoor.db", "sqlite:///hookdoor.db"),
    ("sqlite:///:memory:", "sqlite:///:memory:"),
    ("sqlite://", "sqlite://"),
])
def test_the_database_urls_people_write_are_accepted(url: str, used: str) -> None:
    assert Settings(database_url=url).database_url == used
