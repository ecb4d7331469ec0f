"""SIGKILL in the middle of sending: after a restart every event is delivered, repeats keep their webhook-id."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, fresh_database, unique

EVENTS = 30


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


def start(database_url: str, workdir: Path) -> ServerProcess:
    env = {"HOOKDOOR_WEBHOOK_ALLOW_TARGETS": "127.0.0.1", "HOOKDOOR_WORKER_LEASE_SECONDS": "2"}
    return ServerProcess(database_url=database_url, workdir=workdir, env=env).start()


def test_sigkill_mid_send_loses_nothing(database_url: str, tmp_path: Path, receiver: Receiver) -> None:
    path = f"/slow/1.5/{unique('crash')}"
    first = start(database_url, tmp_path)
    try:
        admin = Api(first.url)
        assert admin.login("admin", ADMIN_PASSWORD)["status"] == "ok"
        hook = {"owner": "built-in", "name": unique("hook"), "url": receiver.url(path), "events": ["update-user"],
                "maxConcurrency": 5}
        assert admin.post("add-webhook", hook)["status"] == "ok"
        user = admin.get("get-user", id="built-in/admin")["data"]
        for number in range(EVENTS):
            changed = {**user, "displayName": f"Admin {number}"}
            assert admin.post("update-user", changed, params={"id": "built-in/admin"})["status"] == "ok"
        receiver.wait_for(lambda a: a.path == path)  # sends are in flight now
    finally:
        first.kill()

    second = start(database_url, tmp_path)
    try:
        assert _distinct_events_arrived(receiver, path) == EVENTS
        # The sends cut off by the kill are made again once their lease runs out and upkeep releases it,
        # which may be after the last new event has arrived: wait for them rather than count too early.
        arrivals = receiver.wait_for(lambda a: a.path == path, count=EVENTS + 1, timeout=30)
        events_by_webhook_id: dict[str, set[str]] = defaultdict(set)
        for arrival in arrivals:
            events_by_webhook_id[arrival.header("webhook-id")].add(json.loads(arrival.body)["id"])
        assert len(events_by_webhook_id) == EVENTS
        assert all(len(ids) == 1 for ids in events_by_webhook_id.values())  # a repeat is the same message
    finally:
        second.stop()


def _distinct_events_arrived(receiver: Receiver, path: str, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while True:
        names = {json.loads(a.body)["object"]["displayName"] for a in receiver.matching(lambda a: a.path == path)}
        if len(names) >= EVENTS or time.monotonic() > deadline:
            return len(names)
        time.sleep(0.1)
