"""Passwords a syncer brings in keep their source's scheme (Casdoor's cred/ managers, as the
organization's passwordType names them) and are checked in it."""

from __future__ import annotations

import hashlib

import bcrypt
import pytest

from hookdoor.identity.passwords import Passwords, foreign_hash

PASSWORD = "correct horse battery"


def _casdoor(digest, password: str, salt: str) -> str:  # type: ignore[no-untyped-def]
    inner = digest(password.encode()).hexdigest()
    return digest((inner + salt).encode()).hexdigest() if salt else inner


@pytest.mark.parametrize(("scheme", "digest"), [("salt", hashlib.sha256), ("sha512-salt", hashlib.sha512),
                                                ("md5-salt", hashlib.md5)])
@pytest.mark.parametrize("salt", ["", "pepper"])
async def test_salted_digests_are_checked_in_their_scheme(scheme: str, digest, salt: str) -> None:  # type: ignore[no-untyped-def]
    passwords = Passwords(time_cost=1, memory_cost_kib=1024, parallelism=1)
    stored = foreign_hash(scheme, _casdoor(digest, PASSWORD, salt), salt)
    assert await passwords.verify(stored, PASSWORD)
    assert not await passwords.verify(stored, PASSWORD + "!")


async def test_bcrypt_and_argon2id_hashes() -> None:
    passwords = Passwords(time_cost=1, memory_cost_kib=1024, parallelism=1)
    stored = foreign_hash("bcrypt", bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode(), "")
    assert await passwords.verify(stored, PASSWORD)
    assert not await passwords.verify(stored, "wrong")
    own = await passwords.hash(PASSWORD)
    assert foreign_hash("argon2id", own, "") == own and await passwords.verify(own, PASSWORD)


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="password type 'rot13'"):
        foreign_hash("rot13", "x", "")
