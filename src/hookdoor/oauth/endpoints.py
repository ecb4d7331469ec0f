"""OAuth 2 at Casdoor's paths: the authorization endpoint (``/login/oauth/authorize``, a page) and the
token endpoint (RFC 6749: authorization_code with PKCE, password, client_credentials, refresh_token).

The token endpoint's errors keep RFC 6749's ``{error, error_description}`` shape, not Casdoor's
envelope. The authorization endpoint never redirects to a redirect URI the application does not list.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hookdoor.api.context import ApiContext, api_context, context_of, unit_of_work
from hookdoor.api.envelope import form_or_json, json_object, ok
from hookdoor.console.web import ConsoleRoute, acting, origin_of, read_form, render, viewing
from hookdoor.db.types import utcnow
from hookdoor.errors import BadRequest, Forbidden, HookdoorError, NotAuthenticated, OAuthError
from hookdoor.identity import credentials
from hookdoor.identity.account_endpoints import signed_in
from hookdoor.identity.accounts import APPLICATIONS, USERS, Accounts
from hookdoor.identity.principal import Principal
from hookdoor.identity.registry import BUILT_IN_ORG
from hookdoor.identity.repository import ObjectRepository
from hookdoor.mfa.service import SETUP_FIRST, password_grant_problem, require_sign_in_complete, setup_pending
from hookdoor.oauth import device, registration
from hookdoor.oauth.repository import purge_retired_tokens
from hookdoor.oauth.service import (
    ACCESS_TOKEN_TYPE,
    DEVICE_GRANT,
    SESSION_SCOPE,
    TOKEN_EXCHANGE,
    AuthorizationRefused,
    AuthorizationRequest,
    allows_device_login,
    authorization_request,
    exchanged_subject,
    introspection,
    issuer_of,
    laravel_user,
    pkce_matches,
    redirect_to_client,
    revoke_if_owned,
    scopes_to_consent,
    token_signer,
    userinfo_claims,
    with_consent,
)
from hookdoor.runtime import periodically

log = logging.getLogger(__name__)
PURGE_EVERY_SECONDS = 3600.0


async def _purge(app: FastAPI) -> None:
    async with app.state.sessionmaker() as db:
        removed = await purge_retired_tokens(db, utcnow())
        await db.commit()
    if removed:
        log.info("purged %d retired tokens", removed)


def _purging(app: FastAPI) -> contextlib.AbstractAsyncContextManager[None]:
    return periodically(lambda: PURGE_EVERY_SECONDS, lambda: _purge(app), name="hookdoor-token-purge",
                        failing="purge retired tokens", log=log)


# Its lifespan runs inside the app's own, after the migrations.
lifecycle = APIRouter(lifespan=_purging)
router = APIRouter(prefix="/api/login/oauth", tags=["oauth"])
user_router = APIRouter(prefix="/api", tags=["oauth"])
authorize_router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Context = Depends(api_context, scope="function")
GRANTS = ("authorization_code", "password", "client_credentials", "refresh_token", DEVICE_GRANT, TOKEN_EXCHANGE)


# ---- the authorization endpoint ---------------------------------------------------------------

def _signed_in_here(principal: Principal, request: AuthorizationRequest) -> bool:
    return principal.kind == "user" and principal.organization == request.application.get("organization")


def _sign_in_first(request: Request, auth: AuthorizationRequest) -> RedirectResponse:
    """To the sign-in page, and back here after; without ``prompt``, so that prompt=login asks once."""
    again = [(k, v) for k, v in request.query_params.multi_items() if k != "prompt"]
    back = f"{request.url.path}?{urlencode(again)}"
    query = urlencode({"organization": auth.application.get("organization", ""),
                       "application": auth.application["name"], "next": back})
    return RedirectResponse(f"/login?{query}", status_code=303)


@authorize_router.get("/login/oauth/authorize")
async def authorize(request: Request) -> Response:
    async with viewing(request, login=False) as context:
        auth = await authorization_request(context.db, request.query_params)
        try:
            auth.check()
        except AuthorizationRefused as exc:
            return _back_to_client(auth, exc.error, exc.description)
        signed_in = _signed_in_here(context.principal, auth)
        if signed_in and auth.prompt != "login":
            asked = scopes_to_consent(context.principal.user or {}, auth.application, auth.scope, auth.prompt)
            if asked and auth.prompt == "none":
                return _back_to_client(auth, "consent_required", "the user has not granted these scopes")
            if asked:
                return _consent_page(request, auth, context.principal.user or {}, asked)
    if not signed_in or auth.prompt == "login":
        if auth.prompt == "none":
            return _back_to_client(auth, "login_required", "the user is not signed in")
        return _sign_in_first(request, auth)
    async with viewing(request, login=False) as context:
        if await setup_pending(context.db, context.principal.user or {}):
            return _back_to_client(auth, "interaction_required", SETUP_FIRST)
    async with unit_of_work(request, "login") as context:
        answer = await authorization_answer(context, auth)
    return RedirectResponse(redirect_to_client(auth, **answer), status_code=303)


def _back_to_client(auth: AuthorizationRequest, error: str, description: str) -> RedirectResponse:
    return RedirectResponse(redirect_to_client(auth, error=error, error_description=description), status_code=303)


def _consent_page(request: Request, auth: AuthorizationRequest, user: dict[str, Any],
                  asked: list[dict[str, Any]]) -> Response:
    params = [(k, v) for k, v in auth.params.items() if k not in ("prompt", "csrf_token", "decision")]
    return render(request, "consent.html", form_targets=(origin_of(auth.redirect_uri),), application=auth.application,
                  user=user, scopes=asked, params=params)


@authorize_router.post("/login/oauth/authorize")
async def consent(request: Request) -> Response:
    """The consent page's answer: Allow records the grant (Casdoor's grant-consent) and sends a code;
    Deny sends the client access_denied. The request is checked again, as it came in the form."""
    form = await read_form(request)
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    async with viewing(request, login=False) as context:
        auth = await authorization_request(context.db, params)
    try:
        auth.check()
    except AuthorizationRefused as exc:
        return _back_to_client(auth, exc.error, exc.description)
    if params.get("decision") != "allow":
        return _back_to_client(auth, "access_denied", "the user denied consent")
    async with acting(request, "grant-consent", form) as context:
        if not _signed_in_here(context.principal, auth):
            raise NotAuthenticated()
        asked = scopes_to_consent(context.principal.user or {}, auth.application, auth.scope, "consent")
        await record_consent(context, auth.application, [s["scope"] for s in asked], grant=True)
        answer = await authorization_answer(context, auth)
    return RedirectResponse(redirect_to_client(auth, **answer), status_code=303)


async def record_consent(context: ApiContext, application: dict[str, Any], scopes: list[str], *, grant: bool) -> None:
    """The user's consent, stored on the user as Casdoor stores it (``applicationScopes``)."""
    user = context.principal.user or {}
    changed = with_consent(user, application, scopes, grant=grant)
    await ObjectRepository(context.db, USERS).replace(user["owner"], user["name"], changed)
    context.action.concerns(subject=USERS.mask(changed, may_manage=False),
                            obj={"application": f"admin/{application['name']}", "grantedScopes": scopes})


