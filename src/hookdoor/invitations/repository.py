"""SQL of invitations beyond the generic repository: the compare-and-set that counts a use, and a
locked read for the writes that must not lose one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, update
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import KIND_TABLES
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ListQuery, ObjectRepository

INVITATIONS = kind("invitation")
# An organization's invitations a code is looked for among (Casdoor reads them all).
SCAN_LIMIT = 1000


class InvitationStore:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.table = KIND_TABLES["invitation"]
        self.objects = ObjectRepository(db, INVITATIONS)

    async def of_organization(self, organization: str) -> list[dict[str, Any]]:
        query = ListQuery(owner=organization, sort_field="createdTime", sort_order="descend", page=1,
                          page_size=SCAN_LIMIT)
        items, _ = await self.objects.list(query)
        return items

    async def get(self, owner: str, name: str) -> dict[str, Any] | None:
        return await self.objects.get(owner, name)

    async def locked(self, owner: str, name: str) -> dict[str, Any] | None:
        return await self.objects.get_for_update(owner, name)

    async def count_use(self, seen: dict[str, Any], counted: dict[str, Any]) -> bool:
        """Write ``counted`` only if the row is still the one ``seen`` was read from: the same count and
        the same update time. Of two sign-ups that read the same count, PostgreSQL makes the second
        wait for the first and then finds the count moved: it changes nothing, and its caller reads
        the invitation again. An administrator's change meanwhile (suspended, quota lowered) moves the
        update time, so a sign-up never writes it over either."""
        statement = (
            update(self.table)
            .where(self._key(seen["owner"], seen["name"]),
                   self.table.c.updated_time == str(seen.get("updatedTime") or ""),
                   func.coalesce(self.table.c.data["usedCount"].as_integer(), 0) == int(seen.get("usedCount") or 0))
            .values(data=counted, updated_time=counted.get("updatedTime") or "")
        )
        result = await self.db.execute(statement)
        return result.rowcount == 1

    def _key(self, owner: str, name: str) -> Any:
        return and_(self.table.c.owner == owner, self.table.c.name == name)
