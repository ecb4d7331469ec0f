from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from hookdoor.delivery import payloads
from hookdoor.delivery.dispatcher import Planner, passes_filter, subscribes

EVENT: dict[str, Any] = {
    "id": "01M8J5KG74CH5K94184K0EAW1C", "action": "update-user", "organization": "acme",
    "actor": "acme/alice", "subject": "acme/bob", "outcome": "ok", "status_code": 200, "message": "",
    "user": {"id": "u-1", "owner": "acme", "name": "bob", "email": "bob@example.com", "displayName": "Bob"},
    "object": {"owner": "acme", "name": "bob", "type": "normal-user", "phone": "123"},
    "request": {"method": "POST", "uri": "/api/update-user?id=acme/bob", "clientIp": "127.0.0.1",
                "userAgent": "test", "language": "de"},
    "created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
}
WEBHOOK: dict[str, Any] = {"owner": "acme", "name": "w", "organization": "acme", "isEnabled": True,
                           "events": ["update-user"], "createdTime": "2026-01-01T00:00:00.000Z"}


def test_hookdoor_payload_extends_the_overview_shape() -> None:
    payload = payloads.hookdoor_payload(EVENT, WEBHOOK)
    assert payload["event"] == "update-user"
    assert payload["timestamp"] == int(EVENT["created_at"].timestamp())
    assert payload["user"] == {"id": "u-1", "owner": "acme", "username": "bob", "email": "bob@example.com",
                               "displayName": "Bob"}
    assert payload["request"] == {"method": "POST", "uri": "/api/update-user?id=acme/bob",
                                  "clientIp": "127.0.0.1", "userAgent": "test"}
    assert "extendedUser" not in payload and "error" not in payload


def test_casdoor_payload_matches_casdoors_record() -> None:
    payload = payloads.casdoor_payload(EVENT, {**WEBHOOK, "objectFields": ["name", "type"]})
    assert list(payload) == ["id", "owner", "name", "createdTime", "organization", "clientIp", "user", "method",
                             "requestUri", "action", "language", "object", "response", "statusCode", "detail",
                             "isTriggered", "extendedUser"]
    assert json.loads(payload["object"]) == {"name": "bob", "type": "normal-user"}
    assert payload["response"] == '{status:"ok", msg:""}'
    assert payload["language"] == "de" and payload["extendedUser"] is None


def test_token_fields_and_user_extension() -> None:
    assert payloads.hookdoor_payload(EVENT, {**WEBHOOK, "tokenFields": ["email"]})["extendedUser"] == {
        "email": "bob@example.com"}
    assert payloads.casdoor_payload(EVENT, {**WEBHOOK, "isUserExtended": True})["extendedUser"]["name"] == "bob"


def test_cloudevents_envelope() -> None:
    envelope = payloads.cloudevents_payload(EVENT, WEBHOOK)
    assert envelope["specversion"] == "1.0" and envelope["type"] == "io.hookdoor.update-user"
    assert envelope["time"] == "2026-01-02T03:04:05Z" and envelope["data"]["id"] == EVENT["id"]


def test_form_encoding_is_real_form_encoding() -> None:
    body = payloads.encode({"event": "login", "user": {"username": "bob"}}, "application/x-www-form-urlencoded")
    assert dict(parse_qsl(body.decode())) == {"event": "login", "user": '{"username":"bob"}'}


def test_subscription_rules() -> None:
    assert subscribes(WEBHOOK, EVENT)
    assert not subscribes({**WEBHOOK, "isEnabled": False}, EVENT)
    assert not subscribes({**WEBHOOK, "organization": "other"}, EVENT)
    assert subscribes({**WEBHOOK, "organization": "built-in"}, EVENT)  # a global webhook sees all
    assert not subscribes({**WEBHOOK, "organization": "built-in", "singleOrgOnly": True}, EVENT)
    assert not subscribes(WEBHOOK, {**EVENT, "outcome": "error"})
    assert subscribes({**WEBHOOK, "includeFailures": True}, {**EVENT, "outcome": "error"})
    assert subscribes({**WEBHOOK, "events": ["*-user"]}, EVENT)
    assert not subscribes({**WEBHOOK, "events": ["add-*"]}, EVENT)


def test_payload_filter_and_creation_time() -> None:
    payload = payloads.hookdoor_payload(EVENT, WEBHOOK)
    assert passes_filter({"filter": {"object.type": "normal-user"}}, payload)
    assert not passes_filter({"filter": {"object.type": "admin"}}, payload)
    assert not passes_filter({"filter": {"object.missing": None}}, payload)
    now = datetime.now(UTC)
    assert len(Planner([WEBHOOK, {**WEBHOOK, "name": "v", "filter": {"object.type": "x"}}], now).deliveries(EVENT)) == 1
    assert Planner([{**WEBHOOK, "createdTime": "2026-06-01T00:00:00.000Z"}], now).deliveries(EVENT) == []


def test_webhooks_alike_share_a_body_and_others_get_their_own() -> None:
    now = datetime.now(UTC)
    alike = [{**WEBHOOK, "name": f"w{i}"} for i in range(3)]
    own = [{**WEBHOOK, "name": "fields", "objectFields": ["name"]},
           {**WEBHOOK, "name": "casdoor", "payloadFormat": "casdoor"},
           {**WEBHOOK, "name": "form", "contentType": "application/x-www-form-urlencoded"},
           {**WEBHOOK, "name": "token", "tokenFields": ["email"]},
           {**WEBHOOK, "name": "extended", "isUserExtended": True}]
    rows = {row["webhook_name"]: row["payload"] for row in Planner(alike + own, now).deliveries(EVENT)}
    for webhook in alike + own:  # each exactly what rendering for that webhook alone gives
        assert rows[webhook["name"]] == payloads.body(EVENT, webhook).decode()
    assert len({rows[webhook["name"]] for webhook in alike}) == 1
    assert len({rows[webhook["name"]] for webhook in own} | {rows["w0"]}) == len(own) + 1
