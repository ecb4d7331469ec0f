"""The event log: every recorded event, filtered by event, organization, user, outcome and time, each
linked to its deliveries. Events outlive what they are about, so a deleted user's events are found here.

Administrators read their organization's events; global administrators every organization's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from hookdoor.api.context import ApiContext
from hookdoor.console.identity_pages import PAGE_SIZE, organization_names, page_number
from hookdoor.console.repository import deliveries_of_event, event_by_id, event_log
from hookdoor.console.web import ConsoleRoute, render, viewing
from hookdoor.errors import BadRequest, Forbidden, NotFound
from hookdoor.events.catalog import CATALOG
from hookdoor.identity.registry import BUILT_IN_ORG, GLOBAL_OWNER
from hookdoor.webhooks.control import parse_time, shown_state

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
FILTERS = ("event", "organization", "user", "outcome", "since", "until")
OUTCOMES = ("ok", "error")


def _require_admin(context: ApiContext) -> None:
    if not context.principal.is_org_admin:
        raise Forbidden("only administrators read the event log")


def _moment(value: str, field: str) -> Any:
    """A datetime-local value is UTC (the form says so)."""
    value = value.strip()
    if value and len(value) <= 19 and "T" in value:
        value += "Z"
    return parse_time(value, field)


def _query(context: ApiContext, shown: dict[str, str]) -> dict[str, Any]:
    principal = context.principal
    if shown["organization"] and not principal.manages(shown["organization"]):
        raise Forbidden(f"you may not read the events of organization {shown['organization']!r}")
    if shown["outcome"] and shown["outcome"] not in OUTCOMES:
        raise BadRequest("invalid parameter outcome: must be ok or error")
    query: dict[str, Any] = {**shown, "since": _moment(shown["since"], "since"),
                             "until": _moment(shown["until"], "until")}
    if not principal.is_global_admin:
        query["organization"] = principal.organization
    return query


@router.get("/console/events")
async def list_events(request: Request) -> Response:
    params = request.query_params
    shown = {name: params.get(name, "")[:201].strip() for name in FILTERS}
    number = page_number(params.get("p"))
    async with viewing(request) as context:
        _require_admin(context)
        error, rows, total = None, [], 0
        try:
            rows, total = await event_log(context.db, _query(context, shown), number, PAGE_SIZE)
        except BadRequest as exc:
            error = exc.message
        return render(
            request, "events/list.html", status_code=400 if error else 200, rows=rows, total=total,
            number=number, pages=max(1, -(-total // PAGE_SIZE)), filters=shown, filter_error=error,
            outcomes=OUTCOMES, event_names=[e.name for e in CATALOG],
            organizations=await organization_names(context, managed=True), active="events",
        )


def _webhook_organization(owner: str) -> str:
    return BUILT_IN_ORG if owner == GLOBAL_OWNER else owner


@router.get("/console/events/{event_id}")
async def show_event(request: Request, event_id: str) -> Response:
    async with viewing(request) as context:
        _require_admin(context)
        event = await event_by_id(context.db, event_id)
        if event is None or not context.principal.manages(event["organization"]):
            raise NotFound(f"event {event_id!r} does not exist")
        sent = [{**d, "shown_state": shown_state(d)} for d in await deliveries_of_event(context.db, event_id)
                if context.principal.manages(_webhook_organization(d["webhook_owner"]))]
        return render(request, "events/show.html", event=event, deliveries=sent, active="events")
