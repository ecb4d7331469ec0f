"""A webhook at its concurrency limit gets its backlog as sends finish, not at the next poll."""

from __future__ import annotations

import time
from pathlib import Path

from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique

POLL_SECONDS = "120"  # far longer than the test may take: only a wake-up can explain the deliveries
EVENTS = 30


def test_backlog_of_a_webhook_at_its_limit_drains_without_the_poll(tmp_path: Path, receiver: Receiver) -> None:
    env = {"HOOKDOOR_WEBHOOK_ALLOW_TARGETS": "127.0.0.1", "HOOKDOOR_WORKER_POLL_SECONDS": POLL_SECONDS}
    server = ServerProcess(database_url=f"sqlite:///{tmp_path / 'h.db'}", workdir=tmp_path, env=env).start()
    try:
        admin = Api(server.url)
        assert admin.login("admin", ADMIN_PASSWORD)["status"] == "ok"
        path = f"/ok/{unique('backlog')}"
        hook = {"owner": "built-in", "name": unique("hook"), "url": receiver.url(path),
                "events": ["get-organizations"], "maxConcurrency": 1}
        assert admin.post("add-webhook", hook)["status"] == "ok"
        time.sleep(0.5)  # past the worker's cycle for add-webhook itself

        sent = time.monotonic()
        for _ in range(EVENTS):  # faster than one delivery at a time can follow: a backlog builds
            admin.get("get-organizations", owner="admin")
        arrivals = receiver.wait_for(lambda a: a.path == path, count=EVENTS)
        assert len(arrivals) == EVENTS
        assert time.monotonic() - sent < float(POLL_SECONDS) / 2  # long before the poll: the wake-ups
    finally:
        server.stop()
