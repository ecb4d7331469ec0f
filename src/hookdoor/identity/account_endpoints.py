"""Casdoor's account routes: signup, login, logout, get-account, passwords, keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import RedirectResponse

from hookdoor.api.context import ApiContext, api_context
from hookdoor.api.envelope import affected, form_or_json, json_object, ok
from hookdoor.errors import BadRequest
from hookdoor.identity.accounts import Accounts, login_type_of
from hookdoor.identity.credentials import SESSION_COOKIE, with_session_cookie
from hookdoor.mfa.schemas import NEXT_MFA, REQUIRED_MFA
from hookdoor.mfa.service import MFA_COOKIE, SecondFactor, all_props, second_factor_given, with_mfa_cookie
from hookdoor.oauth.service import logout_redirect

router = APIRouter(prefix="/api", tags=["accounts"])
Context = Depends(api_context, scope="function")


def _json_body(*required: str) -> dict[str, Any]:
    properties = {name: {"type": "string"} for name in required}
    schema = {"type": "object", "properties": properties, "required": list(required)}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _form_body(*required: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {n: {"type": "string"} for n in required}, "required": list(required)}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


@router.post("/signup", openapi_extra=_json_body("application", "username", "password"))
async def signup(context: ApiContext = Context) -> dict[str, Any]:
    user = await Accounts(context).signup(await json_object(context.request))
    return ok(f"{user['owner']}/{user['name']}")


@router.post("/login", openapi_extra=_json_body("application", "username", "password"))
async def login(response: Response, context: ApiContext = Context) -> dict[str, Any]:
    """Casdoor's login. A user with MFA on gets ``NextMfa`` and the factors they may use, and this
    browser a cookie naming the sign-in; the page then posts again with ``passcode`` (and ``mfaType``)
    or ``recoveryCode``, and only then is anyone signed in or anything issued."""
    accounts = Accounts(context)
    body = await json_object(context.request)
    second_factor = SecondFactor(context)
    if second_factor_given(body):
        user, application = await second_factor.complete(context.request.cookies.get(MFA_COOKIE, ""), body)
        response.delete_cookie(MFA_COOKIE, path="/")
        return await signed_in(accounts, login_type_of(body), user, application, response)
    login_type, found = await accounts.login(body)
    gate = await second_factor.gate(found["user"], found["application"])
    if gate.next_mfa:
        with_mfa_cookie(response, gate.token, context.settings)
        return ok(NEXT_MFA, list(gate.props))
    if gate.setup_required:
        # As Casdoor: signed in, so as to set the factor up; no code or token until it is.
        await signed_in(accounts, "login", found["user"], found["application"], response)
        return ok(REQUIRED_MFA)
    return await signed_in(accounts, login_type, found["user"], found["application"], response)


async def signed_in(accounts: Accounts, login_type: str, user: dict[str, Any], application: dict[str, Any],
                    response: Response) -> dict[str, Any]:
    """Casdoor's answer to a sign-in by its type: a token pair, a code, or a session (the user's id)."""
    context = accounts.context
    if login_type == "token":
        token = await accounts.issue_token(user, application)
        return ok(token.access_token, token.refresh_token)
    query = context.request.query_params
    if login_type == "code" and not await accounts.consent_required(user, application, query):
        return ok(await accounts.issue_code(user, application, query))
    # A session, for the console or for the consent page to ask the user first (as Casdoor answers
    # {"required": true} and lets its page call grant-consent, which gives the code).
    session = await accounts.open_session(user, application)
    with_session_cookie(response, session.token, context.settings)
    return ok({"required": True}) if login_type == "code" else ok(f"{user['owner']}/{user['name']}")


async def _logout(response: Response, context: ApiContext) -> dict[str, Any] | Response:
    """Signs the caller out; with an ``id_token_hint`` (RP-initiated logout), then sends the browser
    to the relying party's ``post_logout_redirect_uri`` if the application lists it."""
    parameters = {**dict(context.request.query_params), **(await form_or_json(context.request)
                                                           if await context.request.body() else {})}
    target = await logout_redirect(context.db, parameters)
    name = await Accounts(context).logout()
    if target is not None:
        response = RedirectResponse(target, status_code=302)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response if target is not None else ok(name)


@router.get("/logout")
async def logout_get(response: Response, context: ApiContext = Context) -> Any:
    return await _logout(response, context)


@router.post("/logout")
async def logout_post(response: Response, context: ApiContext = Context) -> Any:
    return await _logout(response, context)


async def _sso_logout(response: Response, context: ApiContext) -> dict[str, Any]:
    await Accounts(context).sso_logout()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return ok()


@router.get("/sso-logout")
async def sso_logout_get(response: Response, context: ApiContext = Context) -> dict[str, Any]:
    return await _sso_logout(response, context)


@router.post("/sso-logout")
async def sso_logout(response: Response, context: ApiContext = Context) -> dict[str, Any]:
    return await _sso_logout(response, context)


@router.get("/get-account")
async def get_account(context: ApiContext = Context) -> dict[str, Any]:
    user, organization = await Accounts(context).account()
    # As Casdoor: the account shows its factors (masked: whether each is on and preferred, no secret).
    user["multiFactorAuths"] = all_props(await SecondFactor(context).factors_of(user), user=user)
    return ok(user, organization, sub=user.get("id", ""), name=user["name"])


@router.post("/set-password", openapi_extra=_form_body("userOwner", "userName", "newPassword"))
async def set_password(context: ApiContext = Context) -> dict[str, Any]:
    form = await form_or_json(context.request)
    owner, name = form.get("userOwner", ""), form.get("userName", "")
    if not owner or not name:
        raise BadRequest("invalid field userOwner/userName: both are required")
    if form.get("code") and not context.principal.authenticated:
        await Accounts(context).set_password_with_code(owner, name, form["code"], form.get("newPassword", ""))
        return ok()
    await Accounts(context).set_password(owner, name, form.get("oldPassword", ""), form.get("newPassword", ""))
    return ok()


@router.post("/check-user-password", openapi_extra=_json_body("owner", "name", "password"))
async def check_user_password(context: ApiContext = Context) -> dict[str, Any]:
    body = await json_object(context.request)
    owner, name = body.get("owner"), body.get("name")
    password = body.get("password")
    if not all(isinstance(v, str) and v for v in (owner, name, password)):
        raise BadRequest("invalid field owner/name/password: all three are required strings")
    await Accounts(context).check_password(owner, name, password)  # type: ignore[arg-type]
    return ok()


@router.post("/add-user-keys", openapi_extra=_json_body("owner", "name"))
async def add_user_keys(context: ApiContext = Context) -> dict[str, Any]:
    body = await json_object(context.request)
    owner, name = body.get("owner"), body.get("name")
    if not isinstance(owner, str) or not isinstance(name, str) or not owner or not name:
        raise BadRequest("invalid field owner/name: both are required")
    await Accounts(context).add_keys(owner, name)
    return affected(True)


@router.post("/remove-user-from-group")
async def remove_user_from_group(
    context: ApiContext = Context,
    owner: str = Query("", max_length=100),
    name: str = Query("", max_length=100),
    groupName: str = Query("", max_length=201),
) -> dict[str, Any]:
    form = await form_or_json(context.request) if await context.request.body() else {}
    owner, name = owner or form.get("owner", ""), name or form.get("name", "")
    group = groupName or form.get("groupName", "")
    if not owner or not name or not group:
        raise BadRequest("invalid field owner/name/groupName: all three are required")
    return affected(await Accounts(context).remove_from_group(owner, name, group))
