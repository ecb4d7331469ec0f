"""The log of messages sent, which the send limits count (one row per message)."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import message_sends


class SendLog:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def count_since(self, *, destination: str | None = None, caller: str | None = None, since: float) -> int:
        query = select(func.count()).select_from(message_sends).where(message_sends.c.sent_at >= since)
        if destination is not None:
            query = query.where(message_sends.c.destination == destination)
        if caller is not None:
            query = query.where(message_sends.c.caller == caller)
        return int(await self.db.scalar(query) or 0)

    async def add(self, destination: str, caller: str, at: float, *, forget_before: float) -> None:
        await self.db.execute(delete(message_sends).where(message_sends.c.sent_at < forget_before))
        await self.db.execute(insert(message_sends).values(destination=destination[:320], caller=caller[:320],
                                                           sent_at=at))