async def authorization_answer(context: ApiContext, auth: AuthorizationRequest) -> dict[str, str]:
    """What the authorization endpoint sends the signed-in user's browser back with: a code, tokens
    (the implicit grant: an access token, no refresh token), or both (OIDC's hybrid flow)."""
    types = auth.response_types
    await require_sign_in_complete(context.db, context.principal.user or {})
    code = await issue_code_for(context, auth) if "code" in types else ""
    answer = {"code": code} if code else {}
    if types & {"token", "id_token"}:
        started = await credentials.session_started_at(context.db, context.principal.session_token_hash)
        issued = await credentials.issue_token(context.db, token_signer(context), application=auth.application,
                                               user=context.principal.user, scope=auth.scope, nonce=auth.nonce,
                                               auth_time=started or None, code=code)
        if "token" in types:
            answer.update(access_token=issued.access_token, token_type="Bearer", expires_in=str(issued.expires_in),
                          scope=auth.scope)
        if "id_token" in types:
            answer["id_token"] = issued.id_token or ""
    return answer


async def issue_code_for(context: ApiContext, auth: AuthorizationRequest) -> str:
    """A code for the signed-in caller, bound to everything its exchange must repeat."""
    principal = context.principal
    user = principal.user or {}
    context.action.concerns(subject=USERS.mask(user, may_manage=False))
    await require_sign_in_complete(context.db, user)
    started = await credentials.session_started_at(context.db, principal.session_token_hash)
    grant = credentials.CodeGrant(scope=auth.scope, nonce=auth.nonce, code_challenge=auth.code_challenge,
                                  redirect_uri=auth.redirect_uri, auth_time=started)
    return await credentials.issue_code(context.db, application=auth.application["name"],
                                        organization=user["owner"], user=user["name"], grant=grant)


