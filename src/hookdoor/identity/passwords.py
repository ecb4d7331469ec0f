"""Password hashing with argon2id. Hashing is CPU-bound, so it runs off the event loop.

Users brought in by a syncer may keep the hash their source stored, in the scheme the organization's
``passwordType`` names (Casdoor's cred/ managers): such a hash is stored as ``casdoor-cred$<type>$<salt>$<hash>``
and checked in its own scheme.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


class Passwords:
    def __init__(self, time_cost: int = 3, memory_cost_kib: int = 65536, parallelism: int = 4) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism)
        # A hash of nothing, verified against when the account does not exist, so that a login for an
        # unknown user costs the same time as one with a wrong password.
        self._decoy = self._hasher.hash("decoy-password-for-unknown-users")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self._verify, password_hash or self._decoy, password, password_hash is not None)

    def _verify(self, password_hash: str, password: str, real: bool) -> bool:
        if password_hash.startswith(FOREIGN_PREFIX):
            return _foreign_matches(password_hash, password) and real
        try:
            return self._hasher.verify(password_hash, password) and real
        except (VerificationError, InvalidHashError):
            return False


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"password must be at most {MAX_PASSWORD_LENGTH} characters"
    return None


FOREIGN_PREFIX = "casdoor-cred$"
_DIGESTS = {"salt": hashlib.sha256, "sha512-salt": hashlib.sha512, "md5-salt": hashlib.md5}
FOREIGN_SCHEMES = (*_DIGESTS, "bcrypt", "argon2id")


def foreign_hash(scheme: str, hashed: str, salt: str) -> str:
    """How a source's hash in ``scheme`` is stored; argon2id hashes are this module's own format."""
    if scheme == "argon2id":
        return hashed
    if scheme not in FOREIGN_SCHEMES:
        raise ValueError(f"password type {scheme!r} is not one of plain, {', '.join(FOREIGN_SCHEMES)}")
    return f"{FOREIGN_PREFIX}{scheme}${salt}${hashed}"


def _foreign_matches(stored: str, password: str) -> bool:
    scheme, _, rest = stored.removeprefix(FOREIGN_PREFIX).partition("$")
    salt, _, hashed = rest.partition("$")
    if scheme == "bcrypt":
        try:
            return bcrypt.checkpw(password.encode(), hashed.encode())
        except ValueError:
            return False
    digest = _DIGESTS.get(scheme)
    if digest is None:
        return False

    def hex_of(text: str) -> str:
        return digest(text.encode()).hexdigest()

    # Casdoor's managers: hex(H(hex(H(password)) + salt)), or hex(H(password)) without a salt.
    expected = hex_of(hex_of(password) + salt) if salt else hex_of(password)
    return hmac.compare_digest(expected, hashed.lower())
