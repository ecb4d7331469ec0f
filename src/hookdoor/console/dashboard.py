"""The dashboard: events per minute and delivery outcomes over the last hours, failing webhooks first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from hookdoor.console.charts import bar_chart, buckets, minute_key, regroup
from hookdoor.console.live import change_stream
from hookdoor.console.repository import dashboard_version, events_per_minute, outcomes_per_minute
from hookdoor.console.web import ConsoleRoute, redirect, render, segment, viewing
from hookdoor.console.webhook_pages import webhook_rows
from hookdoor.db.types import utcnow
from hookdoor.errors import Forbidden
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ListQuery
from hookdoor.identity.service import ObjectService
from hookdoor.webhooks.health import total

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
EVENTS_SPAN, EVENTS_STEP = timedelta(hours=3), timedelta(minutes=1)
DELIVERY_SPAN, DELIVERY_STEP = timedelta(hours=6), timedelta(minutes=15)
DELIVERY_SERIES = ("succeeded", "retrying", "failed")
STATE_ORDER = {"failing": 0, "disabled": 1, "new": 2, "healthy": 3}


def failing_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(row: dict[str, Any]) -> tuple[int, float, str]:
        rate = row["rate"] if row["rate"] is not None else 2.0
        return STATE_ORDER[row["state"]], rate, row["webhook"]["name"]
    return sorted(rows, key=key)


def _version_for(owners: set[str] | None, organization: str | None) -> Any:
    return lambda db: dashboard_version(db, owners, organization)


@router.get("/console/live")
async def dashboard_changes(request: Request) -> Response:
    async with viewing(request) as context:
        principal = context.principal
        if not principal.is_org_admin:
            raise Forbidden("only administrators see the dashboard")
        owners = None
        if not principal.is_global_admin:
            webhooks, _ = await ObjectService(context, kind("webhook")).list(ListQuery())
            owners = {w["owner"] for w in webhooks}
    return change_stream(request, _version_for(owners, None if principal.is_global_admin else principal.organization))


@router.get("/console")
async def dashboard(request: Request) -> Response:
    async with viewing(request) as context:
        principal = context.principal
        if not principal.is_org_admin:
            return redirect(f"/console/users/{segment(principal.organization)}/{segment(principal.name)}")
        organization = None if principal.is_global_admin else principal.organization
        webhooks, _ = await ObjectService(context, kind("webhook")).list(ListQuery())
        keys = None if principal.is_global_admin else [(w["owner"], w["name"]) for w in webhooks]
        owners = None if keys is None else {owner for owner, _ in keys}
        # Read before what the page shows, so that the live stream sees any change after it.
        version = await _version_for(owners, organization)(context.db)
        now = utcnow()
        minutes = buckets(now, EVENTS_SPAN, EVENTS_STEP)
        per_minute = await events_per_minute(context.db, minutes[0], organization)
        events_chart = bar_chart(minutes, [{"events": per_minute.get(minute_key(m), 0)} for m in minutes],
                                 ("events",), EVENTS_STEP, label_every=30)
        slots = buckets(now, DELIVERY_SPAN, DELIVERY_STEP)
        outcomes = regroup(await outcomes_per_minute(context.db, slots[0], keys), slots, DELIVERY_STEP)
        delivery_chart = bar_chart(slots, outcomes, DELIVERY_SERIES, DELIVERY_STEP, label_every=4)
        last_hour = sum(per_minute.get(minute_key(m), 0) for m in minutes[-60:])
        # The cards count over the chart's span, with the webhook pages' rules (webhooks.health).
        span_rows = await webhook_rows(context, webhooks, DELIVERY_SPAN)
        counts = total(row["counts"] for row in span_rows)
        rows = failing_first(await webhook_rows(context, webhooks))
        live = {"stream": "/console/live", "version": version}
        return render(
            request, "dashboard.html", events_chart=events_chart, delivery_chart=delivery_chart, rows=rows,
            last_hour=last_hour, counts=counts, rate=counts.success_rate, live=live,
            failing=sum(1 for r in rows if r["state"] in ("failing", "disabled")), active="dashboard",
        )
