"""``hookdoor listen``: a real listener process receiving a real server's webhooks."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli.conftest import CREDENTIAL_VARS
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, PATIENCE, Api, ServerProcess, eventually, free_port, unique


class Listening:
    """``hookdoor listen --json`` in a child process; ``next()`` is its next printed webhook."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        clean = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hookdoor", "listen", "--port", str(self.port), "--json", *args],
            env={**clean, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.buffer = ""
        threading.Thread(target=self._read, daemon=True).start()
        self.banner = self.process.stderr.readline() if self.process.stderr else ""

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def next(self, timeout: float = PATIENCE) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.buffer += self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                found = json.loads(self.buffer)
            except ValueError:
                continue
            self.buffer = ""
            return found
        raise AssertionError("the listener printed no webhook in time")

    def stop(self) -> tuple[int, str]:
        self.process.terminate()
        code = self.process.wait(10)
        return code, self.process.stderr.read() if self.process.stderr else ""


@pytest.fixture
def admin_api(server: ServerProcess) -> Api:
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    return api


ADDED: list[tuple[Api, str]] = []


def add_hook(admin: Api, url: str, **fields: Any) -> dict[str, Any]:
    name = unique("listen")
    body = {"owner": "built-in", "name": name, "url": url, "events": ["login"], **fields}
    assert admin.post("add-webhook", body)["status"] == "ok", body
    ADDED.append((admin, name))
    return admin.get("get-webhook", id=f"built-in/{name}")["data"]


@pytest.fixture
def listeners() -> Iterator[list[Listening]]:
    started: list[Listening] = []
    yield started
    for listening in started:
        if listening.process.poll() is None:
            listening.stop()
    while ADDED:  # a webhook whose listener is gone would only fail from now on
        admin, name = ADDED.pop()
        admin.post("delete-webhook", {"owner": "built-in", "name": name})


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_listen_verifies_and_prints(admin_api: Api, server: ServerProcess, tmp_path: Any,
                                    listeners: list[Listening]) -> None:
    # The secret is read from the server with the stored login of 'hookdoor login'. That login is a
    # login event too, so it happens before the webhook exists: a webhook gets only events from after
    # its creation. (Disabling the webhook meanwhile was not enough: the worker reads the webhook when
    # it dispatches an event, not as it was when the event happened, and on a loaded machine the
    # CLI's login was still undispatched once the webhook was enabled and pointed at the listener,
    # which then printed two webhooks.)
    config = str(tmp_path / "cli.json")
    env = {"HOOKDOOR_URL": server.url, "HOOKDOOR_CONFIG": config}
    login = subprocess.run([sys.executable, "-m", "hookdoor", "login", "--password-stdin"], input=ADMIN_PASSWORD,
                           env={**os.environ, **env}, capture_output=True, text=True, timeout=30)
    assert login.returncode == 0, login.stderr
    # Disabled until it points at the listener, which needs the webhook's secret before it starts.
    placeholder = add_hook(admin_api, "http://127.0.0.1:9/later", contentType="application/x-www-form-urlencoded",
                           isEnabled=False)
    hook_id = f"built-in/{placeholder['name']}"
    listening = Listening("--webhook", hook_id, env=env)
    listeners.append(listening)
    assert "verifying with 1 secret(s)" in listening.banner
    assert admin_api.post("update-webhook", {"url": listening.url, "isEnabled": True},
                          params={"id": hook_id, "columns": "url,isEnabled"})["status"] == "ok"
    Api(server.url).login("admin", ADMIN_PASSWORD)
    printed = listening.next()
    assert printed["verified"] is True and printed["event"] == "login" and printed["format"] == "hookdoor"
    assert printed["path"] == "/hook" and printed["webhookId"].startswith("msg_")
    assert printed["body"]["user"]["username"] == "admin"  # the form body, decoded
    code, stderr = listening.stop()
    assert code == 0 and "stopped after 1 webhook(s)" in stderr


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_listen_rejects_wrong_secret_so_the_server_retries(admin_api: Api, server: ServerProcess,
                                                           listeners: list[Listening]) -> None:
    listening = Listening("--secret", "whsec_" + "A" * 43 + "=")
    listeners.append(listening)
    hook = add_hook(admin_api, listening.url)
    Api(server.url).login("admin", ADMIN_PASSWORD)
    printed = listening.next()
    assert printed["verified"] is False and printed["error"].startswith("SignatureError: no signature matches")
    def attempted() -> list[dict[str, Any]] | None:
        rows = admin_api.get("get-webhook-events", webhook=f"built-in/{hook['name']}")["data"]
        return rows if rows and rows[0]["lastStatusCode"] else None

    rows = eventually(attempted, "the refused delivery's outcome")
    assert rows[0]["lastStatusCode"] == 401 and rows[0]["state"] == "Retrying"


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_listen_forwards(admin_api: Api, server: ServerProcess, receiver: Receiver,
                         listeners: list[Listening]) -> None:
    target = f"/ok/{unique('forwarded')}"
    listening = Listening("--forward", receiver.url(target))
    listeners.append(listening)
    hook = add_hook(admin_api, listening.url, headers=[{"name": "X-Team", "value": "blue"}])
    Api(server.url).login("admin", ADMIN_PASSWORD)
    printed = listening.next()
    assert printed["verdict"] == "unchecked"
    assert printed["forwarded"]["status"] == 200 and printed["forwarded"]["body"] == "received"
    [arrival] = receiver.wait_for(lambda a: a.path == target)
    assert arrival.header("webhook-id") == printed["webhookId"] and arrival.header("X-Team") == "blue"
    from hookdoor.receiver import verify

    assert verify(arrival.headers, arrival.body, hook["signingSecret"]).event_type == "login"


def test_listen_usage_errors() -> None:
    for args, message in ((["--secret", "not-a-secret!"], "--secret: not a webhook secret"),
                          (["--forward", "ftp://x"], "--forward must be an http"),
                          (["--path", "hook"], "--path must start with /")):
        result = subprocess.run([sys.executable, "-m", "hookdoor", "listen", *args], capture_output=True, text=True,
                                timeout=30)
        assert result.returncode == 2 and result.stderr.startswith("error: " + message), result.stderr
