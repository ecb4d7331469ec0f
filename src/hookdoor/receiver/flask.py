"""Flask: a view decorator that verifies the webhook and passes the typed event as the first argument.

    from hookdoor.receiver.flask import verify_webhook

    @app.post("/webhook")
    @verify_webhook(SECRET)
    def receive(event): ...

Flask is imported when a request arrives, not when this SDK is imported.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hookdoor.receiver._claim import error_body, run_claimed, verified
from hookdoor.receiver.errors import WebhookVerificationError
from hookdoor.receiver.idempotency import Idempotency
from hookdoor.receiver.verify import DEFAULT_TOLERANCE, Secrets


def verify_webhook(
    secret: Secrets, *, tolerance: timedelta = DEFAULT_TOLERANCE, idempotency: Idempotency | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A bad webhook is answered 401 (signature, timestamp) or 400 (payload) without calling the view.
    With ``idempotency``, a repeat has ``event.duplicate`` set; an exception in the view releases the claim."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from flask import jsonify, request

            try:
                event, claimed = verified(request.headers, request.get_data(), secret, tolerance, idempotency)
            except WebhookVerificationError as exc:
                return jsonify(error_body(exc)), exc.status_code
            return run_claimed(idempotency, event, claimed, lambda: view(event, *args, **kwargs))

        return wrapper

    return decorator
