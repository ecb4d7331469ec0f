"""Slows down password guessing: too many failures per account or per client address lock it out.

The failures are rows of ``login_failures`` in the database, so every ``serve`` process (and every
worker of one) counts the same failures, and a restart forgets none. The rule: when an account (or
an address) reaches its limit of failures within the last ``lockout_seconds``, that failure locks it
for ``lockout_seconds`` (the row is marked ``locks``) and the failures before it stop counting; a
sign-in while locked is refused without being counted; a successful sign-in forgets the account's
failures.

A failure is written while its call is being rolled back (a failed sign-in fails its call), so
``Accounts.authenticate`` hands :meth:`LoginThrottle.failed` to the unit of work, which runs it in
the transaction that records the failure. On PostgreSQL, failures of one key are counted one
transaction at a time (a transaction-scoped advisory lock on the key): two failures at once each
see the other, and the one that reaches the limit locks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import login_failures
from hookdoor.errors import TooManyRequests

FORGET_AT_ONCE = 100


def account_key(account: str) -> str:
    return f"account:{account}"


def address_key(client_ip: str) -> str:
    return f"ip:{client_ip}"


@dataclass(frozen=True)
class Standing:
    """What :meth:`LoginThrottle.check` found out about one sign-in attempt."""

    account_has_failures: bool  # so that a success forgets them, and writes nothing otherwise


class LoginThrottle:
    def __init__(
        self, *, max_failures: int, max_failures_per_ip: int, lockout_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_failures = max_failures
        self.max_failures_per_ip = max_failures_per_ip
        self.lockout_seconds = lockout_seconds
        self.clock = clock  # wall-clock seconds: the rows are compared across processes and restarts

    async def check(self, db: AsyncSession, account: str, client_ip: str) -> Standing:
        """Refuse the attempt outright while the account or the address is locked out."""
        now = self.clock()
        keys = (account_key(account), address_key(client_ip))
        recent = (await db.execute(
            select(login_failures.c.key, login_failures.c.locks, func.max(login_failures.c.failed_at))
            .where(login_failures.c.key.in_(keys), login_failures.c.failed_at > now - self.lockout_seconds)
            .group_by(login_failures.c.key, login_failures.c.locks)
        )).all()
        locked_since = {key: last for key, locks, last in recent if locks}
        for key, what in zip(keys, ("this account", "your address"), strict=True):
            if key in locked_since:
                wait = max(1, math.ceil(locked_since[key] + self.lockout_seconds - now))
                raise TooManyRequests(f"too many failed sign-in attempts for {what}; try again in {wait} seconds", wait)
        return Standing(account_has_failures=any(key == keys[0] for key, _, _ in recent))

    async def has_failures(self, db: AsyncSession, key: str) -> bool:
        """Has ``key`` failed to sign in within the lock-out window (a Dynamic captcha's trigger)?"""
        since = self.clock() - self.lockout_seconds
        return bool(await db.scalar(select(func.count()).select_from(login_failures).where(
            login_failures.c.key == key, login_failures.c.failed_at > since)))

    async def failed(self, db: AsyncSession, account: str, client_ip: str) -> None:
        """Count one failed sign-in against the account and the address (in ``db``'s transaction)."""
        now = self.clock()
        await self._count(db, account_key(account), self.max_failures, now)
        await self._count(db, address_key(client_ip), self.max_failures_per_ip, now)
        await self._forget_expired(db, now)

    async def succeeded(self, db: AsyncSession, account: str, standing: Standing) -> None:
        if standing.account_has_failures:
            await db.execute(delete(login_failures).where(login_failures.c.key == account_key(account)))

    async def _count(self, db: AsyncSession, key: str, limit: int, now: float) -> None:
        if db.get_bind().dialect.name == "postgresql":
            # Held until commit. Every failure takes its account's lock before its address's, so two
            # failures never wait for each other in a circle. (SQLite runs one writer at a time.)
            await db.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
        new_id = (await db.execute(
            insert(login_failures).values(key=key, failed_at=now, locks=False).returning(login_failures.c.id)
        )).scalar_one()
        # Failures up to the key's last lock-out locked it already: they count no more, even one
        # that another process let through while the lock was being written.
        last_lock = (
            select(func.coalesce(func.max(login_failures.c.id), 0))
            .where(login_failures.c.key == key, login_failures.c.locks).scalar_subquery()
        )
        counted = (await db.execute(
            select(func.count()).select_from(login_failures).where(
                login_failures.c.key == key, login_failures.c.failed_at > now - self.lockout_seconds,
                login_failures.c.id > last_lock,
            )
        )).scalar_one()
        if counted >= limit:
            await db.execute(update(login_failures).where(login_failures.c.id == new_id).values(locks=True))

    async def _forget_expired(self, db: AsyncSession, now: float) -> None:
        """Delete some failures too old to count or lock, whoever they were for: every failure
        clears up to FORGET_AT_ONCE, so the table holds little more than the last window's failures.

        Last in the transaction, once the key locks are held, and skipping rows another transaction
        holds: a failure never waits here for one that waits for it.
        """
        expired = (
            select(login_failures.c.id).where(login_failures.c.failed_at <= now - self.lockout_seconds)
            .limit(FORGET_AT_ONCE).with_for_update(skip_locked=True)
        )
        await db.execute(delete(login_failures).where(login_failures.c.id.in_(expired.scalar_subquery())))
