"""SQL of the delivery queue: turning events into deliveries, leasing due ones, storing outcomes.

Works on SQLite and PostgreSQL. On PostgreSQL, claims take row locks with ``FOR UPDATE SKIP LOCKED``
so several workers share the queue without sending anything twice; a lease that expires (a worker
died mid-send) is released by a worker's upkeep, which makes the delivery pending and claimable
again, under the same id and so the same webhook-id.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, insert, literal, literal_column, null, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.direct import DirectSelect, DirectStatement, sqlite_connection
from hookdoor.db.tables import KIND_TABLES, attempts, deliveries, endpoint_health, events
from hookdoor.db.types import UTCDateTime

webhooks = KIND_TABLES["webhook"]
FINAL_STATES = ("succeeded", "failed")
WebhookKey = tuple[str, str]


def _is_postgres(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name == "postgresql"


_UNDISPATCHED = select(events).where(events.c.dispatched.is_(False)).order_by(events.c.id).limit(bindparam("limit"))
_UNDISPATCHED_SQLITE = DirectSelect(_UNDISPATCHED, raw_json=["object"])  # see payloads.event_object
_WEBHOOK_DOCUMENTS = DirectSelect(select(webhooks.c.data), raw_json=["data"])
_MARK_DISPATCHED = DirectStatement(
    update(events).where(events.c.id == bindparam("event_id"), events.c.dispatched.is_(False)).values(dispatched=true())
)
_INSERT_DELIVERIES = DirectStatement(insert(deliveries), [column.key for column in deliveries.c])
_INSERT_ATTEMPTS = DirectStatement(insert(attempts), [column.key for column in attempts.c if column.key != "id"])
_STORE_DELIVERY_OUTCOME = DirectStatement(
    update(deliveries)
    .where(deliveries.c.id == bindparam("delivery_id"), deliveries.c.lease_owner == bindparam("worker"))
    .values(
        state=bindparam("state"), attempts=bindparam("attempts"),
        next_attempt_at=bindparam("next_attempt_at"), last_status=bindparam("last_status"),
        last_error=bindparam("last_error"), lease_owner=null(), lease_expires_at=null(),
        updated_at=bindparam("updated_at"),
    )
)


async def undispatched_events(db: AsyncSession, limit: int) -> list[dict[str, Any]]:
    if not _is_postgres(db):
        return await _UNDISPATCHED_SQLITE.rows(db, limit=limit)
    statement = _UNDISPATCHED.with_for_update(skip_locked=True)
    return [dict(row) for row in (await db.execute(statement, {"limit": limit})).mappings()]


def undispatched_in_snapshot(driver: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    return _UNDISPATCHED_SQLITE.rows_on(driver, limit=limit)


async def mark_dispatched(db: AsyncSession, event_ids: Sequence[str]) -> int:
    """How many of them this marked: fewer if another worker dispatched some first."""
    return await _MARK_DISPATCHED.execute_many(db, [{"event_id": event_id} for event_id in event_ids])


class WebhookDocuments:
    """Every webhook, read afresh in each of the worker's transactions (a change is seen at once), but
    parsed again only when its stored JSON changed: a cycle of the worker reads them all."""

    def __init__(self) -> None:
        self._parsed: dict[str, dict[str, Any]] = {}

    async def load(self, db: AsyncSession) -> dict[WebhookKey, dict[str, Any]]:
        rows = await _WEBHOOK_DOCUMENTS.rows(db)
        if await sqlite_connection(db) is None:  # parsed by SQLAlchemy
            return {(row["data"]["owner"], row["data"]["name"]): row["data"] for row in rows}
        return self._parsed_documents(rows)

    def load_from_snapshot(self, driver: sqlite3.Connection) -> dict[WebhookKey, dict[str, Any]]:
        return self._parsed_documents(_WEBHOOK_DOCUMENTS.rows_on(driver))

    def _parsed_documents(self, rows: list[dict[str, Any]]) -> dict[WebhookKey, dict[str, Any]]:
        parsed = {}
        for row in rows:
            text = row["data_json"]
            document = self._parsed.get(text)
            parsed[text] = document if document is not None else json.loads(text)
        self._parsed = parsed
        return {(document["owner"], document["name"]): document for document in parsed.values()}


async def insert_deliveries(
    db: AsyncSession, rows: Sequence[Mapping[str, Any]], converted: list[list[Any]] | None = None
) -> None:
    """``converted``: the rows converted beforehand by `converted_deliveries` (SQLite only)."""
    await _INSERT_DELIVERIES.execute_many(db, rows, converted)


def converted_deliveries(rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    return _INSERT_DELIVERIES.converted(rows)


def _due() -> Any:
    """Pending and due. (A lease that ran out makes its delivery pending again first: see
    `release_expired_leases`. Both in one condition cost an OR that no index serves: with many
    deliveries in flight, every claim scanned and sorted them all.)"""
    return and_(deliveries.c.state == "pending", deliveries.c.next_attempt_at <= bindparam("now", type_=UTCDateTime()))


_RELEASE_EXPIRED_LEASES = (
    update(deliveries)
    .where(deliveries.c.state == "delivering", deliveries.c.lease_expires_at < bindparam("now", type_=UTCDateTime()))
    .values(state="pending", lease_owner=null(), lease_expires_at=null())
)


async def release_expired_leases(db: AsyncSession, now: datetime) -> int:
    """Deliveries whose worker died mid-send (its lease ran out) become pending again, to be claimed
    by any worker under the same id, so the same webhook-id."""
    return (await db.execute(_RELEASE_EXPIRED_LEASES, {"now": now})).rowcount  # type: ignore[attr-defined]


def _not_blocked_by_earlier() -> Any:
    """An ordered webhook's delivery waits until every earlier one of that webhook is final."""
    earlier = deliveries.alias("earlier")
    blocking = exists().where(
        earlier.c.webhook_owner == deliveries.c.webhook_owner,
        earlier.c.webhook_name == deliveries.c.webhook_name,
        earlier.c.id < deliveries.c.id,
        *(earlier.c.state != state for state in FINAL_STATES),
    )
    return or_(deliveries.c.ordered.is_(False), ~blocking)


