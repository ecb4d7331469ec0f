"""Who is calling: a user, an application (clientId/clientSecret) or nobody."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hookdoor.identity.registry import BUILT_IN_ORG


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "application", "anonymous", "system"]
    organization: str = ""
    name: str = ""
    is_global_admin: bool = False
    is_org_admin: bool = False
    user: dict[str, Any] | None = field(default=None, repr=False)
    session_token_hash: str | None = field(default=None, repr=False)
    # The token object a Bearer caller presented (owner "admin"), so that logout can revoke it, and
    # what it was issued for: its scope and its application's client id (userinfo's claims and aud).
    access_token_name: str | None = field(default=None, repr=False)
    token_scope: str = ""
    token_client_id: str = ""
    # "owner/name" of the global administrator acting as this user (impersonation/), recorded with
    # every event of the call beside the user's own identity.
    impersonator: str = ""

    @property
    def ref(self) -> str:
        if self.kind == "application":
            return f"app/{self.name}"
        if self.kind == "user":
            return f"{self.organization}/{self.name}"
        return "system" if self.kind == "system" else ""

    @property
    def authenticated(self) -> bool:
        return self.kind in ("user", "application")

    def manages(self, organization: str) -> bool:
        """May this caller administer objects of the given organization?"""
        return self.is_global_admin or (self.is_org_admin and organization == self.organization)

    def is_user(self, owner: str, name: str) -> bool:
        return self.kind == "user" and self.organization == owner and self.name == name


ANONYMOUS = Principal(kind="anonymous")
SYSTEM = Principal(kind="system")  # Hookdoor itself, e.g. the worker disabling a failing webhook


def user_principal(
    user: dict[str, Any], session_token_hash: str | None = None, access_token_name: str | None = None,
    token_scope: str = "", token_client_id: str = "", impersonator: str = "",
) -> Principal:
    is_admin = bool(user.get("isAdmin"))
    return Principal(
        kind="user",
        organization=user["owner"],
        name=user["name"],
        is_global_admin=is_admin and user["owner"] == BUILT_IN_ORG,
        is_org_admin=is_admin,
        user=user,
        session_token_hash=session_token_hash,
        access_token_name=access_token_name,
        token_scope=token_scope,
        token_client_id=token_client_id,
        impersonator=impersonator,
    )


def application_principal(application: dict[str, Any], access_token_name: str | None = None) -> Principal:
    """An application acts as an admin of its own organization; the built-in one as a global admin.
    A client that registered itself (RFC 7591) was made by nobody in particular: it is no admin."""
    organization = application.get("organization") or ""
    trusted = not application.get("registrationAccessTokenHash")
    return Principal(
        kind="application",
        organization=organization,
        name=application["name"],
        is_global_admin=trusted and organization == BUILT_IN_ORG,
        is_org_admin=trusted,
        access_token_name=access_token_name,
    )
