"""ULIDs: the C-backed encoder writes exactly what the ULID spec's character-by-character encoding writes."""

from __future__ import annotations

import random

import pytest

from hookdoor.events.ids import decode_ulid, encode_ulid, new_ulid, ulid_milliseconds

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def spec_encoding(value: int) -> str:
    """Five bits per character, most significant first (26 characters for 130 bits)."""
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


@pytest.mark.parametrize("bits", [1, 5, 48, 80, 127, 128])
def test_encoding_matches_the_spec(bits: int) -> None:
    rng = random.Random(bits)
    for _ in range(2000):
        value = rng.getrandbits(bits)
        assert encode_ulid(value) == spec_encoding(value)
        assert decode_ulid(encode_ulid(value)) == value


def test_extremes_and_out_of_range() -> None:
    assert encode_ulid(0) == "0" * 26
    assert encode_ulid((1 << 128) - 1) == spec_encoding((1 << 128) - 1) == "7" + "Z" * 25
    with pytest.raises(ValueError):
        encode_ulid(1 << 128)
    with pytest.raises(ValueError):
        encode_ulid(-1)


def test_new_ids_sort_in_creation_order_and_carry_their_time() -> None:
    made = [new_ulid() for _ in range(1000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert abs(ulid_milliseconds(made[-1]) - ulid_milliseconds(made[0])) < 60_000
