"""Endpoint health as pure state: a circuit breaker, the auto-disable rule and a per-webhook rate limit.

No I/O and no clock of its own: every method takes ``now`` (seconds from a monotonic clock, or
datetimes for the disable rule), so a failing endpoint can be simulated in a test without sleeping.
The state is per process; a worker keeps one breaker and one bucket per endpoint.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Literal

BreakerState = Literal["closed", "open", "half-open"]

HELD_BY_BREAKER = "circuit open: endpoint failing"
"""The last error of a delivery the breaker put off: how the API tells that a breaker is open."""
FORCED = "forced"
"""The trigger of a delivery a person asked to send despite an open breaker (``recover --force``)."""

DEFAULT_DISABLE_WINDOW = timedelta(days=5)
"""Svix disables an endpoint that has failed continuously for 5 days."""


class CircuitBreaker:
    """Stops sending to an endpoint that mostly fails, so it cannot hold up healthy ones (Convoy's rules).

    Closed: every send is allowed and its outcome sampled. When the last ``window`` seconds hold at
    least ``min_samples`` outcomes and at least ``failure_ratio`` of them failed, the breaker opens.
    Open: nothing is sent for ``half_open_after`` seconds. Half-open: one probe is let through; its
    success closes the breaker, its failure opens it again. A probe that never reports (its worker
    died) is replaced by another after ``half_open_after`` seconds, so an endpoint cannot stay stuck.
    """

    def __init__(
        self,
        window: float = 300.0,
        min_samples: int = 10,
        failure_ratio: float = 0.7,
        half_open_after: float = 30.0,
    ) -> None:
        if window <= 0 or half_open_after < 0 or min_samples < 1 or not 0 < failure_ratio <= 1:
            raise ValueError("invalid circuit breaker settings")
        self.window = window
        self.min_samples = min_samples
        self.failure_ratio = failure_ratio
        self.half_open_after = half_open_after
        self._samples: deque[tuple[float, bool]] = deque()
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_started_at: float | None = None

    @property
    def sample_count(self) -> int:
        """Outcomes currently in the window (bounded by the window, whatever the send rate)."""
        return len(self._samples)

    def state(self, now: float) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        return "open" if now - self._opened_at < self.half_open_after else "half-open"

    def allow(self, now: float) -> bool:
        """Whether a send may start now; in half-open state this claims the single probe slot."""
        state = self.state(now)
        if state != "half-open":
            return state == "closed"
        if self._probe_started_at is not None and now - self._probe_started_at < self.half_open_after:
            return False
        self._probe_started_at = now
        return True

    def record(self, now: float, success: bool) -> None:
        """Feed one delivery outcome; while open or half-open any outcome decides the next state."""
        if self._opened_at is not None:
            if success:
                self._reset()
            else:
                self._open(now)
            return
        self._samples.append((now, success))
        self._failures += not success
        self._drop_older_than(now - self.window)
        if self._tripped():
            self._open(now)

    def _tripped(self) -> bool:
        count = len(self._samples)
        return count >= self.min_samples and self._failures >= self.failure_ratio * count

    def _drop_older_than(self, cutoff: float) -> None:
        while self._samples and self._samples[0][0] <= cutoff:
            _, success = self._samples.popleft()
            self._failures -= not success

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._probe_started_at = None
        self._samples.clear()
        self._failures = 0

    def _reset(self) -> None:
        self._opened_at = None
        self._probe_started_at = None
        self._samples.clear()
        self._failures = 0


def should_auto_disable(
    failing_since: datetime | None, now: datetime, window: timedelta = DEFAULT_DISABLE_WINDOW
) -> bool:
    """True once an endpoint has failed without a single success for ``window``.

    ``failing_since`` is the time of the first failure after the last success (None when the last
    attempt succeeded); keeping that one timestamp is enough, no history is needed.
    """
    return failing_since is not None and now - failing_since >= window


class TokenBucket:
    """A per-webhook rate limit: ``burst`` sends at once, then ``rate_per_second`` sustained.

    The bucket starts full. ``take`` never blocks: it returns how long to wait, so the worker can
    reschedule the delivery instead of holding a slot (and other endpoints) hostage.
    """

    def __init__(self, rate_per_second: float, burst: int) -> None:
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.rate = rate_per_second
        self.burst = burst
        self._tokens = float(burst)
        self._last: float | None = None

    @classmethod
    def per(cls, limit: int, seconds: float) -> TokenBucket:
        """``limit`` sends per ``seconds``, Convoy-style (its default is 1000 per 60 s)."""
        return cls(rate_per_second=limit / seconds, burst=limit)

    def take(self, now: float) -> float:
        """0.0 when a token was taken; otherwise the seconds until one will be available."""
        self._refill(now)
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    def _refill(self, now: float) -> None:
        if self._last is not None and now > self._last:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        if self._last is None or now > self._last:
            self._last = now
