"""Which webhooks an event goes to, and the delivery rows that carry it there."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from hookdoor.db.types import parse_rfc3339
from hookdoor.delivery import payloads
from hookdoor.events.catalog import selector_matches
from hookdoor.identity.registry import BUILT_IN_ORG
from hookdoor.webhooks.signing import new_message_id

_MISSING = object()


def _in_scope(webhook: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """A webhook sees its organization's events; a global one (built-in, not singleOrgOnly) sees all."""
    organization = webhook.get("organization") or webhook.get("owner")
    if organization == event["organization"]:
        return True
    return organization == BUILT_IN_ORG and not webhook.get("singleOrgOnly")


def _path_value(payload: Mapping[str, Any], path: str) -> Any:
    value: Any = payload
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def passes_filter(webhook: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
    return all(_path_value(payload, path) == expected for path, expected in (webhook.get("filter") or {}).items())


def subscribes(webhook: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    if not webhook.get("isEnabled"):
        return False
    if event["outcome"] != "ok" and not webhook.get("includeFailures"):
        return False
    if not _in_scope(webhook, event):
        return False
    return any(selector_matches(selector, event["action"]) for selector in webhook.get("events") or [])


def delivery_row(
    event: Mapping[str, Any], webhook: Mapping[str, Any], body: bytes, now: datetime, trigger: str = "event"
) -> dict[str, Any]:
    return {
        "id": new_message_id(),
        "event_id": event["id"],
        "action": event["action"],
        "webhook_owner": webhook["owner"],
        "webhook_name": webhook["name"],
        "organization": event["organization"],
        "state": "pending",
        "ordered": bool(webhook.get("ordered")),
        "trigger": trigger,
        "payload": body.decode(),
        "attempts": 0,
        "next_attempt_at": now,
        "lease_owner": None,
        "lease_expires_at": None,
        "last_status": None,
        "last_error": None,
        "created_at": now,
        "updated_at": now,
    }


class Planner:
    """The deliveries of events to a set of webhooks, event by event (the webhooks' creation times and
    payload shapes are worked out once). A webhook gets only events from after its creation, even if
    they were dispatched after it."""

    def __init__(self, webhooks: Iterable[dict[str, Any]], now: datetime) -> None:
        self.now = now
        self._enabled = [
            (webhook, parse_rfc3339(webhook.get("createdTime") or ""), payloads.shape(webhook))
            for webhook in webhooks if webhook.get("isEnabled")
        ]

    def deliveries(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """One delivery per subscribed webhook, its payload rendered in the webhook's format."""
        rows = []
        bodies: dict[str, bytes] = {}  # by shape: ten webhooks alike render an event once
        for webhook, created, shape in self._enabled:
            if (created and event["created_at"] < created) or not subscribes(webhook, event):
                continue
            if webhook.get("filter") and not passes_filter(webhook, payloads.hookdoor_payload(event, webhook)):
                continue
            if shape not in bodies:
                bodies[shape] = payloads.body(event, webhook)
            rows.append(delivery_row(event, webhook, bodies[shape], self.now))
        return rows

