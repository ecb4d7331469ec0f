"""The delivery worker: dispatch new events, lease due deliveries, send them concurrently, store
what happened in batches, and watch each endpoint's health.

One loop turns committed events into deliveries and leases what is due, in one transaction; each
leased delivery is sent by its own task; a flusher writes the outcomes of many sends at once (one
transaction for a batch: SQLite commits are the scarce resource). A delivery stays leased until its
outcome is written, so a worker killed at any point leaves nothing lost: the lease expires and the
delivery is sent again under the same webhook-id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hookdoor.config import Settings
from hookdoor.db.direct import sqlite_snapshot
from hookdoor.db.tables import attempts, deliveries, events
from hookdoor.db.types import utcnow
from hookdoor.delivery import dispatcher, queue
from hookdoor.delivery.health import FORCED, HELD_BY_BREAKER, CircuitBreaker, TokenBucket, should_auto_disable
from hookdoor.delivery.metrics import DeliveryMetrics
from hookdoor.delivery.queue import WebhookKey
from hookdoor.delivery.sender import Outcome, Sender, lean_session
from hookdoor.events.recorder import Action, record
from hookdoor.events.wakeup import Wakeup
from hookdoor.identity.principal import SYSTEM
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.inspector.targets import InspectorTargets
from hookdoor.webhooks.target_guard import TargetPolicy, guarded_connector

log = logging.getLogger(__name__)
BREAKER_DEFERRAL = timedelta(seconds=30)
# How long a flush waits for sends still in flight to finish and join it: one transaction for many
# outcomes (on SQLite every transaction holds the single write lock the API needs too).
FLUSH_GATHER_SECONDS = 0.005
# Outcomes stored per transaction, and the pause between two such transactions when more wait: a
# long transaction, or a train of them, would hold up the API's calls for as long (measured: stores
# of ~90 outcomes held SQLite's write lock for 4 to 18 ms while calls waited).
FLUSH_BATCH = 50
FLUSH_PAUSE_SECONDS = 0.001
MAINTENANCE_SECONDS = 5.0
PURGE_EVERY_SECONDS = 3600.0
DEFAULT_MAX_CONCURRENCY = 10


def max_concurrency(webhook: Mapping[str, Any] | None) -> int:
    """How many deliveries of a webhook may be in flight at once (also for a webhook since deleted)."""
    return int((webhook or {}).get("maxConcurrency") or DEFAULT_MAX_CONCURRENCY)


def worker_id() -> str:
    return f"{socket.gethostname()[:30]}-{os.getpid()}-{secrets.token_hex(3)}"


class EndpointLimits:
    """Per-webhook concurrency, rate limit and circuit breaker, kept in this worker's memory."""

    def __init__(self) -> None:
        self.in_flight: dict[WebhookKey, int] = defaultdict(int)
        self.breakers: dict[WebhookKey, CircuitBreaker] = defaultdict(CircuitBreaker)
        self.buckets: dict[WebhookKey, TokenBucket] = {}

    def saturated(self, webhooks: Mapping[WebhookKey, Mapping[str, Any]]) -> list[WebhookKey]:
        return [key for key, count in self.in_flight.items() if count >= max_concurrency(webhooks.get(key))]

    def room(self, webhooks: Mapping[WebhookKey, Mapping[str, Any]]) -> int:
        """How many more deliveries all these webhooks together may have in flight now."""
        free = (max_concurrency(webhook) - self.in_flight.get(key, 0) for key, webhook in webhooks.items())
        return sum(max(0, n) for n in free)

    async def wait_for_rate(self, key: WebhookKey, webhook: Mapping[str, Any]) -> None:
        rate = float(webhook.get("rateLimit") or 0)
        if rate <= 0:
            return
        bucket = self.buckets.get(key)
        if bucket is None or bucket.rate != rate:
            bucket = self.buckets[key] = TokenBucket(rate, max(1, int(rate)))
        while (wait := bucket.take(time.monotonic())) > 0:  # noqa: ASYNC110 (a rate, not an event)
            await asyncio.sleep(wait)


