"""The inspector's rules: who may create, read, link and delete bins; when bins expire and go.

Bins belong to an organization; its administrators (and global administrators) manage them, as they
manage its webhooks. Bins are a developer tool beside Casdoor's API: managing them records no event.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hookdoor.api.context import ApiContext
from hookdoor.api.envelope import text_problem
from hookdoor.db.types import utcnow
from hookdoor.errors import BadRequest, Forbidden, NotFound
from hookdoor.events.ids import new_ulid
from hookdoor.identity.registry import GLOBAL_OWNER, kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.inspector.repository import BinRepository
from hookdoor.inspector.targets import bin_url

log = logging.getLogger(__name__)
WEBHOOKS = kind("webhook")
DEFAULT_LIFETIME_HOURS = 24
MAX_LIFETIME_HOURS = 24 * 7
MAX_LIVE_BINS = 50  # per organization
EXPIRED_BIN_KEPT = timedelta(days=7)  # an expired bin answers 410 this long, then it is forgotten (404)
SHOWN_REQUESTS = 50


def new_bin_token() -> str:
    return secrets.token_urlsafe(24)


class Inspector:
    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.bins = BinRepository(context.db)

    def _scope(self) -> str | None:
        """None: every organization's bins; otherwise the caller's organization."""
        principal = self.context.require_login()
        if principal.is_global_admin:
            return None
        if not principal.is_org_admin:
            raise Forbidden("only administrators may use the inspector")
        return principal.organization

    def view(self, found: dict[str, Any]) -> dict[str, Any]:
        return {**found, "url": bin_url(self.context.settings, found["token"]),
                "expired": found["expires_at"] <= utcnow()}

    async def list(self) -> list[dict[str, Any]]:
        return [self.view(found) for found in await self.bins.list(self._scope())]

    async def get(self, bin_id: str) -> dict[str, Any]:
        self._scope()
        found = await self.bins.get(bin_id)
        if found is None:
            raise NotFound(f"inspector bin {bin_id!r} does not exist")
        if not self.context.principal.manages(found["organization"]):
            raise Forbidden(f"you may not use inspector bin {bin_id!r}")
        return self.view(found)

    async def create(self, organization: str, label: str, hours: int) -> dict[str, Any]:
        principal = self.context.require_login()
        if not principal.manages(organization):
            raise Forbidden(f"you may not create inspector bins for organization {organization!r}")
        if not await ObjectRepository(self.context.db, kind("organization")).exists(GLOBAL_OWNER, organization):
            raise BadRequest(f"invalid field organization: {organization!r} does not exist")
        if problem := text_problem(label):
            raise BadRequest(f"invalid field label: {problem}")
        if len(label) > 200:
            raise BadRequest("invalid field label: longer than 200 characters")
        if not 1 <= hours <= MAX_LIFETIME_HOURS:
            raise BadRequest(f"invalid field hours: must be between 1 and {MAX_LIFETIME_HOURS}")
        now = utcnow()
        if await self.bins.count_live(organization, now) >= MAX_LIVE_BINS:
            raise BadRequest(f"organization {organization!r} already has {MAX_LIVE_BINS} live bins; delete some first")
        row = {
            "id": new_ulid(), "token": new_bin_token(), "organization": organization,
            "created_by": principal.ref, "label": label.strip(), "webhook_owner": None, "webhook_name": None,
            "created_at": now, "expires_at": now + timedelta(hours=hours),
        }
        await self.bins.insert_bin(row)
        return self.view(row)

    async def link(self, found: dict[str, Any], webhook: tuple[str, str] | None) -> None:
        """Verify the bin's arrivals with this webhook's secret (None: stop verifying)."""
        if webhook is not None:
            stored = await ObjectRepository(self.context.db, WEBHOOKS).get(*webhook)
            if stored is None:
                raise BadRequest(f"invalid field webhook: webhook {webhook[0]}/{webhook[1]} does not exist")
            if not self.context.principal.manages(WEBHOOKS.organization_of(stored)):
                raise Forbidden(f"you may not use webhook {webhook[0]}/{webhook[1]}")
        await self.bins.link(found["id"], webhook)

    async def delete(self, found: dict[str, Any]) -> None:
        await self.bins.delete_bin(found["id"])

    async def arrivals(self, found: dict[str, Any], limit: int = SHOWN_REQUESTS) -> list[dict[str, Any]]:
        return await self.bins.latest_requests(found["id"], limit)

    async def linked_webhook(self, found: dict[str, Any]) -> dict[str, Any] | None:
        if not found["webhook_owner"]:
            return None
        return await ObjectRepository(self.context.db, WEBHOOKS).get(found["webhook_owner"], found["webhook_name"])


def verification_secrets(webhook: dict[str, Any] | None) -> list[str]:
    if webhook is None:
        return []
    return [s for s in (webhook.get("signingSecret"), webhook.get("previousSigningSecret")) if s]


async def purge(db: AsyncSession, now: datetime | None = None) -> int:
    """Drop expired bins' captures now and the bins themselves a week later; the caller commits."""
    now = now or utcnow()
    return await BinRepository(db).purge(now, now - EXPIRED_BIN_KEPT)


async def purge_now(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as db:
        removed = await purge(db)
        await db.commit()
    if removed:
        log.info("forgot %d expired inspector bins", removed)
