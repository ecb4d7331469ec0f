"""The impersonation of a sign-in session, kept on its row (every process sees it at once)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import auth_sessions


async def set_impersonation(db: AsyncSession, token_hash: str, user_id: str | None) -> bool:
    result = await db.execute(
        update(auth_sessions).where(auth_sessions.c.token_hash == token_hash).values(impersonating=user_id)
    )
    return result.rowcount > 0