def _not_for(excluded: int) -> Any:
    """Not for the webhooks given as binds ``excluded_owner_<i>``, ``excluded_name_<i>``."""
    if not excluded:
        return true()
    return ~or_(*(
        and_(deliveries.c.webhook_owner == bindparam(f"excluded_owner_{i}"),
             deliveries.c.webhook_name == bindparam(f"excluded_name_{i}"))
        for i in range(excluded)
    ))


_ANYTHING_DUE = DirectSelect(select(deliveries.c.id).where(_due()).limit(1))


def anything_due_in_snapshot(driver: sqlite3.Connection, now: datetime) -> bool:
    """Is any delivery due (a retry, one left pending)? Then a claim must run."""
    return bool(_ANYTHING_DUE.rows_on(driver, now=now))


@functools.cache
def _claim(excluded: int) -> DirectSelect:
    """The claim statement for a number of excluded webhooks, built and compiled once."""
    candidates = (
        select(deliveries.c.id)
        .where(_due(), _not_blocked_by_earlier(), _not_for(excluded))
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer and renders nothing
    )
    return DirectSelect(
        update(deliveries)
        .where(deliveries.c.id.in_(candidates.scalar_subquery()))
        .values(state="delivering", lease_owner=bindparam("worker"), lease_expires_at=bindparam("lease_until"),
                updated_at=bindparam("now"))
        .returning(*deliveries.c)
    )


async def claim_due(
    db: AsyncSession, *, worker: str, now: datetime, limit: int, lease: timedelta,
    excluding: Sequence[tuple[str, str]] = (),
) -> list[dict[str, Any]]:
    """Lease up to ``limit`` due deliveries, skipping webhooks already at their concurrency limit."""
    excluded = {}
    for i, (owner, name) in enumerate(excluding):
        excluded[f"excluded_owner_{i}"], excluded[f"excluded_name_{i}"] = owner, name
    return await _claim(len(excluding)).rows(
        db, worker=worker, now=now, lease_until=now + lease, limit=limit, **excluded
    )