# ---- the token endpoint -----------------------------------------------------------------------

@dataclass(frozen=True)
class Client:
    application: dict[str, Any]
    public: bool  # identified by client_id alone: allowed only with a PKCE-bound code


def _client_credentials(context: ApiContext, form: dict[str, str]) -> tuple[str, str]:
    basic = credentials.basic_credentials(context.request)
    if basic is not None:
        return basic
    return form.get("client_id", ""), form.get("client_secret", "")


async def _client(context: ApiContext, form: dict[str, str], grant: str) -> Client:
    client_id, client_secret = _client_credentials(context, form)
    stored = await ObjectRepository(context.db, APPLICATIONS).find_by("clientId", client_id) if client_id else None
    # Without its secret a client is public: allowed with a PKCE-bound code, and for the device grant
    # (a device cannot keep a secret: RFC 8628 3.4).
    pkce = grant == "authorization_code" and bool(form.get("code_verifier"))
    public = not client_secret and (pkce or grant in (DEVICE_GRANT, "device-auth"))
    secret = stored.data.get("clientSecret") or "" if stored else ""
    if stored is None or not (public or credentials.secrets_equal(client_secret, secret)):
        raise OAuthError("invalid_client", "unknown client_id or wrong client_secret", 401)
    context.action.concerns(organization=stored.data.get("organization", ""))
    return Client(stored.data, public)


@dataclass(frozen=True)
class Grantee:
    organization: str
    user: str  # empty for client_credentials
    nonce: str = ""
    code_token: dict[str, Any] | None = None
    retired: dict[str, Any] | None = None  # the token a refresh rotated out
    device: dict[str, Any] | None = None  # the device authorization the user approved
    scope: str = ""  # the scope a token exchange settled on


async def _exchange_code(context: ApiContext, client: Client, form: dict[str, str]) -> Grantee:
    code = form.get("code", "")
    if not code:
        raise OAuthError("invalid_request", "code is required")
    try:
        token = await credentials.redeem_code(context.db, code, client.application["name"])
    except credentials.CodeReused as reused:
        issued = reused.issued  # the except block's name is gone by the time the failure is recorded
        context.write_even_if_failed(lambda db: credentials.revoke_token(db, issued))
        raise OAuthError("invalid_grant", "the code was already used; the tokens issued for it are revoked") from None
    if token is None:
        raise OAuthError("invalid_grant", "the code is invalid, expired, or not this client's")
    _check_binding(client, token, form)
    return Grantee(token["organization"], token["user"], token.get("nonce") or "", token)


