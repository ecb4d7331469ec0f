"""The claims of the tokens Hookdoor signs, in Casdoor's token formats.

An application's ``tokenFormat`` decides what of the user a token carries:

- ``JWT`` (the default): the user object, as Casdoor's ``ClaimsWithoutThirdIdp``;
- ``JWT-Empty``: owner, name, id, displayName, avatar, email, email_verified and phone;
- ``JWT-Standard``: the same under OIDC's names (preferred_username, name, picture...);
- ``JWT-Custom``: the user fields ``tokenFields`` names (Casdoor's Go field names, ``Email``,
  ``DisplayName``, ``Properties.<key>``), as camelCase claims.

Unlike Casdoor, no format ever carries a secret of the user (its password hash and salt, TOTP
secret, recovery codes, access secret): a token is readable by whoever holds it.
"""

from __future__ import annotations

from typing import Any

TOKEN_FORMATS = ("JWT", "JWT-Empty", "JWT-Standard", "JWT-Custom")
# Never in a token, whatever the format or tokenFields say.
SECRET_USER_FIELDS = frozenset(
    {"password", "passwordSalt", "accessSecret", "accessKey", "totpSecret", "recoveryCodes", "webauthnCredentials"}
)
# What Casdoor's refineUser fills in, so that clients always find a list or a map there.
EMPTY_COLLECTIONS: dict[str, Any] = {"address": [], "properties": {}, "roles": [], "permissions": [], "groups": []}


def _short_user(user: dict[str, Any]) -> dict[str, Any]:
    short = {k: user.get(k, "") for k in ("owner", "name", "id", "displayName", "avatar", "email")}
    if user.get("emailVerified"):
        short["email_verified"] = True
    return {**short, "phone": user.get("phone", "")}


def _standard_user(user: dict[str, Any]) -> dict[str, Any]:
    named = {
        "owner": user.get("owner", ""), "preferred_username": user.get("name", ""), "id": user.get("id", ""),
        "name": user.get("displayName", ""), "picture": user.get("avatar", ""), "email": user.get("email", ""),
        "email_verified": bool(user.get("emailVerified")), "phone": user.get("phone", ""),
    }
    return {k: v for k, v in named.items() if v or k in ("owner", "id")}


def _full_user(user: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in user.items() if k not in SECRET_USER_FIELDS}
    shown["email_verified"] = bool(shown.pop("emailVerified", False))
    return {**EMPTY_COLLECTIONS, **{k: v for k, v in shown.items() if v is not None}}


def _claim_name(go_field: str) -> str:
    """Casdoor's tokenFields name Go struct fields ("DisplayName"); claims are camelCase."""
    return go_field[:1].lower() + go_field[1:]


def _custom_user(user: dict[str, Any], token_fields: list[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    properties = user.get("properties") or {}
    for field in token_fields:
        if field.startswith("Properties."):
            key = field.removeprefix("Properties.")
            if key in properties:
                claims[key] = properties[key]
            continue
        name = _claim_name(field)
        if name not in SECRET_USER_FIELDS and name in user:
            claims[name] = user[name]
    return claims


def user_claims(token_format: str, user: dict[str, Any], token_fields: list[str] | None) -> dict[str, Any]:
    if token_format == "JWT-Empty":
        return _short_user(user)
    if token_format == "JWT-Standard":
        return _standard_user(user)
    if token_format == "JWT-Custom":
        return _custom_user(user, token_fields or [])
    return _full_user(user)
