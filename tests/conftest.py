"""Shared fixtures: every API test runs against a real server on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ADMIN_PASSWORD, Api, ServerProcess, drop_postgres_database, new_postgres_database


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp(f"server-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'hookdoor.db'}"
    else:
        url = new_postgres_database()
    process = ServerProcess(database_url=url, workdir=workdir).start()
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
