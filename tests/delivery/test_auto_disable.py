"""A webhook failing continuously for longer than the window is disabled, with a webhook-disabled event."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique


def test_failing_webhook_is_disabled_after_the_window(tmp_path: Path, receiver: Receiver) -> None:
    env = {
        "HOOKDOOR_WEBHOOK_ALLOW_TARGETS": "127.0.0.1",
        "HOOKDOOR_WEBHOOK_AUTO_DISABLE_DAYS": str(2 / 86400),  # two seconds
    }
    server = ServerProcess(database_url=f"sqlite:///{tmp_path / 'h.db'}", workdir=tmp_path, env=env).start()
    try:
        admin = Api(server.url)
        assert admin.login("admin", ADMIN_PASSWORD)["status"] == "ok"
        failing, watcher = f"/status/500/{unique('down')}", f"/ok/{unique('watch')}"
        name = unique("hook")
        body = {"owner": "built-in", "name": name, "url": receiver.url(failing), "events": ["login"],
                "maxRetries": 10, "retryInterval": 1}
        assert admin.post("add-webhook", body)["status"] == "ok"
        watch = {"owner": "built-in", "name": unique("hook"), "url": receiver.url(watcher),
                 "events": ["webhook-disabled"]}
        assert admin.post("add-webhook", watch)["status"] == "ok"
        Api(server.url).login("admin", ADMIN_PASSWORD)

        [notice] = receiver.wait_for(lambda a: a.path == watcher, timeout=20)
        payload = json.loads(notice.body)
        assert payload["object"]["name"] == name and payload["actor"] == "system"
        webhook = admin.get("get-webhook", id=f"built-in/{name}")["data"]
        assert webhook["isEnabled"] is False and "failing continuously" in webhook["disabledReason"]
        health = admin.get("get-webhook-health", id=f"built-in/{name}")["data"]
        assert health["failureStreak"] >= 2 and health["failingSince"]
        sent = len(receiver.matching(lambda a: a.path == failing))
        time.sleep(2.5)
        assert len(receiver.matching(lambda a: a.path == failing)) == sent  # nothing more once disabled
    finally:
        server.stop()
