"""Sessions, access tokens and the four ways a caller proves who it is.

Session cookies and access tokens are random strings; only their SHA-256 is stored, so a copy of
the database does not hand out live credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, and_, bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from hookdoor.config import Settings
from hookdoor.db.direct import DirectSelect
from hookdoor.db.tables import KIND_TABLES, auth_sessions
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import NotAuthenticated
from hookdoor.identity.principal import (
    ANONYMOUS,
    Principal,
    application_principal,
    user_principal,
)
from hookdoor.identity.registry import GLOBAL_OWNER, kind
from hookdoor.identity.repository import ListQuery, ObjectRepository
from hookdoor.oauth.repository import DEFAULT_CERT
from hookdoor.oauth.service import TokenSigner

ResponseT = TypeVar("ResponseT", bound=Response)
SESSION_COOKIE = "casdoor_session_id"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def secrets_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


# ---- login sessions ------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str


async def open_session(db: AsyncSession, user: dict[str, Any], application: str, settings: Settings) -> NewSession:
    token, csrf = new_token(), new_token(24)
    now = utcnow()
    await db.execute(
        insert(auth_sessions).values(
            token_hash=hash_token(token),
            owner=user["owner"],
            name=user["name"],
            application=application,
            created_at=now,
            expires_at=now + timedelta(hours=settings.session_ttl_hours),
            csrf_token=csrf,
        )
    )
    return NewSession(token=token, csrf_token=csrf)


def with_session_cookie(response: ResponseT, token: str, settings: Settings) -> ResponseT:
    """The browser keeps the session a sign-in opened (whichever way it signed in)."""
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=settings.cookie_secure,
                        max_age=settings.session_ttl_hours * 3600, path="/")
    return response


async def close_session(db: AsyncSession, token_hash: str) -> None:
    await db.execute(delete(auth_sessions).where(auth_sessions.c.token_hash == token_hash))


async def close_all_sessions(db: AsyncSession, owner: str, name: str, keep: str | None = None) -> int:
    statement = delete(auth_sessions).where(auth_sessions.c.owner == owner, auth_sessions.c.name == name)
    if keep is not None:
        statement = statement.where(auth_sessions.c.token_hash != keep)
    result = await db.execute(statement)
    return result.rowcount


async def session_started_at(db: AsyncSession, token_hash: str | None) -> int:
    """When the session began (the OIDC ``auth_time``), in seconds; 0 for no session."""
    if not token_hash:
        return 0
    started = await db.scalar(select(auth_sessions.c.created_at).where(auth_sessions.c.token_hash == token_hash))
    return int(started.timestamp()) if started else 0


async def session_csrf_token(db: AsyncSession, token_hash: str) -> str | None:
    return await db.scalar(select(auth_sessions.c.csrf_token).where(auth_sessions.c.token_hash == token_hash))


# ---- access tokens -------------------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedToken:
    name: str
    access_token: str
    refresh_token: str
    expires_in: int
    token: dict[str, Any]
    id_token: str | None = None


async def issue_token(
    db: AsyncSession, signer: TokenSigner, *, application: dict[str, Any], user: dict[str, Any] | None,
    scope: str = "", nonce: str = "", auth_time: int | None = None, code: str = "",
) -> IssuedToken:
    """Signed access and refresh tokens for ``user`` of ``application`` (None: the application
    itself); the token object records whom they act for, and stores only their hashes."""
    signed = await signer.sign(application, user, scope=scope, nonce=nonce, auth_time=auth_time, code=code)
    organization = user["owner"] if user else application.get("organization", "")
    token = _token_object(application["name"], organization, user["name"] if user else "", scope, "Bearer",
                          signed.expires_in, name=signed.name)
    await ObjectRepository(db, kind("token")).insert(
        token,
        {
            "access_token_hash": hash_token(signed.access_token),
            "refresh_token_hash": hash_token(signed.refresh_token),
            "expires_at": utcnow() + timedelta(seconds=signed.expires_in),
            "refresh_expires_at": utcnow() + timedelta(seconds=signed.refresh_expires_in),
        },
    )
    return IssuedToken(token["name"], signed.access_token, signed.refresh_token, signed.expires_in, token,
                       signed.id_token)


CODE_LIFETIME = timedelta(minutes=5)


def _token_object(application: str, organization: str, user: str, scope: str, token_type: str,
                  expires_in: int, name: str | None = None) -> dict[str, Any]:
    now = rfc3339(utcnow())
    return {
        "owner": GLOBAL_OWNER, "name": name or uuid.uuid4().hex, "createdTime": now, "updatedTime": now,
        "application": application, "organization": organization, "user": user,
        "expiresIn": expires_in, "scope": scope, "tokenType": token_type,
    }


@dataclass(frozen=True)
class CodeGrant:
    """What an authorization code was issued for, and what its exchange must repeat."""

    scope: str = ""
    nonce: str = ""
    code_challenge: str = ""  # PKCE S256: base64url(SHA-256(code_verifier))
    redirect_uri: str = ""
    auth_time: int = 0


async def issue_code(
    db: AsyncSession, *, application: str, organization: str, user: str, grant: CodeGrant = CodeGrant()
) -> str:
    """A one-time authorization code, exchanged for tokens at /api/login/oauth/access_token."""
    code = new_token()
    token = _token_object(application, organization, user, grant.scope, "code", int(CODE_LIFETIME.total_seconds()))
    token.update(nonce=grant.nonce, codeChallenge=grant.code_challenge, redirectUri=grant.redirect_uri,
                 authTime=grant.auth_time, codeIsUsed=False)
    await ObjectRepository(db, kind("token")).insert(
        token, {"code_hash": hash_token(code), "expires_at": utcnow() + CODE_LIFETIME}
    )
    return code


class CodeReused(Exception):
    """A code presented again: whoever has it now may not be its client. ``issued`` names the token
    object its first exchange made, to be revoked."""

    def __init__(self, issued: str) -> None:
        super().__init__("the authorization code was already used")
        self.issued = issued


async def redeem_code(db: AsyncSession, code: str, application: str) -> dict[str, Any] | None:
    """The code's token object, marked used, if the code is live and the application's."""
    repository = ObjectRepository(db, kind("token"))
    stored = await repository.find_by("code_hash", hash_token(code))
    if stored is None or stored.data.get("application") != application:
        return None
    if stored.data.get("codeIsUsed"):
        raise CodeReused(stored.data.get("issuedToken") or "")
    if stored.private["expires_at"] is None or stored.private["expires_at"] <= utcnow():
        await repository.delete(stored.data["owner"], stored.data["name"])
        return None
    if not await repository.claim(stored.data["owner"], stored.data["name"], "expires_at"):
        # Another exchange of this code got there first (and has committed by now): a reuse.
        winner = await repository.get(stored.data["owner"], stored.data["name"])
        raise CodeReused((winner or {}).get("issuedToken") or "")
    used = {**stored.data, "codeIsUsed": True}
    await repository.replace(used["owner"], used["name"], used)
    return used


async def note_code_exchange(db: AsyncSession, code_token: dict[str, Any], issued: str) -> None:
    used = {**code_token, "issuedToken": issued}
    await ObjectRepository(db, kind("token")).replace(used["owner"], used["name"], used)


class RefreshReused(Exception):
    """A refresh token presented again after it was rotated: someone else has a copy. ``descendant``
    names the token object its rotation made, first of the family to revoke."""

    def __init__(self, descendant: str) -> None:
        super().__init__("the refresh token was already used")
        self.descendant = descendant


async def rotate_refresh(db: AsyncSession, refresh: str, application: str) -> dict[str, Any] | None:
    """The token a refresh token belongs to, retired, if it is the application's: its access token
    stops working at once and its row stays, so that a second use of the refresh token is known."""
    repository = ObjectRepository(db, kind("token"))
    stored = await repository.find_by("refresh_token_hash", hash_token(refresh))
    if stored is None or stored.data.get("application") != application:
        return None
    if stored.data.get("rotatedTo"):
        raise RefreshReused(stored.data["rotatedTo"])
    expires = stored.private.get("refresh_expires_at") or stored.private.get("expires_at")
    if expires is None or expires <= utcnow():
        return None
    if not await repository.claim(stored.data["owner"], stored.data["name"], "access_token_hash"):
        # A concurrent refresh with the same token rotated it first: a reuse, as if it came later.
        winner = await repository.get(stored.data["owner"], stored.data["name"])
        raise RefreshReused((winner or {}).get("rotatedTo") or "")
    return stored.data


async def note_rotation(db: AsyncSession, retired: dict[str, Any], successor: str) -> None:
    await ObjectRepository(db, kind("token")).replace(
        retired["owner"], retired["name"], {**retired, "rotatedTo": successor}
    )


async def revoke_family(db: AsyncSession, first: str) -> None:
    """Revoke ``first`` and every token rotated from it since."""
    repository = ObjectRepository(db, kind("token"))
    name, seen = first, set()
    while name and name not in seen:
        seen.add(name)
        token = await repository.get(GLOBAL_OWNER, name)
        await repository.delete(GLOBAL_OWNER, name)
        name = (token or {}).get("rotatedTo") or ""


async def revoke_token(db: AsyncSession, name: str) -> None:
    if name:
        await ObjectRepository(db, kind("token")).delete(GLOBAL_OWNER, name)


async def revoke_user_tokens(db: AsyncSession, organization: str, user: str) -> int:
    repository = ObjectRepository(db, kind("token"))
    tokens, _ = await repository.list(ListQuery(organization=organization, equals={"user": user}))
    for token in tokens:
        await repository.delete(token["owner"], token["name"])
    return len(tokens)


async def prepare_new_application(context: object, data: dict[str, Any]) -> dict[str, Any]:
    """A new application's client credentials, unless the body chose them (declared with the kind
    in identity/registry.py)."""
    data["clientId"] = data.get("clientId") or secrets.token_hex(10)
    data["clientSecret"] = data.get("clientSecret") or secrets.token_hex(20)
    data["cert"] = data.get("cert") or DEFAULT_CERT  # as in Casdoor: every application has a cert
    return {}


# ---- resolving the caller ------------------------------------------------------------------------

def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise NotAuthenticated("malformed Basic authorization header") from None
    client_id, _, client_secret = decoded.partition(":")
    return client_id, client_secret


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("accessToken") or request.query_params.get("access_token")


def _may_sign_in(user: dict[str, Any] | None) -> bool:
    return user is not None and not user.get("isForbidden") and not user.get("isDeleted")


async def _load_user(db: AsyncSession, owner: str, name: str) -> dict[str, Any] | None:
    user = await ObjectRepository(db, kind("user")).get(owner, name)
    return user if _may_sign_in(user) else None


async def _principal_from_bearer(db: AsyncSession, token: str) -> Principal:
    """The user and application the token was issued to, and no one else: a token whose application
    is gone or sits in another organization, or whose user is gone, forbidden or elsewhere, is refused."""
    stored = await ObjectRepository(db, kind("token")).find_by("access_token_hash", hash_token(token))
    if stored is None or stored.private["expires_at"] is None or stored.private["expires_at"] <= utcnow():
        raise NotAuthenticated("the access token is invalid or has expired")
    data = stored.data
    organization = data.get("organization") or ""
    application = await ObjectRepository(db, kind("application")).get(GLOBAL_OWNER, data.get("application") or "")
    if application is None or not organization or application.get("organization") != organization:
        raise NotAuthenticated("the access token's application no longer exists in its organization")
    if not data.get("user"):
        return application_principal(application, access_token_name=data["name"])
    user = await _load_user(db, organization, data["user"])
    if user is None:
        raise NotAuthenticated("the access token's user no longer exists or is forbidden")
    return user_principal(user, access_token_name=data["name"], token_scope=data.get("scope") or "",
                          token_client_id=application.get("clientId") or "")


async def _principal_from_client(db: AsyncSession, client_id: str, client_secret: str) -> Principal:
    stored = await ObjectRepository(db, kind("application")).find_by("clientId", client_id)
    if stored is None or not secrets_equal(client_secret, stored.data.get("clientSecret") or ""):
        raise NotAuthenticated("invalid clientId or clientSecret")
    return application_principal(stored.data)


async def _principal_from_access_key(db: AsyncSession, access_key: str, access_secret: str) -> Principal:
    stored = await ObjectRepository(db, kind("user")).find_by("accessKey", access_key)
    if stored is None or not secrets_equal(access_secret, stored.data.get("accessSecret") or ""):
        raise NotAuthenticated("invalid accessKey or accessSecret")
    if stored.data.get("isForbidden") or stored.data.get("isDeleted"):
        raise NotAuthenticated("the user of this accessKey is forbidden")
    return user_principal(stored.data)


def _session_with_user() -> Select[Any]:
    """A session and its user's document in one statement (most API calls come with a cookie).
    A session whose user is gone finds no row, like an unknown session."""
    users = KIND_TABLES["user"]
    is_session_user = and_(users.c.owner == auth_sessions.c.owner, users.c.name == auth_sessions.c.name)
    return (
        select(auth_sessions.c.expires_at, auth_sessions.c.impersonating, users.c.data)
        .select_from(auth_sessions.join(users, is_session_user))
        .where(auth_sessions.c.token_hash == bindparam("token_hash"))
    )


SESSION_WITH_USER = DirectSelect(_session_with_user())


async def _principal_from_session(db: AsyncSession, cookie: str) -> Principal:
    token_hash = hash_token(cookie)
    row = await SESSION_WITH_USER.first(db, token_hash=token_hash)
    if row is None or row["expires_at"] <= utcnow() or not _may_sign_in(row["data"]):
        return ANONYMOUS
    real = user_principal(row["data"], session_token_hash=token_hash)
    if row["impersonating"] and real.is_global_admin:  # no longer one: the impersonation ends
        owner, _, name = row["impersonating"].partition("/")
        if (target := await _load_user(db, owner, name)) is not None:
            return user_principal(target, session_token_hash=token_hash, impersonator=real.ref)
    return real


async def resolve_principal(db: AsyncSession, request: Request) -> Principal:
    """Casdoor's precedence: bearer token, client credentials, access key, session cookie."""
    query = request.query_params
    if token := _bearer_token(request):
        return await _principal_from_bearer(db, token)
    basic = basic_credentials(request)
    if basic is None and query.get("clientId") and query.get("clientSecret"):
        # Both, as Casdoor: a clientId alone names the client of an authorization request
        # (Casdoor's sign-in page sends it so to /api/login), and authenticates nobody.
        basic = (query["clientId"], query["clientSecret"])
    if basic is not None:
        return await _principal_from_client(db, *basic)
    if query.get("accessKey"):
        return await _principal_from_access_key(db, query["accessKey"], query.get("accessSecret", ""))
    if cookie := request.cookies.get(SESSION_COOKIE):
        return await _principal_from_session(db, cookie)
    return ANONYMOUS