def _check_binding(client: Client, token: dict[str, Any], form: dict[str, str]) -> None:
    """The exchange repeats what the code was issued for: its redirect URI, when the client sends one
    (Casdoor's SDKs send none, and Casdoor checks none), and its PKCE verifier."""
    given = form.get("redirect_uri", "")
    if token.get("redirectUri") and given and given != token["redirectUri"]:
        raise OAuthError("invalid_grant", "redirect_uri differs from the one the code was issued for")
    challenge = token.get("codeChallenge") or ""
    if challenge and not pkce_matches(form.get("code_verifier", ""), challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    if client.public and not challenge:
        raise OAuthError("invalid_client", "a client without its secret must use PKCE", 401)


async def _grantee(context: ApiContext, grant: str, form: dict[str, str], client: Client) -> Grantee:
    application = client.application
    if grant == "client_credentials":
        return Grantee(application.get("organization", ""), "")
    if grant == "password":
        try:
            stored = await Accounts(context).authenticate(
                application.get("organization", ""), form.get("username", ""), form.get("password", "")
            )
        except HookdoorError as exc:
            raise OAuthError("invalid_grant", exc.message) from None
        if problem := await password_grant_problem(context.db, stored.data):
            raise OAuthError("invalid_grant", problem)
        return Grantee(stored.data["owner"], stored.data["name"])
    if grant == "authorization_code":
        return await _exchange_code(context, client, form)
    if grant == TOKEN_EXCHANGE:
        subject = await exchanged_subject(context.db, application, form.get("subject_token", ""),
                                          form.get("subject_token_type", ""), form.get("scope", ""))
        return Grantee(subject.organization, subject.user, scope=subject.scope)
    if grant == DEVICE_GRANT:
        record = await device.poll(context, application, form.get("device_code", ""))
        return Grantee(record["organization"], record["user"], code_token=None, retired=None,
                       device=record)
    return await _rotate(context, application, form.get("refresh_token", ""))


async def _rotate(context: ApiContext, application: dict[str, Any], refresh: str) -> Grantee:
    """Refresh tokens rotate: each is good once. A second use means a copy is abroad, and every token
    rotated from it since is revoked (OAuth 2 Security BCP 4.14.2)."""
    if not refresh:
        raise OAuthError("invalid_request", "refresh_token is required")
    try:
        token = await credentials.rotate_refresh(context.db, refresh, application["name"])
    except credentials.RefreshReused as reused:
        descendant = reused.descendant
        context.write_even_if_failed(lambda db: credentials.revoke_family(db, descendant))
        raise OAuthError("invalid_grant", "the refresh_token was already used; the tokens since are revoked") from None
    if token is None:
        raise OAuthError("invalid_grant", "the refresh_token is invalid or not this client's")
    return Grantee(token["organization"], token["user"], retired=token)


def _check_grant_allowed(application: dict[str, Any], grant: str) -> None:
    """An application that lists its grantTypes gets those (and the code grant, as in Casdoor); one that
    lists none, any (Casdoor would allow it the code grant only, and its clients rely on more)."""
    allowed = application.get("grantTypes") or []
    if allowed and grant != "authorization_code" and grant not in allowed:
        raise OAuthError("unauthorized_client", f"grant_type {grant} is not one of application "
                         f"{application['name']!r}'s grantTypes ({', '.join(allowed)})")


@router.post("/access_token")
async def access_token(context: ApiContext = Context) -> dict[str, Any]:
    return await _token_response(context, await _parameters(context))


@router.post("/refresh_token")
async def refresh_token(context: ApiContext = Context) -> dict[str, Any]:
    """Casdoor's own refresh route: the refresh_token grant, its parameters in the form or the query."""
    form = await _parameters(context)
    if form.setdefault("grant_type", "refresh_token") != "refresh_token":
        raise OAuthError("unsupported_grant_type", "this endpoint only takes grant_type=refresh_token")
    return await _token_response(context, form)


async def _parameters(context: ApiContext) -> dict[str, str]:
    """The form's parameters, and the query's where the form has none (Casdoor's SDKs send either)."""
    return {**dict(context.request.query_params), **await form_or_json(context.request)}


async def _token_response(context: ApiContext, form: dict[str, str]) -> dict[str, Any]:
    grant = form.get("grant_type", "")
    if grant not in GRANTS:
        raise OAuthError("unsupported_grant_type", f"grant_type must be one of: {', '.join(GRANTS)}")
    client = await _client(context, form, grant)
    _check_grant_allowed(client.application, grant)
    grantee = await _grantee(context, grant, form, client)
    subject = None
    if grantee.user:
        subject = await ObjectRepository(context.db, USERS).get(grantee.organization, grantee.user)
        if subject is None or subject.get("isForbidden") or subject.get("isDeleted"):
            raise OAuthError("invalid_grant", "the user no longer exists or is forbidden")
        context.action.concerns(subject=USERS.mask(subject, may_manage=False))
    earlier = grantee.code_token or grantee.retired or grantee.device or {}
    scope = grantee.scope or earlier.get("scope") or form.get("scope", "")
    issued = await credentials.issue_token(
        context.db, token_signer(context), application=client.application, user=subject, scope=scope,
        nonce=grantee.nonce if grantee.code_token else form.get("nonce", ""),
        auth_time=earlier.get("authTime") or None,
    )
    if grantee.code_token is not None:
        await credentials.note_code_exchange(context.db, grantee.code_token, issued.name)
    if grantee.retired is not None:
        await credentials.note_rotation(context.db, grantee.retired, issued.name)
    answer = {
        "access_token": issued.access_token, "refresh_token": issued.refresh_token, "token_type": "Bearer",
        "expires_in": issued.expires_in, "scope": scope,
    }
    if grant == TOKEN_EXCHANGE:
        answer["issued_token_type"] = ACCESS_TOKEN_TYPE
    return {**answer, "id_token": issued.id_token} if issued.id_token else answer


@router.post("/introspect")
async def introspect(context: ApiContext = Context) -> dict[str, Any]:
    """RFC 7662, for an authenticated client: whether a token is live, and what it says. Tokens of
    another organization's applications are reported inactive, as unknown ones are."""
    form = await _parameters(context)
    client = await _client(context, form, "introspect")
    token = form.get("token", "")
    if not token:
        raise OAuthError("invalid_request", "token is required")
    return await introspection(context.db, client.application, token, form.get("token_type_hint", ""))


# ---- who the token is for -------------------------------------------------------------------------

def _signed_in_user(context: ApiContext) -> dict[str, Any]:
    principal = context.principal
    if principal.kind != "user" or principal.user is None:
        raise NotAuthenticated("a user's access token or session is required")
    user = USERS.mask(principal.user, may_manage=True)
    context.action.concerns(subject=user)
    return user


@user_router.get("/userinfo")
async def userinfo(context: ApiContext = Context) -> dict[str, Any]:
    """OIDC UserInfo: plain claims, no envelope; a Bearer token shows what its scope asked for."""
    user = _signed_in_user(context)
    principal = context.principal
    scope = principal.token_scope if principal.access_token_name else SESSION_SCOPE
    return userinfo_claims(user, scope, principal.token_client_id, issuer_of(context))


@user_router.get("/user")
async def user_endpoint(context: ApiContext = Context) -> dict[str, Any]:
    return laravel_user(_signed_in_user(context))


@router.post("/revoke")
async def revoke(context: ApiContext = Context) -> dict[str, Any]:
    """RFC 7009: the client ends one of its own tokens (and the other of its pair). Unknown tokens and
    other clients' tokens are answered alike, so that the answer tells nothing."""
    form = await _parameters(context)
    client = await _client(context, form, "revoke")
    token = form.get("token", "")
    if not token:
        raise OAuthError("invalid_request", "token is required")
    await revoke_if_owned(context.db, client.application, token)
    return {}


@user_router.get("/get-app-login")
async def get_app_login(context: ApiContext = Context) -> dict[str, Any]:
    """What the sign-in page needs to know of the application an authorization request names: the
    request checked as /login/oauth/authorize checks it, and the application without its secrets."""
    auth = await authorization_request(context.db, context.request.query_params)
    try:
        auth.check()
    except AuthorizationRefused as exc:
        raise BadRequest(f"{exc.error}: {exc.description}") from None
    return ok(APPLICATIONS.mask(auth.application, may_manage=False))


# ---- consent through the API (Casdoor's consent page calls these) --------------------------------

def _scopes(body: dict[str, Any]) -> list[str]:
    scopes = body.get("grantedScopes")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) and s for s in scopes):
        raise BadRequest("invalid field grantedScopes: a list of scope names is required")
    return scopes


