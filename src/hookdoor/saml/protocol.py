"""The SAML messages themselves, made and checked by pysaml2 with Debian's ``xmlsec1``.

Everything here blocks (pysaml2 runs ``xmlsec1`` as a subprocess for every signature), so the service
calls it in a thread and never inside a transaction. pysaml2 reads keys and certificates from files:
each operation writes the cert it needs to a private temporary folder (mode 0700) and removes it when
done, so a private key is on disk only for the few milliseconds of one signature.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, SAMLError, saml, xmldsig
from saml2.attribute_converter import AttributeConverter, do_ava
from saml2.client import Saml2Client
from saml2.config import IdPConfig, SPConfig
from saml2.metadata import create_metadata_string
from saml2.response import StatusError, UnsolicitedResponse, VerificationError
from saml2.s_utils import UnknownPrincipal, UnravelError, UnsupportedBinding
from saml2.saml import NAME_FORMAT_BASIC, NameID
from saml2.server import Server
from saml2.sigver import SignatureError
from saml2.validate import ResponseLifetimeExceed, ToEarly

from hookdoor.saml.schemas import (
    NAMEID_EMAIL,
    NAMEID_FORMATS,
    AssertedUser,
    IdpSettings,
    SamlRefused,
    SamlUnavailable,
    SamlUpstream,
)

# pysaml2 logs whole messages at DEBUG: an assertion is a credential, and never reaches a log.
logging.getLogger("saml2").setLevel(logging.WARNING)
HASHES = {"SHA1": (xmldsig.SIG_RSA_SHA1, xmldsig.DIGEST_SHA1),
          "SHA256": (xmldsig.SIG_RSA_SHA256, xmldsig.DIGEST_SHA256),
          "SHA512": (xmldsig.SIG_RSA_SHA512, xmldsig.DIGEST_SHA512)}
# The IdP's answer is valid this long (Casdoor: 24 hours; an assertion is used within seconds).
RESPONSE_MINUTES = 5
PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def xmlsec_binary() -> str:
    found = shutil.which("xmlsec1")
    if found is None:
        raise SamlUnavailable("SAML needs the xmlsec1 program (Debian's package xmlsec1), which is not installed")
    return found


@dataclass(frozen=True)
class SigningCert:
    certificate: str  # PEM
    private_key: str  # PEM


@contextlib.contextmanager
def _key_files(cert: SigningCert | None) -> Iterator[dict[str, str]]:
    """The cert as pysaml2's ``key_file`` / ``cert_file`` settings, in a folder only this process reads."""
    if cert is None:
        yield {}
        return
    with tempfile.TemporaryDirectory(prefix="hookdoor-saml-") as folder:
        key, certificate = Path(folder, "key.pem"), Path(folder, "cert.pem")
        key.touch(mode=0o600)
        key.write_text(cert.private_key)
        certificate.write_text(cert.certificate)
        yield {"key_file": str(key), "cert_file": str(certificate)}


class _AttributesAsNamed(AttributeConverter):
    """Attributes under the names the application gave them (Casdoor's "Email", "DisplayName"...):
    pysaml2's own converters would rename them after its attribute dictionaries."""

    def __init__(self) -> None:
        super().__init__(NAME_FORMAT_BASIC)

    def to_(self, attrvals: dict[str, list[str]]) -> list[saml.Attribute]:
        return [saml.Attribute(name=name, name_format=NAME_FORMAT_BASIC, attribute_value=do_ava(values))
                for name, values in attrvals.items()]


# ---- Hookdoor as identity provider ------------------------------------------------------------------

@dataclass(frozen=True)
class IdentityProvider:
    entity_id: str
    sso_url: str
    sso_binding: str
    cert: SigningCert
    settings: IdpSettings


def _sp_entity(entity_id: str, acs_url: str) -> str:
    """The SP as pysaml2's IdP must find it in its metadata: Casdoor (and Hookdoor) take no SP metadata,
    only the AuthnRequest's issuer, checked against the application's redirect URIs, and its ACS URL."""
    return (
        f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{_xml_attr(entity_id)}">'
        '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f'<md:AssertionConsumerService Binding="{BINDING_HTTP_POST}" Location="{_xml_attr(acs_url)}" index="0"/>'
        '</md:SPSSODescriptor></md:EntityDescriptor>'
    )


def _idp_config(idp: IdentityProvider, files: dict[str, str], sp: str = "") -> IdPConfig:
    config = IdPConfig()
    sign_alg, digest_alg = HASHES[idp.settings.hash_algorithm]
    config.load({
        "entityid": idp.entity_id, "xmlsec_binary": xmlsec_binary(),
        "metadata": {"inline": [sp]} if sp else {},
        "allow_unknown_attributes": True, "signing_algorithm": sign_alg, "digest_algorithm": digest_alg,
        "service": {"idp": {
            "endpoints": {"single_sign_on_service": [(idp.sso_url, idp.sso_binding)]},
            "name_id_format": list(NAMEID_FORMATS), "want_authn_requests_signed": False,
            "policy": {"default": {"lifetime": {"minutes": RESPONSE_MINUTES}, "attribute_restrictions": None,
                                   "name_form": NAME_FORMAT_BASIC}},
        }},
        **files,
    })
    return config


