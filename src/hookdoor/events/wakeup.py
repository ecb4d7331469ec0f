"""Wakes the delivery worker the moment an event commits, instead of making it poll."""

from __future__ import annotations

import asyncio
import contextlib


class Wakeup:
    """An in-process signal; PostgreSQL deployments add LISTEN/NOTIFY across processes."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> bool:
        """True when woken, False when the timeout (the polling safety net) passed first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        woken = self._event.is_set()
        self._event.clear()
        return woken
