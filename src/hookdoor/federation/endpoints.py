"""Sign-in through other providers, at Casdoor's paths: the sign-in page's provider buttons lead to
``/login/provider/<name>``, which sends the browser to the provider; the provider sends it back to
``/api/callback`` (or Casdoor's ``/callback``), which finishes the sign-in. ``/api/unlink`` removes a link.

The way back is where the work is, and where the ``callback`` event is recorded (with ``login`` for the
sign-in it makes, and ``new-user`` when it made the user). It talks to the provider before its
transaction opens, so that no write waits on another server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hookdoor.api.context import ApiContext, api_context, unit_of_work
from hookdoor.api.envelope import json_object, ok
from hookdoor.console.auth_pages import login_form, second_factor_page
from hookdoor.console.web import ConsoleRoute, read_form, safe_next, viewing
from hookdoor.errors import BadRequest, HookdoorError
from hookdoor.events.recorder import record
from hookdoor.federation import upstream
from hookdoor.federation.schemas import LINK, UpstreamFailed, UpstreamUser
from hookdoor.federation.service import (
    Arrival,
    Federation,
    application_named,
    arrive,
    callback_uri,
    depart,
    method_of,
    offered,
)
from hookdoor.identity import credentials
from hookdoor.mfa.service import Gate, SecondFactor, with_mfa_cookie
from hookdoor.oauth.service import issuer_of_request
from hookdoor.saml import service as saml_service
from hookdoor.saml.schemas import SamlUpstream

pages = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
# Where providers send the browser back: pages (redirects, or the sign-in page with the error), but
# Casdoor's API paths, so they are in the API's description.
callback_pages = APIRouter(route_class=ConsoleRoute, tags=["federation"], default_response_class=HTMLResponse)
router = APIRouter(prefix="/api", tags=["federation"])
Context = Depends(api_context, scope="function")
BROWSER_COOKIE = "hookdoor_provider_sign_in"
CALLBACK_ANSWERS: dict[int | str, dict[str, Any]] = {
    303: {"description": "signed in (or the provider linked): on to the page the sign-in began for"},
    400: {"description": "the sign-in page, with what went wrong (state, code, the provider's refusal)"},
}


@pages.get("/login/provider/{provider}")
async def go_to_provider(request: Request, provider: str) -> Response:
    """To the provider's sign-in, for the application ``application`` (method ``link``: to add the
    provider to the signed-in user's account)."""
    query = request.query_params
    method = method_of(query.get("method", ""))
    async with viewing(request, login=method == LINK) as context:
        found = await offered(context.db, await application_named(context.db, query.get("application", "")), provider)
        user_name = context.principal.name if method == LINK else ""
        departure = await depart(context.db, found, method, user_name, safe_next(query.get("next")),
                                 request.cookies.get(BROWSER_COOKIE, ""))
        await context.db.commit()
    if isinstance(found.upstream, SamlUpstream):
        target = await saml_service.sign_in_url(found.upstream, issuer_of_request(request), departure)
    else:
        target = upstream.authorization_url(found.upstream, callback_uri(issuer_of_request(request)),
                                            departure.state, departure.code_verifier)
    return with_browser_cookie(RedirectResponse(target, status_code=303), departure.browser, context.settings)


def with_browser_cookie(response: Response, browser: str, settings: Any) -> Response:
    """The cookie that binds a sign-in to the browser that started it. Lax: it comes back with the
    provider's top-level redirect, never with another site's POST (SAML's acs posts it again itself)."""
    response.set_cookie(BROWSER_COOKIE, browser, httponly=True, samesite="lax", max_age=600, path="/",
                        secure=settings.cookie_secure)
    return response


@callback_pages.get("/api/callback", responses=CALLBACK_ANSWERS)
@pages.get("/callback")
async def come_back(request: Request) -> Response:
    """The provider's answer: the sign-in's state, and its code or its error."""
    query = request.query_params

    async def provider_user(arrival: Arrival) -> UpstreamUser:
        return await _provider_user(request, arrival, query)

    return await finish_sign_in(request, "callback", query.get("state", ""), provider_user)