def idp_metadata(idp: IdentityProvider) -> str:
    """The IdP's metadata (entity id, SSO endpoint, signing certificate), signed with the same cert."""
    with _key_files(idp.cert) as files:
        config = _idp_config(idp, files)
        sign_alg, digest_alg = HASHES[idp.settings.hash_algorithm]
        metadata = create_metadata_string(None, config=config, sign=True, sign_alg=sign_alg, digest_alg=digest_alg)
    return metadata.decode() if isinstance(metadata, bytes) else metadata


@dataclass(frozen=True)
class AuthnRequest:
    id: str
    issuer: str
    acs_url: str
    protocol_binding: str


def parse_authn_request(idp: IdentityProvider, encoded: str) -> AuthnRequest:
    """An SP's AuthnRequest as the Redirect binding (deflated) or the POST binding (plain) carries it."""
    encoded = encoded.replace(" ", "+")  # a query decoded once too often turns "+" into " "
    try:
        binding = BINDING_HTTP_POST if base64.b64decode(encoded, validate=False).lstrip().startswith(b"<") \
            else BINDING_HTTP_REDIRECT
    except ValueError:
        raise SamlRefused("invalid parameter SAMLRequest: not base64") from None
    with _key_files(None) as files:
        server = Server(config=_idp_config(idp, files))
        try:
            request = server.parse_authn_request(encoded, binding).message
        except (SAMLError, UnravelError, ParseError, ValueError, TypeError, AttributeError) as exc:
            problem = type(exc).__name__
            raise SamlRefused(f"invalid parameter SAMLRequest: not a SAML AuthnRequest ({problem})") from None
    if request is None or request.issuer is None or not request.issuer.text:
        raise SamlRefused("invalid parameter SAMLRequest: the AuthnRequest names no Issuer")
    return AuthnRequest(id=request.id, issuer=request.issuer.text.strip(),
                        acs_url=request.assertion_consumer_service_url or "",
                        protocol_binding=request.protocol_binding or "")


def authn_response(idp: IdentityProvider, request: AuthnRequest, acs_url: str, name_id: str,
                   attributes: dict[str, list[str]]) -> str:
    """The signed Response (its assertion signed too where the application asks) for ``request``,
    base64-encoded for the POST binding."""
    settings = idp.settings
    name_format = NAMEID_EMAIL if settings.name_id_is_email else NAMEID_FORMATS[-1]
    sign_alg, digest_alg = HASHES[settings.hash_algorithm]
    with _key_files(idp.cert) as files:
        server = Server(config=_idp_config(idp, files, _sp_entity(request.issuer, acs_url)))
        server.config.attribute_converters = [_AttributesAsNamed()]
        response = server.create_authn_response(
            attributes, in_response_to=request.id or None, destination=acs_url, sp_entity_id=request.issuer,
            name_id=NameID(format=name_format, text=name_id),
            authn={"class_ref": PASSWORD_PROTECTED, "authn_auth": idp.entity_id},
            sign_response=True, sign_assertion=settings.sign_assertion, sign_alg=sign_alg, digest_alg=digest_alg)
    return base64.b64encode(str(response).encode()).decode()


# ---- Hookdoor as service provider ----------------------------------------------------------------

def _idp_entity(upstream: SamlUpstream) -> str:
    """The upstream IdP's metadata: the provider's own, else made from its fields."""
    if upstream.metadata:
        return upstream.metadata
    return (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{_xml_attr(upstream.issuer)}">'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
        f'{upstream.certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>'
        f'<md:SingleSignOnService Binding="{BINDING_HTTP_REDIRECT}" Location="{_xml_attr(upstream.sso_url)}"/>'
        '</md:IDPSSODescriptor></md:EntityDescriptor>'
    )


def _xml_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _client(upstream: SamlUpstream, acs_url: str) -> Saml2Client:
    config = SPConfig()
    try:
        config.load({
            "entityid": acs_url, "xmlsec_binary": xmlsec_binary(),
            "metadata": {"inline": [_idp_entity(upstream)]},
            "service": {"sp": {
                "endpoints": {"assertion_consumer_service": [(acs_url, BINDING_HTTP_POST)]},
                "allow_unsolicited": False, "authn_requests_signed": False,
                # Casdoor's IdP signs the Response and, if asked, the Assertion: either will do, none won't.
                "want_response_signed": False, "want_assertions_signed": False,
                "want_assertions_or_response_signed": True,
            }},
        })
    except (SAMLError, ValueError, TypeError, AttributeError) as exc:
        raise SamlRefused(f"provider {upstream.id}: its IdP metadata cannot be read ({type(exc).__name__}: "
                          f"{str(exc)[:200]})") from None
    return Saml2Client(config)


