"""Casdoor's MFA shapes: the factor types and the ``MfaProps`` objects its routes answer with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Casdoor's mfaType values (object/mfa.go), in the order GetAllMfaProps lists them.
SMS, EMAIL, TOTP, RADIUS, PUSH = "sms", "email", "app", "radius", "push"
ALL_TYPES = (SMS, EMAIL, TOTP, RADIUS, PUSH)
# The types this server can check: an authenticator app's passcodes, and codes sent to the account's
# own email or phone through the application's providers (verification/). RADIUS and push factors
# need a server to ask: until then they are refused by name, never half-enabled.
SUPPORTED_TYPES = (SMS, EMAIL, TOTP)
CODE_TYPES = (SMS, EMAIL)  # factors whose passcode is a verification code sent for the sign-in

# Casdoor's answers to a sign-in: the second factor is awaited, or an organization rule demands a
# factor the user has not set up yet (and they are signed in to set it up).
NEXT_MFA = "NextMfa"
REQUIRED_MFA = "RequiredMfa"
REQUIRED_RULE = "Required"

TOTP_PERIOD_SECONDS = 30
TOTP_SKEW_STEPS = 1  # Casdoor's Skew: the step before and after are good too (clock drift)
SETUP_LIFETIME_SECONDS = 30 * 60
CHALLENGE_LIFETIME_SECONDS = 5 * 60
CHALLENGE_MAX_FAILURES = 5


@dataclass
class MfaProps:
    """Casdoor's ``MfaProps``: what a factor is; ``secret`` and ``url`` only while setting it up."""

    mfaType: str
    enabled: bool = False
    isPreferred: bool = False
    secret: str = ""
    url: str = ""
    countryCode: str = ""
    recoveryCodes: list[str] = field(default_factory=list)
    mfaRememberInHours: int = 0
    qrCode: str = ""  # Hookdoor's addition: the otpauth URL as a PNG data URI, for pages without a QR library

    def answer(self) -> dict[str, Any]:
        """As Casdoor encodes it: ``secret``, ``countryCode``, ``url`` and ``recoveryCodes`` are left out when empty."""
        shown: dict[str, Any] = {"enabled": self.enabled, "isPreferred": self.isPreferred, "mfaType": self.mfaType}
        optional = {"secret": self.secret, "countryCode": self.countryCode, "url": self.url,
                    "recoveryCodes": self.recoveryCodes, "qrCode": self.qrCode}
        shown.update({k: v for k, v in optional.items() if v})
        shown["mfaRememberInHours"] = self.mfaRememberInHours
        return shown


@dataclass(frozen=True)
class Factors:
    """What ``mfa_factors`` holds for one user (nothing set: MFA is off)."""

    user_id: str
    totp_secret: str | None = None
    totp_last_step: int = 0
    recovery_code_hashes: tuple[str, ...] = ()
    preferred: str = ""
    email_enabled: bool = False
    phone_enabled: bool = False

    @property
    def enabled_types(self) -> tuple[str, ...]:
        """In Casdoor's order (sms, email, app)."""
        on = {SMS: self.phone_enabled, EMAIL: self.email_enabled, TOTP: bool(self.totp_secret)}
        return tuple(t for t in ALL_TYPES if on.get(t))

    @property
    def is_enabled(self) -> bool:
        """Casdoor's IsMfaEnabled: a preferred type is set (and here, it is one that exists)."""
        return self.preferred in self.enabled_types


@dataclass(frozen=True)
class Setup:
    """A factor being set up. ``secret``: the TOTP secret the server made; for an email or SMS factor,
    empty until mfa/setup/verify checks a code, then the address or number that code went to."""

    user_id: str
    mfa_type: str
    secret: str
    recovery_code_hash: str
    verified: bool


@dataclass(frozen=True)
class Challenge:
    token_hash: str
    user_id: str
    owner: str
    name: str
    application: str
    failures: int
