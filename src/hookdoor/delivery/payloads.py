"""The three payload formats a webhook can ask for, rendered from one event row.

- ``hookdoor``: the overview's ``{event, timestamp, user: {id, username, email}}`` extended with the
  event id, organization, object, request and outcome.
- ``casdoor``: Casdoor's record body, field for field, so receivers written for Casdoor keep working.
- ``cloudevents``: CloudEvents 1.0 structured mode, with the hookdoor payload as ``data``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from hookdoor.events.ids import ulid_as_uuid

CLOUDEVENTS_TYPE_PREFIX = "io.hookdoor."
# Every webhook field the rendering below reads: webhooks equal in these get the same bytes for an
# event, rendered once (see `shape`). A new field read here must be added.
SHAPING_FIELDS = ("payloadFormat", "contentType", "objectFields", "tokenFields", "isUserExtended")


def shape(webhook: Mapping[str, Any]) -> str:
    """A key equal for webhooks whose bodies for the same event are equal."""
    return json.dumps([webhook.get(field) for field in SHAPING_FIELDS])


def _user(event: Mapping[str, Any]) -> dict[str, Any] | None:
    user = event.get("user")
    if not user:
        return None
    return {
        "id": user.get("id", ""), "owner": user.get("owner", ""), "username": user.get("name", ""),
        "email": user.get("email", ""), "displayName": user.get("displayName", ""),
    }


def _selected_object(obj: Any, webhook: Mapping[str, Any]) -> Any:
    """Casdoor's objectFields: ["All"] (or nothing) keeps everything, else only the named top-level keys."""
    fields = webhook.get("objectFields") or []
    if not isinstance(obj, dict) or not fields or "All" in fields:
        return obj
    return {key: value for key, value in obj.items() if key in fields}


def _extended_user(event: Mapping[str, Any], webhook: Mapping[str, Any]) -> Any:
    """Casdoor's isUserExtended / tokenFields: the user, or a map of the chosen user fields."""
    user = event.get("user")
    if not user:
        return None
    token_fields = webhook.get("tokenFields") or []
    if token_fields:
        return {field: user.get(field) for field in token_fields}
    return dict(user) if webhook.get("isUserExtended") else None


def _timestamp(event: Mapping[str, Any]) -> datetime:
    return event["created_at"]


def event_object(event: dict[str, Any]) -> Any:
    """The event's object. Events read in bulk carry it as its stored JSON text (``object_json``),
    parsed here on first need: the hookdoor format copies that text instead (see `body`)."""
    if "object" not in event:
        text = event.get("object_json")
        event["object"] = None if text is None else json.loads(text)
    return event["object"]


def hookdoor_payload(event: dict[str, Any], webhook: Mapping[str, Any]) -> dict[str, Any]:
    return _hookdoor_fields(event, webhook, _selected_object(event_object(event), webhook))


def _hookdoor_fields(event: Mapping[str, Any], webhook: Mapping[str, Any], obj: Any) -> dict[str, Any]:
    payload = {
        "id": event["id"],
        "event": event["action"],
        "timestamp": int(_timestamp(event).timestamp()),
        "organization": event["organization"],
        "user": _user(event),
        "actor": event["actor"],
        "object": obj,
        "request": {k: event["request"].get(k, "") for k in ("method", "uri", "clientIp", "userAgent")},
        "outcome": event["outcome"],
    }
    if event["outcome"] != "ok":
        payload["error"] = {"status": event["status_code"], "message": event["message"]}
    if (extended := _extended_user(event, webhook)) is not None:
        payload["extendedUser"] = extended
    return payload


# Actions whose record names the user the call signed in or up, and nobody when it failed:
# routers/record.go skips its filter for /api/login and /api/signup, whose controllers set
# recordUserId on success only (controllers/auth.go, account.go); new-user copies signup's record.
NAMES_THE_SIGNED_IN_USER = frozenset({"login", "signup", "new-user"})
# The record names the user whose password is set (routers/record.go: userOwner/userName).
NAMES_THE_TARGET = frozenset({"set-password"})


@dataclass(frozen=True)
class RecordUser:
    """Who Casdoor's record names: its ``organization`` and ``user``, and that user's summary (None
    for an application or nobody), which ``extendedUser`` shows."""

    organization: str = ""
    name: str = ""
    summary: Mapping[str, Any] | None = None


