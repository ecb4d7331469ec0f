"""The signature badge of a captured request: does it carry a valid Standard Webhooks signature
made with the linked webhook's secret?

Checked when shown, against the current and the previous secret, without the reference library's
five-minute timestamp tolerance: a capture is looked at long after it arrived.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hookdoor.webhooks.signing import signature_header


@dataclass(frozen=True)
class Badge:
    state: str  # valid, invalid, unsigned, unverifiable
    text: str


def header(headers: Sequence[Sequence[str]], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


def badge(request: dict[str, Any], secrets: Sequence[str]) -> Badge:
    headers = request["headers"]
    msg_id, timestamp, given = (header(headers, h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and given):
        return Badge("unsigned", "no Standard Webhooks signature")
    if request["body_base64"] or request["body_size"] > len(request["body"].encode()):
        return Badge("unverifiable", "body not kept whole: signature not checked")
    try:
        moment = datetime.fromtimestamp(int(timestamp), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return Badge("invalid", "malformed webhook-timestamp")
    offered = given.split()
    for secret in secrets:
        try:
            expected = signature_header([secret], msg_id, moment, request["body"].encode())
        except ValueError:
            continue
        if any(hmac.compare_digest(expected, part) for part in offered):
            return Badge("valid", "signature valid")
    return Badge("invalid", "signature does not match the webhook's secret")