def _require_user(context: ApiContext) -> dict[str, Any]:
    principal = context.require_login()
    if principal.kind != "user" or principal.user is None:
        raise BadRequest("consent is given by a signed-in user, not an application")
    return principal.user


@user_router.post("/grant-consent")
async def grant_consent(context: ApiContext = Context) -> dict[str, Any]:
    """Grant ``grantedScopes`` to the application and get the code of the authorization request the
    body repeats (clientId, responseType, redirectUri, scope, state, nonce, challenge), as Casdoor."""
    body = await json_object(context.request)
    user = _require_user(context)
    params = {"client_id": str(body.get("clientId") or ""), "redirect_uri": str(body.get("redirectUri") or ""),
              "response_type": str(body.get("responseType") or "code"), "scope": str(body.get("scope") or ""),
              "state": str(body.get("state") or ""), "nonce": str(body.get("nonce") or ""),
              "code_challenge": str(body.get("challenge") or "")}
    auth = await authorization_request(context.db, params)
    try:
        auth.check()
    except AuthorizationRefused as exc:
        raise BadRequest(f"{exc.error}: {exc.description}") from None
    if body.get("application") != f"admin/{auth.application['name']}":
        raise BadRequest(f"invalid field application: the client id is application admin/{auth.application['name']}'s")
    if user.get("owner") != auth.application.get("organization"):
        raise Forbidden("you may not grant an application of another organization")
    await record_consent(context, auth.application, _scopes(body), grant=True)
    return ok(await issue_code_for(context, auth))


