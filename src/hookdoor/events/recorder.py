"""Turns one API call into one ``events`` row, written in the caller's transaction.

The route fills an :class:`Action` as it works (organization, subject user, object); the request's
unit of work calls :func:`record` just before commit, or after a rollback for a failed action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from hookdoor.db.direct import DirectStatement
from hookdoor.db.tables import events
from hookdoor.db.types import utcnow
from hookdoor.events.ids import new_ulid
from hookdoor.identity.principal import ANONYMOUS, Principal

# Query parameters that carry credentials (lower case): never stored, never sent in a payload, never
# logged (hookdoor/logs.py masks them in every log line).
CREDENTIAL_PARAMS = frozenset(
    {"accesstoken", "access_token", "clientsecret", "client_secret", "accesssecret", "password",
     "oldpassword", "newpassword", "code", "code_verifier", "refresh_token", "refreshtoken", "id_token",
     "id_token_hint", "token", "metricskey"}
)
USER_FIELDS = ("id", "owner", "name", "displayName", "email", "phone", "avatar", "type", "isAdmin")


def redacted_uri(request: Request) -> str:
    query = [
        (key, "***" if key.lower() in CREDENTIAL_PARAMS else value)
        for key, value in parse_qsl(request.url.query, keep_blank_values=True)
    ]
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def request_facts(request: Request) -> dict[str, str]:
    language = request.headers.get("accept-language", "")[:2].lower()
    return {
        "method": request.method,
        "uri": redacted_uri(request),
        "clientIp": request.client.host if request.client else "",
        "userAgent": request.headers.get("user-agent", "")[:512],
        "language": language if language.isalpha() else "en",
    }


def user_summary(user: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of a user every payload may carry: identity and contact, never secrets."""
    if user is None:
        return None
    return {key: user.get(key, "") for key in USER_FIELDS}


@dataclass
class Action:
    """What one API call did, filled in by the route as it goes."""

    name: str
    request: dict[str, str]
    principal: Principal = ANONYMOUS
    organization: str = ""
    subject: dict[str, Any] | None = None  # the user the action concerns (login, set-password...)
    object: dict[str, Any] | None = None  # the object it changed, secrets already masked

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
            "request": self.request,
            "created_at": utcnow(),
            "dispatched": False,
        }


# Compiled once (see db/direct.py): every API call runs it.
INSERT_EVENT = DirectStatement(insert(events), [column.key for column in events.c])


async def record(db: AsyncSession, action: Action, *, outcome: str, status_code: int, message: str = "") -> str:
    row = action.row(outcome=outcome, status_code=status_code, message=message)
    await INSERT_EVENT.execute(db, row)
    return row["id"]
