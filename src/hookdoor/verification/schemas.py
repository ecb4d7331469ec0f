"""What a verification request says (Casdoor's form.VerificationForm) and how its answers read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hookdoor.errors import BadRequest

EMAIL_TYPE, PHONE_TYPE = "email", "phone"
SIGNUP, LOGIN, RESET, FORGET, MFA_SETUP, MFA_AUTH = "signup", "login", "reset", "forget", "mfaSetup", "mfaAuth"
PURPOSES = (SIGNUP, LOGIN, RESET, FORGET, MFA_SETUP, MFA_AUTH)
PURPOSE_ALIASES = {"mfa": MFA_AUTH}
NO_CAPTCHA = "none"
DEFAULT_CAPTCHA = "Default"
CAPTCHA_CATEGORY = "Captcha"
FORGOT_PASSWORD_ITEM = "Forgot password?"
RESEND_SECONDS = 60

# Casdoor's messages (i18n "verification:..."): a wrong code and an expired one read differently.
NOT_SENT = "The verification code has not been sent yet!"
ALREADY_USED = "The verification code has already been used!"
WRONG_CODE = "Wrong verification code!"
TOO_MANY_TRIES = "The verification code was entered wrongly too many times: send a new one"
TURING_TEST_FAILED = "Turing test failed."
NO_SUCH_USER = "the user does not exist, please sign up first"


def expired_message(minutes: int) -> str:
    return f"You should verify your code in {minutes} min!"


def text_field(form: Mapping[str, Any], name: str, max_length: int = 320) -> str:
    """A text field of a form or body, stripped; not a string, or too long, is a clear error."""
    value = form.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"invalid field {name}: must be a string")
    if len(value) > max_length:
        raise BadRequest(f"invalid field {name}: longer than {max_length} characters")
    return value.strip()


@dataclass(frozen=True)
class CaptchaAnswer:
    type: str
    token: str  # the answer typed, for the Default captcha
    client_secret: str  # the captcha's id, for the Default captcha

    @classmethod
    def of(cls, form: Mapping[str, Any]) -> CaptchaAnswer:
        return cls(text_field(form, "captchaType") or NO_CAPTCHA, text_field(form, "captchaToken", 100),
                   text_field(form, "clientSecret", 200))


@dataclass(frozen=True)
class VerificationForm:
    dest: str
    type: str
    country_code: str
    application_id: str
    method: str
    check_user: str
    captcha: CaptchaAnswer

    @classmethod
    def of(cls, form: Mapping[str, Any]) -> VerificationForm:
        kind, dest = text_field(form, "type"), text_field(form, "dest")
        if kind not in (EMAIL_TYPE, PHONE_TYPE):
            raise BadRequest("invalid field type: must be 'email' or 'phone'")
        if not dest:
            raise BadRequest("invalid field dest: the email address or phone number is required")
        application_id = text_field(form, "applicationId", 201)
        if "/" not in application_id:
            raise BadRequest("invalid field applicationId: must be 'admin/<application>'")
        method = text_field(form, "method") or SIGNUP
        method = PURPOSE_ALIASES.get(method, method)
        if method not in PURPOSES:
            raise BadRequest(f"invalid field method: must be one of {', '.join(PURPOSES)}")
        return cls(dest=dest, type=kind, country_code=text_field(form, "countryCode", 10),
                   application_id=application_id, method=method, check_user=text_field(form, "checkUser", 100),
                   captcha=CaptchaAnswer.of(form))


def masked_email(email: str) -> str:
    """Casdoor's util.GetMaskedEmail: enough to recognise one's address, not to learn it."""
    local, at, domain = email.partition("@")
    if not at:
        return email
    shown = local[:1] + "***" + (local[-1:] if len(local) > 2 else "")
    return f"{shown}@{domain}"


def masked_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) > 7 else phone[:1] + "***"


def normal_receiver(kind: str, dest: str, country_code: str = "") -> str:
    """One spelling per destination, so that limits and codes match however it was typed."""
    if kind == EMAIL_TYPE:
        return dest.strip().lower()
    digits = "".join(c for c in dest if c.isdigit() or c == "+")
    if country_code and not digits.startswith("+") and country_code.startswith("+"):
        return country_code + digits.lstrip("0")
    return digits


def verification_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """Casdoor's VerificationRecord, without its code (only its hash is kept, and not shown)."""
    return {
        "owner": row["organization"], "name": row["id"], "createdTime": _rfc3339(row["created_at"]),
        "remoteAddr": row["remote_addr"], "type": row["type"], "user": row["user_id"], "provider": row["provider"],
        "receiver": row["receiver"], "code": "", "time": int(row["created_at"]), "isUsed": bool(row["used"]),
        "method": row["purpose"], "application": row["application"],
    }


def _rfc3339(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
