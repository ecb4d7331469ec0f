"""Request bodies: at most ``MAX_BODY_BYTES``, and never an answer to a client still sending one.

When a server answers before it has read the whole body (a form over the limit, a route that never
reads its body, a 404), uvicorn closes the connection after the response with the rest of the body
unread, and the kernel then resets it: a client still sending (most do: they send the whole request
before they read) gets ECONNRESET instead of the answer. So :class:`BodyLimit`, around the whole
application,

* counts the body as the application reads it, JSON, forms and chunked bodies alike: past the
  limit (or at once when Content-Length announces more) it reads the rest and throws it away, then
  raises :class:`BodyTooLarge`, which the application answers with 413 in Casdoor's envelope;
* before any response starts, reads to its end whatever body the application left unread.

Reading the rest stops after ``DRAIN_MAX_BYTES``: a client sending more than that is not worth the
time, and may then see the reset.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1_000_000
DRAIN_MAX_BYTES = 64 * 1024 * 1024


class BodyTooLarge(Exception):
    """No HookdoorError: the console's pages turn those into HTML, and this is the API's 413 everywhere."""

    status_code = 413

    def __init__(self, limit: int) -> None:
        self.description = f"request body is larger than {limit} bytes"
        super().__init__(self.description)


def _declared_length(scope: Scope) -> tuple[bool, int | None]:
    """Whether the request has a body, and its announced length (None when chunked)."""
    length: int | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value) if value.isdigit() else None  # the HTTP parser refuses other values
        elif name == b"transfer-encoding":
            chunked = True
    return chunked or bool(length), length


class _RequestBody:
    """One request's body, counted as the application reads it."""

    def __init__(self, receive: Receive, limit: int | None, declared: int | None) -> None:
        self._receive = receive
        self.limit = limit
        self.declared = declared
        self.received = 0
        self.finished = False

    def _over_limit(self) -> bool:
        if self.limit is None:
            return False
        return self.received > self.limit or (self.declared is not None and self.declared > self.limit)

    async def receive(self) -> Message:
        if not self._over_limit():
            message = await self._next()
            if not self._over_limit():
                return message
        await self.drain()
        raise BodyTooLarge(self.limit or 0)

    async def _next(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.finished = not message.get("more_body", False)
        else:  # http.disconnect
            self.finished = True
        return message

    async def drain(self) -> None:
        """Read and throw away the rest of the body (up to ``DRAIN_MAX_BYTES`` more)."""
        stop_at = self.received + DRAIN_MAX_BYTES
        while not self.finished and self.received <= stop_at:
            await self._next()


class BodyLimit:
    """ASGI middleware; paths under ``own_limit_prefixes`` set their own limit (inspector bins take
    any body up to theirs and answer as a bin would) and are only drained before they answer."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES,
                 own_limit_prefixes: tuple[str, ...] = ("/inspect/",),
                 larger_limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.own_limit_prefixes = own_limit_prefixes
        # Paths that take files (the upload- routes) have the limit their settings give.
        self.larger_limits = larger_limits or {}

    def _limit_of(self, path: str) -> int | None:
        if path.startswith(self.own_limit_prefixes):
            return None
        return next((limit for prefix, limit in self.larger_limits.items() if path.startswith(prefix)), self.limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        has_body, declared = _declared_length(scope)
        if not has_body:
            await self.app(scope, receive, send)
            return
        limit = self._limit_of(scope["path"])
        body = _RequestBody(receive, limit, declared)

        async def send_once_read(message: Message) -> None:
            if message["type"] == "http.response.start":
                await body.drain()
            await send(message)

        await self.app(scope, body.receive, send_once_read)
