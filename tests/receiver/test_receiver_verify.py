"""hookdoor.receiver.verify against bodies made by the server's own payload and signing code."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import WebhookVerificationError as StandardError

from hookdoor.delivery import payloads
from hookdoor.receiver import (
    CasdoorRecord,
    CloudEvent,
    HookdoorEvent,
    PayloadError,
    SignatureError,
    TimestampError,
    WebhookVerificationError,
    signed_headers,
    verify,
)
from hookdoor.webhooks.signing import generate_secret, standard_headers

SECRET = generate_secret()
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"


def login_event(**changes: Any) -> dict[str, Any]:
    event = {
        "id": "01JABCDEF0123456789ABCDEFG", "action": "login", "organization": "built-in",
        "actor": "built-in/alice", "subject": "built-in/alice", "outcome": "ok", "status_code": 200,
        "message": "", "created_at": NOW,
        "user": {"id": "u-1", "owner": "built-in", "name": "alice", "email": "alice@example.com",
                 "displayName": "Alice"},
        "object": {"owner": "built-in", "name": "alice", "password": "***"},
        "request": {"method": "POST", "uri": "/api/login", "clientIp": "127.0.0.1", "userAgent": "t",
                    "language": "en", "body": {"username": "alice", "password": "***"}, "bodyEncoding": "json"},
    }
    return {**event, **changes}


def delivered(fmt: str, content_type: str = "application/json", secrets: list[str] | None = None,
              event: dict[str, Any] | None = None, at: datetime = NOW) -> tuple[dict[str, str], bytes]:
    webhook = {"payloadFormat": fmt, "contentType": content_type}
    body = payloads.encode(payloads.render(event or login_event(), webhook), content_type)
    headers = standard_headers("msg_1", at, body, secrets or [SECRET])
    headers["Content-Type"] = payloads.content_type_header(content_type)
    return headers, body


@pytest.mark.parametrize("content_type", ["application/json", FORM])
def test_hookdoor_format(content_type: str) -> None:
    headers, body = delivered("hookdoor", content_type)
    event = verify(headers, body, SECRET, now=NOW)
    assert isinstance(event, HookdoorEvent)
    assert (event.event, event.event_type, event.timestamp) == ("login", "login", int(NOW.timestamp()))
    assert event.user == {"id": "u-1", "owner": "built-in", "username": "alice", "email": "alice@example.com",
                          "displayName": "Alice"}
    assert event.username == "alice"
    assert event.object == {"owner": "built-in", "name": "alice", "password": "***"}
    assert event.request["uri"] == "/api/login" and event.outcome == "ok" and event.error is None
    assert event.webhook_id == "msg_1" and event.webhook_timestamp == NOW and not event.duplicate
    assert event.raw["user"]["username"] == "alice"


@pytest.mark.parametrize("content_type", ["application/json", FORM])
def test_casdoor_format(content_type: str) -> None:
    headers, body = delivered("casdoor", content_type)
    record = verify(headers, body, SECRET, now=NOW)
    assert isinstance(record, CasdoorRecord)
    assert (record.id, record.action, record.user, record.organization) == (0, "login", "alice", "built-in")
    assert record.request_uri == "/api/login" and record.status_code == 200 and record.is_triggered is False
    assert record.object_data == {"username": "alice", "password": "***"}  # the request body, as in Casdoor
    assert record.response == '{status:"ok", msg:""}' and record.event_type == "login"


def test_cloudevent_without_a_subject() -> None:
    """The attribute is left out when the event has no subject; the SDK reads it as None."""
    headers, body = delivered("cloudevents", event=login_event(action="webhook-test", subject=None))
    assert b'"subject"' not in body.split(b'"data"')[0]
    event = verify(headers, body, SECRET, now=NOW)
    assert isinstance(event, CloudEvent) and event.subject is None and event.event_type == "webhook-test"


@pytest.mark.parametrize("content_type", ["application/json", FORM])
def test_cloudevents_format(content_type: str) -> None:
    headers, body = delivered("cloudevents", content_type, event=login_event(action="mfa/setup/enable"))
    event = verify(headers, body, SECRET, now=NOW)
    assert isinstance(event, CloudEvent)
    assert event.type == "io.hookdoor.mfa.setup.enable" and event.event_type == "mfa/setup/enable"
    assert event.specversion == "1.0" and event.subject == "built-in/alice"
    assert event.data["event"] == "mfa/setup/enable"


def test_cloudevents_form_with_null_subject() -> None:
    headers, body = delivered("cloudevents", FORM, event=login_event(subject=None))
    event = verify(headers, body, SECRET, now=NOW)
    assert isinstance(event, CloudEvent) and event.subject is None


def test_failed_action_carries_error() -> None:
    headers, body = delivered("hookdoor", event=login_event(outcome="error", status_code=401, message="nope"))
    event = verify(headers, body, SECRET, now=NOW)
    assert event.outcome == "error" and event.error == {"status": 401, "message": "nope"}


def test_rotation_any_secret_matches() -> None:
    old, new = generate_secret(), generate_secret()
    headers, body = delivered("hookdoor", secrets=[new, old])
    assert verify(headers, body, [old], now=NOW).event == "login"
    assert verify(headers, body, [new], now=NOW).event == "login"
    assert verify(headers, body, [generate_secret(), old], now=NOW).event == "login"
    with pytest.raises(SignatureError, match="secrets given"):
        verify(headers, body, [generate_secret(), generate_secret()], now=NOW)


def test_tampered_body_and_wrong_secret() -> None:
    headers, body = delivered("hookdoor")
    with pytest.raises(SignatureError):
        verify(headers, body.replace(b"alice", b"malory"), SECRET, now=NOW)
    with pytest.raises(SignatureError, match="wrong secret"):
        verify(headers, body, generate_secret(), now=NOW)


def test_missing_headers() -> None:
    headers, body = delivered("hookdoor")
    del headers["webhook-signature"]
    with pytest.raises(SignatureError, match="missing header webhook-signature"):
        verify(headers, body, SECRET, now=NOW)
    with pytest.raises(SignatureError, match="missing headers webhook-id, webhook-timestamp, webhook-signature"):
        verify({}, body, SECRET, now=NOW)


def test_headers_are_case_insensitive_and_may_be_pairs() -> None:
    headers, body = delivered("hookdoor")
    upper = [(key.upper(), value) for key, value in headers.items()]
    assert verify(upper, body, SECRET, now=NOW).event == "login"
    assert verify(headers, body.decode(), SECRET, now=NOW).event == "login"


def test_stale_and_future_timestamps() -> None:
    headers, body = delivered("hookdoor")
    assert verify(headers, body, SECRET, now=NOW + timedelta(minutes=4)).event == "login"
    with pytest.raises(TimestampError, match="600 s ago"):
        verify(headers, body, SECRET, now=NOW + timedelta(minutes=10))
    with pytest.raises(TimestampError, match="in the future"):
        verify(headers, body, SECRET, now=NOW - timedelta(minutes=10))
    assert verify(headers, body, SECRET, now=NOW + timedelta(minutes=10), tolerance=timedelta(hours=1))


def test_malformed_timestamp() -> None:
    headers, body = delivered("hookdoor")
    headers["webhook-timestamp"] = "yesterday"
    with pytest.raises(TimestampError, match="not a Unix time"):
        verify(headers, body, SECRET, now=NOW)


def test_signature_checked_before_timestamp() -> None:
    """A forged message is a SignatureError even when it is also stale: only authentic ones are 'stale'."""
    headers, body = delivered("hookdoor")
    with pytest.raises(SignatureError):
        verify(headers, body, generate_secret(), now=NOW + timedelta(days=1))


def test_unknown_signature_versions_are_skipped() -> None:
    headers, body = delivered("hookdoor")
    headers["webhook-signature"] = "v1a,Zm9v garbage v1,@@@ " + headers["webhook-signature"]
    assert verify(headers, body, SECRET, now=NOW).event == "login"


@pytest.mark.parametrize(("body", "content_type", "message"), [
    (b'["a list"]', "application/json", "not an object"),
    (b"{not json", "application/json", "not valid JSON"),
    (b'{"hello": "world"}', "application/json", "none of Hookdoor's payload formats"),
    (b'{"event": "login", "timestamp": "soon", "id": "x"}', "application/json", "'timestamp' should be int"),
    (b'{"event": "login", "timestamp": 1}', "application/json", "lacks the field 'id'"),
    (b"event=login&timestamp=x&id=1", FORM, "should be an integer"),
    (b"event=login&event=logout&timestamp=1&id=1", FORM, "more than once"),
    (b"\xff\xfe", "application/json", "not UTF-8"),
])
def test_payload_errors(body: bytes, content_type: str, message: str) -> None:
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(int(NOW.timestamp())), "content-type": content_type}
    if message != "not UTF-8":
        headers.update(signed_headers(body, SECRET, msg_id="msg_2", timestamp=NOW, content_type=content_type))
    else:
        headers["webhook-signature"] = "v1,AAAA"
    with pytest.raises(PayloadError, match=message):
        verify(headers, body, SECRET, now=NOW)


def test_format_detected_without_content_type() -> None:
    for content_type in ("application/json", FORM):
        headers, body = delivered("casdoor", content_type)
        del headers["Content-Type"]
        assert isinstance(verify(headers, body, SECRET, now=NOW), CasdoorRecord)


def test_error_hierarchy() -> None:
    for error in (SignatureError, TimestampError, PayloadError):
        assert issubclass(error, WebhookVerificationError) and issubclass(error, StandardError)
    assert (SignatureError.status_code, TimestampError.status_code, PayloadError.status_code) == (401, 401, 400)


def test_bad_secret_is_a_value_error() -> None:
    headers, body = delivered("hookdoor")
    with pytest.raises(ValueError, match="at least one"):
        verify(headers, body, [], now=NOW)
    with pytest.raises(ValueError, match="at least one"):
        verify(headers, body, "", now=NOW)


def test_core_sdk_imports_no_framework_or_server_code() -> None:
    code = ("import sys, hookdoor.receiver; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('fastapi', 'flask', 'django', 'starlette', 'sqlalchemy', 'pydantic', 'aiohttp', 'typer')]; "
            "print(bad); raise SystemExit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mistyped_secret_is_refused_not_silently_another_key() -> None:
    headers, body = delivered("hookdoor")
    with pytest.raises(ValueError, match="standard base64"):
        verify(headers, body, "whsec_not-a-secret!", now=NOW)
    raw_key = __import__("base64").b64decode(SECRET.removeprefix("whsec_"))
    assert verify(headers, body, raw_key, now=NOW).event == "login"
    assert verify(headers, body, SECRET.removeprefix("whsec_").rstrip("="), now=NOW).event == "login"
