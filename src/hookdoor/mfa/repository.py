"""SQL for MFA: a user's factors, setups under way, and sign-ins awaiting their second factor."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import mfa_challenges, mfa_factors, mfa_setups
from hookdoor.db.types import utcnow
from hookdoor.mfa.schemas import Challenge, Factors, Setup


class MfaRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    # ---- factors ---------------------------------------------------------------------------------

    async def factors(self, user_id: str, *, for_update: bool = False) -> Factors:
        """The user's factors; ``for_update`` locks the row (PostgreSQL) so that a passcode or
        recovery code used twice at once is used once."""
        statement = select(mfa_factors).where(mfa_factors.c.user_id == user_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self.db.execute(statement)).mappings().first()
        if row is None:
            return Factors(user_id=user_id)
        return Factors(user_id=user_id, totp_secret=row["totp_secret"], totp_last_step=row["totp_last_step"],
                       recovery_code_hashes=tuple(row["recovery_code_hashes"] or ()), preferred=row["preferred"],
                       email_enabled=bool(row["email_enabled"]), phone_enabled=bool(row["phone_enabled"]))

    async def save_factors(self, factors: Factors, owner: str, name: str) -> None:
        values: dict[str, Any] = {
            "owner": owner, "name": name, "totp_secret": factors.totp_secret,
            "totp_last_step": factors.totp_last_step, "recovery_code_hashes": list(factors.recovery_code_hashes),
            "preferred": factors.preferred, "email_enabled": factors.email_enabled,
            "phone_enabled": factors.phone_enabled, "updated_at": utcnow(),
        }
        changed = await self.db.execute(update(mfa_factors).where(mfa_factors.c.user_id == factors.user_id)
                                        .values(**values))
        if changed.rowcount == 0:
            await self.db.execute(insert(mfa_factors).values(user_id=factors.user_id, **values))

    async def forget_factors(self, user_id: str) -> None:
        await self.db.execute(delete(mfa_factors).where(mfa_factors.c.user_id == user_id))
        await self.db.execute(delete(mfa_setups).where(mfa_setups.c.user_id == user_id))

    # ---- setups ----------------------------------------------------------------------------------

    async def start_setup(self, setup: Setup, lifetime_seconds: int) -> None:
        """A new setup replaces the user's unfinished one of that type."""
        key = (mfa_setups.c.user_id == setup.user_id) & (mfa_setups.c.mfa_type == setup.mfa_type)
        await self.db.execute(delete(mfa_setups).where(key | (mfa_setups.c.expires_at <= utcnow())))
        await self.db.execute(insert(mfa_setups).values(
            user_id=setup.user_id, mfa_type=setup.mfa_type, secret=setup.secret,
            recovery_code_hash=setup.recovery_code_hash, verified=False,
            expires_at=utcnow() + timedelta(seconds=lifetime_seconds),
        ))

    async def setup(self, user_id: str, mfa_type: str) -> Setup | None:
        row = (await self.db.execute(select(mfa_setups).where(
            mfa_setups.c.user_id == user_id, mfa_setups.c.mfa_type == mfa_type, mfa_setups.c.expires_at > utcnow(),
        ))).mappings().first()
        if row is None:
            return None
        return Setup(row["user_id"], row["mfa_type"], row["secret"], row["recovery_code_hash"], row["verified"])

    async def mark_verified(self, setup: Setup, destination: str = "") -> None:
        """Verified; an email or SMS setup also keeps where its code went (the factor's destination)."""
        values: dict[str, Any] = {"verified": True}
        if destination:
            values["secret"] = destination
        await self.db.execute(update(mfa_setups).where(
            mfa_setups.c.user_id == setup.user_id, mfa_setups.c.mfa_type == setup.mfa_type,
        ).values(**values))

    async def finish_setup(self, setup: Setup) -> None:
        await self.db.execute(delete(mfa_setups).where(
            mfa_setups.c.user_id == setup.user_id, mfa_setups.c.mfa_type == setup.mfa_type,
        ))

    # ---- sign-ins awaiting their second factor ---------------------------------------------------

    async def open_challenge(self, challenge: Challenge, lifetime_seconds: int) -> None:
        now = utcnow()
        # Each new challenge sweeps the expired ones: they are few, and nothing else needs them.
        await self.db.execute(delete(mfa_challenges).where(mfa_challenges.c.expires_at <= now))
        await self.db.execute(insert(mfa_challenges).values(
            token_hash=challenge.token_hash, user_id=challenge.user_id, owner=challenge.owner,
            name=challenge.name, application=challenge.application, failures=0,
            expires_at=now + timedelta(seconds=lifetime_seconds),
        ))

    async def challenge(self, token_hash: str) -> Challenge | None:
        row = (await self.db.execute(select(mfa_challenges).where(
            mfa_challenges.c.token_hash == token_hash, mfa_challenges.c.expires_at > utcnow(),
        ))).mappings().first()
        if row is None:
            return None
        return Challenge(row["token_hash"], row["user_id"], row["owner"], row["name"], row["application"],
                         row["failures"])

    async def count_failure(self, token_hash: str, max_failures: int) -> None:
        """One more wrong passcode; the last one allowed ends the challenge (the password again)."""
        await self.db.execute(update(mfa_challenges).where(mfa_challenges.c.token_hash == token_hash)
                              .values(failures=mfa_challenges.c.failures + 1))
        await self.db.execute(delete(mfa_challenges).where(mfa_challenges.c.token_hash == token_hash,
                                                           mfa_challenges.c.failures >= max_failures))

    async def close_challenge(self, token_hash: str) -> bool:
        """Spent: True only for the one caller that closed it (a second use at once finds it gone)."""
        result = await self.db.execute(delete(mfa_challenges).where(mfa_challenges.c.token_hash == token_hash))
        return result.rowcount == 1
