"""Wakes the live views (Server-Sent Events) of a bin the moment this process captures a request.

In-process only: a capture made by another process (scale-out on PostgreSQL) is found by the
stream's poll of the database, which stays as the safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterator


class ArrivalSignal:
    def __init__(self) -> None:
        self._listeners: dict[str, set[asyncio.Event]] = defaultdict(set)

    def notify(self, bin_id: str) -> None:
        for listener in self._listeners.get(bin_id, ()):
            listener.set()

    @contextlib.contextmanager
    def listening(self, bin_id: str) -> Iterator[asyncio.Event]:
        """An event set by every capture into ``bin_id`` while the block runs; clear it before each
        look at the database, so a capture between that look and the wait is not missed."""
        listener = asyncio.Event()
        self._listeners[bin_id].add(listener)
        try:
            yield listener
        finally:
            self._listeners[bin_id].discard(listener)
            if not self._listeners[bin_id]:
                del self._listeners[bin_id]


ARRIVALS = ArrivalSignal()
