"""The bins themselves: ``/inspect/<token>`` and every subpath, any method, captured as sent.

Not a Casdoor action, so no event is recorded (a bin subscribed to every event would otherwise feed
itself). Anyone holding the URL may send to it, as with any request bin; only administrators of the
bin's organization can read what it captured (in the console).
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from hookdoor.db.types import utcnow
from hookdoor.inspector.capture import MAX_BODY_BYTES, Arrival, capture
from hookdoor.inspector.live import ARRIVALS
from hookdoor.inspector.targets import TOKEN

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


async def _body(request: Request) -> bytes | None:
    """The body, or None when it is larger than a bin accepts."""
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_BODY_BYTES:
            return None
    return bytes(received)


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1") if raw else request.url.path


async def capture_request(request: Request) -> Response:
    token = request.path_params["token"]
    if not TOKEN.match(token):
        return PlainTextResponse("no such inspector bin", status_code=404, headers=NO_STORE)
    body = await _body(request)
    if body is None:
        return PlainTextResponse(f"the inspector keeps bodies up to {MAX_BODY_BYTES} bytes", 413, headers=NO_STORE)
    arrival = Arrival(
        method=request.method, path=_raw_path(request), query=request.url.query,
        headers=[(k, v) for k, v in request.headers.items()], body=body,
        client_ip=request.client.host if request.client else "",
    )
    async with request.app.state.sessionmaker() as db:
        captured = await capture(db, token, arrival, utcnow())
        await db.commit()
    if captured.bin_id:
        ARRIVALS.notify(captured.bin_id)
    return PlainTextResponse(captured.message, status_code=captured.status, headers=NO_STORE)


class _EveryMethod:
    """The capture as a plain ASGI endpoint: Starlette routes every method to those (a function
    endpoint would answer GET only), including methods no decorator names (PROPFIND...)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await capture_request(Request(scope, receive))
        await response(scope, receive, send)


router.add_route("/inspect/{token}", _EveryMethod(), include_in_schema=False)
router.add_route("/inspect/{token}/{rest:path}", _EveryMethod(), include_in_schema=False)
