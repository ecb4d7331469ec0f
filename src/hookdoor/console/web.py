"""What every console page shares: templates, the two scopes (a page view, a form), CSRF, errors.

A page view reads with the caller's rights and records nothing: it is not a Casdoor action. A form
performs exactly the Casdoor action the API would (``unit_of_work(request, "add-webhook")``), so it
is authorized by the same services and records the same event; its CSRF token (the session's
``auth_sessions.csrf_token``) is checked first, inside that unit of work.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hookdoor.api.context import ApiContext, unit_of_work
from hookdoor.api.envelope import text_problem
from hookdoor.api.messages import field_of_message
from hookdoor.console.forms import MORE_PAGES
from hookdoor.db.types import parse_rfc3339
from hookdoor.errors import BadRequest, Forbidden, HookdoorError, NotAuthenticated
from hookdoor.events.recorder import Action, remember_form, request_facts
from hookdoor.identity.credentials import (
    SESSION_COOKIE,
    hash_token,
    resolve_principal,
    secrets_equal,
    session_csrf_token,
)

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
CSRF_FIELD = "csrf_token"

NOTICES = {
    "created": "Created.",
    "saved": "Saved.",
    "deleted": "Deleted.",
    "test-queued": "A test event was queued for this webhook: its outcome shows below as soon as it is known.",
    "resent": "The delivery was queued again under the same webhook-id: the new attempt shows below once made.",
    "recovered": "Failed and retrying deliveries were queued again.",
    "rotated": "A new signing secret was made; the previous one keeps signing for 24 hours.",
    "bin-created": "Inspector bin created.",
    "linked": "Saved: arrivals are verified with the linked webhook's secret.",
    "webhook-created": "Webhook created: its deliveries arrive in this bin.",
    "signed-out": "You are signed out.",
    "signed-up": "Account created: sign in with it.",
    "mfa-enabled": "Two-step sign-in is on: you will be asked for a passcode from your authenticator app.",
    "mfa-removed": "Two-step sign-in is off.",
    "mfa-code-enabled": "Two-step sign-in is on: a code will be sent to you at every sign-in.",
    "mfa-preferred": "The factor asked for first at sign-in is changed.",
    "mfa-required": "Your organization requires two-step sign-in: set up an authenticator app to continue.",
    "passkey-added": "Passkey registered.",
    "passkey-removed": "Passkey removed.",
    "test-sent": "A test message was sent through this provider.",
}


# Pages show what strangers sent (inspector captures, delivery responses): no script but our own file.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


def _headers(form_targets: tuple[str, ...]) -> dict[str, str]:
    """Browsers hold a form's whole redirect chain to form-action: a sign-in or consent form that ends
    at the OAuth client's redirect URI must name that origin, or the browser stops short of it."""
    origins = [o for o in form_targets if _ORIGIN.match(o)]
    if not origins:
        return PAGE_HEADERS
    policy = PAGE_HEADERS["Content-Security-Policy"].replace("form-action 'self'",
                                                             "form-action 'self' " + " ".join(origins))
    return {**PAGE_HEADERS, "Content-Security-Policy": policy}


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def client_after(next_page: str) -> tuple[str, ...]:
    """A sign-in on its way back to /login/oauth/authorize ends at the client's redirect URI (which the
    authorization endpoint checks before it sends anyone there)."""
    parts = urlsplit(next_page)
    if parts.path != "/login/oauth/authorize":
        return ()
    origin = origin_of(parse_qs(parts.query).get("redirect_uri", [""])[0])
    return (origin,) if origin else ()


class CsrfRefused(Forbidden):
    """Not a form problem the user can fix in place: the page answers 403."""


# ---- rendering ----------------------------------------------------------------------------------

