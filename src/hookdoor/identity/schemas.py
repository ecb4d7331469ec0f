"""Typed main fields of the Casdoor objects; anything else a client sends round-trips untouched.

Field names are Casdoor's camelCase JSON names. Validation is deliberately lenient about types
Casdoor clients send loosely (empty strings, missing fields) and strict about what would corrupt
identity data (names, emails, types of flags and counters).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_PATTERN = re.compile(r"^[^/\s?#%\\][^/?#%\\]*$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class CasdoorObject(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    owner: str = Field(default="", max_length=100)
    name: str = Field(default="", max_length=100)
    # As long as the indexed column they are mirrored into (RFC 3339 needs 25 characters).
    createdTime: str = Field(default="", max_length=40)
    updatedTime: str = Field(default="", max_length=40)
    displayName: str = ""

    @field_validator("name")
    @classmethod
    def _name_is_an_identifier(cls, name: str) -> str:
        if name and (not NAME_PATTERN.match(name) or name != name.strip()):
            raise ValueError("must not contain '/', '?', '#', '%', '\\' or surrounding spaces")
        return name

    @field_validator("owner")
    @classmethod
    def _owner_is_an_identifier(cls, owner: str) -> str:
        if owner and "/" in owner:
            raise ValueError("must not contain '/'")
        return owner


class User(CasdoorObject):
    id: str = ""
    type: str = ""
    password: str = ""
    firstName: str = ""
    lastName: str = ""
    avatar: str = ""
    email: str = ""
    emailVerified: bool = False
    phone: str = ""
    countryCode: str = ""
    region: str = ""
    address: list[str] | str = Field(default_factory=list)
    affiliation: str = ""
    title: str = ""
    tag: str = ""
    language: str = ""
    gender: str = ""
    score: int = 0
    isAdmin: bool = False
    isForbidden: bool = False
    isDeleted: bool = False
    signupApplication: str = ""
    registerType: str = ""
    properties: dict[str, str] | None = None
    roles: list[Any] | None = None
    permissions: list[Any] | None = None
    groups: list[str] | None = None
    needUpdatePassword: bool = False

    @field_validator("email")
    @classmethod
    def _email_format(cls, email: str) -> str:
        if email and not EMAIL_PATTERN.match(email):
            raise ValueError("is not an email address")
        return email


class Organization(CasdoorObject):
    websiteUrl: str = ""
    logo: str = ""
    favicon: str = ""
    passwordType: str = ""
    defaultApplication: str = ""
    userTypes: list[str] | None = None
    tags: list[str] | None = None
    languages: list[str] | None = None
    initScore: int = 0
    enableSoftDeletion: bool = False
    mfaItems: list[Any] | None = None
    accountItems: list[Any] | None = None
    # Whether anyone may register an OAuth client in this organization (RFC 7591): off unless "open".
    dcrPolicy: str = ""

    @field_validator("dcrPolicy")
    @classmethod
    def _known_policy(cls, policy: str) -> str:
        if policy not in ("", "disabled", "open"):
            raise ValueError("must be 'disabled' or 'open'")
        return policy


class Application(CasdoorObject):
    logo: str = ""
    homepageUrl: str = ""
    description: str = ""
    organization: str = ""
    cert: str = ""
    enablePassword: bool = True
    enableSignUp: bool = False
    providers: list[Any] | None = None
    signinMethods: list[Any] | None = None
    signupItems: list[Any] | None = None
    grantTypes: list[str] | None = None
    clientId: str = ""
    clientSecret: str = ""
    redirectUris: list[str] | None = None
    tokenFormat: str = ""
    expireInHours: float = 0
    refreshExpireInHours: float = 0
    # Hookdoor as the application's SAML IdP (saml/schemas.py IdpSettings).
    samlReplyUrl: str = ""
    useEmailAsSamlNameId: bool = False
    enableSamlAssertionSignature: bool = False
    disableSamlAttributes: bool = False
    samlHashAlgorithm: str = ""
    samlAttributes: list[Any] | None = None


class Group(CasdoorObject):
    manager: str = ""
    type: str = ""
    parentId: str = ""
    isTopGroup: bool = False
    users: list[str] | None = None
    isEnabled: bool = True


class Role(CasdoorObject):
    description: str = ""
    users: list[str] | None = None
    groups: list[str] | None = None
    roles: list[str] | None = None
    domains: list[str] | None = None
    isEnabled: bool = True


class Permission(CasdoorObject):
    description: str = ""
    users: list[str] | None = None
    groups: list[str] | None = None
    roles: list[str] | None = None
    domains: list[str] | None = None
    model: str = ""
    adapter: str = ""
    resourceType: str = ""
    resources: list[str] | None = None
    actions: list[str] | None = None
    effect: str = ""
    isEnabled: bool = True
    state: str = ""


class Provider(CasdoorObject):
    category: str = ""
    type: str = ""
    subType: str = ""
    clientId: str = ""
    clientSecret: str = ""
    host: str = ""
    port: int = 0
    # An OAuth provider of type "Custom": its endpoints, the scopes asked for, and which of its
    # userinfo claims is which user field (federation/schemas.py).
    customAuthUrl: str = Field(default="", max_length=2000)
    customTokenUrl: str = Field(default="", max_length=2000)
    customUserInfoUrl: str = Field(default="", max_length=2000)
    customLogo: str = ""
    scopes: str = ""
    userMapping: dict[str, str] | None = None
    emailRegex: str = ""
    enablePkce: bool = False
    # A provider of category SAML (saml/schemas.py): the IdP's signing certificate, entity id, SSO
    # URL, or its whole metadata.
    idP: str = ""
    # endpoint and issuerUrl: below, shared with the providers that send.
    metadata: str = ""
    enableSignAuthnRequest: bool = False
    # Providers that send (messaging/schemas.py): an SMTP server's account, From address and name
    # (clientId2, clientSecret2) and TLS; an HTTP sender's URL, method, headers and templates.
    clientId2: str = ""
    clientSecret2: str = ""
    sslMode: str = ""
    disableSsl: bool = False
    endpoint: str = Field(default="", max_length=2000)
    receiver: str = Field(default="", max_length=2000)
    method: str = ""
    title: str = ""
    content: str = Field(default="", max_length=20000)
    templateCode: str = Field(default="", max_length=2000)
    issuerUrl: str = Field(default="", max_length=2000)
    httpHeaders: dict[str, str] | str | None = None


class Cert(CasdoorObject):
    scope: str = ""
    type: str = ""
    cryptoAlgorithm: str = ""
    bitSize: int = 0
    expireInYears: int = 0
    certificate: str = ""
    privateKey: str = ""


class Token(CasdoorObject):
    application: str = ""
    organization: str = ""
    user: str = ""
    code: str = ""
    accessToken: str = ""
    refreshToken: str = ""
    expiresIn: int = 0
    scope: str = ""
    tokenType: str = ""


class Session(CasdoorObject):
    application: str = ""
    sessionId: list[str] | None = None


class Webhook(CasdoorObject):
    organization: str = ""
    url: str = ""
    method: str = "POST"
    contentType: str = "application/json"
    headers: list[dict[str, Any]] | None = None
    events: list[str] | None = None
    isEnabled: bool = True
