"""SQL of the commerce flows over the registry's tables (products, orders, payments, users...).

State changes are conditional UPDATEs: the row changes only if it is still in the state it was read
in, so two calls racing on one order both read "Created" and only one of them moves it (PostgreSQL
makes the second wait for the first, then finds the condition false; SQLite has one writer).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import KIND_TABLES
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ListQuery, ObjectRepository


class CommerceRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def objects(self, singular: str) -> ObjectRepository:
        return ObjectRepository(self.db, kind(singular))

    async def get(self, singular: str, owner: str, name: str) -> dict[str, Any] | None:
        return await self.objects(singular).get(owner, name)

    async def locked(self, singular: str, owner: str, name: str) -> dict[str, Any] | None:
        """The object, its row locked until the transaction ends (PostgreSQL; SQLite's writer is
        alone already), for read-modify-write of a balance or a stock."""
        table = KIND_TABLES[singular]
        statement = select(table.c.data).where(table.c.owner == owner, table.c.name == name).with_for_update()
        data = await self.db.scalar(statement)
        return dict(data) if data is not None else None

    async def insert(self, singular: str, data: dict[str, Any]) -> None:
        await self.objects(singular).insert(data)

    async def replace(self, singular: str, data: dict[str, Any]) -> None:
        await self.objects(singular).replace(data["owner"], data["name"], data)

    async def replace_if(self, singular: str, before: dict[str, Any], after: dict[str, Any],
                         *fields: str) -> bool:
        """Write ``after`` over the row only if its ``fields`` still hold what ``before`` says; True
        for the one caller whose write took."""
        table = KIND_TABLES[singular]
        conditions = [table.c.owner == before["owner"], table.c.name == before["name"]]
        conditions += [table.c.data[field].as_string() == str(before.get(field) or "") for field in fields]
        values = {"data": after, "updated_time": after.get("updatedTime") or ""}
        result = await self.db.execute(update(table).where(and_(*conditions)).values(values))
        return result.rowcount > 0

    async def of_user(self, singular: str, owner: str, user: str) -> list[dict[str, Any]]:
        items, _ = await self.objects(singular).list(ListQuery(owner=owner, equals={"user": user}))
        return items

    async def due_subscriptions(self, now: str, limit: int = 100) -> list[dict[str, Any]]:
        """Subscriptions whose period ended or began before ``now`` (RFC 3339 UTC strings, which sort
        as times) but whose state does not say so yet."""
        table = KIND_TABLES["subscription"]
        state, start, end = (table.c.data[f].as_string() for f in ("state", "startTime", "endTime"))
        lapsed = and_(state.in_(("Active", "Upcoming")), end != "", end <= now)
        begun = and_(state == "Upcoming", start <= now, end > now)
        statement = select(table.c.data).where(lapsed | begun).order_by(table.c.owner, table.c.name).limit(limit)
        return [dict(row) for row in (await self.db.execute(statement)).scalars()]