class Worker:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, wakeup: Wakeup,
        metrics: DeliveryMetrics | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.wakeup = wakeup
        self.metrics = metrics
        # Longer than the longest send (timeouts go up to 60 s) plus the flush delay, by default.
        self.lease = timedelta(seconds=settings.worker_lease_seconds)
        self.id = worker_id()
        self.policy = TargetPolicy.from_strings(settings.allow_targets)
        self.limits = EndpointLimits()
        self.webhooks: dict[WebhookKey, dict[str, Any]] = {}
        self.webhook_documents = queue.WebhookDocuments()
        # Set by a cycle that left deliveries waiting for a send in flight to end (no room, a webhook at
        # its concurrency limit, an ordered webhook's earlier delivery): the next flush wakes the loop.
        self.held_back = False
        self.tasks: set[asyncio.Task[None]] = set()
        self.outcomes: list[Outcome | dict[str, Any]] = []
        self.flush_needed = asyncio.Event()
        self.sender: Sender | None = None
        # One transaction of this worker at a time on SQLite, where every transaction takes the write
        # lock (BEGIN IMMEDIATE): two of ours colliding would sleep in SQLite's busy handler (1, 2, 5 ms...).
        self.db_lock: contextlib.AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if settings.is_sqlite else contextlib.nullcontext()
        )

    # ---- the main loop ------------------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        connector = guarded_connector(self.policy, limit=self.settings.worker_concurrency, ttl_dns_cache=60)
        async with lean_session(connector) as session:
            self.sender = Sender(session, local=InspectorTargets(self.sessionmaker, self.settings))
            helpers = [asyncio.create_task(self._flush_loop(stopping)),
                       asyncio.create_task(self._maintenance_loop(stopping))]
            try:
                await self._loop(stopping)
            finally:
                await self._drain()
                for helper in helpers:
                    helper.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)
                await asyncio.shield(self._flush())

    async def _loop(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                busy = await self.cycle()
            except Exception:
                log.exception("delivery cycle failed; retrying shortly")
                busy = False
                await asyncio.sleep(0.5)
            if not busy:
                await self.wakeup.wait(self.settings.worker_poll_seconds)

    async def cycle(self) -> bool:
        """Lease due deliveries and dispatch new events (on SQLite in short write transactions after
        reading from a snapshot, on PostgreSQL in one transaction). True if there may be more
        to do at once: as many events dispatched as were asked for, as many deliveries leased as were
        asked for, or new deliveries left for a claim (ordered webhooks). Otherwise the loop waits to be
        woken: by a committed event, by stored outcomes (their slots are free again, and an ordered
        webhook's next delivery may be due), or by the poll.

        Events are dispatched only while this worker has room to send: the undispatched events are the
        backlog (durable like the rest), so the deliveries made from them are leased at insert and sent
        from memory, instead of being written as pending and read back by a later claim."""
        async with self.db_lock:
            if self.settings.is_sqlite:
                busy = await self._cycle_from_snapshot()
                if busy is not None:
                    return busy
            return await self._cycle()

    async def _cycle_from_snapshot(self) -> bool | None:
        """SQLite, where the write lock is the database's only one: read the webhooks and the new
        events, render and convert the deliveries all outside it, so that the transactions (which
        the API's calls wait for) only write; a due delivery is leased in a short transaction of its
        own; a cycle with nothing to do takes no write lock at all. None when another worker
        dispatched some of these events meanwhile: the general way then starts over."""
        now = utcnow()
        free = self.settings.worker_concurrency - len(self.tasks)
        limit = min(free, self.settings.worker_batch_size)
        read: list[dict[str, Any]] = []
        async with sqlite_snapshot(self.sessionmaker.kw["bind"]) as driver:
            due = queue.anything_due_in_snapshot(driver, now)
            self.webhooks = self.webhook_documents.load_from_snapshot(driver)
            if limit > 0:
                read = queue.undispatched_in_snapshot(driver, limit)
        claimed, more_due = [], False
        if due and limit > 0:
            async with self.sessionmaker() as db:
                claimed, more_due = await self._claim(db, now, limit)
                await db.commit()
            for delivery in claimed:
                self._start(delivery)
        events_limit = min(free - len(claimed), self.settings.worker_batch_size)
        room = min(free - len(claimed), self._room_to_dispatch())
        new_events, planned, left = self._plan_within_room(read[:max(0, events_limit)], room, now)
        left = left or len(read) > events_limit  # read, but no room to send them this time
        if not new_events:
            self.held_back = self.held_back or left or events_limit <= 0
            return more_due
        fresh, left_for_claim, held_back = self._lease_at_insert(planned, [], free - len(claimed), now)
        converted = queue.converted_deliveries(planned)
        event_ids = [event["id"] for event in new_events]
        async with self.sessionmaker() as db:
            if await queue.mark_dispatched(db, event_ids) != len(event_ids):
                return None  # rolled back as the session closes
            await queue.insert_deliveries(db, planned, converted)
            await db.commit()
        for delivery in fresh:
            self._start(delivery)
        self.held_back = self.held_back or held_back or left
        full_batch = len(new_events) < len(read) and not left
        return more_due or full_batch or len(new_events) >= events_limit or left_for_claim

    async def _claim(self, db: AsyncSession, now: datetime, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Lease up to ``limit`` due deliveries (fewer if the webhooks' concurrency limits leave less
        room). Returns them, and whether more may be due that room allows now (so: cycle again)."""
        room = self.limits.room(self.webhooks)
        if self.webhooks and room == 0:  # every webhook at its limit: nothing claimed could be sent
            self.held_back = True
            return [], False
        excluding = self.limits.saturated(self.webhooks)
        # More would be claimed only to go back; the default allowance is for deliveries of webhooks
        # deleted since (they are settled as failed at once).
        claim_limit = min(limit, room + DEFAULT_MAX_CONCURRENCY)
        leased = await queue.claim_due(
            db, worker=self.id, now=now, limit=claim_limit, lease=self.lease, excluding=excluding
        )
        claimed_all = len(leased) >= claim_limit  # more may be due
        claimed = await self._give_back_excess(db, leased)
        # When the claim was cut short by the webhooks' concurrency limits, only a finished send
        # makes room: the flush that stores it wakes the loop (held_back), not an immediate cycle.
        self.held_back = (
            self.held_back or bool(excluding) or claimed_all or any(delivery["ordered"] for delivery in claimed)
        )
        return claimed, claimed_all and claim_limit == limit

    async def _cycle(self) -> bool:
        now = utcnow()
        free = self.settings.worker_concurrency - len(self.tasks)
        limit = min(free, self.settings.worker_batch_size)
        claimed: list[dict[str, Any]] = []
        fresh: list[dict[str, Any]] = []
        read: list[dict[str, Any]] = []
        new_events: list[dict[str, Any]] = []
        planned: list[dict[str, Any]] = []
        left_for_claim = held_back = out_of_room = more_due = False
        async with self.sessionmaker() as db:
            self.webhooks = await self.webhook_documents.load(db)
            if limit > 0:  # what was due before this cycle's events goes first
                claimed, more_due = await self._claim(db, now, limit)
            events_limit = min(free - len(claimed), self.settings.worker_batch_size)
            if events_limit > 0:
                read = await queue.undispatched_events(db, events_limit)
                if read:
                    # Read again, after the events: at READ COMMITTED each statement sees what was
                    # committed before it began, so a webhook committed between the first read and
                    # the events would miss events made after it existed.
                    self.webhooks = await self.webhook_documents.load(db)
                room = min(free, self._room_to_dispatch()) - len(claimed)
                new_events, planned, out_of_room = self._plan_within_room(read, room, now)
            if new_events:
                fresh, left_for_claim, some_left_pending = self._lease_at_insert(
                    planned, claimed, free - len(claimed), now
                )
                held_back = some_left_pending
                await queue.insert_deliveries(db, planned)
                await queue.mark_dispatched(db, [event["id"] for event in new_events])
            await db.commit()
        for delivery in claimed:
            self._start(delivery)
        for delivery in fresh:
            self._start(delivery)
        full_batch = len(new_events) < len(read) and not out_of_room
        more_events = events_limit > 0 and (len(new_events) >= events_limit or full_batch)
        self.held_back = self.held_back or held_back or out_of_room or limit <= 0 or events_limit <= 0
        return more_events or left_for_claim or more_due

    def _plan_within_room(
        self, events: list[dict[str, Any]], room: int, now: datetime
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
        """The first of these events whose deliveries fit in ``room`` (the sends this worker may start
        now) and in one batch, those deliveries, and whether events were left for lack of room.

        Deliveries to a webhook already at its concurrency limit do not count against the room: a
        stuck endpoint must not hold up the others' events. The events left stay undispatched (the
        backlog) until finished sends make room; dispatched anyway, a batch of events to ten webhooks
        became ten times as many deliveries, written as pending in one long write transaction only to
        be claimed back later. An event with more deliveries than the room or the batch is taken alone
        when there is any room, so that nothing is left behind for ever; an event with no delivery to
        send now (no subscriber, or only stuck ones) is always taken."""
        planner = dispatcher.Planner(self.webhooks.values(), now)
        saturated = set(self.limits.saturated(self.webhooks))
        taken: list[dict[str, Any]] = []
        planned: list[dict[str, Any]] = []
        counted = 0
        for event in events:
            rows = planner.deliveries(event)
            counting = sum((row["webhook_owner"], row["webhook_name"]) not in saturated for row in rows)
            if counting and counted + counting > room and (taken or room <= 0):
                return taken, planned, True
            if taken and len(planned) + len(rows) > self.settings.worker_batch_size:
                break
            taken.append(event)
            planned.extend(rows)
            counted += counting
        return taken, planned, False

    def _room_to_dispatch(self) -> int:
        enabled = {key: webhook for key, webhook in self.webhooks.items() if webhook.get("isEnabled")}
        return self.limits.room(enabled)

    def _lease_at_insert(
        self, planned: list[dict[str, Any]], claimed: list[dict[str, Any]], room: int, now: datetime
    ) -> tuple[list[dict[str, Any]], bool, bool]:
        """Insert new deliveries already leased to this worker while it has room for them: they are
        sent from memory, without a claim reading them back. Ordered webhooks' deliveries stay pending
        for the claim, which checks that no earlier one is unsettled. Returns the leased rows, whether
        some were left pending for a reason other than a lack of room, and whether any was left."""
        counts = Counter(self.limits.in_flight)
        counts.update((d["webhook_owner"], d["webhook_name"]) for d in claimed)
        fresh: list[dict[str, Any]] = []
        left_for_claim = False
        expires = now + self.lease
        for row in planned:
            if room <= 0:
                break
            if row["ordered"]:
                left_for_claim = True
                continue
            key = (row["webhook_owner"], row["webhook_name"])
            if counts[key] >= max_concurrency(self.webhooks.get(key)):
                continue
            row.update(state="delivering", lease_owner=self.id, lease_expires_at=expires)
            counts[key] += 1
            room -= 1
            fresh.append(row)
        return fresh, left_for_claim, len(fresh) < len(planned)

    async def _give_back_excess(self, db: AsyncSession, claimed: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keep at most maxConcurrency in flight per webhook; the rest go back for later or other workers."""
        kept, excess = [], []
        counts = dict(self.limits.in_flight)
        for delivery in claimed:
            key = (delivery["webhook_owner"], delivery["webhook_name"])
            if counts.get(key, 0) >= max_concurrency(self.webhooks.get(key)):
                excess.append(delivery["id"])
                continue
            counts[key] = counts.get(key, 0) + 1
            kept.append(delivery)
        if excess:
            self.held_back = True
            await queue.give_back(db, excess)
        return kept

    def _start(self, delivery: dict[str, Any]) -> None:
        key = (delivery["webhook_owner"], delivery["webhook_name"])
        self.limits.in_flight[key] += 1
        task = asyncio.create_task(self._deliver(delivery, key))
        self.tasks.add(task)
        task.add_done_callback(lambda t: self._finished(t, key))

    def _finished(self, task: asyncio.Task[None], key: WebhookKey) -> None:
        self.tasks.discard(task)
        self.limits.in_flight[key] -= 1
        if self.limits.in_flight[key] <= 0:
            del self.limits.in_flight[key]
        # No wake-up here: every finished send queues an outcome, and the flush that stores it wakes
        # the loop if something waits for a free slot; the loop then leases for all the slots freed
        # meanwhile at once (not one per send).

    # ---- one delivery -------------------------------------------------------------------------

    async def _deliver(self, delivery: dict[str, Any], key: WebhookKey) -> None:
        try:
            await self._attempt(delivery, key)
        except Exception as exc:  # a bug must not strand the delivery until its lease runs out
            log.exception("delivery %s failed unexpectedly", delivery["id"])
            self._settle_without_attempt(delivery, "pending", f"internal error: {type(exc).__name__}",
                                         BREAKER_DEFERRAL)

    async def _attempt(self, delivery: dict[str, Any], key: WebhookKey) -> None:
        webhook = self.webhooks.get(key)
        if webhook is None or not webhook.get("isEnabled"):
            self._settle_without_attempt(delivery, "failed", "the webhook was deleted or disabled")
            return
        breaker = self.limits.breakers[key]
        if delivery["trigger"] != FORCED and not breaker.allow(time.monotonic()):
            self._settle_without_attempt(delivery, "pending", HELD_BY_BREAKER, BREAKER_DEFERRAL)
            return
        if webhook.get("rateLimit"):
            await self.limits.wait_for_rate(key, webhook)
        assert self.sender is not None
        outcome = await self.sender.attempt(delivery, webhook, self.id)
        breaker.record(time.monotonic(), outcome.result.succeeded)
        if self.metrics:
            self.metrics.outcomes.labels(outcome.state).inc()
            self.metrics.attempt_seconds.observe(outcome.attempt["duration_ms"] / 1000)
        self._queue_outcome(outcome)

    def _settle_without_attempt(
        self, delivery: Mapping[str, Any], state: str, reason: str, delay: timedelta = timedelta()
    ) -> None:
        now = utcnow()
        self._queue_outcome({
            "delivery_id": delivery["id"], "worker": self.id, "state": state, "attempts": delivery["attempts"],
            "next_attempt_at": now + delay, "last_status": delivery["last_status"], "last_error": reason,
            "updated_at": now,
        })

    def _queue_outcome(self, outcome: Outcome | dict[str, Any]) -> None:
        self.outcomes.append(outcome)
        self.flush_needed.set()

    # ---- storing outcomes ---------------------------------------------------------------------

    async def _flush_loop(self, stopping: asyncio.Event) -> None:
        while True:
            await self.flush_needed.wait()
            if self.tasks and len(self.outcomes) < FLUSH_BATCH:
                await asyncio.sleep(FLUSH_GATHER_SECONDS)
            self.flush_needed.clear()
            try:
                await asyncio.shield(self._flush())
            except Exception:
                log.exception("could not store delivery outcomes; will retry")
                await asyncio.sleep(0.5)
                self.flush_needed.set()

    async def _flush(self) -> None:
        while self.outcomes:
            batch, self.outcomes = self.outcomes[:FLUSH_BATCH], self.outcomes[FLUSH_BATCH:]
            try:
                await self._store(batch)
            except Exception:
                self.outcomes[:0] = batch  # keep them for the next try
                raise
            if self.outcomes:
                await asyncio.sleep(FLUSH_PAUSE_SECONDS)
        if self.held_back:  # their slots are free now; an ordered webhook's next delivery may be due
            self.held_back = False
            self.wakeup.notify_local()

    async def _store(self, batch: list[Outcome | dict[str, Any]]) -> None:
        sent = [o for o in batch if isinstance(o, Outcome)]
        updates = [o.update if isinstance(o, Outcome) else o for o in batch]
        prepared = queue.OutcomeBatch.of([o.attempt for o in sent], updates, sqlite=self.settings.is_sqlite)
        async with self.db_lock, self.sessionmaker() as db:
            await queue.store_outcomes(db, prepared)
            await self._track_health(db, sent)
            await db.commit()

    async def _track_health(self, db: AsyncSession, sent: list[Outcome]) -> None:
        # Per webhook, its last success in this batch and the failures after it: every one of those
        # failures is one more in a row (a batch often holds several of one endpoint's attempts).
        succeeded: dict[WebhookKey, datetime] = {}
        failures_after: dict[WebhookKey, list[Outcome]] = {}
        for outcome in sent:
            key = outcome.webhook_key
            if outcome.result.succeeded:
                succeeded[key] = outcome.attempt["started_at"]
                failures_after[key] = []
            else:
                failures_after.setdefault(key, []).append(outcome)
        await queue.record_successes(db, succeeded)
        if self.metrics:
            for key in succeeded:
                self.metrics.failure_streak.labels(f"{key[0]}/{key[1]}").set(0)
        for key, failures in failures_after.items():
            if failures:
                await self._track_failure(db, key, failures[-1], len(failures))

    async def _track_failure(self, db: AsyncSession, key: WebhookKey, outcome: Outcome, count: int = 1) -> None:
        await queue.record_health(
            db, *key, succeeded=False, at=outcome.attempt["started_at"], error=outcome.result.error, failures=count
        )
        if outcome.result.gone:
            await self._disable(db, key, "the endpoint answered 410 Gone")
        else:
            await self._disable_if_failing_too_long(db, key)
        if self.metrics:
            health = await queue.health_of(db, *key)
            self.metrics.failure_streak.labels(f"{key[0]}/{key[1]}").set(health["failure_streak"] if health else 0)

    async def _disable_if_failing_too_long(self, db: AsyncSession, key: WebhookKey) -> None:
        health = await queue.health_of(db, *key)
        window = timedelta(days=self.settings.webhook_auto_disable_days)
        if health and should_auto_disable(health["failing_since"], utcnow(), window):
            days = self.settings.webhook_auto_disable_days
            await self._disable(db, key, f"failing continuously for {days:g} days")

    async def _disable(self, db: AsyncSession, key: WebhookKey, reason: str) -> None:
        """Turn the webhook off and say so with a webhook-disabled event, in one transaction."""
        repository = ObjectRepository(db, kind("webhook"))
        webhook = await repository.get(*key)
        if webhook is None or not webhook.get("isEnabled"):
            return
        webhook = {**webhook, "isEnabled": False, "disabledReason": reason}
        await repository.replace(*key, webhook)
        action = Action(
            name="webhook-disabled", principal=SYSTEM, organization=kind("webhook").organization_of(webhook),
            request={"method": "", "uri": "", "clientIp": "", "userAgent": "hookdoor-worker"},
            object=kind("webhook").mask(webhook, may_manage=False),
        )
        await record(db, action, outcome="ok", status_code=200, message=reason)
        log.warning("webhook %s/%s disabled: %s", *key, reason)

    # ---- upkeep -------------------------------------------------------------------------------

    async def _maintenance_loop(self, stopping: asyncio.Event) -> None:
        last_purge = 0.0
        while not stopping.is_set():
            try:
                await self._release_expired_leases()
                await self._measure_queue()
                if time.monotonic() - last_purge >= PURGE_EVERY_SECONDS:
                    async with self.db_lock:
                        await purge(self.sessionmaker, timedelta(days=self.settings.retention_days))
                    last_purge = time.monotonic()
            except Exception:
                log.exception("worker maintenance failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), MAINTENANCE_SECONDS)

    async def _release_expired_leases(self) -> None:
        async with self.db_lock, self.sessionmaker() as db:
            released = await queue.release_expired_leases(db, utcnow())
            await db.commit()
        if released:
            log.warning("%d deliveries whose lease ran out are pending again", released)
            self.wakeup.notify_local()

    async def _measure_queue(self) -> None:
        if self.metrics is None:
            return
        async with self.db_lock, self.sessionmaker() as db:
            depth = await db.scalar(
                select(func.count()).select_from(deliveries).where(deliveries.c.state.in_(("pending", "delivering")))
            )
            await db.rollback()
        self.metrics.queue_depth.set(depth or 0)

    async def _drain(self, timeout: float = 30.0) -> None:
        """Let sends in flight finish (their outcomes are flushed after), up to a limit."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=timeout)


async def purge(sessionmaker: async_sessionmaker[AsyncSession], retention: timedelta) -> int:
    """Forget what is older than the retention: final deliveries with their attempts, dispatched events."""
    cutoff = utcnow() - retention
    async with sessionmaker() as db:
        old = select(deliveries.c.id).where(
            deliveries.c.created_at < cutoff, deliveries.c.state.in_(queue.FINAL_STATES)
        )
        await db.execute(delete(attempts).where(attempts.c.delivery_id.in_(old)))
        removed = (await db.execute(delete(deliveries).where(deliveries.c.id.in_(old)))).rowcount
        await db.execute(delete(events).where(events.c.created_at < cutoff, events.c.dispatched.is_(True)))
        await db.commit()
    return removed

