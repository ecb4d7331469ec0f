"""Casdoor's add-ticket-message, and the console's message form on a ticket's page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from hookdoor.api.context import ApiContext, context_of
from hookdoor.api.envelope import json_object, ok
from hookdoor.console.web import ConsoleRoute, acting, read_form, redirect
from hookdoor.errors import HookdoorError, NotAuthenticated
from hookdoor.tickets.service import Tickets

router = APIRouter(prefix="/api", tags=["tickets"])
pages = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
MESSAGE_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}}}}


@router.post("/add-ticket-message", openapi_extra=MESSAGE_BODY)
async def add_ticket_message(
    context: ApiContext = Depends(context_of("add-ticket-message"), scope="function"),
    id: str = Query(..., max_length=201, description="owner/name of the ticket"),
) -> dict[str, Any]:
    """Add a message to the ticket's thread: its reporter or an administrator of its organization.
    The server writes the author, the time and whether the author is an administrator."""
    tickets = Tickets(context)
    context.require_login()  # before the body is read
    return ok(await tickets.add_message(id, await json_object(context.request)))


@pages.post("/console/tickets/{owner}/{name}/messages")
async def add_message_from_console(request: Request, owner: str, name: str) -> Response:
    """The ticket page's thread form: the API's add-ticket-message, back to the thread."""
    form = await read_form(request)
    page = f"/console/tickets/{owner}/{name}"
    try:
        async with acting(request, "add-ticket-message", form) as context:
            await Tickets(context).add_message(f"{owner}/{name}", {"text": form.get("text")})
    except HookdoorError as exc:
        if isinstance(exc, NotAuthenticated):
            raise
        return redirect(page, messageError=exc.message)
    return redirect(page, notice="message-added")
