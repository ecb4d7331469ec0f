"""Typed webhook bodies: one dataclass per payload format a Hookdoor webhook can be set to send.

``payloadFormat`` on the webhook picks the format; ``contentType`` picks the encoding (JSON, or a form
with one field per top-level key and nested values as JSON text). :func:`parse_body` reads either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl

from hookdoor.receiver.errors import PayloadError

CLOUDEVENTS_TYPE_PREFIX = "io.hookdoor."
FORM = "application/x-www-form-urlencoded"
Kind = Literal["str", "nullable-str", "int", "bool", "json"]


@dataclass(frozen=True, kw_only=True)
class _Delivery:
    """What every verified webhook carries besides its body."""

    #: The ``webhook-id`` header: the same on every retry of one delivery. De-duplicate on it.
    webhook_id: str = ""
    #: The ``webhook-timestamp`` header: when this attempt was signed.
    webhook_timestamp: datetime | None = None
    #: The decoded body, as sent.
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    #: Set by the framework helpers when an idempotency store has seen this ``webhook_id`` before.
    duplicate: bool = False

    format: ClassVar[str]
    _fields: ClassVar[tuple[tuple[str, str, Kind, bool], ...]]  # (json key, attribute, kind, required)

    @property
    def event_type(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class HookdoorEvent(_Delivery):
    """The ``hookdoor`` format: the overview's ``{event, timestamp, user}`` plus what happened, to what."""

    id: str
    event: str
    timestamp: int
    organization: str = ""
    user: dict[str, Any] | None = None
    actor: str = ""
    object: Any = None
    request: dict[str, Any] | None = None
    outcome: str = "ok"
    error: dict[str, Any] | None = None
    extended_user: Any = None

    format: ClassVar[str] = "hookdoor"
    _fields: ClassVar[tuple[tuple[str, str, Kind, bool], ...]] = (
        ("id", "id", "str", True), ("event", "event", "str", True), ("timestamp", "timestamp", "int", True),
        ("organization", "organization", "str", False), ("user", "user", "json", False),
        ("actor", "actor", "str", False), ("object", "object", "json", False),
        ("request", "request", "json", False), ("outcome", "outcome", "str", False),
        ("error", "error", "json", False), ("extendedUser", "extended_user", "json", False),
    )

    @property
    def event_type(self) -> str:
        return self.event

    @property
    def username(self) -> str:
        return (self.user or {}).get("username", "")


@dataclass(frozen=True, kw_only=True)
class CasdoorRecord(_Delivery):
    """The ``casdoor`` format: Casdoor's own record body, so receivers written for Casdoor keep working.
    ``object`` and ``response`` are strings, as Casdoor sends them; :attr:`object_data` parses ``object``."""

    id: int
    owner: str
    name: str
    created_time: str
    organization: str
    client_ip: str
    user: str
    method: str
    request_uri: str
    action: str
    language: str = ""
    object: str = ""
    response: str = ""
    status_code: int = 200
    detail: str = ""
    is_triggered: bool = False
    extended_user: Any = None

    format: ClassVar[str] = "casdoor"
    _fields: ClassVar[tuple[tuple[str, str, Kind, bool], ...]] = (
        ("id", "id", "int", True), ("owner", "owner", "str", True), ("name", "name", "str", True),
        ("createdTime", "created_time", "str", True), ("organization", "organization", "str", True),
        ("clientIp", "client_ip", "str", True), ("user", "user", "str", True), ("method", "method", "str", True),
        ("requestUri", "request_uri", "str", True), ("action", "action", "str", True),
        ("language", "language", "str", False), ("object", "object", "str", False),
        ("response", "response", "str", False), ("statusCode", "status_code", "int", False),
        ("detail", "detail", "str", False), ("isTriggered", "is_triggered", "bool", False),
        ("extendedUser", "extended_user", "json", False),
    )

    @property
    def event_type(self) -> str:
        return self.action

    @property
    def object_data(self) -> Any:
        """``object`` parsed as JSON (None when empty or not JSON)."""
        try:
            return json.loads(self.object) if self.object else None
        except ValueError:
            return None


