"""Who may impersonate whom, and how it begins and ends."""

from __future__ import annotations

from hookdoor.api.context import ApiContext
from hookdoor.errors import BadRequest, Forbidden, NotFound
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.impersonation.repository import set_impersonation
from hookdoor.impersonation.schemas import Impersonation

USERS = kind("user")


class ImpersonationService:
    def __init__(self, context: ApiContext) -> None:
        self.context = context

    async def begin(self, owner: str, name: str) -> Impersonation:
        """Global administrators only, in a browser session (a token or client secret has no
        session to carry it): from the next call on, the session acts as ``owner/name``."""
        principal = self.context.require_login()
        if principal.impersonator:
            raise BadRequest("this session already impersonates a user; exit-impersonate-user first")
        if not principal.is_global_admin:
            raise Forbidden("only global administrators may impersonate users")
        if principal.session_token_hash is None:
            raise BadRequest("impersonation needs a sign-in session (a session cookie), not a token or key")
        if not owner or not name:
            raise BadRequest("invalid field owner/name: both name the user to impersonate")
        if principal.is_user(owner, name):
            raise BadRequest("you cannot impersonate yourself")
        user = await ObjectRepository(self.context.db, USERS).get(owner, name)
        if user is None:
            raise NotFound(f"user {owner}/{name} does not exist")
        if user.get("isForbidden") or user.get("isDeleted"):
            raise BadRequest(f"user {owner}/{name} is forbidden or deleted and cannot be impersonated")
        await set_impersonation(self.context.db, principal.session_token_hash, f"{owner}/{name}")
        return self._recorded(Impersonation(impersonator=principal.ref, impersonated=f"{owner}/{name}"), user)

    async def end(self) -> Impersonation:
        principal = self.context.require_login()
        if not principal.impersonator or principal.session_token_hash is None:
            raise BadRequest("this session impersonates nobody")
        await set_impersonation(self.context.db, principal.session_token_hash, None)
        return self._recorded(Impersonation(impersonator=principal.impersonator, impersonated=principal.ref),
                              principal.user)

    def _recorded(self, impersonation: Impersonation, user: dict | None) -> Impersonation:
        subject = USERS.mask(user, may_manage=False) if user else None
        self.context.action.concerns(subject=subject, obj=impersonation.model_dump())
        return impersonation
