"""Each example receiver, started with the command its README shows, receives a real login webhook."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from hookdoor.receiver import signed_headers
from tests.support import ADMIN_PASSWORD, PATIENCE, Api, ServerProcess, free_port, unique

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "examples" / "README.md"


def readme_command(example: str) -> str:
    """The command in the README's block marked ``sh example=<name>``."""
    match = re.search(rf"```sh example={example}\n(.+?)\n```", README.read_text(), re.S)
    assert match, f"examples/README.md has no 'sh example={example}' block"
    return match.group(1).strip()


class Started:
    def __init__(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        self.output: list[str] = []
        venv_bin = str(Path(sys.executable).parent)
        self.process = subprocess.Popen(
            ["bash", "-c", command], cwd=cwd, start_new_session=True, text=True,
            env={**os.environ, "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}", **env},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.output):
                if text in line:
                    return line
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not printed; output:\n{''.join(self.output)[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def wait_until_listening(port: int, started: Started, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except requests.ConnectionError:
            assert started.process.poll() is None, "".join(started.output)[-3000:]
            time.sleep(0.1)
    raise AssertionError(f"the example did not listen on {port}: {''.join(started.output)[-3000:]}")


@pytest.fixture
def express_dir(tmp_path: Path) -> Path:
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are needed for the Express example")
    copy = tmp_path / "examples" / "express"
    shutil.copytree(ROOT / "examples" / "express", copy, ignore=shutil.ignore_patterns("node_modules"))
    return tmp_path


@pytest.fixture
def processes() -> Iterator[list[Started]]:
    started: list[Started] = []
    yield started
    for one in started:
        one.stop()


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
@pytest.mark.parametrize("example", ["fastapi", "flask", "express"])
def test_example_verifies_and_logs_a_login(example: str, server: ServerProcess, processes: list[Started],
                                          request: pytest.FixtureRequest) -> None:
    cwd = request.getfixturevalue("express_dir") if example == "express" else ROOT
    admin = Api(server.url)
    admin.login("admin", ADMIN_PASSWORD)
    port = free_port()
    name = unique(example)
    body = {"owner": "built-in", "name": name, "url": f"http://127.0.0.1:{port}/webhook", "events": ["login"]}
    assert admin.post("add-webhook", body)["status"] == "ok"
    secret = admin.get("get-webhook", id=f"built-in/{name}")["data"]["signingSecret"]

    # Once the example has stopped, its webhook would only fail: remove it then.
    request.addfinalizer(lambda: admin.post("delete-webhook", {"owner": "built-in", "name": name}))

    started = Started(readme_command(example), cwd, {"WEBHOOK_SECRET": secret, "PORT": str(port)})
    processes.append(started)
    wait_until_listening(port, started, timeout=120 if example == "express" else 30)

    Api(server.url).login("admin", ADMIN_PASSWORD)
    line = started.wait_for("verified login webhook msg_", timeout=PATIENCE)
    webhook_id = re.search(r"msg_\w+", line).group(0)  # type: ignore[union-attr]
    assert admin.get("get-webhook-event-detail", id=webhook_id)["data"]["eventType"] == "login"

    # A forged webhook is refused with 401 and not logged as verified.
    forged = b'{"id":"x","event":"login","timestamp":1}'
    headers = signed_headers(forged, "whsec_" + "Zm9yZ2VkLWtleS1mb3JnZWQta2V5LWZvcmdlZA==", msg_id="msg_forged")
    answer = requests.post(f"http://127.0.0.1:{port}/webhook", data=forged, headers=headers, timeout=10)
    assert answer.status_code == 401
    time.sleep(0.2)
    assert not any("verified" in line and "msg_forged" in line for line in started.output)