@dataclass(frozen=True, kw_only=True)
class CloudEvent(_Delivery):
    """The ``cloudevents`` format: CloudEvents 1.0, structured mode; ``data`` is the hookdoor payload."""

    specversion: str
    id: str
    source: str
    type: str
    subject: str | None = None
    time: str = ""
    datacontenttype: str = "application/json"
    data: Any = None

    format: ClassVar[str] = "cloudevents"
    _fields: ClassVar[tuple[tuple[str, str, Kind, bool], ...]] = (
        ("specversion", "specversion", "str", True), ("id", "id", "str", True), ("source", "source", "str", True),
        ("type", "type", "str", True), ("subject", "subject", "nullable-str", False),
        ("time", "time", "str", False), ("datacontenttype", "datacontenttype", "str", False),
        ("data", "data", "json", False),
    )

    @property
    def event_type(self) -> str:
        if isinstance(self.data, dict) and isinstance(self.data.get("event"), str):
            return self.data["event"]
        return self.type.removeprefix(CLOUDEVENTS_TYPE_PREFIX)


WebhookEvent = HookdoorEvent | CasdoorRecord | CloudEvent
FORMATS: dict[str, type[_Delivery]] = {"hookdoor": HookdoorEvent, "casdoor": CasdoorRecord, "cloudevents": CloudEvent}


def detect_format(body: Mapping[str, Any], content_type: str = "") -> type[_Delivery]:
    if content_type.startswith("application/cloudevents") or "specversion" in body:
        return CloudEvent
    if "action" in body and "requestUri" in body:
        return CasdoorRecord
    if "event" in body and "timestamp" in body:
        return HookdoorEvent
    raise PayloadError(
        "the body is in none of Hookdoor's payload formats (hookdoor, casdoor, cloudevents): "
        f"its top-level keys are {sorted(body)[:12]}"
    )


def _decode_form_value(key: str, value: str, kind: Kind) -> Any:
    if kind == "str":
        return value
    if kind == "nullable-str":
        return None if value == "null" else value
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            raise PayloadError(f"form field {key!r} should be an integer, got {value[:40]!r}") from None
    if kind == "bool":
        if value not in ("true", "false"):
            raise PayloadError(f"form field {key!r} should be true or false, got {value[:40]!r}")
        return value == "true"
    try:
        return json.loads(value)
    except ValueError:
        raise PayloadError(f"form field {key!r} should hold JSON text, got {value[:40]!r}") from None


_CHECKS: dict[Kind, tuple[type, ...]] = {
    "str": (str,), "nullable-str": (str, type(None)), "int": (int,), "bool": (bool,), "json": (object,),
}


def _check_type(cls: type[_Delivery], key: str, value: Any, kind: Kind) -> Any:
    if kind == "int" and isinstance(value, bool) or not isinstance(value, _CHECKS[kind]):
        raise PayloadError(f"{cls.format} payload field {key!r} should be {kind}, got {type(value).__name__}")
    return value


def build_event(
    body: Mapping[str, Any], *, content_type: str = "", from_form: bool = False,
    webhook_id: str = "", webhook_timestamp: datetime | None = None,
) -> WebhookEvent:
    """The typed event for a decoded body (a form's values are still text: ``from_form``)."""
    cls = detect_format(body, content_type)
    values: dict[str, Any] = {}
    for key, attribute, kind, required in cls._fields:
        if key not in body:
            if required:
                raise PayloadError(f"{cls.format} payload lacks the field {key!r}")
            continue
        value = body[key]
        values[attribute] = _decode_form_value(key, value, kind) if from_form else _check_type(cls, key, value, kind)
    raw = dict(body)
    if from_form:
        raw = {**raw, **{key: values[attr] for key, attr, _, _ in cls._fields if attr in values}}
    known = {f.name for f in fields(cls)}
    assert set(values) <= known
    return cls(webhook_id=webhook_id, webhook_timestamp=webhook_timestamp, raw=raw, **values)  # type: ignore[return-value]


def parse_body(text: str, content_type: str = "") -> tuple[dict[str, Any], bool]:
    """The body as a dict, and whether it came from a form. The content type decides; without one,
    a body starting with ``{`` is JSON and anything else is tried as a form."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    is_form = media_type == FORM or (not media_type and not text.lstrip().startswith("{"))
    if is_form:
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
        except ValueError:
            raise PayloadError("the body is not a valid application/x-www-form-urlencoded form") from None
        body: dict[str, Any] = {}
        for key, value in pairs:
            if key in body:
                raise PayloadError(f"form field {key!r} appears more than once")
            body[key] = value
        return body, True
    try:
        decoded = json.loads(text)
    except ValueError as exc:
        raise PayloadError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(decoded, dict):
        raise PayloadError(f"the body is JSON but not an object (it is a {type(decoded).__name__})")
    return decoded, False
