"""Slows down password guessing: too many failures per account or per client address lock it out.

Counts live in this process's memory: a restart forgets them, and several server processes each
keep their own count (so the effective limit is multiplied by the number of processes).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from hookdoor.errors import TooManyRequests


@dataclass
class _Window:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class LoginThrottle:
    def __init__(
        self, *, max_failures: int, max_failures_per_ip: int, lockout_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_failures_per_ip = max_failures_per_ip
        self.lockout_seconds = lockout_seconds
        self.clock = clock
        self._windows: dict[str, _Window] = {}

    def check(self, account: str, client_ip: str) -> None:
        """Refuse the attempt outright while the account or the address is locked out."""
        now = self.clock()
        for key, what in ((f"account:{account}", "this account"), (f"ip:{client_ip}", "your address")):
            window = self._windows.get(key)
            if window and window.locked_until > now:
                wait = math.ceil(window.locked_until - now)
                raise TooManyRequests(
                    f"too many failed sign-in attempts for {what}; try again in {wait} seconds", wait
                )

    def failed(self, account: str, client_ip: str) -> None:
        now = self.clock()
        self._count(f"account:{account}", self.max_failures, now)
        self._count(f"ip:{client_ip}", self.max_failures_per_ip, now)

    def succeeded(self, account: str) -> None:
        self._windows.pop(f"account:{account}", None)

    def _count(self, key: str, limit: int, now: float) -> None:
        window = self._windows.setdefault(key, _Window())
        window.failures.append(now)
        while window.failures and window.failures[0] <= now - self.lockout_seconds:
            window.failures.popleft()
        if len(window.failures) >= limit:
            window.locked_until = now + self.lockout_seconds
            window.failures.clear()
        self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        if len(self._windows) < 10_000:
            return
        idle = [k for k, w in self._windows.items() if w.locked_until <= now and not w.failures]
        for key in idle:
            del self._windows[key]
