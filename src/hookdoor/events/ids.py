"""Sortable unique ids: ULID layout (48-bit milliseconds + 80 random bits, Crockford base32).

Ids from one process sort in creation order even within one millisecond (the random part is
incremented instead of redrawn); across processes they still sort by millisecond.
"""

from __future__ import annotations

import base64
import random
import threading
import time
import uuid

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# RFC 4648 base32 and Crockford's differ only in their alphabets: encoding is done by the C base32
# encoder, then translated (every delivery and every event gets an id: the per-character loop was
# most of the cost of making one).
_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _CROCKFORD.encode())
_RANDOM_BITS = 80
_random = random.SystemRandom()


def encode_ulid(value: int) -> str:
    """A 128-bit integer as 26 Crockford base32 characters (the top two bits are always zero)."""
    if not 0 <= value < 1 << 128:
        raise ValueError("a ULID is a 128-bit unsigned integer")
    # 26 characters are 130 bits: the value is placed at the top of 160 (20 bytes, 32 characters
    # without padding) and the first 26 characters kept.
    encoded = base64.b32encode((value << 30).to_bytes(20, "big"))
    return encoded[:26].translate(_FROM_RFC4648).decode("ascii")


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
