"""OpenID Connect discovery and the keys that verify Hookdoor's tokens, at Casdoor's paths.

``/.well-known/openid-configuration`` and ``/.well-known/jwks`` describe the whole server;
``/.well-known/<application>/...`` the same for one application, whose JWKS holds its own cert only.
Public by design, as in every OpenID provider: they hold no secret.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from hookdoor.api.context import ApiContext, api_context
from hookdoor.errors import BadRequest, NotFound
from hookdoor.oauth import keys
from hookdoor.oauth.repository import CertRepository
from hookdoor.oauth.service import issuer_of, jwks

router = APIRouter(prefix="/.well-known", tags=["oauth"])
Context = Depends(api_context, scope="function")
SCOPES = ["openid", "email", "profile", "address", "phone", "offline_access"]
# What a client may ask for today; each entry is served (see docs/casdoor-compatibility.md).
GRANT_TYPES = ["authorization_code", "implicit", "password", "client_credentials", "refresh_token",
               "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange"]
CLAIMS = ["iss", "sub", "aud", "iat", "exp", "nbf", "jti", "azp", "nonce", "at_hash", "c_hash", "auth_time", "owner",
          "name", "preferred_username", "id", "displayName", "avatar", "email", "email_verified", "phone",
          "type", "isAdmin", "groups", "tag", "scope", "tokenType"]


def discovery(issuer: str, jwks_uri: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/login/oauth/authorize",
        "token_endpoint": f"{issuer}/api/login/oauth/access_token",
        "userinfo_endpoint": f"{issuer}/api/userinfo",
        "introspection_endpoint": f"{issuer}/api/login/oauth/introspect",
        "revocation_endpoint": f"{issuer}/api/login/oauth/revoke",
        "jwks_uri": jwks_uri,
        "end_session_endpoint": f"{issuer}/api/logout",
        # RFC 7591; it registers clients only in organizations whose dcrPolicy is "open".
        "registration_endpoint": f"{issuer}/api/oauth/register",
        # The implicit and hybrid types only for applications whose grantTypes include "implicit".
        "response_types_supported": ["code", "token", "id_token", "id_token token", "code id_token", "code token",
                                     "code id_token token"],
        "response_modes_supported": ["query", "fragment"],
        "grant_types_supported": GRANT_TYPES,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(keys.ALGORITHMS),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "scopes_supported": SCOPES,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS,
        "request_parameter_supported": False,
    }


async def _application(context: ApiContext, name: str) -> dict[str, Any]:
    application = await CertRepository(context.db).application(name)
    if application is None:
        raise NotFound(f"application {name!r} does not exist")
    return application


@router.get("/openid-configuration")
async def openid_configuration(context: ApiContext = Context) -> JSONResponse:
    issuer = issuer_of(context)
    return JSONResponse(discovery(issuer, f"{issuer}/.well-known/jwks"))


@router.get("/jwks")
async def server_jwks(context: ApiContext = Context) -> JSONResponse:
    return JSONResponse(jwks(await CertRepository(context.db).published()))


@router.get("/{application}/openid-configuration")
async def application_openid_configuration(application: str, context: ApiContext = Context) -> JSONResponse:
    await _application(context, application)
    issuer = issuer_of(context)
    return JSONResponse(discovery(issuer, f"{issuer}/.well-known/{application}/jwks"))


@router.get("/{application}/jwks")
async def application_jwks(application: str, context: ApiContext = Context) -> JSONResponse:
    certs = CertRepository(context.db)
    cert = await certs.for_application(await _application(context, application))
    return JSONResponse(jwks([cert] if cert and cert.get("certificate") else []))


# ---- RFC 8414, RFC 9728 and WebFinger (OIDC Discovery 2) ----------------------------------------

ISSUER_REL = "http://openid.net/specs/connect/1.0/issuer"


def authorization_server_metadata(issuer: str, jwks_uri: str) -> dict[str, Any]:
    """RFC 8414: the same facts as OpenID discovery, without the OpenID-only ones."""
    openid_only = ("userinfo_endpoint", "end_session_endpoint", "subject_types_supported",
                   "id_token_signing_alg_values_supported", "claims_supported", "request_parameter_supported")
    return {k: v for k, v in discovery(issuer, jwks_uri).items() if k not in openid_only}


def protected_resource_metadata(resource: str, issuer: str) -> dict[str, Any]:
    """RFC 9728: this server's API as a resource, protected by its own authorization server."""
    return {"resource": resource, "authorization_servers": [issuer], "bearer_methods_supported": ["header"],
            "scopes_supported": SCOPES, "resource_signing_alg_values_supported": list(keys.ALGORITHMS)}


def webfinger(resource: str, rels: list[str], issuer: str) -> JSONResponse:
    """Which issuer serves ``acct:<email>``. Answered alike whether or not such a user exists (Casdoor
    looks the email up, which tells anyone who has an account)."""
    scheme, sep, value = resource.partition(":")
    if not sep or scheme not in ("acct", "https", "http") or not value:
        raise BadRequest("invalid parameter resource: expected acct:<email> or a URL")
    links = [{"rel": ISSUER_REL, "href": issuer}] if not rels or ISSUER_REL in rels else []
    return JSONResponse({"subject": resource, "links": links}, media_type="application/jrd+json")


@router.get("/oauth-authorization-server")
async def oauth_authorization_server(context: ApiContext = Context) -> JSONResponse:
    issuer = issuer_of(context)
    return JSONResponse(authorization_server_metadata(issuer, f"{issuer}/.well-known/jwks"))


@router.get("/oauth-protected-resource")
async def oauth_protected_resource(context: ApiContext = Context) -> JSONResponse:
    issuer = issuer_of(context)
    return JSONResponse(protected_resource_metadata(issuer, issuer))


@router.get("/webfinger")
async def server_webfinger(context: ApiContext = Context, resource: str = Query("", max_length=400),
                           rel: list[str] = Query(default_factory=list)) -> JSONResponse:
    return webfinger(resource, rel, issuer_of(context))


@router.get("/{application}/oauth-authorization-server")
async def application_authorization_server(application: str, context: ApiContext = Context) -> JSONResponse:
    await _application(context, application)
    issuer = issuer_of(context)
    return JSONResponse(authorization_server_metadata(issuer, f"{issuer}/.well-known/{application}/jwks"))


@router.get("/{application}/oauth-protected-resource")
async def application_protected_resource(application: str, context: ApiContext = Context) -> JSONResponse:
    await _application(context, application)
    issuer = issuer_of(context)
    return JSONResponse(protected_resource_metadata(f"{issuer}/.well-known/{application}", issuer))


@router.get("/{application}/webfinger")
async def application_webfinger(application: str, context: ApiContext = Context,
                                resource: str = Query("", max_length=400),
                                rel: list[str] = Query(default_factory=list)) -> JSONResponse:
    await _application(context, application)
    return webfinger(resource, rel, issuer_of(context))
