"""The three payload formats a webhook can ask for, rendered from one event row.

- ``hookdoor``: the overview's ``{event, timestamp, user: {id, username, email}}`` extended with the
  event id, organization, object, request and outcome.
- ``casdoor``: Casdoor's record body, field for field, so receivers written for Casdoor keep working.
- ``cloudevents``: CloudEvents 1.0 structured mode, with the hookdoor payload as ``data``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

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


def _casdoor_response(event: Mapping[str, Any]) -> str:
    status = "ok" if event["outcome"] == "ok" else "error"
    return f'{{status:"{status}", msg:"{event["message"] if status == "error" else ""}"}}'


def casdoor_payload(event: dict[str, Any], webhook: Mapping[str, Any]) -> dict[str, Any]:
    """Casdoor's record, fields in Casdoor's order; ``object`` is a JSON string as Casdoor sends it."""
    obj = _selected_object(event_object(event), webhook)
    user = event.get("user") or {}
    created = _timestamp(event).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {
        "id": 0,
        "owner": event["organization"],
        "name": event["id"],
        "createdTime": created,
        "organization": event["organization"],
        "clientIp": event["request"].get("clientIp", ""),
        "user": user.get("name", "") or event["actor"],
        "method": event["request"].get("method", ""),
        "requestUri": event["request"].get("uri", ""),
        "action": event["action"],
        "language": event["request"].get("language", "en"),
        "object": json.dumps(obj, separators=(",", ":")) if obj is not None else "",
        "response": _casdoor_response(event),
        "statusCode": event["status_code"],
        "detail": "",
        "isTriggered": False,
        "extendedUser": _extended_user(event, webhook),
    }


def cloudevents_payload(event: dict[str, Any], webhook: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event["id"],
        "source": f"/hookdoor/{event['organization']}",
        "type": CLOUDEVENTS_TYPE_PREFIX + event["action"].replace("/", "."),
        "subject": event.get("subject") or None,
        "time": _timestamp(event).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": hookdoor_payload(event, webhook),
    }


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
