"""The inspector's tests run against a server with the DEFAULT target policy (no allow-list): its
own bins must be reachable by webhooks without any exception to the SSRF guard being configured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.console.browser import ConsoleClient, launched_browser
from tests.support import ADMIN_PASSWORD, ServerProcess


@pytest.fixture(scope="session")
def inspector_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("inspector-server")
    process = ServerProcess(database_url=f"sqlite:///{workdir / 'hookdoor.db'}", workdir=workdir, env={}).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def inspector_browser() -> Iterator[Browser]:
    """Per module: see tests/console/conftest.py."""
    yield from launched_browser()


@pytest.fixture
def console(inspector_server: ServerProcess) -> ConsoleClient:
    client = ConsoleClient(inspector_server.url)
    client.login("admin", ADMIN_PASSWORD)
    return client


def new_bin(console: ConsoleClient, organization: str = "built-in", label: str = "test bin") -> tuple[str, str]:
    """A new bin's console id and URL."""
    created = console.submit("/console/inspector", {"organization": organization, "label": label, "hours": "24"})
    assert created.status_code == 303, created.text[:300]
    bin_id = created.headers["location"].split("/")[3].split("?")[0]
    page = console.get(f"/console/inspector/{bin_id}").text
    return bin_id, page.split('id="bin-url" value="')[1].split('"')[0]
