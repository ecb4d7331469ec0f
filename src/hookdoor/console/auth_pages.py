"""Sign-in, sign-out and sign-up pages: the API's login, logout and signup actions behind forms.

Before sign-in there is no session, so those two forms carry a double-submit token instead: a
random cookie (SameSite=Strict) that the form must repeat.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from hookdoor.api.context import unit_of_work
from hookdoor.console.web import (
    ConsoleRoute,
    CsrfRefused,
    acting,
    client_after,
    read_form,
    redirect,
    render,
    safe_next,
    viewing,
)
from hookdoor.errors import BadRequest, HookdoorError, NotFound
from hookdoor.federation.service import sign_in_buttons
from hookdoor.identity.accounts import APPLICATIONS, Accounts
from hookdoor.identity.credentials import SESSION_COOKIE, secrets_equal, with_session_cookie
from hookdoor.identity.registry import BUILT_IN_ORG, GLOBAL_OWNER, kind
from hookdoor.identity.repository import ListQuery, ObjectRepository
from hookdoor.mfa.schemas import CODE_TYPES, EMAIL, TOTP
from hookdoor.mfa.service import MFA_COOKIE, SecondFactor, SecondFactorRefused, awaited_factors, with_mfa_cookie
from hookdoor.verification.schemas import MFA_AUTH, VerificationForm
from hookdoor.verification.service import Verifications, sign_in_captcha

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
FORM_COOKIE = "hookdoor_form_csrf"
FORM_FIELD = "form_token"
BUILT_IN_APP = "app-built-in"


def _form_token(request: Request) -> str:
    existing = request.cookies.get(FORM_COOKIE, "")
    return existing if 20 <= len(existing) <= 64 and existing.isascii() else secrets.token_urlsafe(24)


def _with_form_cookie(request: Request, response: Response, token: str) -> Response:
    response.set_cookie(FORM_COOKIE, token, httponly=True, samesite="strict", max_age=3600, path="/",
                        secure=request.app.state.settings.cookie_secure)
    return response


def _check_form_token(request: Request, form: FormData) -> None:
    cookie, given = request.cookies.get(FORM_COOKIE, ""), form.get(FORM_FIELD)
    if not cookie or not isinstance(given, str) or not secrets_equal(given, cookie):
        raise CsrfRefused("the form's token is missing or stale; reload the page and submit it again")


def _text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else default


async def signup_applications(request: Request) -> list[str]:
    """The applications that take sign-ups, for the sign-up form's choice (what anyone may try anyway)."""
    query = ListQuery(sort_field="name", sort_order="ascend", page=1, page_size=500)
    async with request.app.state.sessionmaker() as db:
        try:
            items, _ = await ObjectRepository(db, kind("application")).list(query)
        finally:
            await db.rollback()
    return [item["name"] for item in items if item.get("enableSignUp")]


async def _signed_out_page(request: Request, template: str, status_code: int = 200,
                           form_targets: tuple[str, ...] = (), **values: object) -> Response:
    if template == "signup.html":
        values["applications"] = await signup_applications(request)
    async with viewing(request, login=False):
        token = _form_token(request)
        response = render(request, template, status_code=status_code, form_targets=form_targets, form_token=token,
                          **values)
    return _with_form_cookie(request, response, token)


async def login_form(request: Request, values: dict[str, str], error: HookdoorError | None = None) -> Response:
    """The sign-in page for ``values``' application: its form, the providers it offers, the error."""
    async with viewing(request, login=False) as context:
        application = await ObjectRepository(context.db, APPLICATIONS).get(GLOBAL_OWNER,
                                                                           values.get("application") or BUILT_IN_APP)
        # The application's organization, unless the link named one.
        values = {**values, "organization": values.get("organization") or (application or {}).get("organization")
                  or BUILT_IN_ORG}
        providers = await sign_in_buttons(context.db, application) if application else []
        captcha = await sign_in_captcha(context, application, failed_before=error is not None) if application else None
        token = _form_token(request)
        response = render(request, "login.html", error.status_code if error else 200,
                          form_targets=client_after(values.get("next") or ""), form_token=token, values=values,
                          error=error.message if error else None, providers=providers, captcha=captcha)
    return _with_form_cookie(request, response, token)


@router.get("/")
async def home() -> Response:
    return redirect("/console")


