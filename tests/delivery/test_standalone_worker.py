"""A `hookdoor worker` in its own process beside `hookdoor serve --no-worker` on SQLite is woken by
the doorbell the moment an event commits, not by its poll."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, eventually, unique

POLL_SECONDS = "120"  # far longer than the test may take: only the doorbell can explain a delivery


def test_worker_in_another_process_is_woken_at_commit(tmp_path: Path, receiver: Receiver) -> None:
    database = tmp_path / "hookdoor.db"
    env = {"HOOKDOOR_WEBHOOK_ALLOW_TARGETS": "127.0.0.1", "HOOKDOOR_WORKER_POLL_SECONDS": POLL_SECONDS}
    server = ServerProcess(database_url=f"sqlite:///{database}", workdir=tmp_path, env=env,
                           options=["--no-worker"]).start()
    worker = None
    try:
        admin = Api(server.url)
        assert admin.login("admin", ADMIN_PASSWORD)["status"] == "ok"
        path = f"/ok/{unique('standalone')}"
        hook = {"owner": "built-in", "name": unique("hook"), "url": receiver.url(path), "events": ["update-user"]}
        assert admin.post("add-webhook", hook)["status"] == "ok"

        worker = _start_worker(tmp_path, {**env, "HOOKDOOR_DATABASE_URL": f"sqlite:///{database}"})
        bell = database.with_name("hookdoor.db.wakeup") / f"{worker.pid}.sock"
        eventually(bell.exists, "the worker's wake-up socket")
        time.sleep(0.5)  # past the worker's first cycle, which sees the database as it was

        user = admin.get("get-user", id="built-in/admin")["data"]
        sent = time.monotonic()
        changed = {**user, "displayName": "Rung"}
        assert admin.post("update-user", changed, params={"id": "built-in/admin"})["status"] == "ok"
        receiver.wait_for(lambda a: a.path == path)
        assert time.monotonic() - sent < float(POLL_SECONDS) / 2  # long before the poll: the doorbell
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=20)
        server.stop()
    assert not bell.exists()  # the worker removes its socket when it stops


def _start_worker(workdir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = (workdir / "worker.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "hookdoor", "worker"], cwd=workdir, env={**os.environ, **env},
                            stdout=log, stderr=log)