NOBODY = RecordUser()


def _subject(event: Mapping[str, Any]) -> RecordUser | None:
    if not event.get("subject"):
        return None
    organization, _, name = event["subject"].partition("/")
    return RecordUser(organization, name, event.get("user"))


def _caller(event: Mapping[str, Any]) -> RecordUser | None:
    """The caller as routers/record.go's getUser finds it: a user, or an application as its
    organization and name (getUserByClientIdSecret)."""
    caller = event["request"].get("caller")
    if not caller:
        return None
    return RecordUser(caller["owner"], caller["name"], caller if caller["kind"] == "user" else None)


def record_user(event: Mapping[str, Any]) -> RecordUser:
    """The user Casdoor's record names for this event: the caller, except after sign-in and
    sign-up (the user signed in, nobody on failure) and for set-password (its target)."""
    action = event["action"]
    if action in NAMES_THE_SIGNED_IN_USER:
        return (_subject(event) if event["outcome"] == "ok" else None) or NOBODY
    if action in NAMES_THE_TARGET:
        return _subject(event) or _caller(event) or NOBODY
    if action == "logout":  # without a session, the user id_token_hint names (controllers/account.go)
        return _caller(event) or _subject(event) or NOBODY
    return _caller(event) or NOBODY


def _casdoor_response(event: Mapping[str, Any]) -> str:
    status = "ok" if event["outcome"] == "ok" else "error"
    return f'{{status:"{status}", msg:"{event["message"] if status == "error" else ""}"}}'


def _recorded_body_text(request: Mapping[str, Any]) -> str:
    """The request body as recorded (credentials already masked): a form as a form, JSON as compact
    JSON. The mask stays readable in a form: ``*`` needs no escaping there (WHATWG's form encoding)."""
    if "body" not in request:
        return ""
    if request.get("bodyEncoding") == "form":
        return urlencode(list(request["body"].items()), safe="*")
    return _compact(request["body"])


def _casdoor_object_text(event: dict[str, Any]) -> str:
    """Casdoor's record ``object``: the request body, except for new-user, whose record carries the
    new user (routers/record.go: record2.Object)."""
    if event["action"] == "new-user":
        obj = event_object(event)
        return "" if obj is None else _compact(obj)
    return _recorded_body_text(event["request"])


def go_json(value: Any) -> str:
    """What Go's json.Marshal writes for a map: keys sorted, compact, and <, >, & and the line and
    paragraph separators escaped (they only occur inside strings, so replacing them is safe)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def casdoor_selected_object(text: str, webhook: Mapping[str, Any]) -> str:
    """Casdoor's objectFields (object/record.go filterRecordObject): unless the first is "All", an
    object that is a JSON object keeps only the named fields, re-encoded by Go; anything else
    (a form, nothing) goes as it is."""
    fields = webhook.get("objectFields") or []
    if not fields or fields[0] == "All" or not text.startswith("{"):
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return go_json({field: parsed[field] for field in fields if field in parsed})


def go_field_json_name(field: str) -> str:
    """The key Casdoor gives a tokenFields entry (a Go field name of its User): util.SnakeToCamel of
    util.CamelToSnakeCase, so "DisplayName" is "displayName" and "IdCard" is "idCard"."""
    snake = "".join(("_" if index else "") + char.lower() if "A" <= char <= "Z" else char
                    for index, char in enumerate(field)).replace(" ", "")
    first, *rest = snake.lower().split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def casdoor_extended_user(user: RecordUser, webhook: Mapping[str, Any]) -> Any:
    """Casdoor's extendedUser (object/webhook_util.go): only with isUserExtended, the record's user;
    with tokenFields, only those of its fields (Go field names, so "Email", not "email"), keys sorted
    as Go writes a map."""
    if not webhook.get("isUserExtended") or user.summary is None:
        return None
    summary = {key: value for key, value in user.summary.items() if key != "kind"}
    token_fields = webhook.get("tokenFields") or []
    if not token_fields:
        return summary
    chosen = {go_field_json_name(field): field for field in token_fields if field[:1].isupper()}
    return {key: summary[key] for key in sorted(chosen) if key in summary}


def casdoor_payload(event: dict[str, Any], webhook: Mapping[str, Any]) -> dict[str, Any]:
    """Casdoor's record as its webhooks send it (object/record.go NewRecord, AddRecord; routers/record.go),
    fields in Casdoor's order; ``object`` and ``response`` are strings, as in Casdoor."""
    user = record_user(event)
    created = _timestamp(event).isoformat(timespec="seconds").replace("+00:00", "Z")
    request = event["request"]
    return {
        "id": 0,  # the record is sent before it is inserted
        "owner": user.organization,  # AddRecord: the owner is the organization
        "name": ulid_as_uuid(event["id"]),  # Casdoor names records with a UUID
        "createdTime": created,
        "organization": user.organization,
        "clientIp": request.get("clientIp", ""),
        "user": user.name,
        "method": request.get("method", ""),
        "requestUri": request.get("uri", ""),
        "action": event["action"],
        "language": request.get("language", "en"),
        "object": casdoor_selected_object(_casdoor_object_text(event), webhook),
        "response": _casdoor_response(event),
        "statusCode": 200,  # NewRecord's; a failure shows in response
        "detail": "",
        "isTriggered": False,  # set only after the webhooks were queued
        "extendedUser": casdoor_extended_user(user, webhook),
    }


