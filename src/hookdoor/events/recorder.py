"""Turns one API call into one ``events`` row, written in the caller's transaction.

The route fills an :class:`Action` as it works (organization, subject user, object); the request's
unit of work calls :func:`record` just before commit, or after a rollback for a failed action.
The body the route parsed (:func:`remember_body`) is recorded with every credential masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qsl, quote_plus, urlencode

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from hookdoor.db.direct import DirectStatement
from hookdoor.db.tables import events
from hookdoor.db.types import utcnow
from hookdoor.events.ids import new_ulid
from hookdoor.identity.principal import ANONYMOUS, Principal

# The one list of credential names, compared lower-cased: query parameters so named are left out of
# recorded URIs, and fields so named (in a JSON or form body, at any depth) are recorded as MASK.
# Never stored, never sent in a payload, never logged (hookdoor/logs.py masks them in every log
# line). Every secret or hidden field of the resource kinds
# (identity/registry.py) is here too: a body that creates or changes an object carries them.
CREDENTIAL_PARAMS = frozenset(
    {
        # passwords
        "password", "newpassword", "oldpassword", "new_password", "old_password", "passwordsalt",
        # application and API-key secrets
        "clientsecret", "client_secret", "clientsecret2", "accesssecret", "access_secret", "secret",
        "client_assertion", "privatekey", "private_key",
        # tokens and one-time codes
        "accesstoken", "access_token", "refreshtoken", "refresh_token", "idtoken", "id_token",
        "id_token_hint", "token", "code", "code_verifier", "device_code", "emailcode", "phonecode",
        "passcode", "recoverycode", "recoverycodes", "totpsecret", "captchatoken", "samlresponse",
        "subject_token", "devicecode",
        # invitation codes admit sign-ups (invitations/): the signup body's, and an invitation's own
        "invitationcode", "defaultcode", "usedcodehashes",
        # a dynamically registered client's registration access token (and its hash)
        "registration_access_token", "registrationaccesstokenhash",
        # a WebAuthn answer (spent once used, but a signature is nobody's business), face data
        "signature", "authenticatordata", "attestationobject", "clientdatajson", "faceidimage",
        # a webhook's signing secrets, and its custom headers (their values are API keys and the like)
        "signingsecret", "previoussigningsecret", "headers",
        # a sending provider's custom headers (API keys); an answered captcha; a code's own hash
        "httpheaders", "captchacode", "captchaanswer", "codehash",
        # the key that reads /api/metrics
        "metricskey",
    }
)
MASK = "***"
# A body larger than this is not recorded (its event's Casdoor `object` is empty): events are
# rendered into every delivery, and Casdoor's objects are a few KB.
RECORDED_BODY_LIMIT = 64 * 1024
# Casdoor's record keeps at most this many characters of the request URI (its column's size).
REQUEST_URI_LIMIT = 1000
USER_FIELDS = ("id", "owner", "name", "displayName", "email", "phone", "avatar", "type", "isAdmin")


def redacted_uri(request: Request) -> str:
    """The path and query as Casdoor's util.FilterQuery writes them: credential parameters removed;
    the others sorted by name (Go's url.Values.Encode), each name's values in their order,
    query-escaped but with ``/`` left as it is; at most REQUEST_URI_LIMIT characters."""
    query = [
        (key, value)
        for key, value in parse_qsl(request.url.query, keep_blank_values=True)
        if key.lower() not in CREDENTIAL_PARAMS
    ]
    query.sort(key=lambda pair: pair[0])  # a stable sort: a name's values keep their order
    encoded = urlencode(query, quote_via=quote_plus).replace("%2F", "/")
    return (request.url.path + (f"?{encoded}" if query else ""))[:REQUEST_URI_LIMIT]


def casdoor_language(accept_language: str) -> str:
    """Casdoor's record language: the header's first two characters, "en" unless they make a
    two-letter code (conf.GetLanguage). Non-ASCII is "en" too: Go would cut a character in two."""
    language = accept_language[:2]
    return language if len(language) == 2 and language.isascii() and language != "nu" else "en"


def request_facts(request: Request) -> dict[str, str]:
    return {
        "method": request.method,
        "uri": redacted_uri(request),
        "clientIp": request.client.host if request.client else "",
        "userAgent": request.headers.get("user-agent", "")[:512],
        "language": casdoor_language(request.headers.get("accept-language", "")),
    }


def user_summary(user: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of a user every payload may carry: identity and contact, never secrets."""
    if user is None:
        return None
    return {key: user.get(key, "") for key in USER_FIELDS}


class ParsedBody(NamedTuple):  # a tuple: made on every call with a body, and cheaper than a dataclass
    """A request body as its route parsed it (unmasked: it stays in memory, masked when recorded)."""

    value: Any  # a JSON value, or a form's fields as a dict of strings
    encoding: Literal["json", "form"]
    size: int  # bytes received


def remember_json(request: Request, value: Any, size: int) -> None:
    """Called where a JSON body is parsed, so that recording it never parses it again."""
    request.state.parsed_body = ParsedBody(value, "json", size)


def remember_form(request: Request, fields: dict[str, str]) -> None:
    """Called where a form is parsed, with its text fields."""
    size = sum(len(key) + len(value) for key, value in fields.items())
    request.state.parsed_body = ParsedBody(fields, "form", size)


def parsed_body(request: Request) -> ParsedBody | None:
    return getattr(request.state, "parsed_body", None)


def masked(value: Any) -> Any:
    """A copy of a JSON value with the value of every credential field, at any depth, as MASK:
    whatever it is (a number, an object, an empty string), so that none of it can leak."""
    # Recursing only into containers: an update-user body is ~80 scalar fields, and this runs on
    # every call that has a body.
    if isinstance(value, dict):
        return {
            key: MASK if key.lower() in CREDENTIAL_PARAMS else masked(item) if isinstance(item, (dict, list)) else item
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [masked(item) if isinstance(item, (dict, list)) else item for item in value]
    return value


def recorded_body(body: ParsedBody | None) -> dict[str, Any]:
    """The request facts that describe the body: nothing when there was none (or too much)."""
    if body is None or body.size > RECORDED_BODY_LIMIT:
        return {}
    return {"body": masked(body.value), "bodyEncoding": body.encoding}


def caller_facts(principal: Principal) -> dict[str, Any]:
    """Who made the call, for payloads that name the caller rather than the user concerned; and
    the global administrator behind them when they were impersonated."""
    if principal.kind == "user":
        identity = user_summary(principal.user) or {"owner": principal.organization, "name": principal.name}
        facts: dict[str, Any] = {"caller": {"kind": "user", **identity}}
        if principal.impersonator:
            facts["impersonator"] = principal.impersonator
        return facts
    if principal.kind == "application":
        return {"caller": {"kind": "application", "owner": principal.organization, "name": principal.name}}
    return {}


@dataclass
class Action:
    """What one API call did, filled in by the route as it goes."""

    name: str
    request: dict[str, str]
    principal: Principal = ANONYMOUS
    organization: str = ""
    subject: dict[str, Any] | None = None  # the user the action concerns (login, set-password...)
    object: dict[str, Any] | None = None  # the object it changed, secrets already masked
    body: ParsedBody | None = None  # the request body, given by the unit of work before recording

    def concerns(self, *, subject: dict[str, Any] | None = None, obj: dict[str, Any] | None = None,
                 organization: str | None = None) -> None:
        if subject is not None:
            self.subject = subject
            self.organization = self.organization or subject.get("owner", "")
        if obj is not None:
            self.object = obj
        if organization:
            self.organization = organization

    def derived(self, name: str) -> Action:
        """A second event of the same call (signup also records new-user)."""
        return Action(name=name, request=self.request, principal=self.principal,
                      organization=self.organization, subject=self.subject, object=self.object)

    def _subject_ref(self) -> str | None:
        if self.subject is None:
            return None
        return f"{self.subject.get('owner', '')}/{self.subject.get('name', '')}"

    def row(self, *, outcome: str, status_code: int, message: str) -> dict[str, Any]:
        user = self.subject if self.subject is not None else self.principal.user
        return {
            "id": new_ulid(),
            "action": self.name,
            "organization": self.organization or self.principal.organization,
            "actor": self.principal.ref,
            "subject": self._subject_ref(),
            "outcome": outcome,
            "status_code": status_code,
            "message": message[:1000],
            "user": user_summary(user),
            "object": self.object,
            "request": {**self.request, **recorded_body(self.body), **caller_facts(self.principal)},
            "created_at": utcnow(),
            "dispatched": False,
        }


# Compiled once (see db/direct.py): every API call runs it.
INSERT_EVENT = DirectStatement(insert(events), [column.key for column in events.c])


async def record(db: AsyncSession, action: Action, *, outcome: str, status_code: int, message: str = "") -> str:
    row = action.row(outcome=outcome, status_code=status_code, message=message)
    await INSERT_EVENT.execute(db, row)
    return row["id"]
