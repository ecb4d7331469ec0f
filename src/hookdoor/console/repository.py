"""The console's own reads: a user's recent events, and the counts behind the dashboard's charts.

Authorization is decided by the caller (the services); these functions take the scope they are given.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import deliveries, endpoint_health, events
from hookdoor.delivery.queue import FINAL_STATES
from hookdoor.webhooks.repository import is_retrying, shown_state

WebhookKey = tuple[str, str]


def minute_of(db: AsyncSession, column: Any) -> ColumnElement[str]:
    """The UTC minute of a timestamp as 'YYYY-MM-DDTHH:MM', on SQLite and PostgreSQL alike."""
    if db.get_bind().dialect.name == "postgresql":
        utc = func.timezone("UTC", column)
        return func.to_char(func.date_trunc("minute", utc), 'YYYY-MM-DD"T"HH24:MI')
    return func.strftime("%Y-%m-%dT%H:%M", column)


async def events_of_user(db: AsyncSession, ref: str, limit: int = 20) -> list[dict[str, Any]]:
    """The latest events whose subject or actor is the user ``owner/name``."""
    statement = (
        select(events.c.id, events.c.action, events.c.outcome, events.c.status_code, events.c.actor,
               events.c.subject, events.c.message, events.c.request, events.c.created_at)
        .where(or_(events.c.subject == ref, events.c.actor == ref))
        .order_by(events.c.id.desc())
        .limit(limit)
    )
    return [dict(row) for row in (await db.execute(statement)).mappings()]


async def events_per_minute(db: AsyncSession, since: datetime, organization: str | None) -> dict[str, int]:
    minute = minute_of(db, events.c.created_at).label("minute")
    statement = select(minute, func.count()).where(events.c.created_at >= since).group_by(minute)
    if organization is not None:
        statement = statement.where(events.c.organization == organization)
    return {row[0]: row[1] for row in (await db.execute(statement)).all()}


async def outcomes_per_minute(
    db: AsyncSession, since: datetime, webhooks: Iterable[WebhookKey] | None
) -> dict[str, dict[str, int]]:
    """Deliveries that reached a final state or failed and wait to be retried, per minute of that
    outcome and per state (succeeded, failed, retrying)."""
    minute = minute_of(db, deliveries.c.updated_at).label("minute")
    state = shown_state().label("shown")
    statement = (
        select(minute, state, deliveries.c.webhook_owner, deliveries.c.webhook_name, func.count())
        .where(deliveries.c.updated_at >= since, or_(deliveries.c.state.in_(FINAL_STATES), is_retrying()))
        .group_by(minute, state, deliveries.c.webhook_owner, deliveries.c.webhook_name)
    )
    keys = None if webhooks is None else set(webhooks)
    if keys is not None:
        statement = statement.where(deliveries.c.webhook_owner.in_({owner for owner, _ in keys}))
    counts: dict[str, dict[str, int]] = {}
    for bucket, state, owner, name, count in (await db.execute(statement)).all():
        if keys is None or (owner, name) in keys:
            per_state = counts.setdefault(bucket, {})
            per_state[state] = per_state.get(state, 0) + count
    return counts


async def health_of_webhooks(db: AsyncSession, webhooks: Iterable[WebhookKey]) -> dict[WebhookKey, dict[str, Any]]:
    keys = set(webhooks)
    if not keys:
        return {}
    statement = select(endpoint_health).where(endpoint_health.c.webhook_owner.in_({owner for owner, _ in keys}))
    found = {}
    for row in (await db.execute(statement)).mappings():
        key = (row["webhook_owner"], row["webhook_name"])
        if key in keys:
            found[key] = dict(row)
    return found


# ---- versions of what live pages show (console.live) ----------------------------------------------

def _version_of(*parts: Any) -> str:
    return ":".join("" if part is None else str(part) for part in parts)


def _health_changes() -> Any:
    """What every attempt's outcome changes in endpoint_health (one small row per webhook)."""
    return (func.max(endpoint_health.c.last_success_at), func.max(endpoint_health.c.last_failure_at),
            func.sum(endpoint_health.c.failure_streak))


