"""SQL of the dashboards: counts over the registry's tables and the events table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import KIND_TABLES, events


def _in_organization(table: Table, organization: str | None) -> list[ColumnElement[bool]]:
    return [] if organization is None else [table.c.organization == organization]


class DashboardRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def created_times(self, kind: str, organization: str | None, since: str) -> tuple[int, list[str]]:
        """How many objects of ``kind`` were created before ``since`` (an RFC 3339 time), and the
        creation times of the others. Stored times are RFC 3339 text, compared as text: Hookdoor
        writes them in UTC with a trailing Z."""
        table = KIND_TABLES[kind]
        where = _in_organization(table, organization)
        before = await self.db.scalar(
            select(func.count()).select_from(table).where(*where, table.c.created_time < since)
        )
        recent = await self.db.scalars(select(table.c.created_time).where(*where, table.c.created_time >= since))
        return int(before or 0), list(recent)

    async def provider_types(self, organization: str | None) -> list[tuple[str, int]]:
        table = KIND_TABLES["provider"]
        provider_type = func.coalesce(table.c.data["type"].as_string(), "")
        statement = (
            select(provider_type, func.count())
            .where(*_in_organization(table, organization))
            .group_by(provider_type)
        )
        return [(kind or "", int(count)) for kind, count in (await self.db.execute(statement)).all()]

    async def mfa_counts(self, organization: str | None) -> tuple[int, int]:
        """(users, users with a second factor): phone or email MFA on, or a preferred MFA type set."""
        table = KIND_TABLES["user"]
        where = _in_organization(table, organization)
        data = table.c.data
        has_mfa = or_(
            func.coalesce(data["mfaPhoneEnabled"].as_boolean(), false()),
            func.coalesce(data["mfaEmailEnabled"].as_boolean(), false()),
            func.coalesce(data["preferredMfaType"].as_string(), "") != "",
        )
        total = await self.db.scalar(select(func.count()).select_from(table).where(*where))
        enabled = await self.db.scalar(select(func.count()).select_from(table).where(*where, has_mfa))
        return int(total or 0), int(enabled or 0)

    async def logins_per_day(self, organization: str | None, since: datetime) -> list[tuple[str, int]]:
        """Successful sign-ins per UTC day since ``since``, from the events (kept for the retention
        period, HOOKDOOR_RETENTION_DAYS)."""
        day = func.date(events.c.created_at)
        conditions: list[Any] = [events.c.action == "login", events.c.outcome == "ok", events.c.created_at >= since]
        if organization is not None:
            conditions.append(events.c.organization == organization)
        statement = select(day, func.count()).where(*conditions).group_by(day).order_by(day)
        return [(str(date), int(count)) for date, count in (await self.db.execute(statement)).all()]
