"""SQL the directory needs beyond the generic repository's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import KIND_TABLES, auth_sessions
from hookdoor.db.types import utcnow


class DirectoryRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def user_count(self, owner: str | None, online: bool | None) -> int:
        users = KIND_TABLES["user"]
        conditions: list[Any] = [] if owner is None else [users.c.owner == owner]
        if online is not None:
            # A user who never had the field is offline, as Casdoor's is_online column defaults to false.
            conditions.append(func.coalesce(users.c.data["isOnline"].as_boolean(), false()) == online)
        return int(await self.db.scalar(select(func.count()).select_from(users).where(*conditions)) or 0)

    async def organization_names(self) -> list[dict[str, Any]]:
        organizations = KIND_TABLES["organization"]
        statement = select(organizations.c.owner, organizations.c.name, organizations.c.data["displayName"].as_string())
        rows = await self.db.execute(statement.order_by(organizations.c.created_time.desc()))
        return [{"owner": owner, "name": name, "displayName": shown or ""} for owner, name, shown in rows.all()]

    async def applications_of(self, organization: str) -> list[dict[str, Any]]:
        """The organization's applications, oldest first (Casdoor's default-application order)."""
        applications = KIND_TABLES["application"]
        statement = (
            select(applications.c.data)
            .where(applications.c.organization == organization)
            .order_by(applications.c.created_time.asc(), applications.c.name)
        )
        return [dict(row) for row in (await self.db.scalars(statement)).all()]

    async def live_session_hashes(self, owner: str, name: str, application: str) -> list[str]:
        """The stored hashes of the user's unexpired sign-in sessions (of one application, if given)."""
        conditions: list[Any] = [auth_sessions.c.owner == owner, auth_sessions.c.name == name,
                                 auth_sessions.c.expires_at > utcnow()]
        if application:
            conditions.append(auth_sessions.c.application == application)
        return list(await self.db.scalars(select(auth_sessions.c.token_hash).where(*conditions)))
