"""Casdoor's service routes (controllers/service.go): send-email, send-sms, send-notification.

For applications (client credentials) and administrators. ``?provider=<name>`` picks the provider
(the SDK's ``send_email_by_provider``); otherwise the caller's application's provider of the category.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from hookdoor.api.context import ApiContext, api_context
from hookdoor.api.envelope import json_object, ok
from hookdoor.console.web import ConsoleRoute, acting, read_form, redirect, viewing
from hookdoor.errors import HookdoorError, NotAuthenticated, NotFound
from hookdoor.identity.registry import kind
from hookdoor.identity.service import ObjectService
from hookdoor.messaging.service import TEST_ACTIONS, Messaging, send_test

router = APIRouter(prefix="/api", tags=["notifications"])
pages = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Context = Depends(api_context, scope="function")
ProviderName = Query("", max_length=100, description="The provider to send with; the application's by default")


def _body(*required: str, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    properties: dict[str, Any] = {name: {"type": "string"} for name in required}
    properties.update({name: {"type": "array", "items": {"type": "string"}} for name in lists})
    schema = {"type": "object", "properties": properties, "required": [*required, *lists]}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.post("/send-email", openapi_extra=_body("title", "content", "sender", lists=("receivers",)))
async def send_email(context: ApiContext = Context, provider: str = ProviderName) -> dict[str, Any]:
    """Casdoor's EmailForm; the receiver "TestSmtpServer" alone only tests the provider's server."""
    await Messaging(context).send_email(await json_object(context.request), provider)
    return ok()


@router.post("/send-sms", openapi_extra=_body("content", lists=("receivers",)))
async def send_sms(context: ApiContext = Context, provider: str = ProviderName) -> dict[str, Any]:
    await Messaging(context).send_sms(await json_object(context.request), provider)
    return ok()


@router.post("/send-notification", openapi_extra=_body("content", "recipient"))
async def send_notification(context: ApiContext = Context, provider: str = ProviderName) -> dict[str, Any]:
    await Messaging(context).send_notification(await json_object(context.request), provider)
    return ok()


@pages.post("/console/providers/{owner}/{name}/test")
async def send_a_test(request: Request, owner: str, name: str) -> Response:
    """The provider page's "Send a test": back to the page, with the provider's error if it failed."""
    form = await read_form(request)
    page = f"/console/providers/{owner}/{name}"
    async with viewing(request) as context:
        provider = await ObjectService(context, kind("provider")).get(owner, name)
    if provider is None or provider.get("category") not in TEST_ACTIONS:
        raise NotFound(f"provider {owner}/{name} does not exist or sends nothing")
    receiver = form.get("receiver")
    try:
        async with acting(request, TEST_ACTIONS[provider["category"]], form) as context:
            await send_test(context, provider, receiver.strip() if isinstance(receiver, str) else "")
    except HookdoorError as exc:
        if isinstance(exc, NotAuthenticated):
            raise
        return redirect(page, testError=exc.message)
    return redirect(page, notice="test-sent")