def _json_pretty(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def _when(value: datetime | str | None) -> str:
    moment = parse_rfc3339(value) if isinstance(value, str) else value
    if moment is None:
        return value or ""  # type: ignore[return-value]
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def number(value: Any) -> Any:
    """15.0 as 15 (a whole float reads as the integer it is); anything else as it is."""
    return f"{value:g}" if isinstance(value, float) else value


def plural(count: int, noun: str) -> str:
    """'1 event', '2 events'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def segment(value: str) -> str:
    """One path segment, percent-encoded (names may hold characters a URL path cannot)."""
    return quote(value, safe="")


def page_link(request: Request, number: int) -> str:
    """This page's URL with its filters, at another page number."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("p", "notice", "count")]
    return "?" + urlencode([*params, ("p", str(number))])


TEMPLATES.env.filters.update(pretty=_json_pretty, when=_when, seg=segment, number=number, plural=plural)
TEMPLATES.env.globals.update(page_link=page_link)

# The kinds under "All kinds" in the navigation (marked current on their pages).
TEMPLATES.env.globals.update(more_pages=MORE_PAGES)


def render(request: Request, template: str, status_code: int = 200, form_targets: tuple[str, ...] = (),
           **values: Any) -> Response:
    """``form_targets``: the origins, besides this server's, the page's forms may end up at."""
    principal = getattr(request.state, "principal", None)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    values.setdefault("csrf_token", getattr(request.state, "csrf_token", ""))
    return TEMPLATES.TemplateResponse(
        request, template, {"principal": principal, "notice": notice, **values}, status_code=status_code,
        headers=_headers(form_targets),
    )


def redirect(path: str, **params: Any) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return RedirectResponse(path + (f"?{query}" if query else ""), status_code=303)


def safe_next(value: str | None, default: str = "/console") -> str:
    """Only a path on this server: never //host or a scheme."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def field_of(message: str) -> str | None:
    """The form field an error message names ("invalid field url: ..." names url)."""
    return field_of_message(message)


def error_page(request: Request, exc: HookdoorError) -> Response:
    return render(request, "error.html", status_code=exc.status_code, message=exc.message, status=exc.status_code)


class ConsoleRoute(APIRoute):
    """Console routes answer in HTML: a signed-out caller is sent to /login, an expected error
    becomes an error page with the same status the API would give."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except NotAuthenticated:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return redirect("/login", next=target if request.method == "GET" else None)
            except HookdoorError as exc:
                await _know_caller(request)
                return error_page(request, exc)

        return console_handler


async def _know_caller(request: Request) -> None:
    """The caller, for the error page's navigation, when the route failed before it was known."""
    if getattr(request.state, "principal", None) is not None:
        return
    with contextlib.suppress(HookdoorError):
        async with viewing(request, login=False):
            pass


# ---- scopes -------------------------------------------------------------------------------------

def _refuse_unstorable_query(request: Request) -> None:
    for key, value in request.query_params.multi_items():
        if problem := text_problem(key) or text_problem(value):
            raise BadRequest(f"invalid parameter {key!r}: {problem}")


async def _remember_caller(context: ApiContext) -> None:
    """The caller and their CSRF token, for the page's header and forms."""
    request, principal = context.request, context.principal
    request.state.principal = principal
    if principal.session_token_hash:
        request.state.csrf_token = await session_csrf_token(context.db, principal.session_token_hash) or ""


@contextlib.asynccontextmanager
async def viewing(request: Request, *, login: bool = True) -> AsyncIterator[ApiContext]:
    """A page view: the caller's rights, a transaction that is rolled back, no event."""
    _refuse_unstorable_query(request)
    state = request.app.state
    async with state.sessionmaker() as db:
        context = ApiContext(request=request, db=db, action=Action("console", request_facts(request)),
                             settings=state.settings)
        try:
            context.action.principal = await resolve_principal(db, request)
            await _remember_caller(context)
            if login:
                context.require_login()
            yield context
        finally:
            await db.rollback()


async def read_form(request: Request) -> FormData:
    form = await request.form()
    for key, value in form.multi_items():
        if isinstance(value, str) and (problem := text_problem(key) or text_problem(value)):
            raise BadRequest(f"invalid field {key}: {problem}")
    # The form is the body the console's action records, as the API records its body; the CSRF
    # token belongs to the console's session, not to the action.
    fields = {key: value for key, value in form.items() if isinstance(value, str) and key != CSRF_FIELD}
    remember_form(request, fields)
    return form


async def _check_csrf(context: ApiContext, form: FormData) -> None:
    context.require_login()
    cookie = context.request.cookies.get(SESSION_COOKIE)
    given = form.get(CSRF_FIELD)
    if not cookie or not isinstance(given, str) or not given:
        raise CsrfRefused("the form has no CSRF token; reload the page and submit it again")
    expected = await session_csrf_token(context.db, hash_token(cookie))
    if expected is None or not secrets_equal(given, expected):
        raise CsrfRefused("the form's CSRF token does not match your session; reload the page and submit it again")


@contextlib.asynccontextmanager
async def acting(request: Request, action: str, form: FormData) -> AsyncIterator[ApiContext]:
    """A console form performing the Casdoor action ``action``: the API's unit of work, CSRF first."""
    async with unit_of_work(request, action) as context:
        await _remember_caller(context)
        await _check_csrf(context, form)
        yield context


@contextlib.asynccontextmanager
async def changing(request: Request, form: FormData) -> AsyncIterator[ApiContext]:
    """A console form that is no Casdoor action (inspector bins): CSRF-checked, committed, no event."""
    async with viewing(request) as context:
        await _check_csrf(context, form)
        yield context
        await context.db.commit()
