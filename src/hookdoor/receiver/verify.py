"""Verify a Standard Webhooks signature and read the body into a typed event.

Built on the ``standardwebhooks`` package: signatures are made with its ``Webhook.sign`` and compared
in constant time here, rather than through its ``verify()``, because that one only accepts JSON
bodies (form-encoded webhooks are signed too) and has a fixed five-minute tolerance.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks import Webhook

from hookdoor.receiver.errors import PayloadError, SignatureError, TimestampError
from hookdoor.receiver.events import WebhookEvent, build_event, parse_body

DEFAULT_TOLERANCE = timedelta(minutes=5)
Secrets = str | bytes | Iterable[str | bytes]


def _lower(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {str(key).lower(): str(value) for key, value in items}


def _key(secret: str | bytes) -> bytes:
    """The HMAC key: raw bytes as given, or a string's base64 after an optional ``whsec_`` prefix.

    Checked strictly (the reference library drops characters outside the base64 alphabet, so a
    mistyped secret would silently become another key)."""
    if isinstance(secret, bytes):
        return secret
    encoded = secret.strip().removeprefix("whsec_")
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not a webhook secret (expected whsec_ followed by standard base64)") from None


def _signers(secret: Secrets) -> list[Webhook]:
    secrets = [secret] if isinstance(secret, str | bytes) else list(secret)
    signers = [Webhook(key) for key in (_key(one) for one in secrets if one) if key]
    if not signers:
        raise ValueError("at least one non-empty webhook secret is needed to verify a webhook")
    return signers


def _given_signatures(header: str) -> list[bytes]:
    """The ``v1`` signatures of the header; other versions (``v1a``, asymmetric) and junk are skipped."""
    found = []
    for item in header.split():
        version, _, encoded = item.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def signature_matches(signers: list[Webhook], msg_id: str, moment: datetime, text: str, header: str) -> bool:
    given = _given_signatures(header)
    for signer in signers:
        expected = base64.b64decode(signer.sign(msg_id, moment, text).partition(",")[2])
        # Compare against every given signature without stopping early on a match.
        if any([hmac.compare_digest(expected, candidate) for candidate in given]):
            return True
    return False


def verify(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes | str,
    secret: Secrets,
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    now: datetime | None = None,
) -> WebhookEvent:
    """Check a webhook's signature and freshness, and return its body as a typed event.

    ``secret`` may be one secret or several (during a rotation, give the new and the old one).
    The signature is checked before the timestamp, so a :class:`TimestampError` means an authentic
    but stale (or future) message. Raises :class:`SignatureError`, :class:`TimestampError` or
    :class:`PayloadError`, all :class:`WebhookVerificationError`; a malformed ``secret`` is the
    caller's mistake and raises ``ValueError``.
    """
    signers = _signers(secret)
    lowered = _lower(headers)
    msg_id = lowered.get("webhook-id", "")
    timestamp_text = lowered.get("webhook-timestamp", "")
    signature = lowered.get("webhook-signature", "")
    missing = [name for name, value in (("webhook-id", msg_id), ("webhook-timestamp", timestamp_text),
                                        ("webhook-signature", signature)) if not value]
    if missing:
        raise SignatureError(f"missing header{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
                             "not a signed webhook")
    try:
        moment = datetime.fromtimestamp(int(timestamp_text), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise TimestampError(f"webhook-timestamp {timestamp_text[:32]!r} is not a Unix time in seconds") from None
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadError("the body is not UTF-8 text") from None
    else:
        text = body
    if not signature_matches(signers, msg_id, moment, text, signature):
        raise SignatureError("no signature matches the secret" + ("s" if len(signers) > 1 else "")
                             + " given (wrong secret, or the body was changed on the way)")
    current = now or datetime.now(tz=UTC)
    age = (current - moment).total_seconds()
    if age > tolerance.total_seconds():
        raise TimestampError(f"the message was signed {age:.0f} s ago, beyond the tolerance of "
                             f"{tolerance.total_seconds():.0f} s (a replay, or a clock far off)")
    if -age > tolerance.total_seconds():
        raise TimestampError(f"the message is signed {-age:.0f} s in the future, beyond the tolerance of "
                             f"{tolerance.total_seconds():.0f} s (a clock far off)")
    content_type = lowered.get("content-type", "")
    decoded, from_form = parse_body(text, content_type)
    return build_event(decoded, content_type=content_type, from_form=from_form,
                       webhook_id=msg_id, webhook_timestamp=moment)


def signed_headers(
    body: bytes | str, secret: str, *, msg_id: str, timestamp: datetime | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """The headers Hookdoor would send with ``body``: for testing a receiver without a server."""
    moment = (timestamp or datetime.now(tz=UTC)).astimezone(UTC)
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, moment, text),
        "content-type": content_type,
    }


def describe(event: Any) -> str:
    """One line about an event, for logs."""
    return f"{event.format} {event.event_type} (webhook-id {event.webhook_id})"
