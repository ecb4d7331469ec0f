"""Casdoor's invitation routes beyond the generic five: get-invitation-info, verify-invitation and
send-invitation; and the console's send form and sign-up link on an invitation's page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from hookdoor.api.context import ApiContext, context_of
from hookdoor.api.envelope import json_value, ok
from hookdoor.console.web import ConsoleRoute, acting, read_form, redirect
from hookdoor.errors import HookdoorError, NotAuthenticated
from hookdoor.invitations.service import Invitations

router = APIRouter(prefix="/api", tags=["invitations"])
pages = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
InvitationId = Query(..., max_length=201, description="owner/name of the invitation")
RECEIVERS_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "array", "items": {"type": "string", "format": "email"}, "minItems": 1}}}}}


@router.get("/get-invitation-info")
async def get_invitation_info(
    context: ApiContext = Depends(context_of("get-invitation-info"), scope="function"),
    code: str = Query("", max_length=100, description="The invitation code"),
    applicationId: str = Query(..., max_length=201, description="admin/<application>"),
) -> dict[str, Any]:
    """The invitation a code is, masked (no code, quota or count): for the sign-up page, anyone."""
    return ok(await Invitations(context).info(code.strip(), applicationId))


@router.get("/verify-invitation")
async def verify_invitation(
    context: ApiContext = Depends(context_of("verify-invitation"), scope="function"),
    id: str = InvitationId,
) -> dict[str, Any]:
    """Whether the invitation admits sign-ups now: the invitation and its places left, or why not."""
    invitation, left = await Invitations(context).verify(id)
    return ok(invitation, left)


@router.post("/send-invitation", openapi_extra=RECEIVERS_BODY)
async def send_invitation(
    context: ApiContext = Depends(context_of("send-invitation"), scope="function"),
    id: str = InvitationId,
) -> dict[str, Any]:
    """Mail the invitation's sign-up link and code to each address of the body (a JSON array)."""
    invitations = Invitations(context)
    await invitations.managed(id)  # before the body is read: a refused caller learns nothing of it
    await invitations.send(id, await json_value(context.request, "a JSON array of email addresses"))
    return ok()


@pages.post("/console/invitations/{owner}/{name}/send")
async def send_from_console(request: Request, owner: str, name: str) -> Response:
    """The invitation page's "Send": the API's send-invitation, back to the page with the outcome."""
    form = await read_form(request)
    page = f"/console/invitations/{owner}/{name}"
    given = form.get("receivers")
    text = given.replace(",", "\n") if isinstance(given, str) else ""
    receivers = [line.strip() for line in text.splitlines() if line.strip()]
    try:
        async with acting(request, "send-invitation", form) as context:
            await Invitations(context).send(f"{owner}/{name}", receivers)
    except HookdoorError as exc:
        if isinstance(exc, NotAuthenticated):
            raise
        return redirect(page, sendError=exc.message)
    return redirect(page, notice="invitation-sent")
