"""SAML's rules, both ways.

As identity provider for an application (Casdoor's ``GetSamlMeta`` / ``GetSamlResponse``): the
metadata is signed with the application's cert; an AuthnRequest is answered only for a service
provider the application's redirect URIs name, at an ACS URL they name too (or at the application's
``samlReplyUrl``); Casdoor checks the issuer alone and sends the assertion wherever the request says.

As service provider (Casdoor's provider of category SAML): a sign-in is a federation sign-in
(``federation/``), whose state travels as the RelayState and whose AuthnRequest ID is its secret, so
that the upstream's Response is accepted once, for the browser that started it, and only as the answer
to that request. The user it asserts is found, linked or created by the federation.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

from hookdoor.errors import BadRequest, NotFound
from hookdoor.federation.schemas import UpstreamUser
from hookdoor.federation.service import Arrival, Departure
from hookdoor.oauth import keys
from hookdoor.oauth.service import redirect_uri_allowed
from hookdoor.saml import protocol
from hookdoor.saml.repository import SamlStore
from hookdoor.saml.schemas import (
    IdpSettings,
    SamlRefused,
    SamlUpstream,
    is_saml_provider,
    upstream_user,
    user_attributes,
)

ACS_PATH = "/api/acs"


# ---- what saving a provider implies (declared with the kind in identity/registry.py) -----------------

async def check_new_provider(context: Any, data: dict[str, Any]) -> dict[str, Any]:
    """A SAML provider names an IdP whose metadata (given, or made from its fields) pysaml2 reads."""
    if not is_saml_provider(data):
        return {}
    upstream = SamlUpstream.of(data)
    if upstream.sso_url and urlsplit(upstream.sso_url).scheme not in ("http", "https"):
        raise BadRequest("invalid field endpoint: the IdP's SSO URL must be an http(s) URL")
    # The browser goes there, never this server: no outbound connection, so no SSRF check to make.
    await asyncio.to_thread(protocol.check_metadata, upstream, "http://hookdoor.invalid" + ACS_PATH)
    return {}


async def check_updated_provider(context: Any, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return await check_new_provider(context, data)


# ---- Hookdoor as service provider ------------------------------------------------------------------

def acs_url(issuer: str) -> str:
    """This SP's entity id and ACS URL, as Casdoor names both: ``<origin>/api/acs``."""
    return issuer.rstrip("/") + ACS_PATH


def request_id(departure_secret: str) -> str:
    """The AuthnRequest's ID: the sign-in's secret (its PKCE verifier for OAuth), as an xs:ID."""
    return "_" + departure_secret


async def sign_in_url(upstream: SamlUpstream, issuer: str, departure: Departure) -> str:
    return await asyncio.to_thread(protocol.sign_in_url, upstream, acs_url(issuer),
                                   request_id(departure.code_verifier), departure.state)


async def asserted_user(arrival: Arrival, issuer: str, encoded: str) -> UpstreamUser:
    """The user the upstream's Response asserts for this sign-in, or SamlRefused saying why not."""
    upstream = arrival.found.upstream
    if not isinstance(upstream, SamlUpstream):
        raise SamlRefused(f"provider {upstream.id} is no SAML provider: its sign-in does not end at {ACS_PATH}")
    if not encoded:
        raise BadRequest("invalid field SAMLResponse: the IdP's response is missing")
    asserted = await asyncio.to_thread(protocol.asserted_user, upstream, acs_url(issuer), encoded,
                                       request_id(arrival.pending.code_verifier))
    return upstream_user(asserted, upstream)


# ---- Hookdoor as identity provider ------------------------------------------------------------------

@dataclass(frozen=True)
class SsoLocation:
    url: str
    binding: str


