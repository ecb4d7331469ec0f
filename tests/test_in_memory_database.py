"""`hookdoor serve` on an in-memory SQLite database: one process, its worker in serve's own loop."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import SERVER_ENV
from tests.delivery.test_worker_process import children_of, deliver_one, subscribe
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, eventually, unique


@pytest.mark.parametrize("database_url", ["sqlite:///:memory:", "sqlite://"])
def test_serve_runs_on_a_database_in_memory(tmp_path: Path, receiver: Receiver, database_url: str) -> None:
    # HOOKDOOR_WORKER_PROCESS=true is overruled: a child process would see an empty database of its own.
    server = ServerProcess(database_url=database_url, workdir=tmp_path,
                           env={**SERVER_ENV, "HOOKDOOR_WORKER_PROCESS": "true"}).start()
    try:
        assert server.process is not None and children_of(server.process.pid) == []
        path = f"/ok/{unique('memory')}"
        admin, hook = subscribe(server, receiver, path)  # signs the admin in, adds a webhook
        deliver_one(admin, receiver, path)  # an event recorded, dispatched and delivered

        def states() -> list[str]:
            return [row["state"] for row in admin.get("get-webhook-events", webhook=f"built-in/{hook}")["data"]]

        eventually(lambda: states() == ["Success"], "the outcome stored in memory too")
        assert list(tmp_path.glob("*.db*")) == []  # nothing written to disk
    finally:
        server.stop()
    assert "in-memory database: everything is lost when hookdoor serve exits" in server.log_path.read_text()


def test_concurrent_calls_share_the_one_connection_in_turn(tmp_path: Path) -> None:
    """Sessions take the one connection in turn: one's rollback cannot end another's transaction."""
    server = ServerProcess(database_url="sqlite://", workdir=tmp_path, env=SERVER_ENV).start()
    try:
        admin = Api(server.url)
        assert admin.login("admin", ADMIN_PASSWORD)["status"] == "ok"
        names = [unique("user") for _ in range(24)]

        def add_and_fail(name: str) -> tuple[str, str]:
            added = admin.post("add-user", {"owner": "built-in", "name": name, "password": "a-password-1"})
            refused = Api(server.url).login(name, "a wrong password")  # rolled back, recorded as an error
            return added["status"], refused["status"]

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(add_and_fail, names))
        assert outcomes == [("ok", "error")] * len(names)
        stored = {user["name"] for user in admin.get("get-users", owner="built-in")["data"]}
        assert set(names) <= stored
    finally:
        server.stop()
    assert "Traceback" not in server.log_path.read_text()


def test_a_separate_worker_refuses_a_database_in_memory(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "hookdoor", "worker"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, env={"HOOKDOOR_DATABASE_URL": "sqlite://", "PATH": "/usr/bin"})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: HOOKDOOR_DATABASE_URL is an in-memory database, which only the process that opens it sees: run "
        "hookdoor serve alone, its worker runs inside it"]
