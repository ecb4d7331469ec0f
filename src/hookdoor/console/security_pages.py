"""The account's security page: two-step sign-in with an authenticator app or codes sent to the
account's email or phone (set up, choose the preferred one, remove) and passkeys. Each form performs
the API's action (mfa/setup/initiate, send-verification-code, mfa/setup/verify, enable, set-preferred-mfa,
delete-mfa) through the same service, in the API's unit of work."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from hookdoor.console.web import ConsoleRoute, acting, read_form, redirect, render, safe_next, viewing
from hookdoor.errors import BadRequest, Forbidden, HookdoorError, NotFound
from hookdoor.identity.repository import application_of_user
from hookdoor.mfa.schemas import CODE_TYPES, TOTP
from hookdoor.mfa.service import (
    CODE_FIELDS,
    MfaSetup,
    SecondFactor,
    all_props,
    masked_destination,
    otpauth_url,
    qr_code,
)
from hookdoor.verification.schemas import MFA_SETUP, VerificationForm
from hookdoor.verification.service import Verifications
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
        shown = {p["mfaType"]: p for p in all_props(factors, user=user)}
        # Codes go to the account's own address or number: a factor is offered where the account has one.
        reachable = {t: masked_destination(user, t) for t in CODE_TYPES if user.get(CODE_FIELDS[t][0])}
        return render(request, "security.html", active="security", user=user, totp_on=TOTP in factors.enabled_types,
                      factors=shown, enabled=factors.enabled_types, reachable=reachable,
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


def _code_type(mfa_type: str) -> str:
    if mfa_type not in CODE_TYPES:
        raise NotFound(f"no such factor: {mfa_type!r} (email or sms)")
    return mfa_type


def _code_page(request: Request, user: dict[str, Any], mfa_type: str, recovery_code: str, after: str,
               error: HookdoorError | None = None) -> Response:
    return render(request, "security_code.html", error.status_code if error else 200, active="security", user=user,
                  mfa_type=mfa_type, sent_to=masked_destination(user, mfa_type), recovery_code=recovery_code,
                  next=after, error=error.message if error else None)


@router.post(f"{PAGE}/code/{{mfa_type}}")
async def start_code_factor(request: Request, mfa_type: str) -> Response:
    """An email or SMS factor: set up (mfa/setup/initiate), then a code sent to the account's own
    address or number (send-verification-code, method mfaSetup) through its application's provider."""
    mfa_type = _code_type(mfa_type)
    form = await read_form(request)
    async with acting(request, "mfa/setup/initiate", form) as context:
        user = _own(context)
        props = await MfaSetup(context).initiate(user["owner"], user["name"], mfa_type)
        application = await application_of_user(context.db, user)
    after = safe_next(_text(form, "next"), "")
    field = CODE_FIELDS[mfa_type][0]
    try:
        if not user.get(field):
            raise BadRequest(f"your account has no {field} to send codes to")
        if application is None:
            raise BadRequest("your organization has no application whose provider could send the code")
        async with acting(request, "send-verification-code", form) as context:
            await Verifications(context).send_code(VerificationForm.of({
                "dest": str(user[field]), "type": CODE_FIELDS[mfa_type][1], "method": MFA_SETUP,
                "countryCode": str(user.get("countryCode") or ""), "applicationId": f"admin/{application['name']}"}))
    except HookdoorError as exc:
        return _code_page(request, user, mfa_type, props["recoveryCodes"][0], after, exc)
    return _code_page(request, user, mfa_type, props["recoveryCodes"][0], after)


@router.post(f"{PAGE}/code/{{mfa_type}}/enable")
async def enable_code_factor(request: Request, mfa_type: str) -> Response:
    """The code sent proves the address or number is the user's (mfa/setup/verify), then the factor is on."""
    mfa_type = _code_type(mfa_type)
    form = await read_form(request)
    recovery_code, after = _text(form, "recoveryCodes"), safe_next(_text(form, "next"), "")
    user: dict[str, Any] = {}
    try:
        async with acting(request, "mfa/setup/verify", form) as context:
            user = _own(context)
            await MfaSetup(context).verify(mfa_type, _text(form, "passcode"), "")
        async with acting(request, "mfa/setup/enable", form) as context:
            await MfaSetup(context).enable(user["owner"], user["name"], mfa_type, "", recovery_code)
    except HookdoorError as exc:
        if not user:
            raise
        return _code_page(request, user, mfa_type, recovery_code, after, exc)
    return redirect(after or PAGE, notice="mfa-code-enabled")


@router.post(f"{PAGE}/preferred")
async def choose_preferred(request: Request) -> Response:
    form = await read_form(request)
    async with acting(request, "set-preferred-mfa", form) as context:
        user = _own(context)
        await MfaSetup(context).set_preferred(user["owner"], user["name"], _text(form, "mfaType"))
    return redirect(PAGE, notice="mfa-preferred")


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