async def finish_sign_in(request: Request, event: str, state: str,
                         provider_user: Callable[[Arrival], Awaitable[UpstreamUser]]) -> Response:
    """The way back from any provider (OAuth's callback, SAML's acs): the sign-in ``state`` names,
    the user the provider vouches for (``provider_user``, which talks to nobody inside a transaction),
    then, in the ``event``'s transaction, that user found, linked or created and signed in."""
    arrival: Arrival | None = None
    failure: HookdoorError | None = None
    try:
        arrival = await _arrival(request, state)
        user = await provider_user(arrival)
    except HookdoorError as exc:
        failure = exc
    try:
        async with unit_of_work(request, event) as context:
            if failure is not None:
                raise failure
            assert arrival is not None
            landing = await Federation(context).land(arrival, user)
            session, gate = None, Gate()
            if landing.method != LINK:
                # As Casdoor: a user with MFA on gives the second factor after the provider too.
                gate = await SecondFactor(context).gate(landing.user, arrival.found.application)
            if landing.method != LINK and not gate.next_mfa:
                session = await credentials.open_session(context.db, landing.user, arrival.found.application["name"],
                                                         context.settings)
                await record(context.db, context.action.derived("login"), outcome="ok", status_code=200)
    except HookdoorError as exc:
        application = arrival.found.application["name"] if arrival else ""
        return await login_form(request, {"application": application, "organization": "", "username": "",
                                          "next": arrival.pending.next if arrival else "/console"}, exc)
    if gate.next_mfa:
        page = await second_factor_page(request, safe_next(landing.next), token=gate.token)
        response = with_mfa_cookie(page, gate.token, context.settings)
        response.delete_cookie(BROWSER_COOKIE, path="/")
        return response
    after = safe_next(landing.next)
    target = f"/console/account/security?{urlencode({'next': after, 'notice': 'mfa-required'})}"
    response = RedirectResponse(target if gate.setup_required else after, status_code=303)
    response.delete_cookie(BROWSER_COOKIE, path="/")
    return credentials.with_session_cookie(response, session.token, context.settings) if session else response


async def _arrival(request: Request, state: str) -> Arrival:
    async with request.app.state.sessionmaker() as db:
        try:
            return await arrive(db, state, request.cookies.get(BROWSER_COOKIE, ""))
        finally:
            await db.commit()  # the state is spent, whether or not the rest succeeds


async def _provider_user(request: Request, arrival: Arrival, query: Any) -> UpstreamUser:
    name = arrival.found.upstream.id
    if query.get("error"):
        detail = f": {query['error_description']}" if query.get("error_description") else ""
        raise UpstreamFailed(f"provider {name} did not sign you in ({query['error']}{detail})")
    code = query.get("code", "")
    if not code:
        raise BadRequest(f"invalid parameter code: provider {name} sent no code")
    return await upstream.signed_in_user(arrival.found.upstream, request.app.state.target_policy, code,
                                         callback_uri(issuer_of_request(request)), arrival.pending.code_verifier)


@callback_pages.post("/api/callback", responses={303: {"description": "on to GET /api/callback with the answer"}})
async def come_back_posted(request: Request) -> Response:
    """A provider answering with response_mode=form_post: the browser is sent on to the same answer as
    a GET (as Casdoor does), which carries the cookie binding the sign-in to it; this changes nothing."""
    form = await read_form(request)
    answer = ("code", "state", "error", "error_description")
    fields = {k: v for k, v in form.items() if k in answer and isinstance(v, str)}
    return RedirectResponse(f"/api/callback?{urlencode(fields)}", status_code=303)


@router.post("/unlink")
async def unlink(context: ApiContext = Context) -> dict[str, Any]:
    """Casdoor's unlink: ``{providerType, providerName, user}``; ``user`` left out means oneself."""
    await Federation(context).unlink(await json_object(context.request))
    return ok()

