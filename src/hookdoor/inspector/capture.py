"""What a bin keeps of one request, and the capture itself (open to anyone who holds the bin's URL)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.inspector.repository import BinRepository

KEEP_REQUESTS = 200  # per bin: the newest are kept
CAPTURED_BODY_BYTES = 64 * 1024  # what is stored of a body; its full size is recorded beside it
MAX_BODY_BYTES = 1024 * 1024  # larger requests are refused with 413
MAX_HEADERS = 100


@dataclass(frozen=True)
class Arrival:
    """One request to a bin, as the sender made it."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    client_ip: str = ""
    source: str = "http"  # or "delivery": handed over in-process by the delivery worker

    def row(self, bin_id: str, now: datetime) -> dict[str, Any]:
        kept = self.body[:CAPTURED_BODY_BYTES]
        try:
            text, is_base64 = kept.decode("utf-8"), False
            if "\x00" in text:  # PostgreSQL text cannot hold NUL
                raise UnicodeDecodeError("utf-8", kept, 0, 1, "NUL")
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(kept).decode("ascii"), True
        return {
            "bin_id": bin_id, "received_at": now, "source": self.source, "method": self.method[:20],
            "path": _storable(self.path), "query": _storable(self.query),
            "headers": [[_storable(k), _storable(v)] for k, v in self.headers[:MAX_HEADERS]],
            "body": text, "body_base64": is_base64, "body_size": len(self.body), "client_ip": self.client_ip[:64],
        }


def _storable(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


@dataclass(frozen=True)
class Captured:
    status: int  # what the bin answers: 200, 404 (no such bin) or 410 (expired)
    message: str
    bin_id: str | None = None
    request_id: int | None = None


async def capture(db: AsyncSession, token: str, arrival: Arrival, now: datetime) -> Captured:
    """Store the arrival in the bin named by ``token``; the caller commits."""
    bins = BinRepository(db)
    found = await bins.by_token(token)
    if found is None:
        return Captured(404, "no such inspector bin")
    if found["expires_at"] <= now:
        return Captured(410, "this inspector bin has expired")
    request_id = await bins.insert_request(arrival.row(found["id"], now))
    await bins.keep_latest(found["id"], KEEP_REQUESTS)
    return Captured(200, "captured by the Hookdoor inspector", found["id"], request_id)
