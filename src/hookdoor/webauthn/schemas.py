"""WebAuthn shapes: a stored credential, a ceremony under way, and how the console lists a passkey."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hookdoor.db.types import rfc3339

SIGNUP, SIGNIN = "signup", "signin"
CEREMONY_COOKIE = "hookdoor_webauthn"
CEREMONY_LIFETIME_SECONDS = 5 * 60
TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class Credential:
    credential_id: str  # base64url
    user_id: str
    owner: str
    name: str
    public_key: str  # base64url of the COSE key
    sign_count: int
    transports: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None

    def listed(self) -> dict[str, Any]:
        """What the account page shows: no key material beyond the credential's public id."""
        return {"credentialId": self.credential_id, "shortId": self.credential_id[:12] + "…",
                "createdTime": rfc3339(self.created_at),
                "lastUsedTime": rfc3339(self.last_used_at) if self.last_used_at else ""}


@dataclass(frozen=True)
class Ceremony:
    token_hash: str
    purpose: str
    user_id: str  # signup: who registers; signin: the named user, or "" for any discoverable credential
    challenge: str  # base64url
