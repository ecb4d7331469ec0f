"""Shared fixtures: every API test runs against a real server on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from casdoor import CasdoorSDK

from tests.compat.sdk import Tenant, new_tenant, tenant_sdk
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, SYNCER_SQLITE_DIR, Api, ServerProcess, running_server

# Webhook receivers and upstream providers in tests run on 127.0.0.1 (a provider as "localhost", so
# that its cookies are not the server's), which the SSRF guard refuses unless allowed. Every test
# signs in from 127.0.0.1 too, so the per-address lock-out is raised (per-account stays as shipped).
SERVER_ENV = {"HOOKDOOR_WEBHOOK_ALLOW_TARGETS": "127.0.0.1,localhost", "HOOKDOOR_LOGIN_MAX_FAILURES_PER_IP": "1000"}
# Syncers of the tests may read SQLite source databases made in this folder (tests/sync/sources.py).
SERVER_ENV["HOOKDOOR_SYNCER_SQLITE_DIR"] = SYNCER_SQLITE_DIR
SERVER_ENV["HOOKDOOR_SYNC_POLL_SECONDS"] = "1"
# Lapsed subscriptions are moved on within a second (tests/commerce).
SERVER_ENV["HOOKDOOR_SUBSCRIPTION_POLL_SECONDS"] = "1"


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
    with running_server(request.param, workdir, SERVER_ENV) as process:
        yield process


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A second server, the upstream OpenID Connect provider of tests of sign-in through providers."""
    with running_server("sqlite", tmp_path_factory.mktemp("upstream"), SERVER_ENV) as process:
        yield process


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


@pytest.fixture
def tenant(admin: Api) -> Tenant:
    """A fresh organization with its own application, made by the admin."""
    return new_tenant(admin)


@pytest.fixture
def sdk(server: ServerProcess, tenant: Tenant) -> CasdoorSDK:
    """The unmodified Casdoor SDK as the tenant's application: an administrator of that organization only."""
    return tenant_sdk(server.url, tenant)
