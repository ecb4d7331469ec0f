"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592), at Casdoor's
``/api/oauth/register``, for organizations whose ``dcrPolicy`` is "open" (off by default).

A client that registers itself is an application like any other, with three limits Casdoor does not
set: it holds no admin rights in its organization (``identity/principal.py``), it may use only the
authorization code grant (with refresh tokens), and its redirect URIs are exact https URLs, or http on
a loopback address for native apps (RFC 8252 7.3). Its registration access token is kept as a hash,
hidden from every reader, and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import OAuthError
from hookdoor.identity.registry import GLOBAL_OWNER, kind
from hookdoor.identity.repository import ObjectRepository

APPLICATIONS = kind("application")
ORGANIZATIONS = kind("organization")
OPEN = "open"
GRANTS = ("authorization_code", "refresh_token")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
LOOPBACK = ("127.0.0.1", "[::1]", "localhost")
TEXT_FIELDS = {"client_name": "displayName", "logo_uri": "logo", "client_uri": "homepageUrl",
               "tos_uri": "termsOfUse", "policy_uri": "policyUri", "scope": "dcrScope"}


def _metadata_error(description: str) -> OAuthError:
    return OAuthError("invalid_client_metadata", description)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _strings(body: dict[str, Any], field: str, default: list[str]) -> list[str]:
    value = body.get(field, default)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _metadata_error(f"{field} must be a list of strings")
    return value


def _redirect_uris(body: dict[str, Any]) -> list[str]:
    uris = body.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        raise OAuthError("invalid_redirect_uri", "redirect_uris is required: a list of at least one URI")
    for uri in uris:
        parts = urlsplit(uri)
        secure = parts.scheme == "https" and bool(parts.hostname)
        native = parts.scheme == "http" and parts.netloc.rsplit(":", 1)[0] in LOOPBACK
        if not (secure or native) or parts.fragment or len(uri) > 2000:
            raise OAuthError("invalid_redirect_uri", f"{uri!r} is not an https URL (or http on a loopback address) "
                             "without a fragment")
    return uris


def _client_metadata(body: dict[str, Any]) -> dict[str, Any]:
    """The registration request's metadata, checked, as the application's fields."""
    grants = _strings(body, "grant_types", ["authorization_code"])
    if not set(grants) <= set(GRANTS):
        raise _metadata_error(f"grant_types may hold only {', '.join(GRANTS)}: a registered client gets tokens "
                              "for users who sign in, never for itself")
    if not set(_strings(body, "response_types", ["code"])) <= {"code"}:
        raise _metadata_error("response_types may hold only code")
    method = body.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise _metadata_error(f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}")
    fields: dict[str, Any] = {"redirectUris": _redirect_uris(body), "grantTypes": grants,
                              "tokenEndpointAuthMethod": method, "contacts": _strings(body, "contacts", [])}
    for name, field in TEXT_FIELDS.items():
        value = body.get(name, "")
        if not isinstance(value, str) or len(value) > 2000:
            raise _metadata_error(f"{name} must be a string of at most 2000 characters")
        fields[field] = value
    return fields


async def _open_organization(db: Any, organization: str) -> dict[str, Any]:
    found = await ObjectRepository(db, ORGANIZATIONS).get(GLOBAL_OWNER, organization)
    if found is None or found.get("dcrPolicy") != OPEN:
        # One answer for both: which organizations exist is nobody's business here.
        raise _metadata_error(f"organization {organization!r} does not accept client registrations "
                              "(its dcrPolicy is not 'open')")
    return found


async def register(db: Any, organization: str, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A new client of ``organization``: the application to add, and its registration access token."""
    await _open_organization(db, organization)
    fields = _client_metadata(body)
    token = secrets.token_urlsafe(32)
    suffix = secrets.token_hex(6)
    now = rfc3339(utcnow())
    application = {
        "owner": GLOBAL_OWNER, "name": f"dcr_{suffix}", "organization": organization, "createdTime": now,
        "updatedTime": now, "category": "Agent", "type": "MCP", "tags": ["dcr"], "enablePassword": True,
        "enableSignUp": False, "clientIdIssuedAt": int(time.time()), "registrationAccessTokenHash": _hash(token),
        **fields,
    }
    application["displayName"] = application["displayName"] or f"DCR Client {suffix}"
    return application, token


async def registered(db: Any, client_id: str, authorization: str) -> dict[str, Any]:
    """The client ``client_id`` for the caller holding its registration access token."""
    token = authorization[7:] if authorization[:7].lower() == "bearer " else ""
    stored = await ObjectRepository(db, APPLICATIONS).find_by("clientId", client_id) if client_id else None
    expected = stored.data.get("registrationAccessTokenHash") or "" if stored else ""
    if not token or not expected or not hmac.compare_digest(_hash(token), expected):
        raise OAuthError("invalid_token", "the registration access token is missing, wrong, or not this client's",
                         401)
    return stored.data


def updated(application: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """RFC 7592 2.2: the request replaces the client's metadata; the client's id cannot change."""
    if body.get("client_id") not in (None, application.get("clientId")):
        raise _metadata_error("client_id must be the client's own")
    if "client_secret" in body and body["client_secret"] != application.get("clientSecret"):
        raise _metadata_error("client_secret cannot be changed here")
    return {**application, **_client_metadata(body), "updatedTime": rfc3339(utcnow())}


def client_information(application: dict[str, Any], base_uri: str, token: str = "") -> dict[str, Any]:
    """RFC 7591 3.2.1's answer: the client's credentials and metadata, and where to manage it."""
    public = application.get("tokenEndpointAuthMethod") == "none"
    answer: dict[str, Any] = {
        "client_id": application["clientId"], "client_id_issued_at": application.get("clientIdIssuedAt", 0),
        "redirect_uris": application.get("redirectUris") or [], "grant_types": application.get("grantTypes") or [],
        "response_types": ["code"], "token_endpoint_auth_method": application.get("tokenEndpointAuthMethod"),
        "client_name": application.get("displayName", ""), "contacts": application.get("contacts") or [],
        "registration_client_uri": f"{base_uri}/{application['clientId']}",
    }
    answer.update({name: application[field] for name, field in TEXT_FIELDS.items()
                   if name != "client_name" and application.get(field)})
    if not public:
        answer.update(client_secret=application.get("clientSecret", ""), client_secret_expires_at=0)
    if token:
        answer["registration_access_token"] = token
    return answer
