"""Routes for the event catalog and the webhook controls (Casdoor's names where Casdoor has them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from hookdoor.api.context import ApiContext, api_context
from hookdoor.api.envelope import affected, json_object, ok
from hookdoor.errors import BadRequest
from hookdoor.events.catalog import CATEGORIES, catalog_as_json
from hookdoor.identity.service import parse_id
from hookdoor.webhooks.control import WebhookControl, parse_time
from hookdoor.webhooks.repository import DeliveryQuery
from hookdoor.webhooks.states import STATES, STATES_IN_WORDS

router = APIRouter(prefix="/api", tags=["webhooks"])
Context = Depends(api_context, scope="function")
WebhookId = Query(..., max_length=201, description="owner/name of the webhook")


@router.get("/get-event-types")
async def get_event_types(
    context: ApiContext = Context, category: str = Query("", max_length=100)
) -> dict[str, Any]:
    context.require_login()
    if category and category not in CATEGORIES:
        raise BadRequest(f"invalid parameter category: unknown category {category!r}")
    types = [t for t in catalog_as_json() if not category or t["category"] == category]
    return ok(types, list(CATEGORIES))


@router.get("/get-webhook-events")
async def get_webhook_events(
    context: ApiContext = Context,
    webhook: str = Query("", max_length=201, description="owner/name of one webhook"),
    state: str = Query("", description=STATES_IN_WORDS),
    event: str = Query("", max_length=100, description="event name"),
    since: str = Query("", max_length=40), until: str = Query("", max_length=40),
    p: int | None = Query(None, ge=1, le=1_000_000), pageSize: int | None = Query(None, ge=1, le=1000),
) -> dict[str, Any]:
    if state and state not in STATES:
        raise BadRequest(f"invalid parameter state: must be one of {', '.join(STATES)}")
    query = DeliveryQuery(
        webhook=parse_id(webhook) if webhook else None, state=state or None, action=event or None,
        since=parse_time(since, "since"), until=parse_time(until, "until"), page=p, page_size=pageSize,
    )
    rows, total = await WebhookControl(context).log(query)
    return ok(rows, total)


@router.get("/get-webhook-event-detail")
async def get_webhook_event_detail(
    context: ApiContext = Context, id: str = Query(..., max_length=40, description="the webhook event's id")
) -> dict[str, Any]:
    return ok(await WebhookControl(context).detail(id))


@router.post("/replay-webhook-event")
async def replay_webhook_event(
    context: ApiContext = Context, id: str = Query(..., max_length=40, description="the webhook event's id")
) -> dict[str, Any]:
    """Send the delivery again, under the same webhook-id, as a new attempt."""
    await WebhookControl(context).resend(id)
    return affected(True)


@router.post("/delete-webhook-event")
async def delete_webhook_event(context: ApiContext = Context) -> dict[str, Any]:
    """Casdoor's body: the WebhookEvent, whose name is its id (here a delivery's)."""
    body = await json_object(context.request)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest("invalid field name: the webhook event's id is required")
    return affected(await WebhookControl(context).delete(name))


@router.post("/recover-webhook-deliveries")
async def recover_webhook_deliveries(
    context: ApiContext = Context, id: str = WebhookId,
    since: str = Query(..., max_length=40, description="RFC 3339 time"),
    until: str = Query("", max_length=40, description="RFC 3339 time; default now"),
    force: bool = Query(False, description="send even while the endpoint's circuit breaker is open"),
) -> dict[str, Any]:
    """Send again the failed and retrying deliveries created in the window."""
    start = parse_time(since, "since")
    if start is None:
        raise BadRequest("invalid parameter since: an RFC 3339 time is required")
    requeued = await WebhookControl(context).recover(*parse_id(id), start, parse_time(until, "until"), force)
    return ok(len(requeued), requeued)  # data: how many, as before; data2: which


@router.post("/test-webhook")
async def test_webhook(context: ApiContext = Context, id: str = WebhookId) -> dict[str, Any]:
    return ok(await WebhookControl(context).send_test(*parse_id(id)))


@router.post("/rotate-webhook-secret")
async def rotate_webhook_secret(context: ApiContext = Context, id: str = WebhookId) -> dict[str, Any]:
    """A new signing secret; the old one keeps signing beside it for 24 hours."""
    return ok(await WebhookControl(context).rotate_secret(*parse_id(id)))


@router.get("/get-webhook-health")
async def get_webhook_health(context: ApiContext = Context, id: str = WebhookId) -> dict[str, Any]:
    return ok(await WebhookControl(context).health(*parse_id(id)))