@user_router.post("/revoke-consent")
async def revoke_consent(context: ApiContext = Context) -> dict[str, Any]:
    body = await json_object(context.request)
    _require_user(context)
    application_id = str(body.get("application") or "")
    owner, _, name = application_id.partition("/")
    application = await ObjectRepository(context.db, APPLICATIONS).get(owner, name) if owner and name else None
    if application is None:
        raise BadRequest(f"invalid field application: no application {application_id!r}")
    await record_consent(context, application, _scopes(body), grant=False)
    return ok(True)


# ---- device authorization (RFC 8628) ---------------------------------------------------------------

@user_router.post("/device-auth")
async def device_auth(context: ApiContext = Context) -> dict[str, Any]:
    """A device asks for a code pair; the answer is RFC 8628's, not Casdoor's envelope (as Casdoor)."""
    form = await _parameters(context)
    client = await _client(context, form, "device-auth")
    if not allows_device_login(client.application):
        raise OAuthError("unauthorized_client", "device login is not enabled for this application "
                         f"(add {DEVICE_GRANT} to its grantTypes)")
    return await device.start(context.db, client.application, form.get("scope", ""), issuer_of(context))


@user_router.post("/device-auth-complete")
async def device_auth_complete(response: Response, context: ApiContext = Context) -> dict[str, Any]:
    """Once its tokens are issued, the device may sign its user in on its own browser as well: a session
    (``responseType`` login, the default), or a code or token for the same client and no wider scope."""
    query = context.request.query_params
    record = await device.complete(context.db, query.get("deviceCode", ""))
    application = await ObjectRepository(context.db, APPLICATIONS).get("admin", record["application"])
    user = await ObjectRepository(context.db, USERS).get(record["organization"], record["user"])
    if application is None or user is None or user.get("isForbidden") or user.get("isDeleted"):
        raise BadRequest("the device authorization's application or user no longer exists or may not sign in")
    context.action.concerns(subject=USERS.mask(user, may_manage=False))
    login_type = query.get("responseType") or "login"
    if login_type not in ("login", "code", "token"):
        raise BadRequest("invalid parameter responseType: must be 'login', 'code' or 'token'")
    if login_type != "login":
        device.check_completion(record, application, query.get("clientId", ""), query.get("scope", ""))
    return await signed_in(Accounts(context), login_type, user, application, response)


@user_router.post("/cancel-device-auth")
async def cancel_device_auth(context: ApiContext = Context) -> dict[str, Any]:
    query = context.request.query_params
    await device.cancel(context.db, query.get("userCode", ""), query.get("cancelToken", ""))
    return ok("Canceled")


@authorize_router.get("/login/oauth/device")
async def device_page(request: Request) -> Response:
    return await _device_page(request, request.query_params.get("user_code", ""))


@authorize_router.get("/login/oauth/device/{user_code}")
async def device_page_with_code(request: Request, user_code: str) -> Response:
    return await _device_page(request, user_code)


