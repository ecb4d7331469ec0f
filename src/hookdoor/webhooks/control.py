"""The webhook controls: its delivery log, resend, recover, test event, secret rotation, health."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from hookdoor.api.context import ApiContext
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.delivery import payloads
from hookdoor.delivery.dispatcher import delivery_row
from hookdoor.delivery.health import FORCED
from hookdoor.delivery.queue import health_of, insert_deliveries
from hookdoor.errors import BadRequest, Forbidden, NotFound
from hookdoor.events.ids import new_ulid
from hookdoor.events.recorder import caller_facts
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.webhooks.health import HEALTH_WINDOW, delivery_counts
from hookdoor.webhooks.repository import DeliveryQuery, DeliveryRepository
from hookdoor.webhooks.service import rotate_into
from hookdoor.webhooks.signing import generate_secret

WEBHOOKS = kind("webhook")
CASDOOR_STATES = {"pending": "Pending", "delivering": "Pending", "succeeded": "Success", "failed": "Failed"}


# A breaker puts a delivery off for 30 s at a time: one put off within this span means it is open now.
BREAKER_EVIDENCE = timedelta(seconds=75)


def shown_state(delivery: dict[str, Any]) -> str:
    """pending, retrying (attempted, waiting for the next try), delivering, succeeded or failed."""
    if delivery["state"] == "pending" and delivery["attempts"] > 0:
        return "retrying"
    return str(delivery["state"])


def casdoor_state(delivery: dict[str, Any]) -> str:
    if shown_state(delivery) == "retrying":
        return "Retrying"
    return CASDOOR_STATES[delivery["state"]]


def webhook_event_view(delivery: dict[str, Any]) -> dict[str, Any]:
    """A delivery in the shape of Casdoor's WebhookEvent, plus Hookdoor's own fields."""
    return {
        "owner": delivery["webhook_owner"],
        "name": delivery["id"],
        "createdTime": rfc3339(delivery["created_at"]),
        "webhookName": f"{delivery['webhook_owner']}/{delivery['webhook_name']}",
        "organization": delivery["organization"],
        "eventType": delivery["action"],
        "eventId": delivery["event_id"],
        "state": casdoor_state(delivery),
        "status": shown_state(delivery),
        "trigger": delivery["trigger"],
        "payload": delivery["payload"],
        "attemptCount": delivery["attempts"],
        "nextRetryTime": rfc3339(delivery["next_attempt_at"]) if delivery["state"] == "pending" else "",
        "lastStatusCode": delivery["last_status"] or 0,
        "lastError": delivery["last_error"] or "",
        "updatedTime": rfc3339(delivery["updated_at"]),
    }


def attempt_view(attempt: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": attempt["number"], "trigger": attempt["trigger"], "startedTime": rfc3339(attempt["started_at"]),
        "durationMs": attempt["duration_ms"], "url": attempt["request_url"],
        "requestHeaders": attempt["request_headers"], "statusCode": attempt["response_status"],
        "responseHeaders": attempt["response_headers"], "responseBody": attempt["response_body"],
        "error": attempt["error"] or "",
    }


def parse_time(value: str, field: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"invalid parameter {field}: expected an RFC 3339 time such as 2026-01-31T12:00:00Z") from None
    if moment.tzinfo is None:
        raise BadRequest(f"invalid parameter {field}: the time needs a zone, e.g. a trailing Z")
    return moment


class WebhookControl:
    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.deliveries = DeliveryRepository(context.db)
        self.webhooks = ObjectRepository(context.db, WEBHOOKS)

    async def managed_webhook(self, owner: str, name: str) -> dict[str, Any]:
        principal = self.context.require_login()
        webhook = await self.webhooks.get(owner, name)
        if webhook is None:
            raise NotFound(f"webhook {owner}/{name} does not exist")
        if not principal.manages(WEBHOOKS.organization_of(webhook)):
            raise Forbidden(f"you may not manage webhook {owner}/{name}")
        self.context.action.concerns(
            obj=WEBHOOKS.mask(webhook, may_manage=False), organization=WEBHOOKS.organization_of(webhook)
        )
        return webhook

    async def _managed_delivery(self, delivery_id: str) -> dict[str, Any]:
        delivery = await self.deliveries.get(delivery_id)
        if delivery is None:
            raise NotFound(f"delivery {delivery_id!r} does not exist "
                           "(see 'hookdoor deliveries list' or the webhook's page)")
        await self.managed_webhook(delivery["webhook_owner"], delivery["webhook_name"])
        return delivery

    async def log(self, query: DeliveryQuery) -> tuple[list[dict[str, Any]], int | None]:
        principal = self.context.require_login()
        if query.webhook:
            await self.managed_webhook(*query.webhook)
        elif not principal.is_global_admin:
            if not principal.is_org_admin:
                raise Forbidden("only administrators may read webhook events")
            query = replace(query, webhook_owner=principal.organization)
        rows, total = await self.deliveries.list(query)
        return [webhook_event_view(row) for row in rows], total

    async def detail(self, delivery_id: str) -> dict[str, Any]:
        delivery = await self._managed_delivery(delivery_id)
        view = webhook_event_view(delivery)
        view["attempts"] = [attempt_view(a) for a in await self.deliveries.attempts_of(delivery_id)]
        return view

    async def resend(self, delivery_id: str) -> None:
        delivery = await self._managed_delivery(delivery_id)
        if delivery["state"] == "delivering":
            raise BadRequest(f"delivery {delivery_id} is being delivered right now: "
                             "resend it once this attempt is over")
        await self.deliveries.requeue([delivery_id], trigger="manual")

    async def delete(self, delivery_id: str) -> bool:
        delivery = await self._managed_delivery(delivery_id)
        if delivery["state"] == "delivering":
            raise BadRequest(f"webhook event {delivery_id} is being delivered right now; delete it once it is done")
        return await self.deliveries.delete(delivery_id)

    async def recover(self, owner: str, name: str, since: datetime, until: datetime | None,
                      force: bool = False) -> list[str]:
        """Failed and retrying deliveries created in the window, due now (their ids); ``force``: past an
        open breaker."""
        webhook = await self.managed_webhook(owner, name)
        if not webhook.get("isEnabled"):
            reason = webhook.get("disabledReason") or "turned off"
            raise BadRequest(f"webhook {owner}/{name} is disabled ({reason}): nothing would be sent; enable it "
                             f"first (hookdoor webhooks enable {owner}/{name})")
        until = until or utcnow()
        if since >= until:
            raise BadRequest("invalid parameter since: must be before until")
        unsuccessful = await self.deliveries.unsuccessful_between((owner, name), since, until)
        return await self.deliveries.requeue(unsuccessful, trigger=FORCED if force else "manual")

    async def send_test(self, owner: str, name: str) -> str:
        """A webhook-test event, delivered to this webhook only, through the normal queue."""
        webhook = await self.managed_webhook(owner, name)
        now = utcnow()
        principal = self.context.principal
        event = {
            "id": new_ulid(), "action": "webhook-test", "organization": WEBHOOKS.organization_of(webhook),
            "actor": principal.ref, "subject": None, "outcome": "ok", "status_code": 200, "message": "",
            "user": None, "request": {**self.context.action.request, **caller_facts(principal)}, "created_at": now,
            "object": {"owner": owner, "name": name, "test": True, "message": "This is a test event from Hookdoor."},
        }
        body = payloads.body(event, webhook)
        row = delivery_row(event, webhook, body, now, trigger="test")
        await insert_deliveries(self.context.db, [row])
        return row["id"]

    async def rotate_secret(self, owner: str, name: str) -> str:
        webhook = await self.managed_webhook(owner, name)
        updated = dict(webhook)
        rotate_into(updated, webhook.get("signingSecret") or "", generate_secret())
        updated["updatedTime"] = rfc3339(utcnow())
        await self.webhooks.replace(owner, name, updated)
        return updated["signingSecret"]

    async def health(self, owner: str, name: str) -> dict[str, Any]:
        webhook = await self.managed_webhook(owner, name)
        health = await health_of(self.context.db, owner, name) or {}
        [counts] = (await delivery_counts(self.context.db, [(owner, name)])).values()
        held = await self.deliveries.held_by_breaker((owner, name), utcnow() - BREAKER_EVIDENCE)
        return {
            "isEnabled": bool(webhook.get("isEnabled")), "disabledReason": webhook.get("disabledReason", ""),
            "failureStreak": health.get("failure_streak", 0),
            "failingSince": _time_or_empty(health.get("failing_since")),
            "lastSuccessTime": _time_or_empty(health.get("last_success_at")),
            "lastFailureTime": _time_or_empty(health.get("last_failure_at")),
            "lastError": health.get("last_error") or "",
            "circuitBreaker": "open" if held else "closed",
            "deliveries": counts.view(HEALTH_WINDOW),
        }


def _time_or_empty(moment: datetime | None) -> str:
    return rfc3339(moment) if moment else ""

