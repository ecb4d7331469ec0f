"""What a SAML provider object (an upstream IdP) is, what an application asks of Hookdoor as its IdP,
and what an upstream's assertion says of its user."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from hookdoor.errors import BadRequest, HookdoorError
from hookdoor.federation.schemas import UpstreamFailed, UpstreamUser

SAML_CATEGORY = "SAML"
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
NAMEID_FORMATS = (NAMEID_EMAIL, "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
                  "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
                  "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")
HASH_ALGORITHMS = ("SHA1", "SHA256", "SHA512")
# Casdoor's SAML provider maps user fields to attribute names in userMapping; the NameID is the id.
DEFAULT_USER_MAPPING = {"username": "Name", "displayName": "DisplayName", "email": "Email", "avatarUrl": "Avatar"}


class SamlRefused(UpstreamFailed):
    """A SAML message that cannot sign anyone in: malformed, unsigned, wrongly signed, expired, replayed."""


class SamlUnavailable(HookdoorError):
    status_code = 503


def is_saml_provider(provider: Mapping[str, Any]) -> bool:
    return provider.get("category") == SAML_CATEGORY


def certificate_body(given: str, field: str = "idP") -> str:
    """A certificate given as PEM or as base64 DER (Casdoor accepts both), as the base64 DER that
    metadata carries; BadRequest naming ``field`` if it is no X.509 certificate."""
    text = given.strip()
    try:
        if text.startswith("-----BEGIN"):
            der = x509.load_pem_x509_certificate(text.encode()).public_bytes(Encoding.DER)
        else:
            der = base64.b64decode(re.sub(r"\s+", "", text), validate=True)
            x509.load_der_x509_certificate(der)
    except (ValueError, binascii.Error):
        raise BadRequest(f"invalid field {field}: not an X.509 certificate (PEM or base64 DER)") from None
    return base64.b64encode(der).decode()


@dataclass(frozen=True)
class SamlUpstream:
    """A provider object of category SAML, as signing in through it uses it (Casdoor's fields: ``idP``
    the IdP's signing certificate, ``issuerUrl`` its entity id, ``endpoint`` its SSO URL, or
    ``metadata`` its whole metadata)."""

    id: str  # owner/name
    display_name: str
    certificate: str  # base64 DER
    issuer: str
    sso_url: str
    metadata: str
    user_mapping: Mapping[str, str]
    email_regex: str

    @classmethod
    def of(cls, provider: Mapping[str, Any]) -> SamlUpstream:
        name = f"{provider.get('owner', '')}/{provider.get('name', '')}"
        metadata = (provider.get("metadata") or "").strip()
        certificate = certificate_body(provider["idP"]) if provider.get("idP") else ""
        if not metadata and not (certificate and provider.get("issuerUrl") and provider.get("endpoint")):
            raise BadRequest(f"provider {name}: a SAML provider needs its IdP's metadata, or its certificate "
                             "(idP), entity id (issuerUrl) and SSO URL (endpoint)")
        mapping = {k: v for k, v in (provider.get("userMapping") or {}).items() if isinstance(v, str) and v}
        return cls(id=name, display_name=provider.get("displayName") or provider.get("name", ""),
                   certificate=certificate, issuer=provider.get("issuerUrl") or "",
                   sso_url=provider.get("endpoint") or "", metadata=metadata,
                   user_mapping={**DEFAULT_USER_MAPPING, **mapping}, email_regex=provider.get("emailRegex") or "")


@dataclass(frozen=True)
class AssertedUser:
    name_id: str
    attributes: Mapping[str, str]


def upstream_user(asserted: AssertedUser, upstream: SamlUpstream) -> UpstreamUser:
    """The federation's view of the asserted user: the NameID is the account's id; the username is
    the mapped attribute, else the email, else the NameID (Casdoor's fallbacks)."""
    if not asserted.name_id:
        raise SamlRefused(f"provider {upstream.id}'s SAML assertion names no user (no NameID)")

    def field(name: str) -> str:
        return asserted.attributes.get(upstream.user_mapping.get(name, ""), "")

    email = field("email")
    user = UpstreamUser(id=asserted.name_id, username=field("username") or email or asserted.name_id,
                        display_name=field("displayName"), email=email, phone=field("phone"),
                        avatar_url=field("avatarUrl"),
                        # An attribute is no proof the address was verified: binding by email stays off.
                        email_verified=False)
    if upstream.email_regex and not re.fullmatch(upstream.email_regex, user.email):
        raise SamlRefused(f"the email {user.email!r} is not one provider {upstream.id} may sign in "
                          f"(emailRegex {upstream.email_regex!r})")
    return user


# ---- Hookdoor as an application's identity provider ----------------------------------------------

@dataclass(frozen=True)
class SamlAttribute:
    name: str
    name_format: str
    value: str


@dataclass(frozen=True)
class IdpSettings:
    """Casdoor's SAML fields of an application."""

    reply_url: str  # samlReplyUrl: where responses go whatever the request says
    name_id_is_email: bool  # useEmailAsSamlNameId
    attributes_disabled: bool  # disableSamlAttributes
    sign_assertion: bool  # enableSamlAssertionSignature (the Response is always signed)
    hash_algorithm: str  # samlHashAlgorithm
    extra_attributes: tuple[SamlAttribute, ...]  # samlAttributes

    @classmethod
    def of(cls, application: Mapping[str, Any]) -> IdpSettings:
        # Casdoor signs with SHA-1 unless told otherwise; SHA-256 here, SHA-1 only when asked for.
        algorithm = application.get("samlHashAlgorithm") or "SHA256"
        if algorithm not in HASH_ALGORITHMS:
            raise BadRequest(f"invalid field samlHashAlgorithm: {algorithm!r} is not one of "
                             f"{', '.join(HASH_ALGORITHMS)}")
        extra = tuple(SamlAttribute(str(a.get("name") or ""), str(a.get("nameFormat") or ""), str(a.get("value") or ""))
                      for a in application.get("samlAttributes") or [] if isinstance(a, dict) and a.get("name"))
        return cls(reply_url=application.get("samlReplyUrl") or "",
                   name_id_is_email=bool(application.get("useEmailAsSamlNameId")),
                   attributes_disabled=bool(application.get("disableSamlAttributes")),
                   sign_assertion=bool(application.get("enableSamlAssertionSignature")),
                   hash_algorithm=algorithm, extra_attributes=extra)


USER_PLACEHOLDER = re.compile(r"\$user\.(\w+)")


def user_attributes(settings: IdpSettings, user: Mapping[str, Any], roles: list[str]) -> dict[str, list[str]]:
    """Casdoor's attribute statement: Email, Name, DisplayName, the application's own attributes
    (``$user.<field>`` replaced by the user's field), and Roles."""
    if settings.attributes_disabled:
        return {}
    attributes = {"Email": [user.get("email") or ""], "Name": [user.get("name") or ""],
                  "DisplayName": [user.get("displayName") or ""]}
    for extra in settings.extra_attributes:
        value = USER_PLACEHOLDER.sub(lambda m: _scalar(user.get(m.group(1))), extra.value)
        attributes.setdefault(extra.name, []).append(value)
    if roles:
        attributes["Roles"] = roles
    return attributes


def _scalar(value: Any) -> str:
    return "" if value is None or isinstance(value, (dict, list)) else str(value)
