from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from hookdoor.delivery import payloads
from hookdoor.delivery.dispatcher import Planner, passes_filter, subscribes
from hookdoor.events.ids import ulid_milliseconds

EVENT: dict[str, Any] = {
    "id": "01M8J5KG74CH5K94184K0EAW1C", "action": "update-user", "organization": "acme",
    "actor": "acme/alice", "subject": "acme/bob", "outcome": "ok", "status_code": 200, "message": "",
    "user": {"id": "u-1", "owner": "acme", "name": "bob", "email": "bob@example.com", "displayName": "Bob"},
    "object": {"owner": "acme", "name": "bob", "type": "normal-user", "phone": "123"},
    "request": {"method": "POST", "uri": "/api/update-user?id=acme/bob", "clientIp": "127.0.0.1",
                "userAgent": "test", "language": "de",
                "body": {"owner": "acme", "name": "bob", "type": "normal-user", "password": "***"},
                "bodyEncoding": "json",
                "caller": {"kind": "user", "id": "u-0", "owner": "acme", "name": "alice", "email": "a@example.com"}},
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
    payload = payloads.casdoor_payload(EVENT, {**WEBHOOK, "objectFields": ["type", "name"]})
    assert list(payload) == ["id", "owner", "name", "createdTime", "organization", "clientIp", "user", "method",
                             "requestUri", "action", "language", "object", "response", "statusCode", "detail",
                             "isTriggered", "extendedUser"]
    assert payload["object"] == '{"name":"bob","type":"normal-user"}'  # Go writes a map's keys sorted
    assert payload["user"] == "alice" and payload["organization"] == payload["owner"] == "acme"  # the caller
    # Casdoor names records with a UUID: the event id's 128 bits, so its time is still there
    assert uuid.UUID(payload["name"]).int >> 80 == ulid_milliseconds(EVENT["id"])
    assert payload["response"] == '{status:"ok", msg:""}' and payload["statusCode"] == 200
    assert payload["language"] == "de" and payload["extendedUser"] is None


def test_casdoor_object_is_the_request_body() -> None:
    assert json.loads(payloads.casdoor_payload(EVENT, WEBHOOK)["object"]) == EVENT["request"]["body"]
    form = {**EVENT["request"], "body": {"userName": "bob", "newPassword": "***"}, "bodyEncoding": "form"}
    assert payloads.casdoor_payload({**EVENT, "request": form}, WEBHOOK)["object"] == "userName=bob&newPassword=***"
    # objectFields shapes only a JSON object; a form goes as it is, as in filterRecordObject
    assert payloads.casdoor_payload({**EVENT, "request": form}, {**WEBHOOK, "objectFields": ["userName"]})[
        "object"] == "userName=bob&newPassword=***"
    no_body = {key: value for key, value in EVENT["request"].items() if key not in ("body", "bodyEncoding")}
    assert payloads.casdoor_payload({**EVENT, "request": no_body}, WEBHOOK)["object"] == ""


def test_casdoor_object_fields_all_only_first() -> None:
    """Casdoor looks at the first entry only: ["All"] keeps everything, ["name", "All"] does not."""
    assert payloads.casdoor_payload(EVENT, {**WEBHOOK, "objectFields": ["All", "name"]})["object"] == (
        payloads.casdoor_payload(EVENT, WEBHOOK)["object"])
    assert payloads.casdoor_payload(EVENT, {**WEBHOOK, "objectFields": ["name", "All"]})["object"] == '{"name":"bob"}'


def test_go_json_escapes_as_go_does() -> None:
    assert payloads.go_json({"b": "<a & b>", "a": "\u2028"}) == '{"a":"\\u2028","b":"\\u003ca \\u0026 b\\u003e"}'


def _event(action: str, *, outcome: str = "ok", actor: dict[str, Any] | None = None,
           subject: str | None = "acme/bob") -> dict[str, Any]:
    request = {**EVENT["request"], "caller": actor} if actor else {
        key: value for key, value in EVENT["request"].items() if key != "caller"}
    return {**EVENT, "action": action, "outcome": outcome, "subject": subject, "request": request}


ALICE = {"kind": "user", "owner": "acme", "name": "alice"}
APPLICATION = {"kind": "application", "owner": "acme", "name": "app-acme"}


def test_record_user_is_the_caller_as_casdoor_computes_it() -> None:
    def named(event: dict[str, Any]) -> tuple[str, str]:
        user = payloads.record_user(event)
        return user.organization, user.name

    assert named(_event("update-user", actor=ALICE)) == ("acme", "alice")
    assert named(_event("add-user", actor=APPLICATION)) == ("acme", "app-acme")
    assert named(_event("get-event-types", subject=None)) == ("", "")
    assert named(_event("login")) == ("acme", "bob")  # the user signed in
    assert named(_event("login", actor=ALICE)) == ("acme", "bob")  # even over another session
    assert named(_event("login", outcome="error")) == ("", "")  # nobody was signed in
    assert named(_event("signup")) == named(_event("new-user")) == ("acme", "bob")
    assert named(_event("set-password", actor=ALICE)) == ("acme", "bob")  # the target
    assert named(_event("set-password", actor=ALICE, subject=None)) == ("acme", "alice")
    assert named(_event("logout", actor=ALICE)) == ("acme", "alice")
    assert named(_event("logout")) == ("acme", "bob")  # id_token_hint, no session


def test_casdoor_extended_user_needs_is_user_extended() -> None:
    event = _event("update-user", actor={**ALICE, "email": "a@example.com", "displayName": "Alice"})
    assert payloads.casdoor_payload(event, {**WEBHOOK, "tokenFields": ["Email"]})["extendedUser"] is None
    extended = {**WEBHOOK, "isUserExtended": True}
    assert payloads.casdoor_payload(event, extended)["extendedUser"] == {
        "owner": "acme", "name": "alice", "email": "a@example.com", "displayName": "Alice"}  # the caller
    chosen = payloads.casdoor_payload(event, {**extended, "tokenFields": ["Email", "DisplayName", "email"]})
    assert list(chosen["extendedUser"].items()) == [("displayName", "Alice"), ("email", "a@example.com")]
    assert payloads.casdoor_payload(_event("add-user", actor=APPLICATION), extended)["extendedUser"] is None


def test_go_field_names_become_json_keys_as_in_casdoor() -> None:
    assert [payloads.go_field_json_name(f) for f in ("DisplayName", "Id", "IdCard", "CreatedIp")] == [
        "displayName", "id", "idCard", "createdIp"]


def test_token_fields_and_user_extension() -> None:
    assert payloads.hookdoor_payload(EVENT, {**WEBHOOK, "tokenFields": ["email"]})["extendedUser"] == {
        "email": "bob@example.com"}


def test_cloudevents_envelope() -> None:
    envelope = payloads.cloudevents_payload(EVENT, WEBHOOK)
    assert envelope["specversion"] == "1.0" and envelope["type"] == "io.hookdoor.update-user"
    assert envelope["time"] == "2026-01-02T03:04:05Z" and envelope["data"]["id"] == EVENT["id"]
    assert envelope["subject"] == "acme/bob"


def test_cloudevents_leaves_out_an_attribute_without_a_value() -> None:
    envelope = payloads.cloudevents_payload({**EVENT, "subject": None}, WEBHOOK)
    assert "subject" not in envelope and list(envelope)[-1] == "data"


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
