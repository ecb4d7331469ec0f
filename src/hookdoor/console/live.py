"""Live pages (the webhook page, a delivery's page, the dashboard): a Server-Sent Events stream says
"changed" when what the page shows changed, and the page fetches itself again and swaps its
``data-live-region`` parts (console.js). As the inspector's stream, it ends after STREAM_SECONDS and the
browser reconnects, so it is authorized again.

What changed is told by a version: a short string from the rows the page shows (counts and the last
update times), cheap to read twice a second. The page is rendered with its version, so a change between
the render and the stream's start is not missed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import StreamingResponse

Version = Callable[[AsyncSession], Awaitable[str]]
STREAM_SECONDS = 15.0
POLL_SECONDS = 0.5
KEEP_ALIVE_SECONDS = 5.0


def sse(event: str, data: str, event_id: int | None = None) -> str:
    """One Server-Sent Event."""
    lines = [f"event: {event}"] + ([f"id: {event_id}"] if event_id is not None else [])
    lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return "\n".join(lines) + "\n\n"


async def read_version(request: Request, version: Version) -> str:
    async with request.app.state.sessionmaker() as db:
        try:
            return await version(db)
        finally:
            await db.rollback()


async def _changes(request: Request, version: Version, shown: str) -> AsyncIterator[str]:
    deadline = time.monotonic() + STREAM_SECONDS
    quiet_since = time.monotonic()
    yield "retry: 1000\n\n"
    while time.monotonic() < deadline:
        current = await read_version(request, version)
        if current != shown:
            shown = current
            quiet_since = time.monotonic()
            yield sse("changed", current)
        elif time.monotonic() - quiet_since >= KEEP_ALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_SECONDS)


def change_stream(request: Request, version: Version) -> StreamingResponse:
    """Call it once the caller was authorized to see the page; ``?v=`` is the version it shows."""
    shown = request.query_params.get("v", "")[:200]
    return StreamingResponse(_changes(request, version, shown), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
