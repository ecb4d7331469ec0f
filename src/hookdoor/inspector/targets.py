"""This server's own inspector URLs as webhook targets: the one narrow exception to the SSRF guard.

A webhook URL that is this server's own bin URL (``{base}/inspect/<token>``, optionally followed by a
subpath or a query, where ``base`` is ``HOOKDOOR_PUBLIC_URL`` or else ``http://HOST:PORT``) is admitted
at save time under any target policy, provided the bin exists and is live. The worker never opens a
connection for such a URL: :class:`InspectorTargets` hands the request to the inspector in-process,
so no network path to this host (or anything else on it) is ever opened. Whether a URL is delivered
in-process depends on its shape alone; whether the bin exists decides only the answer (200, 404, 410).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from yarl import URL

from hookdoor.api.context import ApiContext
from hookdoor.config import Settings
from hookdoor.db.types import utcnow
from hookdoor.errors import BadRequest
from hookdoor.inspector.capture import Arrival, capture
from hookdoor.inspector.live import ARRIVALS
from hookdoor.inspector.repository import BinRepository

INSPECT_PATH = "/inspect/"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


def own_base_url(settings: Settings) -> str:
    """Where this server's bins are: the public URL, or the address it listens on."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = "127.0.0.1" if settings.host in WILDCARD_HOSTS else settings.host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def bin_url(settings: Settings, token: str) -> str:
    return own_base_url(settings) + INSPECT_PATH + token


def bin_token(url: str, settings: Settings) -> str | None:
    """The bin token if ``url`` addresses one of this server's own bins, else None."""
    try:
        target, base = URL(url), URL(own_base_url(settings))
        same_origin = (target.scheme, (target.host or "").lower(), target.port) == (
            base.scheme, (base.host or "").lower(), base.port,
        )
    except (ValueError, TypeError):
        return None
    if not same_origin or target.raw_user is not None or target.raw_password is not None:
        return None
    prefix = base.raw_path.rstrip("/") + INSPECT_PATH
    if not target.raw_path.startswith(prefix):
        return None
    token = target.raw_path[len(prefix):].split("/", 1)[0]
    return token if TOKEN.match(token) else None


async def admit_inspector_target(context: ApiContext, webhook: dict[str, Any]) -> bool:
    """At save time: True if the webhook targets a live bin of this server (so the SSRF guard does
    not apply: delivery is in-process). The bin is linked to the webhook, for its signature badge,
    when it has no webhook yet and the caller administers the bin's organization."""
    token = bin_token(webhook.get("url") or "", context.settings)
    if token is None:
        return False
    bins = BinRepository(context.db)
    found = await bins.by_token(token)
    if found is None or found["expires_at"] <= utcnow():
        raise BadRequest("invalid field url: no live inspector bin has this URL (it may have expired)")
    if not found["webhook_owner"] and context.principal.manages(found["organization"]):
        await bins.link(found["id"], (webhook["owner"], webhook["name"]))
    return True


@dataclass(frozen=True)
class LocalAnswer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/plain; charset=utf-8"})


class InspectorTargets:
    """The delivery worker's hand-over to this server's own bins: a capture, not a connection."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self._tokens: dict[str, str | None] = {}  # per webhook URL: asked for every delivery

    def _bin_token(self, url: str) -> str | None:
        if url not in self._tokens:
            if len(self._tokens) >= 10_000:
                self._tokens.clear()
            self._tokens[url] = bin_token(url, self.settings)
        return self._tokens[url]

    def handles(self, url: str) -> bool:
        """Is ``url`` one of this server's bins (delivered in-process)? Asked for every delivery."""
        return self._bin_token(url) is not None

    async def answer(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> LocalAnswer | None:
        """None when ``url`` is not one of this server's bins (send it over the network as usual)."""
        token = self._bin_token(url)
        if token is None:
            return None
        target = URL(url)
        arrival = Arrival(
            method=method, path=target.raw_path, query=target.raw_query_string,
            headers=[("Host", target.raw_authority), ("Content-Length", str(len(body))), *headers.items()],
            body=body, source="delivery",
        )
        async with self.sessionmaker() as db:
            captured = await capture(db, token, arrival, utcnow())
            await db.commit()
        if captured.bin_id:
            ARRIVALS.notify(captured.bin_id)
        return LocalAnswer(captured.status, captured.message.encode())
