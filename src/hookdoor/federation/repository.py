"""Links between upstream accounts and users, and sign-ins on their way to a provider and back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import provider_links, provider_sign_ins
from hookdoor.db.types import utcnow
from hookdoor.identity.credentials import hash_token

SIGN_IN_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class Link:
    provider: str
    subject: str
    user_id: str
    username: str


class ProviderLinks:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def user_for(self, organization: str, provider: str, subject: str) -> str | None:
        """The id of the user of ``organization`` the upstream account ``subject`` signs in as."""
        return await self.db.scalar(select(provider_links.c.user_id).where(
            provider_links.c.organization == organization, provider_links.c.provider == provider,
            provider_links.c.subject == subject))

    async def of_user(self, user_id: str, provider: str) -> Link | None:
        row = (await self.db.execute(select(provider_links).where(
            provider_links.c.user_id == user_id, provider_links.c.provider == provider))).mappings().first()
        return Link(row["provider"], row["subject"], row["user_id"], row["username"]) if row else None

    async def add(self, organization: str, provider: str, subject: str, user_id: str, username: str) -> None:
        await self.db.execute(insert(provider_links).values(
            organization=organization, provider=provider, subject=subject, user_id=user_id,
            username=username[:255], created_at=utcnow()))

    async def remove(self, user_id: str, provider: str) -> bool:
        result = await self.db.execute(delete(provider_links).where(
            provider_links.c.user_id == user_id, provider_links.c.provider == provider))
        return bool(result.rowcount)

    async def remove_dead(self, organization: str, provider: str, subject: str) -> None:
        """A link whose user was deleted: nobody signs in through it any more."""
        await self.db.execute(delete(provider_links).where(
            provider_links.c.organization == organization, provider_links.c.provider == provider,
            provider_links.c.subject == subject))


@dataclass(frozen=True)
class PendingSignIn:
    provider: str
    application: str
    method: str
    user_name: str
    code_verifier: str
    next: str


class PendingSignIns:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def add(self, state: str, browser: str, pending: PendingSignIn) -> None:
        now = utcnow()
        await self.db.execute(delete(provider_sign_ins).where(provider_sign_ins.c.expires_at < now))
        await self.db.execute(insert(provider_sign_ins).values(
            state_hash=hash_token(state), browser_hash=hash_token(browser), provider=pending.provider,
            application=pending.application, method=pending.method, user_name=pending.user_name,
            code_verifier=pending.code_verifier, next=pending.next, expires_at=now + SIGN_IN_LIFETIME))

    async def take(self, state: str, browser: str) -> PendingSignIn | None:
        """The sign-in ``state`` names, once, for the browser that started it, and only while it is fresh.
        Taken even when the browser is the wrong one: a state that leaked is spent."""
        row = (await self.db.execute(delete(provider_sign_ins).where(
            provider_sign_ins.c.state_hash == hash_token(state)).returning(*provider_sign_ins.c))).mappings().first()
        if row is None or row["expires_at"] < utcnow() or row["browser_hash"] != hash_token(browser):
            return None
        return PendingSignIn(row["provider"], row["application"], row["method"], row["user_name"],
                             row["code_verifier"], row["next"])
