"""Finding the cert that signs an application's tokens, the certs whose keys are published, and
pending device authorizations."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import KIND_TABLES
from hookdoor.db.types import rfc3339, utcnow
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


class DeviceAuthorizations:
    """Pending device authorizations (RFC 8628), kept as token objects of type "device" - in the
    database, so that every server process sees them (Casdoor keeps them in one process's memory).
    The device code is stored as its hash, in the code column; the user code only names the object
    (``oauth.service.device_record_name``), through its hash."""

    def __init__(self, db: AsyncSession) -> None:
        self.tokens = ObjectRepository(db, kind("token"))

    async def add(self, record: dict[str, Any], device_code: str, expires_at: datetime) -> None:
        await self.tokens.insert(record, {"code_hash": _sha256(device_code), "expires_at": expires_at})

    async def by_user_code(self, name: str) -> dict[str, Any] | None:
        """The live request this record name is, if any."""
        stored = await self.tokens.get_stored(GLOBAL_OWNER, name)
        return stored.data if stored is not None and _live(stored.private) else None

    async def by_device_code(self, device_code: str) -> tuple[dict[str, Any], bool] | None:
        """The request and whether it is still live."""
        stored = await self.tokens.find_by("code_hash", _sha256(device_code))
        if stored is None or stored.data.get("tokenType") != "device":
            return None
        return stored.data, _live(stored.private)

    async def save(self, record: dict[str, Any]) -> None:
        await self.tokens.replace(record["owner"], record["name"], record)

    async def remove(self, record: dict[str, Any]) -> None:
        await self.tokens.delete(record["owner"], record["name"])


# A retired token is kept a day past its last expiry: a reused refresh token or code is recognised as
# a reuse (and its family revoked) rather than as unknown for that long.
RETIRED_KEPT = timedelta(days=1)


async def purge_retired_tokens(db: AsyncSession, now: datetime) -> int:
    """Forget token objects nobody can use any more: tokens whose access and refresh tokens have both
    expired, device requests past their lifetime, and codes used or expired, a day later. Token
    objects an administrator added (no expiry, no code) are never purged."""
    tokens = KIND_TABLES["token"]
    cutoff = now - RETIRED_KEPT
    expired = and_(tokens.c.expires_at < cutoff,
                   or_(tokens.c.refresh_expires_at.is_(None), tokens.c.refresh_expires_at < cutoff))
    used_code = and_(tokens.c.expires_at.is_(None), tokens.c.code_hash.is_not(None),
                     tokens.c.created_time < rfc3339(cutoff))
    result = await db.execute(delete(tokens).where(or_(expired, used_code)))
    return result.rowcount or 0


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _live(private: dict[str, Any]) -> bool:
    return private.get("expires_at") is not None and private["expires_at"] > utcnow()
