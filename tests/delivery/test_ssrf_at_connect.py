"""A host name that resolves to an internal address is refused when connecting, not only at save time."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, eventually, unique


def _internal_host_name() -> str:
    name = socket.gethostname()
    try:
        address = ipaddress.ip_address(socket.getaddrinfo(name, 80)[0][4][0])
    except (OSError, ValueError):
        pytest.skip("this machine's host name does not resolve")
    if address.is_global:
        pytest.skip("this machine's host name resolves to a public address")
    return name


def test_resolved_internal_address_fails_the_attempt_with_its_reason(tmp_path: Path, receiver: Receiver) -> None:
    host = _internal_host_name()
    server = ServerProcess(database_url=f"sqlite:///{tmp_path / 'h.db'}", workdir=tmp_path).start()  # default policy
    try:
        admin = Api(server.url)
        assert admin.login("admin", ADMIN_PASSWORD)["status"] == "ok"
        path = f"/ok/{unique('ssrf')}"
        name = unique("hook")
        url = f"http://{host}:{receiver.port}{path}"
        body = {"owner": "built-in", "name": name, "url": url, "events": ["login"]}
        assert admin.post("add-webhook", body)["status"] == "ok"  # a name is not resolved at save time
        delivery_id = admin.post("test-webhook", params={"id": f"built-in/{name}"})["data"]

        def attempted() -> dict[str, Any] | None:
            detail = admin.get("get-webhook-event-detail", id=delivery_id)["data"]
            return detail if detail["attempts"] else None

        detail = eventually(attempted, "the refused attempt", every=0.1)
        assert "target refused" in detail["attempts"][0]["error"]
        assert "HOOKDOOR_WEBHOOK_ALLOW_TARGETS" in detail["attempts"][0]["error"]
        assert receiver.matching(lambda a: a.path == path) == []
    finally:
        server.stop()
