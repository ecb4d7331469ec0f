"""Finding the cert that signs an application's tokens, and the certs whose keys are published."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.identity.registry import GLOBAL_OWNER, kind
from hookdoor.identity.repository import ListQuery, ObjectRepository

DEFAULT_CERT = "cert-built-in"
CERTS = kind("cert")
APPLICATIONS = kind("application")


class CertRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.certs = ObjectRepository(db, CERTS)
        self.applications = ObjectRepository(db, APPLICATIONS)

    async def for_application(self, application: dict[str, Any]) -> dict[str, Any] | None:
        """The application's cert: by name in its own organization, else the shared one of that name
        (owned by "admin"). Never another organization's cert - Casdoor looks a cert up by name
        alone, whoever owns it."""
        name = application.get("cert") or DEFAULT_CERT
        organization = application.get("organization") or ""
        if organization and (own := await self.certs.get(organization, name)) is not None:
            return own
        return await self.certs.get(GLOBAL_OWNER, name)

    async def application(self, name: str) -> dict[str, Any] | None:
        return await self.applications.get(GLOBAL_OWNER, name)

    async def published(self) -> list[dict[str, Any]]:
        """Every cert with key material that signs tokens, for the server-wide JWKS."""
        certs, _ = await self.certs.list(ListQuery())
        return [c for c in certs if c.get("certificate") and (c.get("scope") or "JWT") == "JWT"]
