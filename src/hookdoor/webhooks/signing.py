"""Standard Webhooks signatures, made with the reference ``standardwebhooks`` package.

Two quirks of that package shape this module: ``Webhook.sign`` takes the body as ``str`` (we decode
the exact bytes as UTF-8, which re-encodes to the same bytes, and refuse anything else, since the
reference receiver could not verify it either), and it *replaces* the timestamp's tzinfo with UTC
instead of converting (so we convert first and refuse naive datetimes, which would be ambiguous).
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets as _random
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache

from standardwebhooks import Webhook

from hookdoor.events.ids import new_ulid

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64



def generate_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(SECRET_BYTES)).decode("ascii")


def validate_secret(secret: str) -> None:
    """Refuse a secret that receivers' libraries would decode to a different (or empty) key.

    The reference library decodes leniently (it drops characters outside the base64 alphabet), so a
    URL-safe or mistyped secret would silently sign with another key; we check strictly instead.
    Unpadded base64 is accepted, as the reference library accepts it.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret must start with {SECRET_PREFIX!r}")
    key = _decode_key(secret[len(SECRET_PREFIX) :])
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(f"a webhook secret must encode {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, not {len(key)}")


def _decode_key(encoded: str) -> bytes:
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"a webhook secret must be {SECRET_PREFIX!r} followed by standard base64") from exc


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: datetime, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<sig>`` per secret, space-separated.

    Pass the current secret first and, during a rotation's grace period, the previous one too:
    receivers accept the message if any signature matches the secret they hold.
    """
    if not secrets:
        raise ValueError("at least one secret is needed to sign a webhook")
    text = _body_text(body)
    when = _utc(timestamp)
    return " ".join(_signer(secret).sign(msg_id, when, text) for secret in secrets)


@lru_cache(maxsize=1024)
def _signer(secret: str) -> Webhook:
    """The reference library's signer for a secret, checked once: decoding the key is most of the
    cost of building one, and a worker signs with the same few secrets all day."""
    validate_secret(secret)
    return Webhook(secret)


def standard_headers(msg_id: str, timestamp: datetime, body: bytes, secrets: Sequence[str]) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt; ``msg_id`` stays the same on every retry."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(unix_seconds(timestamp)),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
    }


def unix_seconds(timestamp: datetime) -> int:
    """Whole Unix seconds, rounded down exactly as the reference library does when it signs."""
    return math.floor(_utc(timestamp).timestamp())


def _utc(timestamp: datetime) -> datetime:
    if timestamp.tzinfo is None:
        raise ValueError("webhook timestamps must be timezone-aware (a naive datetime is ambiguous)")
    return timestamp.astimezone(UTC)


def _body_text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("a webhook body must be UTF-8 to be signed (receivers verify it as text)") from exc


def new_message_id() -> str:
    """``msg_`` + a sortable unique id: the ``webhook-id`` receivers de-duplicate retries on."""
    return "msg_" + new_ulid()