async def webhook_version(db: AsyncSession, owner: str, name: str) -> str:
    """Changes with a new delivery of the webhook or an attempt's outcome. Indexed reads only: it is
    read twice a second for every open page."""
    newest = await db.scalar(select(func.max(deliveries.c.id)).where(
        deliveries.c.webhook_owner == owner, deliveries.c.webhook_name == name))
    health = (await db.execute(select(*_health_changes()).where(
        endpoint_health.c.webhook_owner == owner, endpoint_health.c.webhook_name == name))).one()
    return _version_of(newest, *health)


async def delivery_version(db: AsyncSession, delivery_id: str) -> str:
    row = (await db.execute(select(deliveries.c.state, deliveries.c.attempts, deliveries.c.updated_at)
                            .where(deliveries.c.id == delivery_id))).first()
    return _version_of(*(row or ()))


async def dashboard_version(db: AsyncSession, owners: set[str] | None, organization: str | None) -> str:
    """Changes with a new event or delivery the caller sees, or an attempt's outcome."""
    newest_delivery = select(func.max(deliveries.c.id))
    newest_event = select(func.max(events.c.id))
    health = select(*_health_changes())
    if owners is not None:
        newest_delivery = newest_delivery.where(deliveries.c.webhook_owner.in_(owners))
        health = health.where(endpoint_health.c.webhook_owner.in_(owners))
    if organization is not None:
        newest_event = newest_event.where(events.c.organization == organization)
    return _version_of(await db.scalar(newest_delivery), await db.scalar(newest_event),
                       *(await db.execute(health)).one())


# ---- the event log ------------------------------------------------------------------------------

EVENT_COLUMNS = (events.c.id, events.c.action, events.c.organization, events.c.actor, events.c.subject,
                 events.c.outcome, events.c.status_code, events.c.message, events.c.request, events.c.created_at)


def _event_conditions(filters: dict[str, Any]) -> list[Any]:
    conditions = []
    if filters.get("event"):
        conditions.append(events.c.action == filters["event"])
    if filters.get("organization"):
        conditions.append(events.c.organization == filters["organization"])
    if filters.get("outcome"):
        conditions.append(events.c.outcome == filters["outcome"])
    if user := filters.get("user"):
        if "/" in user:  # owner/name: exactly that user, as subject or actor
            conditions.append(or_(events.c.subject == user, events.c.actor == user))
        else:  # a name: that name in any organization (_ and % in it match only themselves)
            pattern = "%/" + user.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(or_(events.c.subject.like(pattern, escape="\\"),
                                  events.c.actor.like(pattern, escape="\\")))
    if filters.get("since"):
        conditions.append(events.c.created_at >= filters["since"])
    if filters.get("until"):
        conditions.append(events.c.created_at < filters["until"])
    return conditions


async def event_log(db: AsyncSession, filters: dict[str, Any], page: int,
                    size: int) -> tuple[list[dict[str, Any]], int]:
    """Events matching ``filters`` (event, organization, user, outcome, since, until), newest first."""
    where = _event_conditions(filters)
    total = await db.scalar(select(func.count()).select_from(events).where(*where)) or 0
    statement = select(*EVENT_COLUMNS).where(*where).order_by(events.c.id.desc()).limit(size).offset((page - 1) * size)
    return [dict(row) for row in (await db.execute(statement)).mappings()], total


async def event_by_id(db: AsyncSession, event_id: str) -> dict[str, Any] | None:
    row = (await db.execute(select(events).where(events.c.id == event_id))).mappings().first()
    return dict(row) if row else None


async def deliveries_of_event(db: AsyncSession, event_id: str) -> list[dict[str, Any]]:
    statement = select(deliveries).where(deliveries.c.event_id == event_id).order_by(deliveries.c.id)
    return [dict(row) for row in (await db.execute(statement)).mappings()]
