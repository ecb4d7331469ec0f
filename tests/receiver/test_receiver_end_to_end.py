"""verify() on what a real server sends: every payload format, JSON and form bodies, rotated secrets."""

from __future__ import annotations

import pytest
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique

from hookdoor.receiver import CasdoorRecord, CloudEvent, HookdoorEvent, SignatureError, verify

TYPES = {"hookdoor": HookdoorEvent, "casdoor": CasdoorRecord, "cloudevents": CloudEvent}


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_every_format_and_encoding_verifies(server: ServerProcess, receiver: Receiver) -> None:
    admin = Api(server.url)
    admin.login("admin", ADMIN_PASSWORD)
    hooks = {}
    for fmt in TYPES:
        for content_type in ("application/json", "application/x-www-form-urlencoded"):
            name, path = unique(fmt), f"/ok/{unique(fmt)}"
            body = {"owner": "built-in", "name": name, "url": receiver.url(path), "events": ["login"],
                    "payloadFormat": fmt, "contentType": content_type}
            assert admin.post("add-webhook", body)["status"] == "ok"
            secret = admin.get("get-webhook", id=f"built-in/{name}")["data"]["signingSecret"]
            hooks[(fmt, content_type)] = (name, path, secret)
    rotated_name, rotated_path, old_secret = hooks[("hookdoor", "application/json")]
    new_secret = admin.post("rotate-webhook-secret", params={"id": f"built-in/{rotated_name}"})["data"]

    Api(server.url).login("admin", ADMIN_PASSWORD)
    for (fmt, content_type), (_, path, secret) in hooks.items():
        [arrival] = receiver.wait_for(lambda a, p=path: a.path == p)
        sent = arrival.header("content-type")
        assert sent.startswith(content_type) or (fmt, sent) == ("cloudevents", "application/cloudevents+json")
        event = verify(arrival.headers, arrival.body, secret if path != rotated_path else [old_secret])
        assert isinstance(event, TYPES[fmt]) and event.event_type == "login", (fmt, content_type)
        assert event.webhook_id == arrival.header("webhook-id")
        if isinstance(event, HookdoorEvent):
            assert event.username == "admin"
        elif isinstance(event, CasdoorRecord):
            assert event.user == "admin" and event.request_uri == "/api/login"
        else:
            assert event.data["user"]["username"] == "admin"
    [rotated] = receiver.matching(lambda a: a.path == rotated_path)
    assert verify(rotated.headers, rotated.body, new_secret).event_type == "login"
    with pytest.raises(SignatureError):
        verify(rotated.headers, rotated.body, hooks[("casdoor", "application/json")][2])
