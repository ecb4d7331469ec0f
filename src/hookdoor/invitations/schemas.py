"""What an invitation is (Casdoor's object/invitation.go) and how its code matches.

A code is a pattern of Go's regular expressions, anchored at both ends (Casdoor's
``IsInvitationCodeMatch``). Patterns are an administrator's and the codes matched against them an
anonymous caller's, so they run on RE2 (google-re2: Go's syntax, linear time), never on Python's
backtracking ``re``: no pattern can make a sign-up spin.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import re2
from pydantic import Field, field_validator

from hookdoor.db.types import parse_rfc3339
from hookdoor.identity.schemas import CasdoorObject

ACTIVE, SUSPENDED = "Active", "Suspended"
STATES = (ACTIVE, SUSPENDED)
EVERY_APPLICATION = "All"
CODE_LENGTH = 100  # Casdoor's varchar(100)
# The characters Go's regexp.QuoteMeta escapes: a code holding one is a pattern (Casdoor's IsRegexp).
GO_METACHARACTERS = frozenset("\\.+*?()|[]{}^$")
MASKED = "***"


class Invitation(CasdoorObject):
    code: str = Field(default="", max_length=CODE_LENGTH)
    isRegexp: bool = False
    quota: int = Field(default=0, ge=0, le=1_000_000_000)
    usedCount: int = Field(default=0, ge=0)
    application: str = Field(default="", max_length=100)
    username: str = Field(default="", max_length=100)
    email: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=100)
    signupGroup: str = Field(default="", max_length=201)
    defaultCode: str = Field(default="", max_length=CODE_LENGTH)
    state: str = ""
    # Hookdoor's: after this moment (RFC 3339) the invitation admits nobody; empty for never.
    expireTime: str = Field(default="", max_length=40)

    @field_validator("state")
    @classmethod
    def _known_state(cls, state: str) -> str:
        if state and state not in STATES:
            raise ValueError(f"must be {' or '.join(map(repr, STATES))}")
        return state

    @field_validator("expireTime")
    @classmethod
    def _a_moment(cls, expire_time: str) -> str:
        if expire_time and parse_rfc3339(expire_time) is None:
            raise ValueError("must be an RFC 3339 time such as 2030-01-31T00:00:00Z")
        return expire_time


def is_pattern(code: str) -> bool:
    return any(c in GO_METACHARACTERS for c in code)


def compiled(code: str) -> re2._Regexp:
    """The code as an anchored RE2 pattern; ValueError when it is no valid expression."""
    pattern = code if code.startswith("^") else f"^{code}"
    pattern = pattern if pattern.endswith("$") else f"{pattern}$"
    try:
        return re2.compile(pattern)
    except re2.error as exc:
        raise ValueError(f"is not a valid regular expression ({exc})") from None


def code_matches(invitation: Mapping[str, Any], given: str) -> bool:
    code = str(invitation.get("code") or "")
    if not code or not given:
        return False
    if not invitation.get("isRegexp"):
        return hmac.compare_digest(code.encode(), given.encode())
    try:
        return compiled(code).search(given) is not None
    except ValueError:  # stored before the check existed: it matches nothing
        return False


def used_code_hash(secret_key: str, invitation: Mapping[str, Any], code: str) -> str:
    """How a pattern invitation remembers a code it admitted (each admits one sign-up): an HMAC under
    the server's key, so the stored list gives no code away."""
    message = f"{invitation.get('owner')}/{invitation.get('name')}:{code}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def masked_info(invitation: Mapping[str, Any]) -> dict[str, Any]:
    """What get-invitation-info tells anyone holding a code (Casdoor's GetMaskedInvitation): no code,
    no quota, no count, no group."""
    return {**invitation, "createdTime": "", "updatedTime": "", "code": MASKED, "defaultCode": MASKED,
            "isRegexp": False, "quota": -1, "usedCount": -1, "signupGroup": ""}
