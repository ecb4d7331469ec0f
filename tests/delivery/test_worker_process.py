"""`hookdoor serve` runs its delivery worker as a child process: at a lower CPU priority, restarted
when it exits, killed with `serve`, its metrics on `serve`'s /api/metrics."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import pytest

from hookdoor.config import Settings
from hookdoor.delivery.process import runs_in_child_process
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, eventually, unique

ALLOW = {"HOOKDOOR_WEBHOOK_ALLOW_TARGETS": "127.0.0.1"}


def stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, ...); None if it is gone."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def children_of(pid: int) -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and (fields := stat(entry.name)) and int(fields[1]) == pid and fields[0] != "Z"]


def niceness(pid: int) -> int:
    fields = stat(pid)
    assert fields is not None
    return int(fields[16])


def alive(pid: int) -> bool:
    fields = stat(pid)
    return fields is not None and fields[0] != "Z"


def the_worker(server: ServerProcess) -> int:
    assert server.process is not None
    workers = eventually(lambda: children_of(server.process.pid), "serve's worker child")
    assert len(workers) == 1, workers
    return workers[0]


def start_server(tmp_path: Path, worker_process: str) -> ServerProcess:
    env = {**ALLOW, "HOOKDOOR_WORKER_PROCESS": worker_process}
    return ServerProcess(database_url=f"sqlite:///{tmp_path / 'h.db'}", workdir=tmp_path, env=env).start()


def subscribe(server: ServerProcess, receiver: Receiver, path: str) -> tuple[Api, str]:
    """An admin session, and a new webhook (its name) sending get-organizations events to ``path``."""
    admin = Api(server.url)
    assert admin.login("admin", ADMIN_PASSWORD)["status"] == "ok"
    hook = {"owner": "built-in", "name": unique("hook"), "url": receiver.url(path), "events": ["get-organizations"]}
    assert admin.post("add-webhook", hook)["status"] == "ok"
    return admin, hook["name"]


def deliver_one(admin: Api, receiver: Receiver, path: str) -> None:
    before = len(receiver.matching(lambda a: a.path == path))
    admin.get("get-organizations", owner="admin")
    receiver.wait_for(lambda a: a.path == path, count=before + 1)


@pytest.fixture
def server(tmp_path: Path) -> ServerProcess:
    server = start_server(tmp_path, "true")
    yield server
    server.stop()


def test_the_worker_is_a_child_at_a_lower_priority_and_its_metrics_reach_serve(
    server: ServerProcess, receiver: Receiver
) -> None:
    worker = the_worker(server)
    # Set by the child as it starts.
    eventually(lambda: niceness(worker) == niceness(os.getpid()) + 10, "the worker to lower its priority")
    path = f"/ok/{unique('child')}"
    admin, _ = subscribe(server, receiver, path)
    deliver_one(admin, receiver, path)

    def succeeded_metric() -> float:
        text = admin.http.get(f"{admin.base_url}/api/metrics", timeout=10).text
        sample = 'hookdoor_deliveries_total{outcome="succeeded"}'
        lines = [line for line in text.splitlines() if line.startswith(sample)]
        return float(lines[0].split()[-1]) if lines else 0.0

    eventually(lambda: succeeded_metric() >= 1, "the child's count of the delivery on serve's /api/metrics")
    assert "hookdoor_delivery_attempt_seconds_bucket" in admin.http.get(f"{admin.base_url}/api/metrics").text


def test_a_worker_that_exits_is_started_again(server: ServerProcess, receiver: Receiver) -> None:
    first = the_worker(server)
    os.kill(first, signal.SIGKILL)
    assert server.process is not None
    second = eventually(lambda: [pid for pid in children_of(server.process.pid) if pid != first], "a new worker")
    assert alive(second[0])
    path = f"/ok/{unique('restarted')}"
    admin, _ = subscribe(server, receiver, path)
    deliver_one(admin, receiver, path)


def test_stopping_serve_lets_the_worker_finish_its_sends(tmp_path: Path, receiver: Receiver) -> None:
    server = start_server(tmp_path, "true")
    try:
        worker = the_worker(server)
        path = f"/slow/2/{unique('draining')}"
        admin, hook_name = subscribe(server, receiver, path)
        admin.get("get-organizations", owner="admin")
        receiver.wait_for(lambda a: a.path == path)  # the send is in flight: the receiver answers in 2 s
    finally:
        server.stop()  # SIGTERM
    assert not alive(worker)
    with sqlite3.connect(tmp_path / "h.db") as db:
        states = [state for (state,) in db.execute("SELECT state FROM deliveries WHERE webhook_name = ?",
                                                   (hook_name,))]
    assert states == ["succeeded"]  # answered and stored before the worker stopped, not left leased


def test_the_worker_dies_with_serve_even_when_serve_is_killed(server: ServerProcess) -> None:
    worker = the_worker(server)
    server.kill()
    eventually(lambda: not alive(worker), "the worker to die with serve")


def test_serve_can_keep_the_worker_in_its_own_process(tmp_path: Path, receiver: Receiver) -> None:
    server = start_server(tmp_path, "false")
    try:
        assert server.process is not None
        path = f"/ok/{unique('inline')}"
        admin, _ = subscribe(server, receiver, path)
        deliver_one(admin, receiver, path)
        assert children_of(server.process.pid) == []
    finally:
        server.stop()


@pytest.mark.parametrize(("database_url", "overrides", "cores", "expected"), [
    ("sqlite:///h.db", {}, 2, True),
    ("sqlite:///h.db", {}, 1, False),  # one core: the worker shares it in serve's event loop
    ("postgresql://postgres@127.0.0.1/hookdoor", {}, 4, True),
    ("sqlite:///h.db", {"worker_process": False}, 2, False),
    ("sqlite:///h.db", {"worker_process": True}, 1, True),
    ("sqlite:///h.db", {"run_worker": False}, 2, False),  # --no-worker
    ("sqlite://", {"worker_process": True}, 2, False),  # in memory: another process would see nothing
])
def test_when_the_worker_is_a_child_process(monkeypatch: pytest.MonkeyPatch, database_url: str,
                                           overrides: dict[str, bool], cores: int, expected: bool) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert runs_in_child_process(Settings(database_url=database_url, **overrides)) is expected