async def _device_page(request: Request, user_code: str) -> Response:
    """The user's side: type the code the device shows (or follow its link), then approve or deny."""
    async with viewing(request) as context:
        if not user_code:
            return render(request, "device.html", record=None, application=None, user_code="")
        record = await device.pending(context.db, user_code)
        application = await ObjectRepository(context.db, APPLICATIONS).get("admin", record["application"])
        return render(request, "device.html", record=record, application=application, user_code=user_code)


@authorize_router.post("/login/oauth/device")
async def device_decision(request: Request) -> Response:
    form = await read_form(request)
    user_code = form.get("user_code")
    async with acting(request, "login", form) as context:
        record = await device.pending(context.db, user_code if isinstance(user_code, str) else "")
        principal = context.principal
        if principal.kind != "user" or principal.organization != record.get("organization"):
            raise Forbidden(f"sign in as a user of organization {record.get('organization')!r} to approve this device")
        user = principal.user or {}
        context.action.concerns(subject=USERS.mask(user, may_manage=False))
        approve = form.get("decision") == "approve"
        if approve:
            await require_sign_in_complete(context.db, user)
        await device.decide(context.db, record, user, approve)
    return render(request, "device.html", record=None, application=None, user_code="",
                  done="approved" if approve else "denied")


# ---- dynamic client registration (RFC 7591, RFC 7592) --------------------------------------------------

def _registration_base(context: ApiContext) -> str:
    return f"{issuer_of(context)}/api/oauth/register"


async def _registered(context: ApiContext, client_id: str) -> dict[str, Any]:
    return await registration.registered(context.db, client_id, context.request.headers.get("authorization", ""))


def _note_client(context: ApiContext, application: dict[str, Any]) -> None:
    context.action.concerns(obj=APPLICATIONS.mask(application, may_manage=False),
                            organization=application.get("organization", ""))


# The caller of these is whoever holds the registration's token, not an access token's holder. As
# every unit of work, scope="function": it commits before the answer is sent, so that the client's next
# call finds what this one did.
Registering = Depends(context_of("add-application", resolve_caller=False), scope="function")
Reading = Depends(context_of("get-application", resolve_caller=False), scope="function")
Updating = Depends(context_of("update-application", resolve_caller=False), scope="function")
Deleting = Depends(context_of("delete-application", resolve_caller=False), scope="function")


@user_router.post("/oauth/register", status_code=201)
async def register_client(context: ApiContext = Registering) -> dict[str, Any]:
    """A client registers itself in ``organization`` (default built-in), if that organization is open
    to it; the answer holds its credentials and the token that manages its registration."""
    body = await json_object(context.request)
    organization = context.request.query_params.get("organization") or BUILT_IN_ORG
    application, token = await registration.register(context.db, organization, body)
    await credentials.prepare_new_application(context, application)
    await ObjectRepository(context.db, APPLICATIONS).insert(APPLICATIONS.model.model_validate(application).model_dump())
    _note_client(context, application)
    return registration.client_information(application, _registration_base(context), token)


@user_router.get("/oauth/register/{client_id}")
async def read_client(client_id: str, context: ApiContext = Reading) -> dict[str, Any]:
    application = await _registered(context, client_id)
    _note_client(context, application)
    return registration.client_information(application, _registration_base(context))


@user_router.put("/oauth/register/{client_id}")
async def update_client(client_id: str, context: ApiContext = Updating) -> dict[str, Any]:
    application = await _registered(context, client_id)
    changed = registration.updated(application, await json_object(context.request))
    await ObjectRepository(context.db, APPLICATIONS).replace(changed["owner"], changed["name"], changed)
    _note_client(context, changed)
    return registration.client_information(changed, _registration_base(context))


@user_router.delete("/oauth/register/{client_id}", status_code=204)
async def delete_client(client_id: str, context: ApiContext = Deleting) -> Response:
    application = await _registered(context, client_id)
    await ObjectRepository(context.db, APPLICATIONS).delete(application["owner"], application["name"])
    _note_client(context, application)
    return Response(status_code=204)