@dataclass(frozen=True)
class OutcomeBatch:
    """Attempts and delivery updates to store together. On SQLite their parameters are converted
    (JSON encoded...) when the batch is made, before the transaction: that transaction holds the
    database's single write lock, which the API waits for meanwhile."""

    attempts: Sequence[Mapping[str, Any]]
    updates: Sequence[Mapping[str, Any]]
    attempt_parameters: list[list[Any]] | None = None
    update_parameters: list[list[Any]] | None = None

    @classmethod
    def of(cls, attempts: Sequence[Mapping[str, Any]], updates: Sequence[Mapping[str, Any]], *,
           sqlite: bool) -> OutcomeBatch:
        if not sqlite:
            return cls(attempts, updates)
        return cls(attempts, updates, _INSERT_ATTEMPTS.converted(attempts), _STORE_DELIVERY_OUTCOME.converted(updates))


async def store_outcomes(db: AsyncSession, batch: OutcomeBatch) -> None:
    """One round trip each for all attempts and all delivery updates of a batch."""
    await _INSERT_ATTEMPTS.execute_many(db, batch.attempts, batch.attempt_parameters)
    await _STORE_DELIVERY_OUTCOME.execute_many(db, batch.updates, batch.update_parameters)


def _upsert(
    db: AsyncSession, table: Any, values: Mapping[str, Any], keys: Iterable[str], changes: Mapping[str, Any]
) -> Any:
    dialect = postgresql if _is_postgres(db) else sqlite
    statement = dialect.insert(table).values(**values)
    return statement.on_conflict_do_update(index_elements=list(keys), set_=dict(changes))


def _success_upsert(dialect: Any) -> Any:
    statement = dialect.insert(endpoint_health).values(
        webhook_owner=bindparam("owner"), webhook_name=bindparam("name"), failing_since=null(),
        failure_streak=literal_column("0"), last_success_at=bindparam("at", type_=UTCDateTime()),
    )
    return statement.on_conflict_do_update(
        index_elements=["webhook_owner", "webhook_name"],
        set_={"failing_since": null(), "failure_streak": literal_column("0"),
              "last_success_at": statement.excluded.last_success_at},
    )


_GIVE_BACK = DirectStatement(
    update(deliveries).where(deliveries.c.id == bindparam("delivery_id"))
    .values(state=literal_column("'pending'"), lease_owner=null(), lease_expires_at=null())
)


async def give_back(db: AsyncSession, delivery_ids: Sequence[str]) -> None:
    """Leased deliveries this worker will not send now: pending again, for later or another worker."""
    await _GIVE_BACK.execute_many(db, [{"delivery_id": delivery_id} for delivery_id in delivery_ids])


_RECORD_SUCCESSES_SQLITE = DirectStatement(_success_upsert(sqlite))
_RECORD_SUCCESSES_POSTGRES = DirectStatement(_success_upsert(postgresql))


async def record_successes(db: AsyncSession, last_success: Mapping[WebhookKey, datetime]) -> None:
    """Endpoint health of many webhooks whose latest attempt succeeded: one statement for all."""
    statement = _RECORD_SUCCESSES_POSTGRES if _is_postgres(db) else _RECORD_SUCCESSES_SQLITE
    rows = [{"owner": owner, "name": name, "at": at} for (owner, name), at in last_success.items()]
    await statement.execute_many(db, rows)


async def record_health(db: AsyncSession, owner: str, name: str, *, succeeded: bool, at: datetime,
                        error: str | None, failures: int = 1) -> None:
    """``failures``: how many failed attempts in a row this records (at ``at``, the last one's time)."""
    key = {"webhook_owner": owner, "webhook_name": name}
    if succeeded:
        values = {**key, "failing_since": None, "failure_streak": 0, "last_success_at": at}
        changes = {"failing_since": None, "failure_streak": 0, "last_success_at": at}
    else:
        values = {**key, "failing_since": at, "failure_streak": failures, "last_failure_at": at, "last_error": error}
        changes = {
            # A streak starts at its first failure and keeps that start until a success.
            "failing_since": func.coalesce(endpoint_health.c.failing_since, literal(at, UTCDateTime())),
            "failure_streak": endpoint_health.c.failure_streak + failures,
            "last_failure_at": at,
            "last_error": error,
        }
    await db.execute(_upsert(db, endpoint_health, values, key.keys(), changes))


async def health_of(db: AsyncSession, owner: str, name: str) -> dict[str, Any] | None:
    row = (
        await db.execute(
            select(endpoint_health).where(
                endpoint_health.c.webhook_owner == owner, endpoint_health.c.webhook_name == name
            )
        )
    ).mappings().first()
    return dict(row) if row else None