# Optional CloudEvents attributes must be non-empty strings when present (the SDK's strict parser
# refuses null and ""): one with no value is left out.
def _present(attributes: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in attributes.items() if value not in (None, "")}


def cloudevents_payload(event: dict[str, Any], webhook: Mapping[str, Any]) -> dict[str, Any]:
    return _present({
        "specversion": "1.0",
        "id": event["id"],
        "source": f"/hookdoor/{event['organization']}",
        "type": CLOUDEVENTS_TYPE_PREFIX + event["action"].replace("/", "."),
        "subject": event.get("subject"),
        "time": _timestamp(event).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
    }) | {"data": hookdoor_payload(event, webhook)}


FORMATS = {"hookdoor": hookdoor_payload, "casdoor": casdoor_payload, "cloudevents": cloudevents_payload}


def render(event: dict[str, Any], webhook: Mapping[str, Any]) -> dict[str, Any]:
    return FORMATS[webhook.get("payloadFormat") or "hookdoor"](event, webhook)


def body(event: dict[str, Any], webhook: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed) for ``event`` to ``webhook``."""
    content_type = webhook.get("contentType") or "application/json"
    if _copies_stored_object(event, webhook, content_type):
        return _hookdoor_body_with_stored_object(event, webhook)
    return encode(render(event, webhook), content_type)


def _copies_stored_object(event: Mapping[str, Any], webhook: Mapping[str, Any], content_type: str) -> bool:
    fields = webhook.get("objectFields") or []
    return (
        (webhook.get("payloadFormat") or "hookdoor") == "hookdoor" and content_type == "application/json"
        and "object" not in event and event.get("object_json") is not None and (not fields or "All" in fields)
    )


def _hookdoor_body_with_stored_object(event: Mapping[str, Any], webhook: Mapping[str, Any]) -> bytes:
    """The hookdoor payload's JSON with the object's stored JSON text copied in, not parsed and
    re-encoded: the object is most of a payload, and parsing it was most of the cost of rendering."""
    fields = _hookdoor_fields(event, webhook, None)
    keys = list(fields)
    split = keys.index("object")
    head = _compact({key: fields[key] for key in keys[:split]})
    tail = _compact({key: fields[key] for key in keys[split + 1:]})
    return (head[:-1] + ',"object":' + event["object_json"] + "," + tail[1:]).encode()


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def encode(payload: Mapping[str, Any], content_type: str) -> bytes:
    """The exact bytes sent (and signed). Form encoding is real form encoding: one field per
    top-level key, nested values as JSON text (Casdoor sent JSON whatever the content type said)."""
    if content_type == "application/x-www-form-urlencoded":
        fields = [(k, v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))) for k, v in payload.items()]
        return urlencode(fields).encode()
    return _compact(payload).encode()


def content_type_header(content_type: str) -> str:
    return "application/json" if content_type == "application/json" else content_type
