"""Login throttling counts in the database: shared by several `serve` processes, kept across restarts.

These servers (``--no-worker``: no webhooks here) are this module's own, so that their lock-outs
and limits touch no other test: every test signs in from 127.0.0.1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support import ADMIN_PASSWORD, Api, ServerProcess, fresh_database, unique

PASSWORD = "throttled-password-1234"
MAX_FAILURES = 8  # not the default (5): the setting is what counts
INCORRECT = "password or username is incorrect"


@contextlib.contextmanager
def servers(database_url: str, workdir: Path, count: int, **env: str) -> Iterator[list[ServerProcess]]:
    """``count`` `serve` processes on one database, started one after the other (migrations run once)."""
    settings = {"HOOKDOOR_LOGIN_MAX_FAILURES": str(MAX_FAILURES), "HOOKDOOR_LOGIN_MAX_FAILURES_PER_IP": "1000",
                **env}
    started: list[ServerProcess] = []
    try:
        for _ in range(count):
            started.append(ServerProcess(database_url=database_url, workdir=workdir, env=settings,
                                         options=["--no-worker"]).start())
        yield started
    finally:
        for server in started:
            server.stop()


def add_user(server: ServerProcess) -> str:
    admin = Api(server.url)
    assert admin.login("admin", ADMIN_PASSWORD)["status"] == "ok"
    name = unique("throttled")
    answer = admin.post("add-user", {"owner": "built-in", "name": name, "password": PASSWORD})
    assert answer["status"] == "ok", answer
    return name


def sign_in(server: ServerProcess, name: str, password: str) -> requests.Response:
    return requests.post(f"{server.url}/api/login", json={
        "type": "login", "organization": "built-in", "application": "app-built-in",
        "username": name, "password": password,
    }, timeout=30)


def fail(server: ServerProcess, name: str) -> None:
    """One wrong password, answered as such: the account was not locked before it."""
    answer = sign_in(server, name, "not-the-password").json()
    assert answer["msg"] == INCORRECT, answer


def assert_locked(server: ServerProcess, name: str, what: str = "this account") -> None:
    response = sign_in(server, name, PASSWORD)  # the right password: refused all the same
    assert response.status_code == 429, response.text
    assert f"too many failed sign-in attempts for {what}" in response.json()["msg"]
    assert 0 < int(response.headers["Retry-After"]) <= 300


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServerProcess]]:
    """Two `serve` processes on one PostgreSQL database, shared by this module's PostgreSQL tests
    (each with users of its own)."""
    workdir = tmp_path_factory.mktemp("throttle-pair")
    with fresh_database("postgresql", workdir) as url, servers(url, workdir, 2) as started:
        yield started


def test_failures_spread_over_two_servers_lock_at_the_limit(pair: list[ServerProcess]) -> None:
    first, second = pair
    name = add_user(first)
    for attempt in range(MAX_FAILURES):  # each server alone sees only half of them
        fail(pair[attempt % 2], name)
    assert_locked(first, name)
    assert_locked(second, name)
    assert sign_in(first, add_user(first), PASSWORD).json()["status"] == "ok", "other accounts are not locked"


def test_one_failure_short_of_the_limit_does_not_lock_and_a_success_forgets(pair: list[ServerProcess]) -> None:
    name = add_user(pair[0])
    for attempt in range(MAX_FAILURES - 1):
        fail(pair[attempt % 2], name)
    assert sign_in(pair[1], name, PASSWORD).json()["status"] == "ok"
    for attempt in range(MAX_FAILURES - 1):  # counted afresh after the success
        fail(pair[attempt % 2], name)
    assert sign_in(pair[0], name, PASSWORD).json()["status"] == "ok"


def test_concurrent_failures_on_two_servers_are_all_counted(pair: list[ServerProcess]) -> None:
    # Exactly the limit, all at once: unless each failure sees all the others, none reaches the limit.
    name = add_user(pair[0])
    with ThreadPoolExecutor(max_workers=MAX_FAILURES) as pool:
        answers = list(pool.map(lambda i: sign_in(pair[i % 2], name, "wrong").json()["msg"], range(MAX_FAILURES)))
    assert answers == [INCORRECT] * MAX_FAILURES
    assert_locked(pair[0], name)
    assert_locked(pair[1], name)


def test_a_restarted_server_still_refuses_a_locked_account_on_postgresql(pair: list[ServerProcess]) -> None:
    name = add_user(pair[0])
    for _ in range(MAX_FAILURES):
        fail(pair[0], name)
    pair[0].stop()
    pair[0].start()
    assert_locked(pair[0], name)


def test_a_restarted_server_still_refuses_a_locked_account_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hookdoor.db'}"
    with servers(url, tmp_path, 1) as (before,):
        name = add_user(before)
        for _ in range(MAX_FAILURES):
            fail(before, name)
        assert_locked(before, name)
    with servers(url, tmp_path, 1) as (after,):
        assert_locked(after, name)


def test_failures_from_one_address_lock_it_for_every_account(tmp_path: Path) -> None:
    with servers(f"sqlite:///{tmp_path / 'hookdoor.db'}", tmp_path, 1,
                 HOOKDOOR_LOGIN_MAX_FAILURES_PER_IP="3") as (server,):
        # The users first: the admin's own sign-ins must not be refused by the address's lock-out.
        names = [add_user(server) for _ in range(4)]
        for name in names[:3]:  # three accounts, one failure each
            fail(server, name)
        assert_locked(server, names[3], what="your address")
