"""Django: a view decorator (CSRF-exempt: the signature is the proof) passing the typed event after
the request.

    from hookdoor.receiver.django import webhook_view

    @webhook_view(settings.HOOKDOOR_WEBHOOK_SECRET)
    def receive(request, event): ...

Django is imported when a view is decorated, not when this SDK is imported.
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


def webhook_view(
    secret: Secrets, *, tolerance: timedelta = DEFAULT_TOLERANCE, idempotency: Idempotency | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A bad webhook is answered 401 (signature, timestamp) or 400 (payload) without calling the view.
    With ``idempotency``, a repeat has ``event.duplicate`` set; an exception in the view releases the claim."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        from django.http import JsonResponse
        from django.views.decorators.csrf import csrf_exempt

        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                event, claimed = verified(request.headers, request.body, secret, tolerance, idempotency)
            except WebhookVerificationError as exc:
                return JsonResponse(error_body(exc), status=exc.status_code)
            return run_claimed(idempotency, event, claimed, lambda: view(request, event, *args, **kwargs))

        return wrapper

    return decorator
