from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookdoor.delivery.health import CircuitBreaker, TokenBucket, should_auto_disable


def record_many(breaker: CircuitBreaker, start: float, outcomes: list[bool], step: float = 1.0) -> float:
    now = start
    for success in outcomes:
        breaker.record(now, success)
        now += step
    return now - step


def test_breaker_starts_closed_and_allows() -> None:
    breaker = CircuitBreaker()
    assert breaker.state(0) == "closed"
    assert breaker.allow(0)


def test_breaker_needs_ten_samples_before_opening() -> None:
    breaker = CircuitBreaker()
    last = record_many(breaker, 0, [False] * 9)
    assert breaker.state(last) == "closed"
    breaker.record(last + 1, False)
    assert breaker.state(last + 1) == "open"
    assert not breaker.allow(last + 1)


def test_breaker_opens_at_seventy_percent_failures() -> None:
    breaker = CircuitBreaker()
    last = record_many(breaker, 0, [True] * 3 + [False] * 7)
    assert breaker.state(last) == "open"


def test_breaker_stays_closed_below_seventy_percent() -> None:
    breaker = CircuitBreaker()
    last = record_many(breaker, 0, [True] * 4 + [False] * 6)
    assert breaker.state(last) == "closed"


def test_old_samples_leave_the_window() -> None:
    breaker = CircuitBreaker()
    record_many(breaker, 0, [False] * 9)
    breaker.record(400, False)
    assert breaker.state(400) == "closed"


def test_breaker_half_opens_after_thirty_seconds_and_allows_one_probe() -> None:
    breaker = CircuitBreaker()
    opened = record_many(breaker, 0, [False] * 10)
    assert not breaker.allow(opened + 29.9)
    assert breaker.state(opened + 30) == "half-open"
    assert breaker.allow(opened + 30)
    assert not breaker.allow(opened + 31)


def test_successful_probe_closes_the_breaker() -> None:
    breaker = CircuitBreaker()
    opened = record_many(breaker, 0, [False] * 10)
    assert breaker.allow(opened + 30)
    breaker.record(opened + 31, True)
    assert breaker.state(opened + 31) == "closed"
    assert breaker.allow(opened + 31)


def test_failed_probe_reopens_the_breaker() -> None:
    breaker = CircuitBreaker()
    opened = record_many(breaker, 0, [False] * 10)
    assert breaker.allow(opened + 30)
    breaker.record(opened + 32, False)
    assert breaker.state(opened + 32) == "open"
    assert not breaker.allow(opened + 61)
    assert breaker.allow(opened + 62)


def test_lost_probe_is_replaced() -> None:
    breaker = CircuitBreaker()
    opened = record_many(breaker, 0, [False] * 10)
    assert breaker.allow(opened + 30)
    assert not breaker.allow(opened + 59)
    assert breaker.allow(opened + 60)


def test_samples_stay_bounded_by_the_window() -> None:
    breaker = CircuitBreaker()
    for second in range(10_000):
        breaker.record(float(second), True)
    assert breaker.sample_count == 300


@pytest.mark.parametrize(
    ("failing_for", "expected"),
    [(None, False), (timedelta(days=4, hours=23), False), (timedelta(days=5), True), (timedelta(days=9), True)],
)
def test_should_auto_disable_after_five_days(failing_for: timedelta | None, expected: bool) -> None:
    now = datetime(2026, 8, 22, tzinfo=UTC)
    since = None if failing_for is None else now - failing_for
    assert should_auto_disable(since, now) is expected


def test_auto_disable_window_is_configurable() -> None:
    now = datetime(2026, 8, 22, tzinfo=UTC)
    assert should_auto_disable(now - timedelta(hours=2), now, window=timedelta(hours=1))


def test_bucket_allows_a_burst_then_asks_to_wait() -> None:
    bucket = TokenBucket(rate_per_second=2, burst=3)
    assert [bucket.take(10) for _ in range(3)] == [0, 0, 0]
    assert bucket.take(10) == pytest.approx(0.5)
    assert bucket.take(10.5) == 0
    assert bucket.take(10.5) == pytest.approx(0.5)


def test_bucket_refills_no_further_than_the_burst() -> None:
    bucket = TokenBucket(rate_per_second=1, burst=2)
    bucket.take(0)
    bucket.take(0)
    assert [bucket.take(1000) for _ in range(3)] == [0, 0, pytest.approx(1.0)]


def test_bucket_per_window_matches_convoy_default() -> None:
    bucket = TokenBucket.per(1000, 60)
    assert bucket.burst == 1000
    assert bucket.rate == pytest.approx(1000 / 60)


def test_bucket_ignores_a_clock_going_backwards() -> None:
    bucket = TokenBucket(rate_per_second=1, burst=1)
    assert bucket.take(100) == 0
    assert bucket.take(50) == pytest.approx(1.0)
    assert bucket.take(100.5) == pytest.approx(0.5)


@given(
    rate=st.floats(min_value=0.01, max_value=1000),
    burst=st.integers(min_value=1, max_value=50),
    gaps=st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=200),
)
def test_bucket_never_admits_more_than_burst_plus_rate_times_elapsed(
    rate: float, burst: int, gaps: list[float]
) -> None:
    bucket = TokenBucket(rate_per_second=rate, burst=burst)
    start = now = 1000.0
    admitted = 0
    for gap in gaps:
        now += gap
        wait = bucket.take(now)
        assert wait >= 0
        admitted += wait == 0
        assert admitted <= burst + rate * (now - start) + 1e-6


@given(rate=st.floats(min_value=0.01, max_value=100), burst=st.integers(min_value=1, max_value=20))
def test_bucket_wait_is_enough(rate: float, burst: int) -> None:
    bucket = TokenBucket(rate_per_second=rate, burst=burst)
    for _ in range(burst):
        assert bucket.take(0) == 0
    wait = bucket.take(0)
    assert wait > 0
    assert bucket.take(wait * (1 + 1e-9)) == 0


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_bucket_rejects_nonsense(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate_per_second=rate, burst=burst)
