"""OAuth 2 token endpoint (RFC 6749): authorization_code, password, client_credentials, refresh_token.

Errors keep RFC 6749's ``{error, error_description}`` shape, not Casdoor's envelope.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from hookdoor.api.context import ApiContext, api_context
from hookdoor.api.envelope import form_or_json
from hookdoor.errors import HookdoorError, OAuthError
from hookdoor.identity import credentials
from hookdoor.identity.accounts import APPLICATIONS, USERS, Accounts
from hookdoor.identity.repository import ObjectRepository
from hookdoor.oauth.service import token_signer

router = APIRouter(prefix="/api/login/oauth", tags=["oauth"])
Context = Depends(api_context, scope="function")
GRANTS = ("authorization_code", "password", "client_credentials", "refresh_token")


def _client_credentials(context: ApiContext, form: dict[str, str]) -> tuple[str, str]:
    basic = credentials.basic_credentials(context.request)
    if basic is not None:
        return basic
    return form.get("client_id", ""), form.get("client_secret", "")


async def _client(context: ApiContext, form: dict[str, str]) -> dict[str, Any]:
    client_id, client_secret = _client_credentials(context, form)
    stored = await ObjectRepository(context.db, APPLICATIONS).find_by("clientId", client_id) if client_id else None
    if stored is None or not credentials.secrets_equal(client_secret, stored.data.get("clientSecret") or ""):
        raise OAuthError("invalid_client", "unknown client_id or wrong client_secret", 401)
    context.action.concerns(organization=stored.data.get("organization", ""))
    return stored.data


async def _redeemed(context: ApiContext, column: str, secret: str, application: str, what: str) -> dict[str, Any]:
    if not secret:
        raise OAuthError("invalid_request", f"{what} is required")
    token = await credentials.redeem(context.db, column, secret, application)
    if token is None:
        raise OAuthError("invalid_grant", f"the {what} is invalid, expired, used, or not this client's")
    return token


async def _user_of(context: ApiContext, grant: str, form: dict[str, str], app: dict[str, Any]) -> tuple[str, str]:
    """(organization, user name) the tokens are for; an empty user for client_credentials."""
    if grant == "client_credentials":
        return app.get("organization", ""), ""
    if grant == "password":
        try:
            stored = await Accounts(context).authenticate(
                app.get("organization", ""), form.get("username", ""), form.get("password", "")
            )
        except HookdoorError as exc:
            raise OAuthError("invalid_grant", exc.message) from None
        return stored.data["owner"], stored.data["name"]
    column, field = ("code_hash", "code") if grant == "authorization_code" else ("refresh_token_hash", "refresh_token")
    token = await _redeemed(context, column, form.get(field, ""), app["name"], field)
    return token["organization"], token["user"]


@router.post("/access_token")
async def access_token(context: ApiContext = Context) -> dict[str, Any]:
    form = await form_or_json(context.request)
    grant = form.get("grant_type", "")
    if grant not in GRANTS:
        raise OAuthError("unsupported_grant_type", f"grant_type must be one of: {', '.join(GRANTS)}")
    application = await _client(context, form)
    organization, user = await _user_of(context, grant, form, application)
    subject = None
    if user:
        subject = await ObjectRepository(context.db, USERS).get(organization, user)
        if subject is None or subject.get("isForbidden") or subject.get("isDeleted"):
            raise OAuthError("invalid_grant", "the user no longer exists or is forbidden")
        context.action.concerns(subject=USERS.mask(subject, may_manage=False))
    issued = await credentials.issue_token(
        context.db, token_signer(context), application=application, user=subject if user else None,
        scope=form.get("scope", ""), nonce=form.get("nonce", ""),
    )
    answer = {
        "access_token": issued.access_token, "refresh_token": issued.refresh_token, "token_type": "Bearer",
        "expires_in": issued.expires_in, "scope": form.get("scope", ""),
    }
    return {**answer, "id_token": issued.id_token} if issued.id_token else answer

