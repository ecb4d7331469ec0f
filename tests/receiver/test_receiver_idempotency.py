"""The idempotency helper and its in-memory store."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from hookdoor.receiver import Idempotency, IdempotencyStore, MemoryIdempotencyStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_first_time_once_per_id() -> None:
    idempotency = Idempotency()
    assert idempotency.first_time("msg_1") is True
    assert idempotency.first_time("msg_1") is False
    assert idempotency.first_time("msg_2") is True


def test_ttl_expiry() -> None:
    clock = FakeClock()
    idempotency = Idempotency(MemoryIdempotencyStore(clock=clock), ttl=timedelta(seconds=60))
    assert idempotency.first_time("msg_1")
    clock.now += 59
    assert not idempotency.first_time("msg_1")
    clock.now += 61
    assert idempotency.first_time("msg_1")


def test_lru_bound() -> None:
    store = MemoryIdempotencyStore(max_entries=2)
    idempotency = Idempotency(store)
    for key in ("a", "b", "c"):
        assert idempotency.first_time(key)
    assert len(store) == 2
    assert idempotency.first_time("a")  # evicted, so new again
    assert not idempotency.first_time("c")


def test_once_releases_on_failure() -> None:
    idempotency = Idempotency()
    with pytest.raises(RuntimeError), idempotency.once("msg_1") as first:
        assert first
        raise RuntimeError("handler failed")
    with idempotency.once("msg_1") as first:
        assert first  # the retry is processed
    with idempotency.once("msg_1") as first:
        assert not first


def test_duplicate_failing_does_not_release_the_original_claim() -> None:
    idempotency = Idempotency()
    assert idempotency.first_time("msg_1")
    with pytest.raises(RuntimeError), idempotency.once("msg_1") as first:
        assert not first
        raise RuntimeError
    assert not idempotency.first_time("msg_1")


def test_claims_are_atomic_across_threads() -> None:
    idempotency = Idempotency()
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        wins.append(idempotency.first_time("msg_race"))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_pluggable_store() -> None:
    class DictStore:
        def __init__(self) -> None:
            self.keys: dict[str, float] = {}

        def claim(self, key: str, ttl_seconds: float) -> bool:
            return self.keys.setdefault(key, ttl_seconds) is ttl_seconds and len(self.keys) > 0

        def release(self, key: str) -> None:
            self.keys.pop(key, None)

    store = DictStore()
    assert isinstance(store, IdempotencyStore)
    idempotency = Idempotency(store, ttl=timedelta(minutes=1))
    assert idempotency.first_time("x")
    assert store.keys == {"x": 60.0}
    idempotency.forget("x")
    assert store.keys == {}


def test_empty_id_refused() -> None:
    with pytest.raises(ValueError):
        Idempotency().first_time("")
