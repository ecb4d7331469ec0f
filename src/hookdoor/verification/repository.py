"""SQL for verification codes and captchas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import captchas, verification_codes

DAY = 86400


class VerificationCodes:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def add(self, row: Mapping[str, Any]) -> None:
        stale = verification_codes.c.created_at < row["created_at"] - DAY
        await self.db.execute(delete(verification_codes).where(stale))
        await self.db.execute(insert(verification_codes).values(**row))

    async def latest(self, receiver: str, since: float) -> dict[str, Any] | None:
        """The newest code sent to ``receiver`` since ``since``: the one a check is about."""
        row = (await self.db.execute(
            select(verification_codes).where(verification_codes.c.receiver == receiver,
                                             verification_codes.c.created_at >= since)
            .order_by(verification_codes.c.created_at.desc()).limit(1))).mappings().first()
        return dict(row) if row else None

    async def count_wrong(self, code_id: str) -> None:
        await self.db.execute(update(verification_codes).where(verification_codes.c.id == code_id)
                              .values(wrong_tries=verification_codes.c.wrong_tries + 1))

    async def mark_verified(self, code_id: str) -> bool:
        result = await self.db.execute(update(verification_codes).where(
            verification_codes.c.id == code_id, verification_codes.c.verified.is_(False),
            verification_codes.c.used.is_(False)).values(verified=True))
        return bool(result.rowcount)

    async def spend(self, code_id: str) -> bool:
        """Claimed by a conditional UPDATE: of two uses at once, one wins."""
        result = await self.db.execute(update(verification_codes).where(
            verification_codes.c.id == code_id, verification_codes.c.used.is_(False)).values(used=True))
        return bool(result.rowcount)

    async def list(self, organization: str | None, offset: int | None,
                   limit: int | None) -> tuple[list[dict[str, Any]], int]:
        query = select(verification_codes)
        count = select(func.count()).select_from(verification_codes)
        if organization is not None:
            query = query.where(verification_codes.c.organization == organization)
            count = count.where(verification_codes.c.organization == organization)
        query = query.order_by(verification_codes.c.created_at.desc())
        if limit is not None:
            query = query.offset(offset or 0).limit(limit)
        rows = (await self.db.execute(query)).mappings().all()
        return [dict(r) for r in rows], int(await self.db.scalar(count) or 0)


class Captchas:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def add(self, id_hash: str, answer_hash: str, expires_at: float, now: float) -> None:
        await self.db.execute(delete(captchas).where(captchas.c.expires_at < now))
        await self.db.execute(insert(captchas).values(id_hash=id_hash, answer_hash=answer_hash, expires_at=expires_at))

    async def take(self, id_hash: str) -> dict[str, Any] | None:
        """A captcha is answered once, rightly or not: a wrong answer does not get another guess."""
        row = (await self.db.execute(delete(captchas).where(captchas.c.id_hash == id_hash)
                                     .returning(*captchas.c))).mappings().first()
        return dict(row) if row else None
