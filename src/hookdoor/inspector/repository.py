"""SQL of the inspector: bins and the requests they captured."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import inspector_bins, inspector_requests


class BinRepository:
    """Reads and writes bins and captured requests. It never commits."""

    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    # ---- bins ---------------------------------------------------------------------------------

    async def insert_bin(self, row: dict[str, Any]) -> None:
        await self.db.execute(insert(inspector_bins).values(**row))

    async def get(self, bin_id: str) -> dict[str, Any] | None:
        return await self._one(select(inspector_bins).where(inspector_bins.c.id == bin_id))

    async def by_token(self, token: str) -> dict[str, Any] | None:
        return await self._one(select(inspector_bins).where(inspector_bins.c.token == token))

    async def list(self, organization: str | None, limit: int = 200) -> list[dict[str, Any]]:
        statement = select(inspector_bins).order_by(inspector_bins.c.created_at.desc()).limit(limit)
        if organization is not None:
            statement = statement.where(inspector_bins.c.organization == organization)
        return [dict(row) for row in (await self.db.execute(statement)).mappings()]

    async def count_live(self, organization: str, now: datetime) -> int:
        return await self.db.scalar(
            select(func.count()).select_from(inspector_bins).where(
                inspector_bins.c.organization == organization, inspector_bins.c.expires_at > now
            )
        ) or 0

    async def link(self, bin_id: str, webhook: tuple[str, str] | None) -> None:
        owner, name = webhook or (None, None)
        await self.db.execute(
            update(inspector_bins).where(inspector_bins.c.id == bin_id).values(webhook_owner=owner, webhook_name=name)
        )

    async def delete_bin(self, bin_id: str) -> None:
        await self.db.execute(delete(inspector_requests).where(inspector_requests.c.bin_id == bin_id))
        await self.db.execute(delete(inspector_bins).where(inspector_bins.c.id == bin_id))

    async def purge(self, now: datetime, forget_before: datetime) -> int:
        """Drop what expired bins captured; forget the bins themselves once expired before ``forget_before``."""
        expired = select(inspector_bins.c.id).where(inspector_bins.c.expires_at <= now)
        await self.db.execute(delete(inspector_requests).where(inspector_requests.c.bin_id.in_(expired)))
        result = await self.db.execute(delete(inspector_bins).where(inspector_bins.c.expires_at <= forget_before))
        return result.rowcount

    # ---- captured requests --------------------------------------------------------------------

    async def insert_request(self, row: dict[str, Any]) -> int:
        result = await self.db.execute(insert(inspector_requests).values(**row).returning(inspector_requests.c.id))
        return int(result.scalar_one())

    async def requests_after(self, bin_id: str, after: int, limit: int) -> list[dict[str, Any]]:
        """Oldest first: what arrived after the request with id ``after``."""
        statement = (
            select(inspector_requests)
            .where(inspector_requests.c.bin_id == bin_id, inspector_requests.c.id > after)
            .order_by(inspector_requests.c.id)
            .limit(limit)
        )
        return [dict(row) for row in (await self.db.execute(statement)).mappings()]

    async def latest_requests(self, bin_id: str, limit: int) -> list[dict[str, Any]]:
        """Newest first."""
        statement = (
            select(inspector_requests)
            .where(inspector_requests.c.bin_id == bin_id)
            .order_by(inspector_requests.c.id.desc())
            .limit(limit)
        )
        return [dict(row) for row in (await self.db.execute(statement)).mappings()]

    async def request_counts(self, bin_ids: list[str]) -> dict[str, int]:
        """Captured requests per bin (bins without any are left out)."""
        if not bin_ids:
            return {}
        statement = (select(inspector_requests.c.bin_id, func.count()).where(inspector_requests.c.bin_id.in_(bin_ids))
                     .group_by(inspector_requests.c.bin_id))
        return {bin_id: count for bin_id, count in (await self.db.execute(statement)).all()}

    async def count_requests(self, bin_id: str) -> int:
        return await self.db.scalar(
            select(func.count()).select_from(inspector_requests).where(inspector_requests.c.bin_id == bin_id)
        ) or 0

    async def keep_latest(self, bin_id: str, keep: int) -> None:
        """Forget all but the ``keep`` newest requests of a bin."""
        cutoff = await self.db.scalar(
            select(inspector_requests.c.id)
            .where(inspector_requests.c.bin_id == bin_id)
            .order_by(inspector_requests.c.id.desc())
            .offset(keep)
            .limit(1)
        )
        if cutoff is not None:
            await self.db.execute(
                delete(inspector_requests).where(
                    inspector_requests.c.bin_id == bin_id, inspector_requests.c.id <= cutoff
                )
            )

    async def _one(self, statement: Any) -> dict[str, Any] | None:
        row = (await self.db.execute(statement)).mappings().first()
        return dict(row) if row else None
