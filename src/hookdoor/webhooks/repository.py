"""SQL over deliveries and attempts, for the webhook log and its controls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import attempts, deliveries
from hookdoor.db.types import utcnow
from hookdoor.delivery.health import HELD_BY_BREAKER
from hookdoor.webhooks.states import STATES

__all__ = ["STATES", "DeliveryQuery", "DeliveryRepository"]

UNFINISHED = ("pending", "delivering")
FINAL = ("succeeded", "failed")
WebhookKey = tuple[str, str]


def is_retrying() -> Any:
    return and_(deliveries.c.state == "pending", deliveries.c.attempts > literal_column("0"))


def shown_state() -> Any:
    """The state as users see it, in SQL (literals, not binds: PostgreSQL groups by it)."""
    return case((is_retrying(), literal_column("'retrying'")), else_=deliveries.c.state)


def _state_is(state: str) -> Any:
    if state == "retrying":
        return is_retrying()
    if state == "pending":
        return and_(deliveries.c.state == "pending", deliveries.c.attempts == 0)
    return deliveries.c.state == state


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
            conditions.append(_state_is(query.state))
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

    async def requeue(self, delivery_ids: list[str], trigger: str) -> list[str]:
        """Due now again, keeping each delivery's id (so its webhook-id) and its attempt history. The
        ids requeued: not those a worker holds right now (it is sending them, or putting them off)."""
        if not delivery_ids:
            return []
        now = utcnow()
        result = await self.db.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(delivery_ids), deliveries.c.state.in_(("succeeded", "failed", "pending")))
            .values(
                state="pending",
                next_attempt_at=now,
                trigger=trigger,
                # No longer true once it is due again; a breaker that still holds it says so again.
                last_error=case((deliveries.c.last_error == HELD_BY_BREAKER, None), else_=deliveries.c.last_error),
                updated_at=now,
                lease_owner=None,
                lease_expires_at=None,
            )
            .returning(deliveries.c.id)
        )
        return sorted(result.scalars())

    async def unsuccessful_between(self, webhook: WebhookKey, since: datetime, until: datetime) -> list[str]:
        """Failed deliveries and those waiting for a retry, created in the window: what recover sends."""
        query = DeliveryQuery(webhook=webhook, since=since, until=until)
        statement = select(deliveries.c.id).where(*self._conditions(query), or_(_state_is("failed"), is_retrying()))
        return list((await self.db.execute(statement)).scalars())

    async def held_by_breaker(self, webhook: WebhookKey, since: datetime) -> bool:
        """Whether a worker put off one of the webhook's deliveries for its open breaker since ``since``."""
        statement = select(deliveries.c.id).where(
            *self._conditions(DeliveryQuery(webhook=webhook)), deliveries.c.state == "pending",
            deliveries.c.last_error == HELD_BY_BREAKER, deliveries.c.updated_at >= since,
        ).limit(1)
        return (await self.db.scalar(statement)) is not None

    async def counts_by_state(self, webhooks: list[WebhookKey], since: datetime) -> dict[WebhookKey, dict[str, Any]]:
        """Per webhook and shown state: the deliveries that ended (succeeded, failed) since ``since``,
        and every one not done yet (pending, retrying, delivering) whatever its age; with the next
        attempt's time of the retrying ones."""
        keys = set(webhooks)
        if not keys:
            return {}
        state = shown_state().label("shown")
        statement = (
            select(deliveries.c.webhook_owner, deliveries.c.webhook_name, state, func.count(),
                   func.min(deliveries.c.next_attempt_at))
            .where(deliveries.c.webhook_owner.in_({owner for owner, _ in keys}),
                   or_(deliveries.c.state.in_(UNFINISHED),
                       and_(deliveries.c.state.in_(FINAL), deliveries.c.updated_at >= since)))
            .group_by(deliveries.c.webhook_owner, deliveries.c.webhook_name, state)
        )
        counts: dict[WebhookKey, dict[str, Any]] = {}
        for owner, name, shown, count, next_at in (await self.db.execute(statement)).all():
            if (owner, name) in keys:
                found = counts.setdefault((owner, name), {})
                found[shown] = count
                if shown == "retrying":
                    found["next_retry_at"] = next_at
        return counts
