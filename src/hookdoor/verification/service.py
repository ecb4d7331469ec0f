"""Verification codes and captchas: sending a code, checking it, and what a checked code allows.

A code is six random digits, kept only as an HMAC under the server's key (a leaked table gives no
code), good for ``verification_code_seconds`` (10 minutes) and ``verification_code_tries`` wrong
tries; one is sent per destination per ``codeResendTimeout`` (60 s), and sends count against the
limits per destination and per caller (messaging/). The newest code sent to a destination is the
one checked, as in Casdoor. verify-code marks a code verified; the forget-password flow then spends
it with set-password. A captcha answer is checked once, right or wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from captcha.image import ImageCaptcha

from hookdoor.api.context import ApiContext
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import BadRequest, Conflict, Forbidden, NotFound, TooManyRequests
from hookdoor.events.ids import new_ulid
from hookdoor.identity.registry import GLOBAL_OWNER, kind
from hookdoor.identity.repository import ObjectRepository, StoredObject
from hookdoor.messaging import service as messaging
from hookdoor.messaging import transport
from hookdoor.messaging.schemas import EMAIL, SMS, SendFailed, provider_id
from hookdoor.verification.repository import DAY, Captchas, VerificationCodes
from hookdoor.verification.schemas import (
    ALREADY_USED,
    CAPTCHA_CATEGORY,
    DEFAULT_CAPTCHA,
    EMAIL_TYPE,
    FORGET,
    FORGOT_PASSWORD_ITEM,
    LOGIN,
    MFA_AUTH,
    MFA_SETUP,
    NO_CAPTCHA,
    NO_SUCH_USER,
    NOT_SENT,
    PHONE_TYPE,
    RESEND_SECONDS,
    RESET,
    TOO_MANY_TRIES,
    TURING_TEST_FAILED,
    WRONG_CODE,
    CaptchaAnswer,
    VerificationForm,
    expired_message,
    masked_email,
    masked_phone,
    normal_receiver,
    text_field,
    verification_record,
)

USERS = kind("user")
APPLICATIONS = kind("application")
ORGANIZATIONS = kind("organization")
PROVIDERS = kind("provider")
CAPTCHA_SECONDS = 300
CAPTCHA_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "0O1IL5S2Z8B")
CAPTCHA_LENGTH = 5
FRIENDLY_NAME = "%{user.friendlyName}"


def random_answer() -> str:
    """Letters and digits that read apart in a distorted image (no 0/O, 1/I/L, 5/S, 2/Z, 8/B)."""
    return "".join(secrets.choice(CAPTCHA_ALPHABET) for _ in range(CAPTCHA_LENGTH))


def new_code() -> str:
    return f"{secrets.randbelow(10 ** 6):06d}"


def code_hash(key: str, code_id: str, code: str) -> str:
    return hmac.new(key.encode(), f"{code_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _without_reset_link(content: str) -> str:
    start, end = content.find("<reset-link>"), content.find("</reset-link>")
    return content[:start] + content[end + len("</reset-link>"):] if 0 <= start < end else content


async def application_by_id(db: Any, application_id: str) -> dict[str, Any]:
    owner, _, name = application_id.partition("/")
    application = await ObjectRepository(db, APPLICATIONS).get(owner or GLOBAL_OWNER, name or owner)
    if application is None:
        raise NotFound(f"The application: {application_id} does not exist")
    return application


def _user_id(user: Mapping[str, Any] | None) -> str:
    return f"{user['owner']}/{user['name']}" if user else ""


class Codes:
    """Checking codes: the part every flow that takes a code shares."""

    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.codes = VerificationCodes(context.db)
        self.settings = context.settings

    def hash_of(self, code_id: str, code: str) -> str:
        return code_hash(self.context.services.secret_key, code_id, code)

    async def check(self, receiver: str, code: str, *, spend: bool, verified_only: bool = False,
                    purpose: str = "", user: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The newest code sent to ``receiver`` if ``code`` is it; ``spend`` uses it up, else it is marked
        verified (verify-code). ``verified_only``: a code verify-code has already passed (set-password).
        ``purpose`` and ``user``: a code sent for that purpose to that user only (a second factor: a
        code sent for a sign-up, or to another account's sign-in, does not count)."""
        now = time.time()
        row = await self.codes.latest(receiver, now - DAY)
        if row is None or (purpose and row["purpose"] != purpose) or (user and row["user_id"] != _user_id(user)):
            raise BadRequest(NOT_SENT)
        if row["used"] or (row["verified"] and not verified_only):
            raise BadRequest(ALREADY_USED)
        if row["expires_at"] < now:
            raise BadRequest(expired_message(max(1, self.settings.verification_code_seconds // 60)))
        if row["wrong_tries"] >= self.settings.verification_code_tries:
            raise TooManyRequests(TOO_MANY_TRIES, int(row["expires_at"] - now) + 1)
        if not code or not hmac.compare_digest(row["code_hash"], self.hash_of(row["id"], code)) or (
                verified_only and not row["verified"]):
            # Counted though the call fails and is rolled back.
            self.context.write_even_if_failed(lambda db: VerificationCodes(db).count_wrong(row["id"]))
            raise BadRequest(WRONG_CODE)
        claimed = await (self.codes.spend(row["id"]) if spend else self.codes.mark_verified(row["id"]))
        if not claimed:
            raise BadRequest(ALREADY_USED)
        return row


class Verifications:
    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.db = context.db
        self.users = ObjectRepository(context.db, USERS)
        self.codes = Codes(context)

    # ---- send-verification-code ----------------------------------------------------------------

    async def send_code(self, form: VerificationForm) -> None:
        application = await application_by_id(self.db, form.application_id)
        organization = application.get("organization") or ""
        if form.method == FORGET and not _forgot_password_allowed(application):
            raise Forbidden("The forgot password feature is disabled")
        self.context.action.concerns(organization=organization)
        await Captcha(self.context).require_if_asked(application, form.captcha)
        receiver = normal_receiver(form.type, form.dest, form.country_code)
        user = await self._user_for(form, organization, receiver)
        if form.method == MFA_AUTH and user is not None:
            receiver = second_factor_receiver(user, form)
        if user is not None:
            self.context.action.concerns(subject=USERS.mask(user, may_manage=False))
        category = EMAIL if form.type == EMAIL_TYPE else SMS
        provider = await messaging.application_provider(self.db, application, category, form.method)
        if provider is None:
            raise messaging.no_provider(application, category)
        await self._refuse_early_resend(application, receiver)
        code = new_code()
        if category == EMAIL:
            await self._email_code(provider, application, user, receiver, code, form.method)
        else:
            await messaging.send_sms(self.context, provider, [receiver], code)
        await self._remember(application, form.method, category, receiver, user, provider, code)
        self.context.action.concerns(obj={"type": form.type, "method": form.method, "receiver": receiver,
                                          "provider": provider_id(provider), "application": application["name"]})

    async def _user_for(self, form: VerificationForm, organization: str, receiver: str) -> dict[str, Any] | None:
        """Who the code is for: the account at that address (sign-in, forgotten password), the signed-in
        user (a new address for them, a second factor), or nobody yet (sign-up)."""
        if form.method in (LOGIN, FORGET):
            found = await self._user_by_receiver(organization, form.type, receiver, form.dest)
            if found is None or found.data.get("isDeleted"):
                raise NotFound(NO_SUCH_USER)
            if found.data.get("isForbidden"):
                raise Forbidden("The user is forbidden to sign in, please contact the administrator")
            return found.data
        if form.method == MFA_AUTH:
            # The sign-in awaiting its second factor, named by this browser's cookie (nobody is signed
            # in yet); mfa/ owns that cookie, and mfa/ builds on this module, hence the late import.
            from hookdoor.mfa.service import user_awaiting_second_factor
            return await user_awaiting_second_factor(self.context, form.type)
        if form.method in (RESET, MFA_SETUP):
            principal = self.context.require_login()
            return principal.user
        return None

    async def _user_by_receiver(self, organization: str, kind_: str, receiver: str, typed: str) -> StoredObject | None:
        field = "email" if kind_ == EMAIL_TYPE else "phone"
        for value in dict.fromkeys((typed, receiver)):
            found = await self.users.find_by(field, value, organization)
            if found is not None:
                return found
        return None

    async def _refuse_early_resend(self, application: Mapping[str, Any], receiver: str) -> None:
        timeout = application.get("codeResendTimeout")
        given = isinstance(timeout, int) and not isinstance(timeout, bool) and timeout > 0
        seconds = timeout if given else RESEND_SECONDS
        latest = await self.codes.codes.latest(receiver, time.time() - seconds)
        if latest is not None:
            wait = int(latest["created_at"] + seconds - time.time()) + 1
            raise TooManyRequests(f"you can only send one code in {seconds}s", max(wait, 1))

    async def _email_code(self, provider: dict[str, Any], application: Mapping[str, Any],
                          user: Mapping[str, Any] | None, receiver: str, code: str, purpose: str) -> None:
        smtp = messaging.smtp_provider(provider)
        friendly = (user or {}).get("displayName") or (user or {}).get("name") or "Hi"
        content = smtp.content.replace("%s", code, 1).replace(FRIENDLY_NAME, friendly, 1)
        if purpose == FORGET and user is not None:
            content = self._with_reset_link(content, application, user, receiver, code)
        content = _without_reset_link(content)
        organization = await ObjectRepository(self.db, ORGANIZATIONS).get(GLOBAL_OWNER,
                                                                           application.get("organization") or "")
        sender = (organization or {}).get("displayName") or application.get("organization") or "Hookdoor"
        await messaging.send_email(self.context, provider, [receiver], smtp.title, content, sender)

    def _with_reset_link(self, content: str, application: Mapping[str, Any], user: Mapping[str, Any],
                         receiver: str, code: str) -> str:
        """Casdoor's forget mail: ``%link`` inside ``<reset-link>`` is the page that sets the new password."""
        from hookdoor.oauth.service import issuer_of_request
        query = urlencode({"code": code, "username": user["name"], "dest": masked_email(receiver)})
        link = f"{issuer_of_request(self.context.request)}/forget/{application['name']}?{query}"
        return content.replace("%link", link).replace("<reset-link>", "").replace("</reset-link>", "")

    async def _remember(self, application: Mapping[str, Any], purpose: str, category: str, receiver: str,
                        user: Mapping[str, Any] | None, provider: Mapping[str, Any], code: str) -> None:
        now, code_id = time.time(), new_ulid()
        await self.codes.codes.add({
            "id": code_id, "organization": application.get("organization") or "", "application": application["name"],
            "purpose": purpose, "type": category, "receiver": receiver, "user_id": _user_id(user),
            "provider": provider_id(provider), "remote_addr": self.context.action.request.get("clientIp", ""),
            "code_hash": self.codes.hash_of(code_id, code), "created_at": now,
            "expires_at": now + self.context.settings.verification_code_seconds, "wrong_tries": 0,
            "verified": False, "used": False,
        })

    # ---- verify-code, reset-email-or-phone, get-email-and-phone, get-verifications --------------

    async def verify_code(self, body: Mapping[str, Any]) -> None:
        """Casdoor's AuthForm: ``organization``, ``username`` (the address or number the code went to)
        and ``code``. The code is marked verified, for set-password to spend (the forget flow)."""
        organization, dest = text_field(body, "organization"), text_field(body, "username")
        code = text_field(body, "code")
        if not organization or not dest:
            raise BadRequest("invalid field organization/username: both are required")
        kind_ = EMAIL_TYPE if "@" in dest else PHONE_TYPE
        receiver = normal_receiver(kind_, dest, text_field(body, "countryCode"))
        found = await self._user_by_receiver(organization, kind_, receiver, dest)
        if found is None:
            raise NotFound(f"The user: {organization}/{dest} doesn't exist")
        self.context.action.concerns(subject=USERS.mask(found.data, may_manage=False))
        await self.codes.check(receiver, code, spend=False)

    async def reset_email_or_phone(self, form: Mapping[str, Any]) -> None:
        principal = self.context.require_login()
        if principal.kind != "user" or principal.user is None:
            raise Forbidden("this operation needs a signed-in user, not an application")
        kind_, dest, code = text_field(form, "type"), text_field(form, "dest"), text_field(form, "code")
        if kind_ not in (EMAIL_TYPE, PHONE_TYPE) or not dest or not code:
            raise BadRequest("Missing parameter: type (email or phone), dest and code are required")
        user = principal.user
        self.context.action.concerns(subject=USERS.mask(user, may_manage=False))
        receiver = normal_receiver(kind_, dest, text_field(form, "countryCode") or str(user.get("countryCode") or ""))
        field = "email" if kind_ == EMAIL_TYPE else "phone"
        if await self.users.held_by_another(field, receiver, user["owner"], user["name"]):
            raise Conflict(f"{'Email' if kind_ == EMAIL_TYPE else 'Phone'} already exists")
        await self.codes.check(receiver, code, spend=True)
        changed = {**user, field: receiver, "updatedTime": rfc3339(utcnow())}
        if kind_ == EMAIL_TYPE:
            changed["emailVerified"] = True
        await self.users.replace(user["owner"], user["name"], changed)
        self.context.action.concerns(subject=USERS.mask(changed, may_manage=False),
                                     obj=USERS.mask(changed, may_manage=False))

    async def email_and_phone(self, organization: str, username: str) -> tuple[dict[str, Any], str]:
        """Casdoor's get-email-and-phone: where a forgotten password's code can go. Asked by the
        address or number itself, it is given back; asked by username, only masked."""
        found = await self._find_user(organization, username)
        if found is None:
            raise NotFound(f"The user: {organization}/{username} doesn't exist")
        user = found.data
        typed = username.strip()
        if user.get("email") and typed.lower() == str(user["email"]).lower():
            return {"name": user["name"], "email": user["email"], "phone": ""}, "email"
        if user.get("phone") and typed == user["phone"]:
            return {"name": user["name"], "email": "", "phone": user["phone"]}, "phone"
        return {"name": user["name"], "email": masked_email(user.get("email") or ""),
                "phone": masked_phone(user.get("phone") or "") if user.get("phone") else ""}, "username"

    async def _find_user(self, organization: str, username: str) -> StoredObject | None:
        typed = username.strip()
        found = await self.users.get_stored(organization, typed)
        for field, value in (("email", typed.lower()), ("email", typed), ("phone", typed)):
            found = found or await self.users.find_by(field, value, organization)
        return found

    async def list(self, owner: str, page: int | None, page_size: int | None) -> tuple[list[dict[str, Any]], int]:
        principal = self.context.require_login()
        if not principal.manages(principal.organization):
            raise Forbidden("verification records are for administrators")
        organization: str | None = principal.organization
        if principal.is_global_admin:
            organization = owner or None
        elif owner and owner != principal.organization:
            raise Forbidden(f"you may not read the verification records of organization {owner!r}")
        offset = (page - 1) * page_size if page and page_size else None
        rows, total = await self.codes.codes.list(organization, offset, page_size if page else None)
        return [verification_record(r) for r in rows], total

    # ---- what a code allows elsewhere: sign-in, sign-up, a forgotten password ----------------------

    async def sign_in_with_code(self, organization: str, username: str, code: str) -> StoredObject:
        """Casdoor's code sign-in: ``username`` is the address or number the code was sent to (or the
        user's name, whose email then is)."""
        found = await self._find_user(organization, username)
        if found is None or found.data.get("isDeleted"):
            raise BadRequest(WRONG_CODE if found is None else NO_SUCH_USER)
        self.context.action.concerns(subject=USERS.mask(found.data, may_manage=False))
        typed = username.strip()
        kind_ = PHONE_TYPE if found.data.get("phone") and typed == found.data["phone"] else EMAIL_TYPE
        receiver = normal_receiver(kind_, found.data.get("phone" if kind_ == PHONE_TYPE else "email") or typed)
        await self.codes.check(receiver, code, spend=True)
        if found.data.get("isForbidden"):
            raise Forbidden(f"user {organization}/{found.data['name']} is forbidden to sign in")
        return found

    async def spend_signup_codes(self, application: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, bool]:
        """The codes a sign-up brings (``emailCode``, ``phoneCode``), required where the application's
        signup item asks for verification; what they verified."""
        verified: dict[str, bool] = {}
        for field, code_field, kind_ in (("email", "emailCode", EMAIL_TYPE), ("phone", "phoneCode", PHONE_TYPE)):
            dest, code = text_field(body, field), text_field(body, code_field)
            if _signup_requires_code(application, field) and not (dest and code):
                raise BadRequest(f"invalid field {code_field}: a verified {field} is required to sign up "
                                 "(send-verification-code, method signup)")
            if dest and code:
                await self.codes.check(normal_receiver(kind_, dest, text_field(body, "countryCode")), code, spend=True)
                verified[field] = True
        return verified

    async def spend_verified_code(self, user: Mapping[str, Any], code: str) -> None:
        """set-password with a code: one verify-code passed for this user's email or phone."""
        receivers = (normal_receiver(EMAIL_TYPE, user.get("email") or ""),
                     normal_receiver(PHONE_TYPE, user.get("phone") or ""))
        for receiver in receivers:
            if receiver:
                row = await self.codes.codes.latest(receiver, time.time() - DAY)
                if row is not None and row["verified"] and not row["used"]:
                    await self.codes.check(receiver, code, spend=True, verified_only=True)
                    return
        raise BadRequest("invalid field code: verify the code sent to your email or phone first (verify-code)")


def second_factor_receiver(user: Mapping[str, Any], form: VerificationForm) -> str:
    """A sign-in's second-factor code goes to the account's own address or number only. The page names
    it as it was shown (masked, as Casdoor's does) or in full; anything else is refused, never sent."""
    field = "email" if form.type == EMAIL_TYPE else "phone"
    own = str(user.get(field) or "")
    receiver = normal_receiver(form.type, own, str(user.get("countryCode") or ""))
    shown = masked_email(own) if form.type == EMAIL_TYPE else masked_phone(own)
    if not own or form.dest not in (own, shown, receiver):
        raise BadRequest(f"invalid field dest: a second-factor code goes only to the account's own {field}"
                         + (f" ({shown})" if own else ", and it has none"))
    return receiver


def code_sign_in_allowed(application: Mapping[str, Any]) -> bool:
    """Casdoor's signin methods: "Verification code" must be among them where the application lists any."""
    methods = [m for m in application.get("signinMethods") or [] if isinstance(m, dict)]
    return not methods or any(m.get("name") == "Verification code" for m in methods)


def _forgot_password_allowed(application: Mapping[str, Any]) -> bool:
    """Casdoor refuses the forget flow unless the sign-in page shows "Forgot password?"; an application
    that lists no sign-in items shows the default page, which has it."""
    items = [i for i in application.get("signinItems") or [] if isinstance(i, dict)]
    if not items:
        return True
    return any(i.get("name") == FORGOT_PASSWORD_ITEM and i.get("visible") is not False for i in items)


def _signup_requires_code(application: Mapping[str, Any], field: str) -> bool:
    """Casdoor's signup items: "Email" or "Phone" with rule "Normal" (the default) asks for a code;
    "No verification" does not. An application that lists no item asks none."""
    for item in application.get("signupItems") or []:
        if isinstance(item, dict) and str(item.get("name", "")).lower() == field:
            return bool(item.get("visible", True)) and item.get("rule", "Normal") not in ("No verification", "None")
    return False


class Captcha:
    """Casdoor's captcha provider of type "Default": an image made here, its answer checked here."""

    def __init__(self, context: Any, new_answer: Callable[[], str] | None = None) -> None:
        self.context = context
        self.captchas = Captchas(context.db)
        self.new_answer = new_answer or random_answer

    async def provider_of(self, application: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
        """The application's captcha provider and the rule of its item (Always, Dynamic, Internet-Only, None)."""
        providers = ObjectRepository(self.context.db, PROVIDERS)
        for item in application.get("providers") or []:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
                continue
            provider = (await providers.get(application.get("organization") or "", item["name"])
                        or await providers.get(GLOBAL_OWNER, item["name"]))
            if provider is not None and provider.get("category") == CAPTCHA_CATEGORY:
                return provider, str(item.get("rule") or "None")
        return None, "None"

    async def new(self, provider: Mapping[str, Any]) -> dict[str, Any]:
        answer = self.new_answer()
        captcha_id = secrets.token_urlsafe(18)
        now = time.time()
        await self.captchas.add(_sha256(captcha_id), _sha256(answer), now + CAPTCHA_SECONDS, now)
        image = ImageCaptcha(width=200, height=70).generate(answer).getvalue()
        return {"owner": provider.get("owner", ""), "name": provider.get("name", ""), "type": DEFAULT_CAPTCHA,
                "captchaId": captcha_id, "captchaImage": base64.b64encode(image).decode()}

    async def verify(self, answer: CaptchaAnswer) -> bool:
        if answer.type != DEFAULT_CAPTCHA:
            raise BadRequest(f"Invalid captcha provider: only type {DEFAULT_CAPTCHA!r} is supported, "
                             f"not {answer.type!r}")
        if not answer.token or not answer.client_secret:
            raise BadRequest("Missing parameter: captchaToken (the answer) and clientSecret (the captchaId)")
        row = await self.captchas.take(_sha256(answer.client_secret))
        if row is None or row["expires_at"] < time.time():
            return False
        return hmac.compare_digest(row["answer_hash"], _sha256(answer.token.strip().upper()))

    async def required(self, application: Mapping[str, Any], *, failed_before: bool = False) -> bool:
        provider, rule = await self.provider_of(application)
        return provider is not None and (rule == "Always" or (rule == "Dynamic" and failed_before))

    async def require_if_asked(self, application: Mapping[str, Any], answer: CaptchaAnswer,
                               *, failed_before: bool = False) -> None:
        """A captcha where the application asks for one (or where the caller sent an answer anyway)."""
        if answer.type == NO_CAPTCHA and not await self.required(application, failed_before=failed_before):
            return
        provider, _ = await self.provider_of(application)
        if provider is None:
            return  # an answer sent to an application without captcha: nothing to check it against
        if answer.type != provider.get("type") or not await self.verify(answer):
            raise BadRequest(TURING_TEST_FAILED)


async def sign_in_captcha(context: Any, application: Mapping[str, Any], *,
                          failed_before: bool) -> dict[str, Any] | None:
    """The captcha a sign-in page shows, where the application requires one (a new one per page: each is
    answered once). Committed here, since a page view's transaction is otherwise rolled back."""
    captcha = Captcha(context)
    if not await captcha.required(application, failed_before=failed_before):
        return None
    provider, _ = await captcha.provider_of(application)
    if provider is None or provider.get("type") != DEFAULT_CAPTCHA:
        return None
    shown = await captcha.new(provider)
    await context.db.commit()
    return shown


# ---- verify-identification: a real-name check by an ID-verification provider ------------------------

IDV_CATEGORY = "ID Verification"
IDV_CUSTOM_HTTP = "Custom HTTP"


class Identification:
    """Casdoor's verify-identification: the user's ``idCardType``, ``idCard`` and ``realName`` checked by
    the provider; ``isVerified`` set when it says yes. Type "Custom HTTP": the three fields POSTed as
    JSON to its ``endpoint`` (HTTP Basic with ``clientId``/``clientSecret`` when set), which answers
    ``{"verified": true}``."""

    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.users = ObjectRepository(context.db, USERS)

    async def verify(self, owner: str, name: str, provider_name: str) -> str:
        principal = self.context.require_login()
        if not owner or not name:
            owner, name = principal.organization, principal.name
            if principal.kind != "user":
                raise BadRequest("invalid parameter owner/name: the user to verify is required")
        elif not principal.is_user(owner, name) and not principal.manages(owner):
            raise Forbidden(f"you may not verify the identification of {owner}/{name}")
        stored = await self.users.get_stored(owner, name)
        if stored is None:
            raise NotFound(f"The user: {owner}/{name} doesn't exist")
        user = stored.data
        self.context.action.concerns(subject=USERS.mask(user, may_manage=False))
        if not (user.get("idCard") and user.get("idCardType") and user.get("realName")):
            raise BadRequest("ID card information and real name are required (idCardType, idCard, realName)")
        if user.get("isVerified"):
            raise Conflict("User is already verified")
        provider = await self._provider(user, provider_name)
        self.context.action.concerns(obj={"provider": provider_id(provider)})
        if not await self._ask(provider, user):
            raise BadRequest(f"Identity verification failed: provider {provider_id(provider)} did not confirm it")
        await self.users.replace(owner, name, {**user, "isVerified": True, "updatedTime": rfc3339(utcnow())})
        return str(user["realName"])

    async def _provider(self, user: Mapping[str, Any], name: str) -> dict[str, Any]:
        providers = ObjectRepository(self.context.db, PROVIDERS)
        if name:
            provider = await providers.get(user["owner"], name) or await providers.get(GLOBAL_OWNER, name)
            if provider is None:
                raise NotFound(f"The provider: {name} does not exist")
            if provider.get("category") != IDV_CATEGORY:
                raise BadRequest(f"provider {provider_id(provider)} is not an ID Verification provider")
            return provider
        application = await ObjectRepository(self.context.db, APPLICATIONS).get(
            GLOBAL_OWNER, str(user.get("signupApplication") or ""))
        found = None
        if application is not None:
            found = await messaging.application_provider(self.context.db, application, IDV_CATEGORY)
        if found is None:
            raise BadRequest("No ID Verification provider configured: add one to the providers list of "
                             f"application {(application or {}).get('name', user.get('signupApplication') or '')!r}, "
                             "or name one with ?provider=")
        return found

    async def _ask(self, provider: Mapping[str, Any], user: Mapping[str, Any]) -> bool:
        if provider.get("type") != IDV_CUSTOM_HTTP:
            raise BadRequest(f"provider {provider_id(provider)} cannot verify identification: only type "
                             f"{IDV_CUSTOM_HTTP!r} is supported (got {provider.get('type')!r})")
        auth = None
        if provider.get("clientId"):
            auth = (str(provider["clientId"]), str(provider.get("clientSecret") or ""))
        body = {"idCardType": str(user["idCardType"]), "idCard": str(user["idCard"]), "realName": str(user["realName"])}
        status, answer = await transport.ask_http("ID verification", provider_id(provider),
                                                  self.context.request.app.state.target_policy,
                                                  str(provider.get("endpoint") or ""), body, auth)
        if not 200 <= status < 300:
            raise SendFailed(f"ID verification provider {provider_id(provider)} answered HTTP {status}")
        return answer.get("verified") is True
