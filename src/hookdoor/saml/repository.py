"""What SAML reads from the store: the application an SSO or metadata request names, its signing cert,
and the roles an assertion lists. Pending sign-ins and provider links are the federation's tables
(``federation/repository.py``): a SAML sign-in is one of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.identity.registry import GLOBAL_OWNER, kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.oauth.repository import CertRepository

APPLICATIONS = kind("application")


class SamlStore:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.applications = ObjectRepository(db, APPLICATIONS)

    async def application(self, owner: str, name: str) -> dict[str, Any] | None:
        """Applications belong to "admin" (Casdoor's ids are "admin/<name>")."""
        return await self.applications.get(owner, name) if owner == GLOBAL_OWNER else None

    async def cert_of(self, application: dict[str, Any]) -> dict[str, Any] | None:
        return await CertRepository(self.db).for_application(application)
