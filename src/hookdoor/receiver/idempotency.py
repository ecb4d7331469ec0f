"""Process each webhook once: Hookdoor may deliver a message more than once (a retry after a timeout,
a worker taking over an expired lease, a manual resend), always under the same ``webhook-id``.

:class:`Idempotency` claims a ``webhook-id`` in a store; the first claim wins, later ones are
duplicates until the claim expires. If handling fails, release the claim so the retry is processed.
The store is pluggable: :class:`MemoryIdempotencyStore` (one process, bounded LRU with a TTL) is the
default; for several processes implement :class:`IdempotencyStore` over a shared database or cache
(``SET key 1 NX EX ttl`` in Redis, ``INSERT ... ON CONFLICT DO NOTHING`` in SQL).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Protocol, runtime_checkable

# Longer than Hookdoor's default retry schedule (about 3 days, plus jitter), with room for a manual resend.
DEFAULT_TTL = timedelta(days=7)


@runtime_checkable
class IdempotencyStore(Protocol):
    def claim(self, key: str, ttl_seconds: float) -> bool:
        """Atomically: if ``key`` is not held, hold it for ``ttl_seconds`` and return True; else False."""
        ...

    def release(self, key: str) -> None:
        """Forget ``key`` (its handling failed, so the next delivery must be processed)."""
        ...


class MemoryIdempotencyStore:
    """In-process store: at most ``max_entries`` keys (least recently claimed go first), each for its TTL."""

    def __init__(self, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._clock = clock
        self._expires: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, key: str, ttl_seconds: float) -> bool:
        now = self._clock()
        with self._lock:
            expires = self._expires.get(key)
            if expires is not None and expires > now:
                self._expires.move_to_end(key)
                return False
            self._expires[key] = now + ttl_seconds
            self._expires.move_to_end(key)
            while len(self._expires) > self.max_entries:
                self._expires.popitem(last=False)
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._expires.pop(key, None)

    def __len__(self) -> int:
        now = self._clock()
        with self._lock:
            return sum(1 for expires in self._expires.values() if expires > now)


class Idempotency:
    """``first_time(webhook_id)`` is True once per id (within the TTL); ``once()`` releases on failure."""

    def __init__(self, store: IdempotencyStore | None = None, ttl: timedelta = DEFAULT_TTL) -> None:
        self.store: IdempotencyStore = store if store is not None else MemoryIdempotencyStore()
        self.ttl_seconds = ttl.total_seconds()

    def first_time(self, webhook_id: str) -> bool:
        if not webhook_id:
            raise ValueError("a webhook-id is needed to de-duplicate")
        return self.store.claim(webhook_id, self.ttl_seconds)

    def forget(self, webhook_id: str) -> None:
        self.store.release(webhook_id)

    @contextmanager
    def once(self, webhook_id: str) -> Iterator[bool]:
        """``with idempotency.once(event.webhook_id) as first: if first: handle(event)`` - an exception
        inside releases the claim, so Hookdoor's retry of the same message is handled."""
        first = self.first_time(webhook_id)
        try:
            yield first
        except BaseException:
            if first:
                self.forget(webhook_id)
            raise
