"""SQL over deliveries and attempts, for the webhook log and its controls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import attempts, deliveries
from hookdoor.db.types import utcnow

STATES = ("pending", "delivering", "succeeded", "failed")


@dataclass(frozen=True)
class DeliveryQuery:
    webhook: tuple[str, str] | None = None
    webhook_owner: str | None = None
    state: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    page: int | None = None
    page_size: int | None = None


class DeliveryRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def _conditions(self, query: DeliveryQuery) -> list[Any]:
        conditions = []
        if query.webhook:
            conditions += [
                deliveries.c.webhook_owner == query.webhook[0],
                deliveries.c.webhook_name == query.webhook[1],
            ]
        if query.webhook_owner:
            conditions.append(deliveries.c.webhook_owner == query.webhook_owner)
        if query.state:
            conditions.append(deliveries.c.state == query.state)
        if query.action:
            conditions.append(deliveries.c.action == query.action)
        if query.since:
            conditions.append(deliveries.c.created_at >= query.since)
        if query.until:
            conditions.append(deliveries.c.created_at < query.until)
        return conditions

    async def list(self, query: DeliveryQuery) -> tuple[list[dict[str, Any]], int | None]:
        where = self._conditions(query)
        statement = select(deliveries).where(*where).order_by(deliveries.c.id.desc())
        total = None
        if query.page and query.page_size:
            total = await self.db.scalar(select(func.count()).select_from(deliveries).where(*where))
            statement = statement.limit(query.page_size).offset((query.page - 1) * query.page_size)
        else:
            statement = statement.limit(1000)
        return [dict(row) for row in (await self.db.execute(statement)).mappings()], total

    async def get(self, delivery_id: str) -> dict[str, Any] | None:
        row = (await self.db.execute(select(deliveries).where(deliveries.c.id == delivery_id))).mappings().first()
        return dict(row) if row else None

    async def attempts_of(self, delivery_id: str) -> list[dict[str, Any]]:
        statement = select(attempts).where(attempts.c.delivery_id == delivery_id).order_by(attempts.c.number)
        return [dict(row) for row in (await self.db.execute(statement)).mappings()]

    async def delete(self, delivery_id: str) -> bool:
        """The delivery and its attempts, unless a worker holds it right now (its outcome would
        then be written for a delivery that no longer exists)."""
        result = await self.db.execute(
            delete(deliveries).where(deliveries.c.id == delivery_id, deliveries.c.state != "delivering")
        )
        if not result.rowcount:
            return False
        await self.db.execute(delete(attempts).where(attempts.c.delivery_id == delivery_id))
        return True

    async def requeue(self, delivery_ids: list[str], trigger: str) -> int:
        """Due now again, keeping each delivery's id (so its webhook-id) and its attempt history."""
        if not delivery_ids:
            return 0
        now = utcnow()
        result = await self.db.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(delivery_ids), deliveries.c.state.in_(("succeeded", "failed", "pending")))
            .values(
                state="pending",
                next_attempt_at=now,
                trigger=trigger,
                updated_at=now,
                lease_owner=None,
                lease_expires_at=None,
            )
        )
        return result.rowcount

    async def failed_between(self, webhook: tuple[str, str], since: datetime, until: datetime) -> list[str]:
        query = DeliveryQuery(webhook=webhook, state="failed", since=since, until=until)
        statement = select(deliveries.c.id).where(*self._conditions(query))
        return list((await self.db.execute(statement)).scalars())