@router.get("/login")
async def login_page(request: Request) -> Response:
    params = request.query_params
    values = {
        "organization": params.get("organization", ""),
        "application": params.get("application", BUILT_IN_APP),
        "username": params.get("username", ""), "next": safe_next(params.get("next")),
    }
    return await login_form(request, values)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request)
    _check_form_token(request, form)
    body = {
        "type": "login", "organization": _text(form, "organization", BUILT_IN_ORG),
        "application": _text(form, "application", BUILT_IN_APP),
        "username": _text(form, "username"), "password": form.get("password") or "",
        # The captcha, where the application asks for one: its type, the answer and the captcha's id.
        **{name: _text(form, name) for name in ("captchaType", "captchaToken", "clientSecret") if _text(form, name)},
    }
    after = safe_next(_text(form, "next"))
    try:
        async with unit_of_work(request, "login") as context:
            accounts = Accounts(context)
            _, found = await accounts.login(body)
            gate = await SecondFactor(context).gate(found["user"], found["application"])
            session = None if gate.next_mfa else await accounts.open_session(found["user"], found["application"])
    except HookdoorError as exc:
        values = {**body, "password": "", "captchaToken": "", "next": after}
        return await login_form(request, values, exc)
    if gate.next_mfa:
        # The password was right; the second factor is asked on a page of its own, for this browser.
        return with_mfa_cookie(await second_factor_page(request, after, token=gate.token), gate.token,
                               context.settings)
    assert session is not None
    if gate.setup_required:
        target = redirect("/console/account/security", next=after, notice="mfa-required")
        return with_session_cookie(target, session.token, context.settings)
    return with_session_cookie(redirect(after), session.token, context.settings)


async def second_factor_page(request: Request, after: str, error: HookdoorError | None = None, *,
                             token: str = "", sent_to: str = "") -> Response:
    """The second step of a sign-in whose first one was right (a password, or another provider): a
    form per factor the user has (``token`` names the sign-in before the browser holds its cookie)."""
    async with viewing(request, login=False) as context:
        _, factors = await awaited_factors(context, token or request.cookies.get(MFA_COOKIE, ""))
    return await _signed_out_page(request, "login_mfa.html", error.status_code if error else 200,
                                  values={"next": after}, error=error.message if error else None,
                                  form_targets=client_after(after), factors=factors, sent_to=sent_to)


@router.post("/login/mfa/send")
async def send_second_factor_code(request: Request) -> Response:
    """An email or SMS factor's code, sent (the API's send-verification-code, method mfaAuth) to the
    account's own address or number for the sign-in this browser's cookie names."""
    form = await read_form(request)
    _check_form_token(request, form)
    after = safe_next(_text(form, "next"))
    try:
        async with unit_of_work(request, "send-verification-code") as context:
            application, factors = await awaited_factors(context, request.cookies.get(MFA_COOKIE, ""))
            factor = next((f for f in factors if f["mfaType"] == _text(form, "mfaType")), None)
            if factor is None or factor["mfaType"] not in CODE_TYPES:
                raise BadRequest("invalid field mfaType: this sign-in has no such email or SMS factor")
            await Verifications(context).send_code(VerificationForm.of({
                "dest": factor["secret"], "type": "email" if factor["mfaType"] == EMAIL else "phone",
                "countryCode": factor.get("countryCode", ""), "applicationId": f"{GLOBAL_OWNER}/{application}",
                "method": MFA_AUTH}))
    except HookdoorError as exc:
        return await second_factor_page(request, after, exc)
    return await second_factor_page(request, after, sent_to=factor["secret"])


@router.post("/login/mfa")
async def second_factor(request: Request) -> Response:
    """The second step of a sign-in (the API's login with ``passcode`` or ``recoveryCode``): the
    browser's cookie names the sign-in the password began."""
    form = await read_form(request)
    _check_form_token(request, form)
    after = safe_next(_text(form, "next"))
    body = {"passcode": _text(form, "passcode"), "mfaType": _text(form, "mfaType", TOTP),
            "recoveryCode": _text(form, "recoveryCode")}
    try:
        async with unit_of_work(request, "login") as context:
            user, application = await SecondFactor(context).complete(request.cookies.get(MFA_COOKIE, ""), body)
            session = await Accounts(context).open_session(user, application)
    except (SecondFactorRefused, BadRequest) as exc:
        return await second_factor_page(request, after, exc)
    except HookdoorError as exc:  # the sign-in ended (expired, too many tries): its password again
        response = await login_form(request, {"next": after}, exc)
        response.delete_cookie(MFA_COOKIE, path="/")
        return response
    response = with_session_cookie(redirect(after), session.token, context.settings)
    response.delete_cookie(MFA_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await read_form(request)
    async with acting(request, "logout", form) as context:
        await Accounts(context).logout()
    response = redirect("/login", notice="signed-out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/signup")
async def signup_page(request: Request) -> Response:
    values = {"application": request.query_params.get("application", "")}
    return await _signed_out_page(request, "signup.html", values=values)


@router.post("/signup")
async def signup(request: Request) -> Response:
    form = await read_form(request)
    _check_form_token(request, form)
    body = {name: _text(form, name) for name in ("application", "username", "name", "email")}
    body["password"] = form.get("password") or ""
    try:
        async with unit_of_work(request, "signup") as context:
            user = await Accounts(context).signup(body)
    except HookdoorError as exc:
        values = {**body, "password": ""}
        return await _signed_out_page(request, "signup.html", exc.status_code, values=values, error=exc.message)
    return redirect("/login", notice="signed-up", organization=user["owner"], application=body["application"],
                    username=user["name"])


@router.get("/console/{rest:path}")
async def no_such_page(request: Request, rest: str) -> Response:
    """Last of the console's routes: an unknown console address is an HTML 404, not an API error."""
    if not rest:
        return redirect("/console")
    raise NotFound(f"there is no console page at /console/{rest}")
