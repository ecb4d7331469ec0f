"""What the framework helpers share: verify, then claim the webhook-id if an idempotency store is used."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar

from hookdoor.receiver.events import WebhookEvent
from hookdoor.receiver.idempotency import Idempotency
from hookdoor.receiver.verify import Secrets, verify

T = TypeVar("T")


def verified(
    headers: Mapping[str, str] | Iterable[tuple[str, str]], body: bytes, secret: Secrets,
    tolerance: timedelta, idempotency: Idempotency | None,
) -> tuple[WebhookEvent, bool]:
    """The event (``duplicate`` set when the store has seen its id) and whether this call claimed it."""
    event = verify(headers, body, secret, tolerance=tolerance)
    if idempotency is None:
        return event, False
    first = idempotency.first_time(event.webhook_id)
    return replace(event, duplicate=not first), first


def run_claimed(idempotency: Idempotency | None, event: WebhookEvent, claimed: bool, handler: Callable[[], T]) -> T:
    """Run the handler; if it raises, release the claim so Hookdoor's retry is handled, not skipped."""
    try:
        return handler()
    except BaseException:
        if claimed and idempotency is not None:
            idempotency.forget(event.webhook_id)
        raise


def error_body(exc: Any) -> dict[str, str]:
    return {"error": type(exc).__name__, "message": str(exc)}
