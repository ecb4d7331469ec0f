"""Receive Hookdoor webhooks: verify the Standard Webhooks signature, get a typed event.

    from hookdoor.receiver import verify, WebhookVerificationError

    try:
        event = verify(request.headers, request.body, "whsec_...")
    except WebhookVerificationError as exc:
        return 401 if it is a SignatureError or TimestampError, else 400

``event`` is a :class:`HookdoorEvent`, :class:`CasdoorRecord` or :class:`CloudEvent`, following the
webhook's ``payloadFormat``; JSON and form-encoded bodies are both read. Framework helpers live in
``hookdoor.receiver.fastapi``, ``.flask`` and ``.django`` and import their framework only when used:
this package itself needs nothing but ``standardwebhooks``.
"""

from hookdoor.receiver.errors import PayloadError, SignatureError, TimestampError, WebhookVerificationError
from hookdoor.receiver.events import CasdoorRecord, CloudEvent, HookdoorEvent, WebhookEvent
from hookdoor.receiver.idempotency import DEFAULT_TTL, Idempotency, IdempotencyStore, MemoryIdempotencyStore
from hookdoor.receiver.verify import DEFAULT_TOLERANCE, describe, signed_headers, verify

__all__ = [
    "DEFAULT_TOLERANCE", "DEFAULT_TTL", "CasdoorRecord", "CloudEvent", "HookdoorEvent", "Idempotency",
    "IdempotencyStore", "MemoryIdempotencyStore", "PayloadError", "SignatureError", "TimestampError",
    "WebhookEvent", "WebhookVerificationError", "describe", "signed_headers", "verify",
]
