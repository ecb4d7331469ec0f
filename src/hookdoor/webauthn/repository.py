"""SQL for WebAuthn: credentials per user, ceremonies under way."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import webauthn_ceremonies, webauthn_credentials
from hookdoor.db.types import utcnow
from hookdoor.webauthn.schemas import Ceremony, Credential


def _credential(row: Any) -> Credential:
    return Credential(row["credential_id"], row["user_id"], row["owner"], row["name"], row["public_key"],
                      row["sign_count"], tuple(row["transports"] or ()), row["created_at"], row["last_used_at"])


class WebAuthnRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def credentials_of(self, user_id: str) -> list[Credential]:
        rows = (await self.db.execute(select(webauthn_credentials).where(webauthn_credentials.c.user_id == user_id)
                                      .order_by(webauthn_credentials.c.created_at))).mappings().all()
        return [_credential(row) for row in rows]

    async def credential(self, credential_id: str, *, for_update: bool = False) -> Credential | None:
        statement = select(webauthn_credentials).where(webauthn_credentials.c.credential_id == credential_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self.db.execute(statement)).mappings().first()
        return _credential(row) if row else None

    async def add_credential(self, credential: Credential) -> None:
        await self.db.execute(insert(webauthn_credentials).values(
            credential_id=credential.credential_id, user_id=credential.user_id, owner=credential.owner,
            name=credential.name, public_key=credential.public_key, sign_count=credential.sign_count,
            transports=list(credential.transports), created_at=credential.created_at, last_used_at=None,
        ))

    async def note_use(self, credential_id: str, sign_count: int) -> None:
        await self.db.execute(update(webauthn_credentials).where(webauthn_credentials.c.credential_id == credential_id)
                              .values(sign_count=sign_count, last_used_at=utcnow()))

    async def remove_credential(self, user_id: str, credential_id: str) -> bool:
        result = await self.db.execute(delete(webauthn_credentials).where(
            webauthn_credentials.c.user_id == user_id, webauthn_credentials.c.credential_id == credential_id))
        return result.rowcount == 1

    async def begin(self, ceremony: Ceremony, lifetime_seconds: int) -> None:
        now = utcnow()
        await self.db.execute(delete(webauthn_ceremonies).where(webauthn_ceremonies.c.expires_at <= now))
        await self.db.execute(delete(webauthn_ceremonies).where(
            webauthn_ceremonies.c.token_hash == ceremony.token_hash))
        await self.db.execute(insert(webauthn_ceremonies).values(
            token_hash=ceremony.token_hash, purpose=ceremony.purpose, user_id=ceremony.user_id,
            challenge=ceremony.challenge, expires_at=now + timedelta(seconds=lifetime_seconds)))

    async def take(self, token_hash: str, purpose: str) -> Ceremony | None:
        """The ceremony, spent: its challenge is good for one answer, right or wrong."""
        row = (await self.db.execute(select(webauthn_ceremonies).where(
            webauthn_ceremonies.c.token_hash == token_hash, webauthn_ceremonies.c.purpose == purpose,
            webauthn_ceremonies.c.expires_at > utcnow()))).mappings().first()
        if row is None:
            return None
        deleted = await self.db.execute(delete(webauthn_ceremonies).where(
            webauthn_ceremonies.c.token_hash == token_hash))
        if deleted.rowcount != 1:
            return None  # another answer took it at the same moment
        return Ceremony(row["token_hash"], row["purpose"], row["user_id"], row["challenge"])
