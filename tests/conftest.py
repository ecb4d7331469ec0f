"""Shared fixtures: every API test runs against a real server on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, drop_postgres_database, new_postgres_database

# Webhook receivers in tests run on 127.0.0.1, which the SSRF guard refuses unless allowed. Every test
# signs in from 127.0.0.1 too, so the per-address lock-out is raised (per-account stays as shipped).
SERVER_ENV = {"HOOKDOOR_WEBHOOK_ALLOW_TARGETS": "127.0.0.1", "HOOKDOOR_LOGIN_MAX_FAILURES_PER_IP": "1000"}


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp(f"server-{request.param}")
    url = f"sqlite:///{workdir / 'hookdoor.db'}" if request.param == "sqlite" else new_postgres_database()
    process = ServerProcess(database_url=url, workdir=workdir, env=SERVER_ENV).start()
    try:
        yield process
    finally:
        process.stop()
        if request.param == "postgresql":
            drop_postgres_database(url)


@pytest.fixture
def admin(server: ServerProcess) -> Api:
    api = Api(server.url)
    assert api.login("admin", ADMIN_PASSWORD)["status"] == "ok"
    return api


@pytest.fixture
def anonymous(server: ServerProcess) -> Api:
    return Api(server.url)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
