"""Test helpers: a real Hookdoor server process, real databases, a small API client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests

ADMIN_PASSWORD = "admin-password-for-tests"
POSTGRES_ADMIN_URL = os.environ.get("HOOKDOOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
# How long a test waits for what a server does in its own time (a delivery, a worker's outcome, a
# page that shows it). Generous on purpose: a wait ends as soon as the thing happens, so this costs
# only when the test fails anyway, and CI runs on two cores that other jobs keep busy.
PATIENCE = 60.0

T = TypeVar("T")


def eventually(condition: Callable[[], T], what: str, timeout: float = PATIENCE, every: float = 0.05) -> T:
    """The first truthy value of ``condition()``, asked every ``every`` seconds; fails naming ``what``."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(every)
    return value


async def eventually_in_loop(condition: Callable[[], T], what: str, timeout: float = PATIENCE) -> T:
    """``eventually`` for a test that shares its event loop with the code it waits for."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        await asyncio.sleep(0.05)
    return value


# The folder whose SQLite files the test servers' syncers may read (HOOKDOOR_SYNCER_SQLITE_DIR).
SYNCER_SQLITE_DIR = str(Path(tempfile.gettempdir()) / "hookdoor-test-syncer-sources")
Path(SYNCER_SQLITE_DIR).mkdir(exist_ok=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", POSTGRES_ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
        check=True,
        capture_output=True,
        timeout=60,
    )


def new_postgres_database() -> str:
    name = f"hookdoor_test_{uuid.uuid4().hex[:12]}"
    _psql(f'CREATE DATABASE "{name}"')
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_database(backend: str, workdir: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file in ``workdir``, or a new PostgreSQL database dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'hookdoor.db'}"
        return
    url = new_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


@dataclass
class ServerProcess:
    """``hookdoor serve`` in a child process, as a user starts it."""

    database_url: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    options: list[str] = field(default_factory=list)  # after `hookdoor serve`, e.g. ["--no-worker"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 2 * PATIENCE) -> ServerProcess:  # migrations and bootstrap on a loaded machine
        env = {
            **os.environ,
            "HOOKDOOR_DATABASE_URL": self.database_url,
            "HOOKDOOR_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "HOOKDOOR_PASSWORD_TIME_COST": "1",
            "HOOKDOOR_PASSWORD_MEMORY_KIB": "1024",
            "HOOKDOOR_PORT": str(self.port),
            **self.env,
        }
        self.log_path = self.workdir / f"server-{self.port}.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hookdoor", "serve", *self.options], cwd=self.workdir, env=env, stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def running_server(backend: str, workdir: Path, env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    """``hookdoor serve`` on a fresh database of ``backend``, stopped (and the database dropped) after."""
    with fresh_database(backend, workdir) as url:
        process = ServerProcess(database_url=url, workdir=workdir, env=env or {}).start()
        try:
            yield process
        finally:
            process.stop()


class Api:
    """A Casdoor-style API client over one requests.Session (keeps the session cookie)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def get(self, action: str, **params: Any) -> dict[str, Any]:
        return self.http.get(f"{self.base_url}/api/{action}", params=params, timeout=30).json()

    def post(
        self, action: str, body: Any = None, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        return self.http.post(f"{self.base_url}/api/{action}", json=body, params=params, timeout=30, **kwargs).json()

    def login(
        self, username: str, password: str, organization: str = "built-in", application: str = "app-built-in"
    ) -> dict[str, Any]:
        return self.post(
            "login",
            {
                "type": "login",
                "organization": organization,
                "application": application,
                "username": username,
                "password": password,
            },
        )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
