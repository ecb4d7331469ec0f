"""Retry policy as data, and the pure functions that turn an attempt's outcome into the next delay.

Nothing here sleeps, reads a clock or draws hidden randomness: the caller passes ``now`` and an
``random.Random``, so the worker stays testable and the rules can be checked with property tests.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_MINUTE = 60.0
_HOUR = 60 * _MINUTE

DEFAULT_SCHEDULE: tuple[float, ...] = (
    0.0,
    5.0,
    5 * _MINUTE,
    30 * _MINUTE,
    2 * _HOUR,
    5 * _HOUR,
    10 * _HOUR,
    14 * _HOUR,
    20 * _HOUR,
    24 * _HOUR,
)
"""Standard Webhooks' suggested schedule: ``DEFAULT_SCHEDULE[n - 1]`` is the wait before attempt n."""

CASDOOR_BACKOFF_CAP = _HOUR
"""Casdoor caps ``retryInterval × 2^(n-1)`` at one hour."""

MAX_CASDOOR_RETRIES = 100
"""A Casdoor client may send any ``maxRetries``; beyond this it is a mistake, not a policy."""

MIN_RETRY_AFTER = 1.0
"""A ``Retry-After: 0`` must not turn into a hot loop against a struggling receiver."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait before each attempt, and how to bend that when the receiver pushes back.

    ``schedule[n - 1]`` is the delay before attempt n, so ``len(schedule)`` is the number of attempts
    (the first entry is normally 0: the first attempt is immediate).
    """

    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    jitter: float = 0.2
    floor_after_throttle: float = 60.0
    retry_after_cap_factor: float = 2.0

    def __post_init__(self) -> None:
        if not self.schedule:
            raise ValueError("a retry schedule needs at least one attempt")
        if any(not math.isfinite(d) or d < 0 for d in self.schedule):
            raise ValueError("retry delays must be finite and non-negative")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction of the delay and must be in [0, 1)")
        if self.floor_after_throttle < 0:
            raise ValueError("floor_after_throttle must be non-negative")
        if self.retry_after_cap_factor < 1:
            raise ValueError("retry_after_cap_factor must be at least 1")

    @property
    def max_attempts(self) -> int:
        return len(self.schedule)

    @classmethod
    def casdoor(cls, max_retries: int, retry_interval: float, exponential: bool, *, jitter: float = 0.2) -> RetryPolicy:
        """Casdoor's ``maxRetries``, ``retryInterval`` and ``useExponentialBackoff`` as a policy.

        One immediate attempt, then ``max_retries`` retries, each ``retry_interval`` seconds apart, or
        ``retry_interval × 2^(n-1)`` (capped at one hour, as Casdoor does) before retry n when
        ``exponential``. Jitter is added on top, which Casdoor lacks, so retries of many events do not
        arrive at a recovering receiver in one burst.
        """
        if not 0 <= max_retries <= MAX_CASDOOR_RETRIES:
            raise ValueError(f"maxRetries must be between 0 and {MAX_CASDOOR_RETRIES}, not {max_retries}")
        if not math.isfinite(retry_interval) or retry_interval < 0:
            raise ValueError(f"retryInterval must be a non-negative number of seconds, not {retry_interval}")
        retries = _doubling(retry_interval, max_retries) if exponential else (retry_interval,) * max_retries
        return cls(schedule=(0.0, *retries), jitter=jitter)


def _doubling(interval: float, count: int) -> tuple[float, ...]:
    """``interval × 2^(n-1)`` for n = 1..count, capped; doubling a capped value avoids float overflow."""
    delays: list[float] = []
    current = interval
    for _ in range(count):
        delays.append(min(current, CASDOOR_BACKOFF_CAP))
        current = min(current * 2, CASDOOR_BACKOFF_CAP)
    return tuple(delays)


@dataclass(frozen=True)
class AttemptResult:
    """What one delivery attempt produced: an HTTP status, or a timeout / transport error."""

    status: int | None
    timed_out: bool = False
    error: str | None = None
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        """Only 2xx counts: redirects are not followed, so a 3xx means the message did not arrive."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """410 Gone is the receiver saying "stop": no retry, and the endpoint should be disabled."""
        return self.status == 410

    @property
    def throttled(self) -> bool:
        """The receiver (or its gateway) is overloaded; hammering it again in 5 s would not help."""
        return self.timed_out or self.status in (429, 502, 504)


def next_delay(policy: RetryPolicy, attempts_made: int, result: AttemptResult, rng: random.Random) -> float | None:
    """Seconds to wait before the next attempt, or None when there must be no next attempt.

    Rules, in order (Svix's ``calculate_retry_delay``, with Hookdoor's schedule as data):

    1. None if the attempt succeeded (2xx), the receiver answered 410 Gone, or
       ``attempts_made >= policy.max_attempts`` (the schedule is used up).
    2. ``d = schedule[attempts_made]`` scaled by a uniform factor in ``[1 - jitter, 1 + jitter]``,
       so retries of a burst of events spread out instead of arriving together.
    3. If the result is throttled (429, 502, 504 or a timeout): ``d = max(d, floor_after_throttle)``.
    4. If the receiver sent ``Retry-After`` (on any failing status, e.g. 503 too), honour it within
       bounds: ``d = max(1, clamp(retry_after, d, d × retry_after_cap_factor))``. The lower bound keeps
       the schedule (and the throttle floor) from being shortened by the receiver; the upper bound keeps
       a receiver from parking a message for days with one header.

    ``attempts_made`` counts attempts already made, including the one that produced ``result``.
    """
    if attempts_made < 1:
        raise ValueError("next_delay is asked after an attempt, so attempts_made must be at least 1")
    if result.succeeded or result.gone or attempts_made >= policy.max_attempts:
        return None
    delay = _jittered(policy.schedule[attempts_made], policy.jitter, rng)
    if result.throttled:
        delay = max(delay, policy.floor_after_throttle)
    if result.retry_after is not None:
        delay = max(MIN_RETRY_AFTER, _clamp(result.retry_after, delay, delay * policy.retry_after_cap_factor))
    return delay


def _jittered(delay: float, jitter: float, rng: random.Random) -> float:
    return delay * rng.uniform(1 - jitter, 1 + jitter)


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).

    Garbage gives None (the schedule applies, as if no header came); a negative delay or a date in
    the past gives 0. ``now`` is the time the response arrived; a naive ``now`` is taken as UTC.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    seconds = _parse_seconds(text)
    if seconds is None:
        seconds = _seconds_until_http_date(text, _as_utc(now))
    return None if seconds is None else max(0.0, seconds)


def _parse_seconds(text: str) -> float | None:
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) else None


def _seconds_until_http_date(text: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return (_as_utc(when) - now).total_seconds()


def _as_utc(moment: datetime) -> datetime:
    """HTTP-dates are GMT and ``-0000`` dates parse as naive: both mean UTC here."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
