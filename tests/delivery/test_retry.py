import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hookdoor.delivery.retry import (
    CASDOOR_BACKOFF_CAP,
    DEFAULT_SCHEDULE,
    AttemptResult,
    RetryPolicy,
    next_delay,
    parse_retry_after,
)

NOW = datetime(2026, 8, 22, 12, 0, 0, tzinfo=UTC)

delays = st.floats(min_value=0, max_value=100_000, allow_nan=False)
schedules = st.lists(delays, min_size=1, max_size=12).map(tuple)
policies = st.builds(
    RetryPolicy,
    schedule=schedules,
    jitter=st.floats(min_value=0, max_value=0.9),
    floor_after_throttle=st.floats(min_value=0, max_value=600),
    retry_after_cap_factor=st.floats(min_value=1, max_value=5),
)
failing_statuses = st.one_of(st.none(), st.integers(300, 409), st.integers(411, 599))
failures = st.builds(
    AttemptResult,
    status=failing_statuses,
    timed_out=st.booleans(),
    retry_after=st.one_of(st.none(), st.floats(min_value=-10, max_value=10**6)),
)
retrying_policies = policies.filter(lambda policy: policy.max_attempts >= 2)
seeds = st.integers(min_value=0, max_value=2**32)


def remaining_attempt(policy: RetryPolicy) -> st.SearchStrategy[int]:
    return st.integers(min_value=1, max_value=policy.max_attempts - 1)


def test_default_schedule_is_standard_webhooks_ten_attempts() -> None:
    assert DEFAULT_SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    assert RetryPolicy().max_attempts == 10


@pytest.mark.parametrize(
    ("status", "timed_out", "succeeded", "gone", "throttled"),
    [
        (200, False, True, False, False),
        (204, False, True, False, False),
        (301, False, False, False, False),
        (308, False, False, False, False),
        (410, False, False, True, False),
        (429, False, False, False, True),
        (500, False, False, False, False),
        (502, False, False, False, True),
        (503, False, False, False, False),
        (504, False, False, False, True),
        (None, True, False, False, True),
        (None, False, False, False, False),
    ],
)
def test_attempt_result_classification(
    status: int | None, timed_out: bool, succeeded: bool, gone: bool, throttled: bool
) -> None:
    result = AttemptResult(status=status, timed_out=timed_out)
    assert (result.succeeded, result.gone, result.throttled) == (succeeded, gone, throttled)


def test_success_and_gone_stop_retrying() -> None:
    rng = random.Random(1)
    assert next_delay(RetryPolicy(), 1, AttemptResult(200), rng) is None
    assert next_delay(RetryPolicy(), 1, AttemptResult(410), rng) is None


def test_attempts_made_must_be_positive() -> None:
    with pytest.raises(ValueError):
        next_delay(RetryPolicy(), 0, AttemptResult(500), random.Random(1))


def test_schedule_is_followed_without_jitter() -> None:
    policy = RetryPolicy(jitter=0)
    got = [next_delay(policy, n, AttemptResult(500), random.Random(1)) for n in range(1, 11)]
    assert got == [*DEFAULT_SCHEDULE[1:], None]


def test_timeout_waits_at_least_the_floor() -> None:
    policy = RetryPolicy(jitter=0)
    assert next_delay(policy, 1, AttemptResult(None, timed_out=True), random.Random(1)) == 60


def test_retry_after_is_clamped_to_twice_the_schedule() -> None:
    policy = RetryPolicy(jitter=0)
    rng = random.Random(1)
    assert next_delay(policy, 2, AttemptResult(503, retry_after=3600), rng) == 600
    assert next_delay(policy, 2, AttemptResult(503, retry_after=10), rng) == 300
    assert next_delay(policy, 2, AttemptResult(503, retry_after=450), rng) == 450
    assert next_delay(policy, 1, AttemptResult(429, retry_after=90), rng) == 90


@pytest.mark.parametrize(
    "policy_args",
    [{"schedule": ()}, {"jitter": 1.0}, {"schedule": (0, -1)}, {"retry_after_cap_factor": 0.5}],
)
def test_invalid_policies_are_refused(policy_args: dict) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**policy_args)


@given(policy=retrying_policies, data=st.data(), seed=seeds)
def test_delay_within_jitter_bounds_of_schedule(policy: RetryPolicy, data: st.DataObject, seed: int) -> None:
    plain = AttemptResult(status=500)
    attempts = data.draw(remaining_attempt(policy))
    scheduled = policy.schedule[attempts]
    delay = next_delay(policy, attempts, plain, random.Random(seed))
    assert delay is not None
    assert scheduled * (1 - policy.jitter) - 1e-9 <= delay <= scheduled * (1 + policy.jitter) + 1e-9


