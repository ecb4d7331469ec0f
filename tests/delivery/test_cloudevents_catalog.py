"""Every event the catalog has, rendered as a CloudEvent, passes the CloudEvents SDK's strict parser."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http_event

from hookdoor.delivery import payloads
from hookdoor.events.catalog import CATALOG
from hookdoor.events.ids import new_ulid

WEBHOOK = {"owner": "built-in", "name": "ce", "organization": "built-in", "payloadFormat": "cloudevents"}
# The least an event can carry: no subject, no user, no object, no organization (the test event,
# an anonymous read) - the attributes that have no value must be left out, not sent empty.
BARE = {"actor": "", "subject": None, "user": None, "object": None, "organization": "", "message": "",
        "outcome": "ok", "status_code": 200, "request": {"method": "GET", "uri": "/api/health"}}


def _delivered(event: dict[str, Any]) -> Any:
    body = payloads.body(event, WEBHOOK)
    headers = {"Content-Type": payloads.content_type_header("application/cloudevents+json")}
    return from_http_event(HTTPMessage(headers=headers, body=body))


@pytest.mark.parametrize("subject", [None, "", "built-in/admin"])
def test_every_catalog_event_is_a_valid_cloudevent(subject: str | None) -> None:
    for event_type in CATALOG:
        event = {**BARE, "id": new_ulid(), "action": event_type.name, "subject": subject,
                 "created_at": datetime.now(UTC)}
        parsed = _delivered(event)
        assert parsed.get_type() == "io.hookdoor." + event_type.name.replace("/", ".")
        assert parsed.get_id() == event["id"]
        assert parsed.get_subject() == (subject or None)
        assert parsed.get_data()["event"] == event_type.name


def test_a_failed_event_is_a_valid_cloudevent() -> None:
    event = {**BARE, "id": new_ulid(), "action": "login", "outcome": "error", "status_code": 401,
             "message": "password or username is incorrect", "created_at": datetime.now(UTC)}
    assert _delivered(event).get_data()["error"] == {"status": 401, "message": "password or username is incorrect"}
