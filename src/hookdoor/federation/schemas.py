"""What an upstream provider is, what it says of its user, and what an application allows of it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hookdoor.errors import BadRequest

OAUTH_CATEGORY = "OAuth"
CUSTOM_TYPE = "Custom"
SIGN_IN, LINK = "signin", "link"
# Casdoor's Custom provider names these user fields in its userMapping; where a provider's mapping
# leaves one out, the OpenID Connect claim of that meaning is used.
DEFAULT_USER_MAPPING = {"id": "sub", "username": "preferred_username", "displayName": "name", "email": "email",
                        "phone": "phone_number", "avatarUrl": "picture"}
BINDING_RULES = ("Email", "Phone", "Name")


class UpstreamFailed(BadRequest):
    """The provider refused, failed, or answered something that cannot sign anyone in."""


@dataclass(frozen=True)
class Upstream:
    """A provider object of category OAuth and type Custom, as the sign-in uses it."""

    id: str  # owner/name
    display_name: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    userinfo_url: str
    scopes: str
    user_mapping: Mapping[str, str]
    email_regex: str

    @classmethod
    def of(cls, provider: Mapping[str, Any]) -> Upstream:
        name = f"{provider.get('owner', '')}/{provider.get('name', '')}"
        if provider.get("category") != OAUTH_CATEGORY or provider.get("type") != CUSTOM_TYPE:
            raise BadRequest(f"provider {name} is not one to sign in with: only category {OAUTH_CATEGORY!r} "
                             f"of type {CUSTOM_TYPE!r} is supported (got {provider.get('category')!r} / "
                             f"{provider.get('type')!r})")
        return cls(
            id=name, display_name=provider.get("displayName") or provider.get("name", ""),
            client_id=provider.get("clientId") or "", client_secret=provider.get("clientSecret") or "",
            authorize_url=provider.get("customAuthUrl") or "", token_url=provider.get("customTokenUrl") or "",
            userinfo_url=provider.get("customUserInfoUrl") or "",
            scopes=provider.get("scopes") or "openid profile email",
            user_mapping={**DEFAULT_USER_MAPPING, **(provider.get("userMapping") or {})},
            email_regex=provider.get("emailRegex") or "",
        )


def is_sign_in_provider(provider: Mapping[str, Any]) -> bool:
    return provider.get("category") == OAUTH_CATEGORY and provider.get("type") == CUSTOM_TYPE


@dataclass(frozen=True)
class ProviderItem:
    """An entry of an application's ``providers`` (Casdoor's ProviderItem): what it allows."""

    name: str
    can_sign_in: bool
    can_sign_up: bool
    can_unlink: bool
    # Which existing users a first sign-in may take over, by matching field. Casdoor matches by email,
    # phone and then username unless told otherwise; here nothing is matched unless the application
    # says so, since an upstream's username or unverified email is no proof of owning an account here.
    binding_rule: tuple[str, ...]
    signup_group: str

    @classmethod
    def of(cls, application: Mapping[str, Any], provider_name: str) -> ProviderItem | None:
        for item in application.get("providers") or []:
            if isinstance(item, dict) and item.get("name") == provider_name:
                rule = item.get("bindingRule") or []
                return cls(name=provider_name, can_sign_in=item.get("canSignIn", True) is not False,
                           can_sign_up=bool(item.get("canSignUp")), can_unlink=bool(item.get("canUnlink")),
                           binding_rule=tuple(r for r in rule if r in BINDING_RULES) if isinstance(rule, list) else (),
                           signup_group=str(item.get("signupGroup") or ""))
        return None


@dataclass(frozen=True)
class UpstreamUser:
    """The provider's account, in the user fields Casdoor maps a provider's claims to."""

    id: str
    username: str
    display_name: str
    email: str
    phone: str
    avatar_url: str
    email_verified: bool


def _claim(claims: Mapping[str, Any], path: str) -> str:
    """A claim by name, or by a dotted path into nested objects (``data.user.id``), as Casdoor."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return ""
        value = value.get(part)
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""


def upstream_user(claims: Mapping[str, Any], upstream: Upstream) -> UpstreamUser:
    mapping = upstream.user_mapping
    user = UpstreamUser(
        id=_claim(claims, mapping["id"]), username=_claim(claims, mapping["username"]),
        display_name=_claim(claims, mapping["displayName"]), email=_claim(claims, mapping["email"]),
        phone=_claim(claims, mapping["phone"]), avatar_url=_claim(claims, mapping["avatarUrl"]),
        email_verified=claims.get("email_verified") is True,
    )
    if not user.id:
        raise UpstreamFailed(f"provider {upstream.id}'s userinfo has no {mapping['id']!r}: set the provider's "
                             "userMapping id to the claim that identifies its users")
    if upstream.email_regex and not re.fullmatch(upstream.email_regex, user.email):
        raise UpstreamFailed(f"the email {user.email!r} is not one provider {upstream.id} may sign in "
                             f"(emailRegex {upstream.email_regex!r})")
    return user
