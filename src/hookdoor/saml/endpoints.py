"""SAML at Casdoor's paths.

Hookdoor as an application's IdP: ``/api/saml/metadata`` (event ``saml/metadata``), the SSO endpoint
``/login/saml/authorize/<owner>/<application>`` (Redirect binding; the sign-in page first when signed
out; event ``login`` with the user), and ``/api/saml/redirect/<owner>/<application>`` (POST binding:
on to the SSO endpoint). The Response goes to the service provider's ACS by the POST binding: a page
whose form the browser submits by itself.

Hookdoor as service provider: the sign-in page's provider buttons (``/login/provider/<name>``, the
federation's) or ``/api/get-saml-login`` send the browser to the upstream IdP; its Response comes back
to ``/api/acs`` (event ``acs``, with ``login`` and ``new-user`` as the federation records them).
pysaml2 and xmlsec1 do their work before any transaction opens.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hookdoor.api.context import ApiContext, api_context, context_of, unit_of_work
from hookdoor.api.envelope import form_or_json, ok
from hookdoor.console.web import ConsoleRoute, origin_of, read_form, render, safe_next, viewing
from hookdoor.errors import BadRequest, HookdoorError
from hookdoor.federation.endpoints import BROWSER_COOKIE, finish_sign_in, with_browser_cookie
from hookdoor.federation.schemas import SIGN_IN
from hookdoor.federation.service import Arrival, application_named, depart, offered
from hookdoor.identity.registry import kind
from hookdoor.oauth.service import issuer_of_request
from hookdoor.saml import service
from hookdoor.saml.schemas import SamlUpstream

router = APIRouter(prefix="/api", tags=["saml"])
# The ACS answers the browser the IdP sent: redirects, or the sign-in page with what went wrong.
acs_pages = APIRouter(route_class=ConsoleRoute, tags=["saml"], default_response_class=HTMLResponse)
pages = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Context = Depends(api_context, scope="function")
Redirecting = Depends(context_of("saml/redirect"), scope="function")
USERS = kind("user")
BOUNCED = "hookdoor_bounced"
ACS_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "the same form posted again from this server's page (see below), or nothing to do"},
    303: {"description": "signed in: on to the page the sign-in began for"},
    400: {"description": "the sign-in page, with why the response was refused (signature, audience, "
                         "expiry, replay, no such sign-in)"},
}


def _relay_and_request(values: Any) -> tuple[str, str]:
    """Casdoor's front end passes them on as ``samlRequest`` / ``relayState``; SPs send the standard names."""
    encoded = values.get("SAMLRequest") or values.get("samlRequest") or ""
    relay = values.get("RelayState") or values.get("relayState") or ""
    return str(encoded), str(relay)


# ---- Hookdoor as identity provider ------------------------------------------------------------------

@router.get("/saml/metadata", response_class=Response,
            responses={200: {"content": {"application/xml": {}}, "description": "the IdP's signed metadata"}})
async def saml_metadata(request: Request, application: str = "", enablePostBinding: bool = False) -> Response:
    """The IdP metadata of ``application`` (``admin/<name>``), signed with the application's cert."""
    failure: HookdoorError | None = None
    document = ""
    try:
        owner, name = service.application_id(application)
        async with request.app.state.sessionmaker() as db:
            found, idp = await service.identity_provider(db, issuer_of_request(request), owner, name,
                                                         enablePostBinding)
        document = await service.metadata(idp)
    except HookdoorError as exc:
        failure = exc
    async with unit_of_work(request, "saml/metadata") as context:
        if failure is not None:
            raise failure
        context.action.concerns(obj={"application": application, "entityId": idp.entity_id,
                                     "singleSignOnService": idp.sso_url},
                                organization=found.get("organization") or "")
    return Response(document, media_type="application/xml")


REDIRECT_ANSWER: dict[int | str, dict[str, Any]] = {303: {"description": "on to the SSO endpoint of the sign-in page"}}


@router.get("/saml/redirect/{owner}/{application}", status_code=303, response_class=RedirectResponse,
            responses=REDIRECT_ANSWER)
async def saml_redirect(owner: str, application: str, context: ApiContext = Redirecting) -> RedirectResponse:
    """Casdoor's HandleSamlRedirect: the AuthnRequest in the query, on to the sign-in page's SSO endpoint."""
    return _on_to_sso(context, owner, application, dict(context.request.query_params))


@router.post("/saml/redirect/{owner}/{application}", status_code=303, response_class=RedirectResponse,
             responses=REDIRECT_ANSWER)
async def saml_redirect_posted(owner: str, application: str, context: ApiContext = Redirecting) -> RedirectResponse:
    """The POST binding's SSO endpoint (the metadata's with enablePostBinding): the same, from a form."""
    return _on_to_sso(context, owner, application, await form_or_json(context.request))