def sso_location(issuer: str, application: dict[str, Any], post_binding: bool) -> SsoLocation:
    """Casdoor's two SSO endpoints: the sign-in page's (Redirect binding) or the API's (POST binding)."""
    origin, ident = issuer.rstrip("/"), f"{application['owner']}/{application['name']}"
    if post_binding:
        return SsoLocation(f"{origin}/api/saml/redirect/{ident}", BINDING_HTTP_POST)
    return SsoLocation(f"{origin}/login/saml/authorize/{ident}", BINDING_HTTP_REDIRECT)


def application_id(value: str) -> tuple[str, str]:
    owner, _, name = value.partition("/")
    if not owner or not name:
        raise BadRequest(f"invalid parameter application: {value!r} is not an application id (admin/<name>)")
    return owner, name


async def identity_provider(db: Any, issuer: str, owner: str, name: str,
                            post_binding: bool = False) -> tuple[dict[str, Any], protocol.IdentityProvider]:
    """The application ``owner/name`` and Hookdoor as its IdP: entity id, SSO endpoint, signing cert."""
    store = SamlStore(db)
    application = await store.application(owner, name)
    if application is None:
        raise NotFound(f"application {owner}/{name} not found")
    settings = IdpSettings.of(application)
    cert = await store.cert_of(application)
    if cert is None or not cert.get("certificate") or not cert.get("privateKey"):
        raise BadRequest(f"application {owner}/{name} has no cert with key material: set a cert for the "
                         "application first")
    if not keys.algorithm_of(cert).startswith(("RS", "PS")):
        raise BadRequest(f"cert {cert['owner']}/{cert['name']} is {keys.algorithm_of(cert)}: SAML signatures "
                         "need an RSA cert")
    location = sso_location(issuer, application, post_binding)
    signing = protocol.SigningCert(cert["certificate"], cert["privateKey"])
    return application, protocol.IdentityProvider(issuer.rstrip("/"), location.url, location.binding, signing,
                                                  settings)


async def metadata(idp: protocol.IdentityProvider) -> str:
    return await asyncio.to_thread(protocol.idp_metadata, idp)


async def authn_request(idp: protocol.IdentityProvider, encoded: str) -> protocol.AuthnRequest:
    if not encoded:
        raise BadRequest("invalid parameter SAMLRequest: the service provider's AuthnRequest is missing")
    return await asyncio.to_thread(protocol.parse_authn_request, idp, encoded)


def reply_to(application: dict[str, Any], settings: IdpSettings, request: protocol.AuthnRequest) -> str:
    """Where the Response goes: the application's samlReplyUrl, else the request's ACS URL - which,
    like the request's issuer, the application's redirect URIs must name."""
    if not redirect_uri_allowed(application, request.issuer):
        raise BadRequest(f"Issuer URI: {request.issuer} doesn't exist in the allowed Redirect URI list of "
                         f"application {application['name']}")
    if settings.reply_url:
        return settings.reply_url
    if not request.acs_url:
        raise BadRequest("the SAML request has no AssertionConsumerServiceURL and the application no samlReplyUrl")
    if not redirect_uri_allowed(application, request.acs_url):
        raise BadRequest(f"AssertionConsumerServiceURL {request.acs_url} doesn't exist in the allowed Redirect URI "
                         f"list of application {application['name']}")
    return request.acs_url


async def signed_response(idp: protocol.IdentityProvider, request: protocol.AuthnRequest, acs: str,
                          user: dict[str, Any]) -> str:
    """The signed Response asserting ``user``: NameID their name (or email, as the application says)."""
    name_id = (user.get("email") or "") if idp.settings.name_id_is_email else user["name"]
    if not name_id:
        raise BadRequest(f"user {user['owner']}/{user['name']} has no email to be the SAML NameID")
    roles = [r if isinstance(r, str) else str(r.get("name") or "") for r in user.get("roles") or []
             if isinstance(r, (str, dict))]
    attributes = user_attributes(idp.settings, user, [r for r in roles if r])
    return await asyncio.to_thread(protocol.authn_response, idp, request, acs, name_id, attributes)
