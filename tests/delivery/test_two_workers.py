"""Two `hookdoor worker` processes on one database (SQLite in WAL mode, PostgreSQL) share the queue
through leases: every delivery is sent exactly once, none is lost, each with one attempt row."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, PATIENCE, Api, ServerProcess, eventually, fresh_database, unique

EVENTS = 60
WEBHOOKS = 2


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_worker_processes_send_each_delivery_once(backend: str, tmp_path: Path, receiver: Receiver) -> None:
    with fresh_database(backend, tmp_path) as database_url:
        env = {"HOOKDOOR_WEBHOOK_ALLOW_TARGETS": "127.0.0.1"}
        server = ServerProcess(database_url=database_url, workdir=tmp_path, env=env, options=["--no-worker"]).start()
        workers: list[subprocess.Popen[bytes]] = []
        try:
            admin = Api(server.url)
            assert admin.login("admin", ADMIN_PASSWORD)["status"] == "ok"
            paths = [f"/ok/{unique('two-workers')}" for _ in range(WEBHOOKS)]
            for path in paths:
                hook = {"owner": "built-in", "name": unique("hook"), "url": receiver.url(path),
                        "events": ["update-user"], "maxConcurrency": 20}
                assert admin.post("add-webhook", hook)["status"] == "ok"
            workers = [_start_worker(tmp_path, n, {**env, "HOOKDOOR_DATABASE_URL": database_url}) for n in (1, 2)]
            time.sleep(1.0)  # both past their start-up: they compete for every event from the first
            user = admin.get("get-user", id="built-in/admin")["data"]
            for number in range(EVENTS):
                changed = {**user, "displayName": f"Two workers {number}"}
                assert admin.post("update-user", changed, params={"id": "built-in/admin"})["status"] == "ok"

            expected = EVENTS * WEBHOOKS
            ours = lambda a: a.path in paths  # noqa: E731
            receiver.wait_for(ours, count=expected, timeout=2 * PATIENCE)
            time.sleep(1.0)  # a send made twice would arrive by now
            arrivals = receiver.matching(ours)
            for worker in workers:
                assert worker.poll() is None, f"a worker exited: {(tmp_path / 'worker-1.log').read_text()[-2000:]}"
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(timeout=30)
            server.stop()

        by_webhook_id = Counter(a.header("webhook-id") for a in arrivals)
        assert len(arrivals) == expected and len(by_webhook_id) == expected  # nothing twice, nothing lost
        per_path = Counter((a.path, json.loads(a.body)["id"]) for a in arrivals)
        assert len(per_path) == expected and set(per_path.values()) == {1}
        states, attempts_per_delivery = _stored(database_url)
        assert states == {"succeeded": expected}
        assert attempts_per_delivery == {1: expected}  # one attempt row per try, one try each
        eventually(lambda: all(w.poll() is not None for w in workers), "the workers to stop")


def _start_worker(workdir: Path, number: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = (workdir / f"worker-{number}.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "hookdoor", "worker"], cwd=workdir, env={**os.environ, **env},
                            stdout=log, stderr=log)


STATES = "SELECT state, count(*) FROM deliveries GROUP BY state"
ATTEMPTS = ("SELECT n, count(*) FROM (SELECT d.id, count(a.id) AS n FROM deliveries d LEFT JOIN attempts a "
            "ON a.delivery_id = d.id GROUP BY d.id) AS per_delivery GROUP BY n")


def _stored(database_url: str) -> tuple[dict[str, int], dict[int, int]]:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(url.database) as db:
            return dict(db.execute(STATES).fetchall()), dict(db.execute(ATTEMPTS).fetchall())
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as db:
        return dict(db.execute(STATES).fetchall()), dict(db.execute(ATTEMPTS).fetchall())