def _on_to_sso(context: ApiContext, owner: str, application: str, values: dict[str, Any]) -> RedirectResponse:
    encoded, relay = _relay_and_request(values)
    if not encoded:
        raise BadRequest("invalid parameter SAMLRequest: the service provider's AuthnRequest is missing")
    context.action.concerns(obj={"application": f"{owner}/{application}"})
    query = {"SAMLRequest": encoded, **({"RelayState": relay} if relay else {})}
    query.update({k: str(values[k]) for k in ("username", "login_hint") if values.get(k)})
    return RedirectResponse(f"/login/saml/authorize/{owner}/{application}?{urlencode(query)}", status_code=303)


def _sign_in_first(request: Request, application: dict[str, Any]) -> RedirectResponse:
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = urlencode({"organization": application.get("organization", ""), "application": application["name"],
                       "username": request.query_params.get("username") or request.query_params.get("login_hint")
                       or "", "next": back})
    return RedirectResponse(f"/login?{query}", status_code=303)


@pages.get("/login/saml/authorize/{owner}/{application}")
async def authorize(request: Request, owner: str, application: str) -> Response:
    """Sign the user in to the service provider: the AuthnRequest read, the signed Response posted to
    its ACS. A user not signed in to the application's organization signs in first, and comes back."""
    encoded, relay = _relay_and_request(request.query_params)
    async with viewing(request, login=False) as context:
        found, idp = await service.identity_provider(context.db, issuer_of_request(request), owner, application)
        principal = context.principal
        signed_in = principal.kind == "user" and principal.organization == found.get("organization")
        user = principal.user if signed_in else None
    if user is None:
        return _sign_in_first(request, found)
    failure: HookdoorError | None = None
    sp, acs, answer = "", "", ""
    try:
        saml_request = await service.authn_request(idp, encoded)
        sp = saml_request.issuer
        acs = service.reply_to(found, idp.settings, saml_request)
        answer = await service.signed_response(idp, saml_request, acs, user)
    except HookdoorError as exc:
        failure = exc
    async with unit_of_work(request, "login") as context:
        context.action.concerns(subject=USERS.mask(user, may_manage=False),
                                obj={"application": f"{owner}/{application}", "serviceProvider": sp, "acs": acs})
        if failure is not None:
            raise failure
    fields = [("SAMLResponse", answer)] + ([("RelayState", relay)] if relay else [])
    return render(request, "saml_post.html", form_targets=(origin_of(acs),), title="Signing you in", action=acs,
                  fields=fields, explanation=f"On to {sp}. If nothing happens, press Continue.")


# ---- Hookdoor as service provider ------------------------------------------------------------------

@router.get("/get-saml-login")
async def get_saml_login(response: Response, id: str = "", application: str = "", next: str = "",
                         context: ApiContext = Context) -> dict[str, Any]:
    """Casdoor's GetSamlLogin: the URL that signs in at provider ``id`` (``owner/name``) for
    ``application``, as ``data``, and ``"GET"`` (the Redirect binding) as ``data2``. The browser that
    follows it must be the one that got this answer (its cookie binds the sign-in)."""
    owner, _, name = id.partition("/")
    if not owner or not name:
        raise BadRequest(f"invalid parameter id: {id!r} is not a provider id (<owner>/<name>)")
    if not application:
        raise BadRequest("invalid parameter application: the application to sign in to is required")
    found = await offered(context.db, await application_named(context.db, application), name)
    if found.upstream.id != id or not isinstance(found.upstream, SamlUpstream):
        raise BadRequest(f"provider {id} is not a SAML provider application {application!r} offers")
    context.action.concerns(obj={"provider": id, "application": f"admin/{application}"})
    departure = await depart(context.db, found, SIGN_IN, "", safe_next(next),
                             context.request.cookies.get(BROWSER_COOKIE, ""))
    url = await service.sign_in_url(found.upstream, issuer_of_request(context.request), departure)
    with_browser_cookie(response, departure.browser, context.settings)
    return ok(url, "GET")


def _bounce(request: Request, form: Any) -> Response:
    """An IdP's cross-site POST carries no SameSite cookie, so the browser binding cannot be checked:
    the same form is posted again from this server's own page, which does carry it. Nothing changes."""
    fields = [(k, v) for k, v in form.multi_items() if isinstance(v, str) and k != BOUNCED] + [(BOUNCED, "1")]
    return render(request, "saml_post.html", title="Signing you in", action="/api/acs", fields=fields,
                  explanation="Finishing the sign-in. If nothing happens, press Continue.")


@acs_pages.post("/api/acs", responses=ACS_ANSWERS)
async def acs(request: Request) -> Response:
    """The upstream IdP's Response (POST binding): ``SAMLResponse`` and the sign-in's ``RelayState``."""
    form = await read_form(request)
    if not request.cookies.get(BROWSER_COOKIE) and form.get(BOUNCED) is None:
        return _bounce(request, form)
    encoded = form.get("SAMLResponse")
    relay = form.get("RelayState")
    issuer = issuer_of_request(request)

    async def provider_user(arrival: Arrival) -> Any:
        return await service.asserted_user(arrival, issuer, encoded if isinstance(encoded, str) else "")

    return await finish_sign_in(request, "acs", relay if isinstance(relay, str) else "", provider_user)