@given(policy=policies, attempts=st.integers(min_value=1, max_value=20), result=failures, seed=seeds)
def test_none_exactly_when_attempts_exhausted(
    policy: RetryPolicy, attempts: int, result: AttemptResult, seed: int
) -> None:
    delay = next_delay(policy, attempts, result, random.Random(seed))
    assert (delay is None) == (attempts >= policy.max_attempts)
    assert delay is None or delay >= 0


@given(policy=retrying_policies, data=st.data(), status=st.sampled_from([429, 502, 504, None]), seed=seeds)
def test_throttled_delays_respect_the_floor(
    policy: RetryPolicy, data: st.DataObject, status: int | None, seed: int
) -> None:
    result = AttemptResult(status=status, timed_out=status is None)
    delay = next_delay(policy, data.draw(remaining_attempt(policy)), result, random.Random(seed))
    assert delay is not None and delay >= policy.floor_after_throttle


@given(policy=retrying_policies, data=st.data(), result=failures, seed=seeds)
def test_retry_after_is_honoured_within_bounds(
    policy: RetryPolicy, data: st.DataObject, result: AttemptResult, seed: int
) -> None:
    assume(result.retry_after is not None)
    attempts = data.draw(remaining_attempt(policy))
    without_header = AttemptResult(status=result.status, timed_out=result.timed_out)
    base = next_delay(policy, attempts, without_header, random.Random(seed))
    delay = next_delay(policy, attempts, result, random.Random(seed))
    assert base is not None and delay is not None
    assert delay >= 1
    assert delay >= base
    assert delay <= max(1.0, base * policy.retry_after_cap_factor)
    if base <= result.retry_after <= base * policy.retry_after_cap_factor and result.retry_after >= 1:
        assert delay == result.retry_after


def test_casdoor_defaults() -> None:
    policy = RetryPolicy.casdoor(max_retries=3, retry_interval=60, exponential=False)
    assert policy.schedule == (0, 60, 60, 60)
    assert policy.max_attempts == 4


def test_casdoor_exponential_doubles_then_caps() -> None:
    policy = RetryPolicy.casdoor(max_retries=8, retry_interval=60, exponential=True)
    assert policy.schedule == (0, 60, 120, 240, 480, 960, 1920, 3600, 3600)


def test_casdoor_zero_retries_means_one_attempt() -> None:
    policy = RetryPolicy.casdoor(max_retries=0, retry_interval=60, exponential=True)
    assert next_delay(policy, 1, AttemptResult(500), random.Random(1)) is None


@pytest.mark.parametrize(("max_retries", "interval"), [(-1, 60), (101, 60), (3, -1), (3, float("nan"))])
def test_casdoor_rejects_nonsense(max_retries: int, interval: float) -> None:
    with pytest.raises(ValueError):
        RetryPolicy.casdoor(max_retries, interval, exponential=False)


@given(
    max_retries=st.integers(min_value=0, max_value=100),
    interval=st.floats(min_value=0, max_value=10**9, allow_nan=False),
)
def test_casdoor_exponential_is_capped_at_an_hour(max_retries: int, interval: float) -> None:
    policy = RetryPolicy.casdoor(max_retries, interval, exponential=True)
    retries = policy.schedule[1:]
    assert policy.schedule[0] == 0
    assert len(retries) == max_retries
    assert all(d <= CASDOOR_BACKOFF_CAP for d in retries)
    assert list(retries) == sorted(retries)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("-5", 0.0),
        ("0", 0.0),
        ("Sat, 22 Aug 2026 12:01:30 GMT", 90.0),
        ("Sat, 22 Aug 2026 11:00:00 GMT", 0.0),
        ("Sat, 22 Aug 2026 12:01:30 -0000", 90.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
        ("inf", None),
        ("Sat, 99 Foo 2026", None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected


def test_parse_retry_after_with_naive_now_is_utc() -> None:
    assert parse_retry_after("Sat, 22 Aug 2026 12:00:10 GMT", NOW.replace(tzinfo=None)) == 10.0


@given(st.text(max_size=40))
def test_parse_retry_after_never_raises_nor_goes_negative(header: str) -> None:
    seconds = parse_retry_after(header, NOW)
    assert seconds is None or seconds >= 0


@given(st.integers(min_value=-(10**6), max_value=10**6))
def test_parse_retry_after_dates_round_trip(offset: int) -> None:
    when = NOW + timedelta(seconds=offset)
    header = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(header, NOW) == max(0, offset)
