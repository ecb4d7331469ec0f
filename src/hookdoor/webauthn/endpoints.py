"""Casdoor's WebAuthn routes: webauthn/signup/begin|finish (register a passkey for the signed-in
user), webauthn/signin/begin|finish (sign in with one), and faceid-signin-begin.

The begin routes answer the browser's ``navigator.credentials`` options as go-webauthn shapes them
(``{"publicKey": ...}``, not Casdoor's envelope, as Casdoor); the ceremony's state is bound to this
browser by a cookie, as Casdoor keeps it in its session."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from hookdoor.api.context import ApiContext, api_context
from hookdoor.api.envelope import json_object, ok
from hookdoor.errors import BadRequest
from hookdoor.identity.account_endpoints import signed_in
from hookdoor.identity.accounts import Accounts
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.webauthn.schemas import CEREMONY_COOKIE, CEREMONY_LIFETIME_SECONDS
from hookdoor.webauthn.service import Passkeys

router = APIRouter(prefix="/api", tags=["webauthn"])
Context = Depends(api_context, scope="function")
CREDENTIAL_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "properties": {"id": {"type": "string"}, "rawId": {"type": "string"},
                                     "type": {"type": "string"}, "response": {"type": "object"}},
    "required": ["id", "rawId", "type", "response"]}}}}}


def _with_ceremony(response: Response, token: str, context: ApiContext) -> None:
    response.set_cookie(CEREMONY_COOKIE, token, httponly=True, samesite="strict", path="/api/webauthn",
                        max_age=CEREMONY_LIFETIME_SECONDS, secure=context.settings.cookie_secure)


def _ceremony(context: ApiContext) -> str:
    return context.request.cookies.get(CEREMONY_COOKIE, "")


@router.get("/webauthn/signup/begin")
async def webauthn_signup_begin(response: Response, context: ApiContext = Context) -> dict[str, Any]:
    options, token = await Passkeys(context).signup_begin()
    _with_ceremony(response, token, context)
    return options


@router.post("/webauthn/signup/finish", openapi_extra=CREDENTIAL_BODY)
async def webauthn_signup_finish(response: Response, context: ApiContext = Context) -> dict[str, Any]:
    await Passkeys(context).signup_finish(_ceremony(context), await json_object(context.request))
    response.delete_cookie(CEREMONY_COOKIE, path="/api/webauthn")
    return ok()


@router.get("/webauthn/signin/begin")
async def webauthn_signin_begin(response: Response, context: ApiContext = Context,
                                owner: str = Query("", max_length=100),
                                name: str = Query("", max_length=100)) -> dict[str, Any]:
    options, token = await Passkeys(context).signin_begin(owner, name)
    _with_ceremony(response, token, context)
    return options


@router.post("/webauthn/signin/finish", openapi_extra=CREDENTIAL_BODY)
async def webauthn_signin_finish(response: Response, context: ApiContext = Context,
                                 responseType: str = Query("", max_length=20),
                                 clientId: str = Query("", max_length=100)) -> dict[str, Any]:
    """Casdoor's HandleLoggedIn: ``responseType`` login (a session, the default), code or token."""
    passkeys = Passkeys(context)
    login_type = responseType or "login"
    if login_type not in ("login", "code", "token"):
        raise BadRequest("invalid parameter responseType: must be 'login', 'code' or 'token'")
    user = await passkeys.signin_finish(_ceremony(context), await json_object(context.request))
    application = await passkeys.application_for(user, clientId, login_type)
    response.delete_cookie(CEREMONY_COOKIE, path="/api/webauthn")
    return await signed_in(Accounts(context), login_type, user, application, response)


@router.get("/faceid-signin-begin")
async def faceid_signin_begin(context: ApiContext = Context, owner: str = Query("", max_length=100),
                              name: str = Query("", max_length=100)) -> dict[str, Any]:
    """Casdoor's FaceIDSigninBegin: may this user sign in with their face (do they have face data)?
    Hookdoor stores no face data and has no face-recognition provider, so the answer is always
    Casdoor's "no face data" error; one answer whether or not the user exists."""
    if not owner or not name:
        raise BadRequest("invalid parameter owner/name: both are required")
    user = await ObjectRepository(context.db, kind("user")).get(owner, name)
    if user is not None:
        context.action.concerns(subject=kind("user").mask(user, may_manage=False))
    if user is None or not user.get("faceIds"):
        raise BadRequest("Face data does not exist, cannot log in")
    return ok()
