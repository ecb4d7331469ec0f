"""FastAPI: a dependency that verifies the webhook and hands the route a typed event.

    from hookdoor.receiver.fastapi import webhook_event

    @app.post("/webhook")
    def receive(event: WebhookEvent = Depends(webhook_event(SECRET))): ...

FastAPI is imported when :func:`webhook_event` is called, not when this SDK is imported.
"""

# No ``from __future__ import annotations``: FastAPI reads the dependency's annotations at runtime.
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

from hookdoor.receiver._claim import error_body, verified
from hookdoor.receiver.errors import WebhookVerificationError
from hookdoor.receiver.events import WebhookEvent
from hookdoor.receiver.idempotency import Idempotency
from hookdoor.receiver.verify import DEFAULT_TOLERANCE, Secrets


def webhook_event(
    secret: Secrets, *, tolerance: timedelta = DEFAULT_TOLERANCE, idempotency: Idempotency | None = None
) -> Callable[..., Any]:
    """A dependency yielding the verified event; a bad webhook gets 401 (signature, timestamp) or 400
    (payload) before the route runs. With ``idempotency``, a repeat has ``event.duplicate`` set, and an
    exception in the route releases the claim."""
    from fastapi import HTTPException, Request

    async def dependency(request: Request) -> AsyncIterator[WebhookEvent]:
        body = await request.body()
        try:
            event, claimed = verified(request.headers, body, secret, tolerance, idempotency)
        except WebhookVerificationError as exc:
            raise HTTPException(status_code=exc.status_code, detail=error_body(exc)) from None
        try:
            yield event
        except BaseException:
            if claimed and idempotency is not None:
                idempotency.forget(event.webhook_id)
            raise

    return dependency
