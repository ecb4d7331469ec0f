"""Sortable unique ids: ULID layout (48-bit milliseconds + 80 random bits, Crockford base32).

Ids from one process sort in creation order even within one millisecond (the random part is
incremented instead of redrawn); across processes they still sort by millisecond.
"""

from __future__ import annotations

import random
import threading
import time
import uuid

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Every delivery and every event gets an id, and a loop over 26 characters was most of the cost of
# making one: ten bits at a time, from a table of the 1,024 character pairs, takes 13 lookups.
# (base64.b32encode is no faster: in Python 3.11 it is a Python loop too.)
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
_RANDOM_BITS = 80
_random = random.SystemRandom()


def encode_ulid(value: int) -> str:
    """A 128-bit integer as 26 Crockford base32 characters (the top two bits are always zero)."""
    if not 0 <= value < 1 << 128:
        raise ValueError("a ULID is a 128-bit unsigned integer")
    p, v = _PAIRS, value
    return (p[v >> 120] + p[v >> 110 & 1023] + p[v >> 100 & 1023] + p[v >> 90 & 1023] + p[v >> 80 & 1023]
            + p[v >> 70 & 1023] + p[v >> 60 & 1023] + p[v >> 50 & 1023] + p[v >> 40 & 1023] + p[v >> 30 & 1023]
            + p[v >> 20 & 1023] + p[v >> 10 & 1023] + p[v & 1023])


def ulid_milliseconds(ulid: str) -> int:
    """The creation time (Unix milliseconds) a ULID carries."""
    return decode_ulid(ulid[:10])


def decode_ulid(ulid: str) -> int:
    """The 128-bit integer a ULID writes (the inverse of encode_ulid)."""
    value = 0
    for char in ulid:
        value = value * 32 + _CROCKFORD.index(char)
    return value


def ulid_as_uuid(ulid: str) -> str:
    """The same 128 bits written as a UUID (8-4-4-4-12 hex digits), for formats that expect one."""
    return str(uuid.UUID(int=decode_ulid(ulid)))


class _MonotonicUlid:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self, now_ms: int) -> str:
        with self._lock:
            candidate = (now_ms << _RANDOM_BITS) | _random.getrandbits(_RANDOM_BITS)
            self._last = max(candidate, self._last + 1)
            return encode_ulid(self._last)


_ULIDS = _MonotonicUlid()


def new_ulid() -> str:
    return _ULIDS.next(time.time_ns() // 1_000_000)
