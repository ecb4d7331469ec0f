"""The account's security page: two-step sign-in with an authenticator app (set up, remove) and
passkeys. Each form performs the API's action (mfa/setup/initiate, verify, enable, delete-mfa) through
the same service, in the API's unit of work."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from hookdoor.console.web import ConsoleRoute, acting, read_form, redirect, render, safe_next, viewing
from hookdoor.errors import Forbidden, HookdoorError
from hookdoor.mfa.schemas import TOTP
from hookdoor.mfa.service import MfaSetup, SecondFactor, otpauth_url, qr_code
from hookdoor.webauthn.service import Passkeys

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PAGE = "/console/account/security"


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _own(context: Any) -> dict[str, Any]:
    principal = context.principal
    if principal.kind != "user" or principal.user is None:
        raise Forbidden("the security page is a signed-in user's")
    return principal.user


@router.get(PAGE)
async def security_page(request: Request) -> Response:
    async with viewing(request) as context:
        user = _own(context)
        factors = await SecondFactor(context).factors_of(user)
        passkeys = await Passkeys(context).listed(user)
        return render(request, "security.html", active="security", user=user, totp_on=TOTP in factors.enabled_types,
                      recovery_left=len(factors.recovery_code_hashes), passkeys=passkeys,
                      next=safe_next(request.query_params.get("next"), ""))


def _setup_page(request: Request, user: dict[str, Any], props: dict[str, Any], after: str,
                error: HookdoorError | None = None) -> Response:
    return render(request, "security_totp.html", error.status_code if error else 200, active="security",
                  user=user, props=props, next=after, error=error.message if error else None)


@router.post(f"{PAGE}/totp")
async def start_totp(request: Request) -> Response:
    form = await read_form(request)
    async with acting(request, "mfa/setup/initiate", form) as context:
        user = _own(context)
        props = await MfaSetup(context).initiate(user["owner"], user["name"], TOTP)
    return _setup_page(request, user, props, safe_next(_text(form, "next"), ""))


@router.post(f"{PAGE}/totp/enable")
async def enable_totp(request: Request) -> Response:
    """The passcode proves the app holds the secret (mfa/setup/verify), then the factor is on (enable)."""
    form = await read_form(request)
    secret, recovery_code = _text(form, "secret"), _text(form, "recoveryCodes")
    after = safe_next(_text(form, "next"), "")
    user: dict[str, Any] = {}
    try:
        async with acting(request, "mfa/setup/verify", form) as context:
            user = _own(context)
            await MfaSetup(context).verify(TOTP, _text(form, "passcode"), secret)
        async with acting(request, "mfa/setup/enable", form) as context:
            await MfaSetup(context).enable(user["owner"], user["name"], TOTP, secret, recovery_code)
    except HookdoorError as exc:
        if not user:
            raise
        url = otpauth_url(secret, user, _text(form, "issuer") or user["owner"])
        props = {"secret": secret, "url": url, "qrCode": qr_code(url), "recoveryCodes": [recovery_code]}
        return _setup_page(request, user, props, after, exc)
    return redirect(after or PAGE, notice="mfa-enabled")


@router.post(f"{PAGE}/delete-mfa")
async def remove_mfa(request: Request) -> Response:
    form = await read_form(request)
    async with acting(request, "delete-mfa", form) as context:
        user = _own(context)
        await MfaSetup(context).delete(user["owner"], user["name"])
    return redirect(PAGE, notice="mfa-removed")


@router.post(f"{PAGE}/passkeys/delete")
async def remove_passkey(request: Request) -> Response:
    """Casdoor removes a passkey by updating the user (their webauthnCredentials): so is it recorded."""
    form = await read_form(request)
    async with acting(request, "update-user", form) as context:
        await Passkeys(context).remove(_text(form, "credentialId"))
    return redirect(PAGE, notice="passkey-removed")