def _idp_entity_id(upstream: SamlUpstream, client: Saml2Client) -> str:
    """The IdP's entity id: the provider's issuerUrl, else the one IdP its metadata describes."""
    found = client.metadata.identity_providers()
    entity = upstream.issuer or (found[0] if len(found) == 1 else "")
    if entity not in found:
        raise SamlRefused(f"provider {upstream.id}: its metadata describes no identity provider "
                          f"{entity or '(give issuerUrl)'}")
    return entity


def check_metadata(upstream: SamlUpstream, acs_url: str) -> None:
    """The provider's IdP can be signed in at: its metadata reads, and names one IdP."""
    _idp_entity_id(upstream, _client(upstream, acs_url))


def sign_in_url(upstream: SamlUpstream, acs_url: str, request_id: str, relay_state: str) -> str:
    """Where the browser goes to sign in at the IdP: its SSO URL with a deflated AuthnRequest."""
    client = _client(upstream, acs_url)
    try:
        _, info = client.prepare_for_authenticate(entityid=_idp_entity_id(upstream, client), relay_state=relay_state,
                                                  binding=BINDING_HTTP_REDIRECT, message_id=request_id)
    except (SAMLError, UnsupportedBinding) as exc:
        raise SamlRefused(f"provider {upstream.id}: no sign-in request can be made for its IdP ({exc})") from None
    return dict(info["headers"])["Location"]


# pysaml2's refusals, and what they mean to the person signing in.
_REFUSALS: tuple[tuple[type[Exception], str], ...] = (
    (SignatureError, "its signature does not verify with the provider's certificate"),
    (UnsolicitedResponse, "it answers no sign-in started here (or one already finished)"),
    (ResponseLifetimeExceed, "it has expired"),
    (ToEarly, "it is not valid yet"),
    (StatusError, "the IdP did not sign the user in"),
    (UnknownPrincipal, "the IdP does not know the user"),
)


def _refusal(upstream: SamlUpstream, exc: Exception) -> SamlRefused:
    if isinstance(exc, VerificationError) and str(exc) == "Condition not OK":
        return SamlRefused(f"provider {upstream.id}'s SAML response is refused: its conditions are not met (it has "
                           "expired, is not valid yet, or is meant for another service provider)")
    for kind, meaning in _REFUSALS:
        if isinstance(exc, kind):
            return SamlRefused(f"provider {upstream.id}'s SAML response is refused: {meaning}")
    if type(exc) is Exception and str(exc).startswith("AudienceRestrictions"):
        return SamlRefused(f"provider {upstream.id}'s SAML response is refused: it is meant for another service "
                           f"provider (its audience is not {upstream_audience(exc)})")
    if isinstance(exc, SAMLError) and str(exc):
        # pysaml2's own refusals (a wrong destination, a missing issuer...) say what they are.
        return SamlRefused(f"provider {upstream.id}'s SAML response is refused: {str(exc).splitlines()[0][:200]}")
    return SamlRefused(f"provider {upstream.id}'s SAML response is refused: it is not a well-formed SAML Response "
                       f"({type(exc).__name__})")


def upstream_audience(exc: Exception) -> str:
    """This SP's entity id, as pysaml2's audience refusal names it."""
    found = re.search(r"entity_id=([^)]*)\)", str(exc))
    return found.group(1) if found else "this service provider"


def asserted_user(upstream: SamlUpstream, acs_url: str, encoded: str, request_id: str) -> AssertedUser:
    """The user a signed SAML Response for the AuthnRequest ``request_id`` asserts: its signature
    checked against the provider's certificate, its audience (this SP), its times and its InResponseTo."""
    client = _client(upstream, acs_url)
    try:
        response = client.parse_authn_request_response(encoded, BINDING_HTTP_POST, outstanding={request_id: "/"})
    except (SAMLError, UnravelError, ParseError, ValueError, TypeError, AttributeError, KeyError) as exc:
        raise _refusal(upstream, exc) from None
    except Exception as exc:  # pysaml2 raises bare Exception for some checks (audience, "Not for me!")
        if type(exc) is not Exception:
            raise
        raise _refusal(upstream, exc) from None
    if response is None or response.assertion is None:
        raise SamlRefused(f"provider {upstream.id}'s SAML response is refused: it holds no valid assertion for "
                          "this service provider (wrong audience, or not signed)")
    name_id = response.name_id.text.strip() if response.name_id is not None and response.name_id.text else ""
    return AssertedUser(name_id=name_id, attributes=_attributes(response.assertion))


def _attributes(assertion: Any) -> dict[str, str]:
    """Each attribute's first value by the names the IdP gave it (pysaml2's ``ava`` renames them)."""
    found: dict[str, str] = {}
    for statement in assertion.attribute_statement or []:
        for attribute in statement.attribute or []:
            values = [v.text for v in attribute.attribute_value or [] if v.text]
            # Known by its Name (an OID, often) and by its FriendlyName ("mail", "uid"): userMapping may use either.
            for name in (attribute.name, attribute.friendly_name):
                if name and values:
                    found.setdefault(name, values[0].strip())
    return found
