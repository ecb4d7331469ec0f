"""MFA's rules: setting up a factor (Casdoor's initiate, verify, enable), removing factors,
choosing the preferred one, and the second step of a sign-in.

Three factors: an authenticator app (TOTP), and codes sent to the account's own email address or
phone number (verification/ sends and checks them; purpose ``mfaSetup`` while setting up, ``mfaAuth``
at sign-in, each good once and only for that user).

Casdoor sends the TOTP secret to the browser at initiate and takes it back at verify and enable,
trusting what comes back, and enables an email or SMS factor without asking whether a code was ever
checked. Here the server keeps what it made and checked (``mfa_setups``): verify and enable must name
that same secret (TOTP) or address (email, SMS), and only a verified setup is enabled, so a factor is
on only once its user has shown they hold it. The secret lives in ``mfa_factors``, never in the user's
document; recovery codes are kept as SHA-256 hashes, each good once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pyotp
import segno

from hookdoor.api.context import ApiContext
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import BadRequest, Conflict, Forbidden, HookdoorError, NotAuthenticated, NotFound
from hookdoor.identity.registry import GLOBAL_OWNER, kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.mfa.repository import MfaRepository
from hookdoor.mfa.schemas import (
    ALL_TYPES,
    CHALLENGE_LIFETIME_SECONDS,
    CHALLENGE_MAX_FAILURES,
    CODE_TYPES,
    EMAIL,
    REQUIRED_RULE,
    SETUP_LIFETIME_SECONDS,
    SMS,
    SUPPORTED_TYPES,
    TOTP_PERIOD_SECONDS,
    TOTP_SKEW_STEPS,
    Challenge,
    Factors,
    MfaProps,
    Setup,
)
from hookdoor.verification.schemas import (
    EMAIL_TYPE,
    MFA_AUTH,
    MFA_SETUP,
    PHONE_TYPE,
    masked_email,
    masked_phone,
    normal_receiver,
)
from hookdoor.verification.service import Codes

USERS = kind("user")
ORGANIZATIONS = kind("organization")
MFA_RULES = ("", "Optional", "Prompt", REQUIRED_RULE)  # "": no rule (Casdoor's MfaItem default)
WRONG_PASSCODE = "totp passcode error"  # Casdoor's message
# Where an email or SMS factor's codes go: the account's own field, of this verification type.
CODE_FIELDS = {EMAIL: ("email", EMAIL_TYPE), SMS: ("phone", PHONE_TYPE)}


class SecondFactorRefused(HookdoorError):
    """A wrong passcode or recovery code at sign-in: counted, like a wrong password."""

    status_code = 401


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def user_id_of(user: Mapping[str, Any]) -> str:
    """The user's issued id, which survives a rename (older objects without one: owner/name)."""
    return user.get("id") or f"{user['owner']}/{user['name']}"


def supported_type(mfa_type: str) -> str:
    if not mfa_type:
        raise BadRequest("invalid field mfaType: is required ('app' for an authenticator app)")
    if mfa_type not in ALL_TYPES:
        raise BadRequest(f"invalid field mfaType: {mfa_type!r} is not one of {', '.join(ALL_TYPES)}")
    if mfa_type not in SUPPORTED_TYPES:
        raise BadRequest(f"invalid field mfaType: {mfa_type!r} factors are not available on this server "
                         f"(it checks {', '.join(SUPPORTED_TYPES)})")
    return mfa_type


def destination_of(user: Mapping[str, Any], mfa_type: str) -> str:
    """Where an email or SMS factor's codes go now: the account's own address or number, as codes
    are addressed (verification/)."""
    field, verification_type = CODE_FIELDS[mfa_type]
    return normal_receiver(verification_type, str(user.get(field) or ""), str(user.get("countryCode") or ""))


def masked_destination(user: Mapping[str, Any], mfa_type: str) -> str:
    own = str(user.get(CODE_FIELDS[mfa_type][0]) or "")
    return masked_email(own) if mfa_type == EMAIL else masked_phone(own)


def totp_step(secret: str, passcode: str, now: float) -> int | None:
    """The 30-second step whose passcode this is (the current one, or one either side), or None."""
    passcode = passcode.strip()
    if not (passcode.isdigit() and len(passcode) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_PERIOD_SECONDS)
    current = int(now // TOTP_PERIOD_SECONDS)
    for step in range(current - TOTP_SKEW_STEPS, current + TOTP_SKEW_STEPS + 1):
        if secrets.compare_digest(totp.at(step * TOTP_PERIOD_SECONDS), passcode):
            return step
    return None


def otpauth_url(secret: str, user: Mapping[str, Any], issuer: str) -> str:
    """What the authenticator app scans: the secret, the account (owner/name) and the issuer."""
    return pyotp.TOTP(secret, interval=TOTP_PERIOD_SECONDS).provisioning_uri(
        name=f"{user['owner']}/{user['name']}", issuer_name=issuer)


def qr_code(url: str) -> str:
    return segno.make(url, error="m").png_data_uri(scale=5, border=2)


def all_props(factors: Factors, remember_hours: int = 0,
              user: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Casdoor's GetAllMfaProps, masked: every type, whether it is on and preferred; no secret, and for
    an email or SMS factor of ``user``, where its codes go, masked (the page shows it)."""
    return [_props(factors, t, remember_hours, user).answer() for t in ALL_TYPES]


def _props(factors: Factors, mfa_type: str, remember_hours: int, user: Mapping[str, Any] | None) -> MfaProps:
    enabled = mfa_type in factors.enabled_types
    props = MfaProps(mfaType=mfa_type, enabled=enabled, isPreferred=enabled and factors.preferred == mfa_type,
                     mfaRememberInHours=remember_hours if enabled else 0)
    if enabled and user is not None and mfa_type in CODE_TYPES:
        props.secret = masked_destination(user, mfa_type)
        props.countryCode = str(user.get("countryCode") or "") if mfa_type == SMS else ""
    return props


def required_types(organization: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The factor types the organization's ``mfaItems`` mark ``Required``."""
    items = (organization or {}).get("mfaItems") or []
    return tuple(i.get("name", "") for i in items if isinstance(i, dict) and i.get("rule") == REQUIRED_RULE)


def needs_setup(organization: Mapping[str, Any] | None, factors: Factors) -> bool:
    """Casdoor's IsNeedPromptMfa: a Required factor the user has not set up. (A user's own mfaItems,
    which Casdoor lets override the organization's, are not read: a user could relax a rule with them.)"""
    return any(t not in factors.enabled_types for t in required_types(organization))


async def check_organization_mfa_items(context: Any, *args: dict[str, Any]) -> dict[str, Any]:
    """What saving an organization implies for MFA (declared with the kind): its ``mfaItems`` name
    known types and rules, and a Required rule names a factor users can set up here."""
    data = args[-1]
    items = data.get("mfaItems") or []
    if not isinstance(items, list):
        raise BadRequest("invalid field mfaItems: must be a list of {name, rule}")
    for item in items:
        name, rule = (item.get("name"), item.get("rule")) if isinstance(item, dict) else (None, None)
        if name not in ALL_TYPES or rule not in MFA_RULES:
            raise BadRequest(f"invalid field mfaItems: each item is {{name: one of {', '.join(ALL_TYPES)}, "
                             f"rule: Optional, Prompt or Required}}, not {item!r}")
        if rule == REQUIRED_RULE and name not in SUPPORTED_TYPES:
            raise BadRequest(f"invalid field mfaItems: {name!r} cannot be Required: users can set up only "
                             f"{', '.join(SUPPORTED_TYPES)} factors on this server")
    return {}


# ---- setting factors up, removing them -----------------------------------------------------------

class MfaSetup:
    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.users = ObjectRepository(context.db, USERS)
        self.repository = MfaRepository(context.db)

    async def _user(self, owner: str, name: str, *, managers_too: bool) -> dict[str, Any]:
        """The user the call is about, if the caller may act on them: themselves, or (``managers_too``)
        an administrator of their organization. Asked before the lookup, so the answer tells nobody who exists."""
        principal = self.context.require_login()
        if not owner or not name:
            raise BadRequest("invalid field owner/name: both are required")
        if not principal.is_user(owner, name) and not (managers_too and principal.manages(owner)):
            allowed = "yourself or, as an administrator, your organization's users" if managers_too else "yourself"
            raise Forbidden(f"you may not change the multi-factor authentication of {owner}/{name}: only {allowed}")
        user = await self.users.get(owner, name)
        if user is None:
            raise NotFound(f"user {owner}/{name} does not exist")
        self.context.action.concerns(subject=USERS.mask(user, may_manage=False))
        return user

    def _caller(self) -> dict[str, Any]:
        principal = self.context.require_login()
        if principal.kind != "user" or principal.user is None:
            raise Forbidden("this operation needs a signed-in user, not an application")
        self.context.action.concerns(subject=USERS.mask(principal.user, may_manage=False))
        return principal.user

    async def _organization(self, user: Mapping[str, Any]) -> dict[str, Any]:
        return await ObjectRepository(self.context.db, ORGANIZATIONS).get(GLOBAL_OWNER, user["owner"]) or {}

    async def initiate(self, owner: str, name: str, mfa_type: str) -> dict[str, Any]:
        """A new secret and recovery code, shown this once (the secret again only in the QR code)."""
        mfa_type = supported_type(mfa_type)
        user = await self._user(owner, name, managers_too=False)
        organization = await self._organization(user)
        issuer = organization.get("displayName") or organization.get("name") or "Hookdoor"
        remember = int(organization.get("mfaRememberInHours") or 0)
        recovery_code = str(uuid.uuid4())
        # An email or SMS factor has no secret: its address is known once mfa/setup/verify checks a code.
        secret = "" if mfa_type in CODE_TYPES else pyotp.random_base32(32)
        await self.repository.start_setup(Setup(user_id_of(user), mfa_type, secret, hash_code(recovery_code), False),
                                          SETUP_LIFETIME_SECONDS)
        if mfa_type in CODE_TYPES:
            return MfaProps(mfaType=mfa_type, recoveryCodes=[recovery_code], mfaRememberInHours=remember).answer()
        url = otpauth_url(secret, user, issuer)
        return MfaProps(mfaType=mfa_type, secret=secret, url=url, recoveryCodes=[recovery_code], qrCode=qr_code(url),
                        mfaRememberInHours=remember).answer()

    async def _pending(self, user: Mapping[str, Any], mfa_type: str, secret: str) -> Setup:
        if not secret:
            raise BadRequest("invalid field secret: totp secret is missing")
        setup = await self.repository.setup(user_id_of(user), mfa_type)
        if setup is None:
            raise BadRequest("no multi-factor setup under way (or it expired): call mfa/setup/initiate first")
        if not secrets.compare_digest(setup.secret, secret.strip()):
            raise BadRequest("invalid field secret: it is not the secret mfa/setup/initiate gave")
        return setup

    async def verify(self, mfa_type: str, passcode: str, secret: str, dest: str = "", country_code: str = "") -> None:
        """The user holds the factor: the authenticator's passcode is right, or the code sent (purpose
        mfaSetup) to the address or number ``dest`` is."""
        if not mfa_type or not passcode:
            raise BadRequest("missing auth type or passcode")
        mfa_type = supported_type(mfa_type)
        user = self._caller()
        if mfa_type in CODE_TYPES:
            setup = await self._pending_setup(user, mfa_type)
            receiver = await self._code_destination(user, mfa_type, dest, country_code)
            await Codes(self.context).check(receiver, passcode, spend=True, purpose=MFA_SETUP, user=user)
            await self.repository.mark_verified(setup, receiver)
            return
        setup = await self._pending(user, mfa_type, secret)
        if totp_step(setup.secret, passcode, time.time()) is None:
            raise BadRequest(WRONG_PASSCODE)
        await self.repository.mark_verified(setup)

    async def _pending_setup(self, user: Mapping[str, Any], mfa_type: str) -> Setup:
        setup = await self.repository.setup(user_id_of(user), mfa_type)
        if setup is None:
            raise BadRequest("no multi-factor setup under way (or it expired): call mfa/setup/initiate first")
        return setup

    async def _code_destination(self, user: Mapping[str, Any], mfa_type: str, dest: str, country_code: str) -> str:
        """Where an email or SMS factor's codes will go: the account's own address or number; only an
        account without one takes ``dest`` (which enable then makes its own, as Casdoor does)."""
        field, verification_type = CODE_FIELDS[mfa_type]
        own = destination_of(user, mfa_type)
        given = normal_receiver(verification_type, dest, country_code) if dest else ""
        if own:
            if given and given != own:
                raise BadRequest(f"invalid field dest: this factor's codes go to your account's {field} "
                                 f"({masked_destination(user, mfa_type)}); change your {field} first "
                                 "(reset-email-or-phone) to use another")
            return own
        if not given:
            raise BadRequest(f"invalid field dest: destination is missing (your account has no {field} yet)")
        if verification_type == EMAIL_TYPE and "@" not in given:
            raise BadRequest(f"invalid field dest: {dest!r} is not an email address")
        if await self.users.held_by_another(field, given, user["owner"], user["name"]):
            raise Conflict(f"{field.capitalize()} already exists")
        return given

    async def enable(self, owner: str, name: str, mfa_type: str, secret: str, recovery_code: str,
                     dest: str = "", country_code: str = "") -> None:
        mfa_type = supported_type(mfa_type)
        user = await self._user(owner, name, managers_too=False)
        if mfa_type in CODE_TYPES:
            setup = await self._pending_setup(user, mfa_type)
        else:
            setup = await self._pending(user, mfa_type, secret)
        if not recovery_code:
            raise BadRequest("invalid field recoveryCodes: recovery codes is missing")
        if not setup.verified:
            raise BadRequest("the passcode was not verified yet: call mfa/setup/verify first")
        if not secrets.compare_digest(setup.recovery_code_hash, hash_code(recovery_code)):
            raise BadRequest("invalid field recoveryCodes: it is not the recovery code mfa/setup/initiate gave")
        changes = await self._destination_changes(user, setup, dest, country_code) if mfa_type in CODE_TYPES else {}
        factors = await self.repository.factors(user_id_of(user), for_update=True)
        enabled = replace(factors, **_turned_on(setup),
                          recovery_code_hashes=(*factors.recovery_code_hashes, setup.recovery_code_hash),
                          preferred=factors.preferred or mfa_type)
        await self.repository.save_factors(enabled, user["owner"], user["name"])
        await self.repository.finish_setup(setup)
        await self._mirror(user, enabled, changes)

    async def _destination_changes(self, user: Mapping[str, Any], setup: Setup, dest: str,
                                   country_code: str) -> dict[str, Any]:
        """What enabling an email or SMS factor changes in the account: the address or number its code
        went to becomes the account's own where it had none, and an email is then verified."""
        field, verification_type = CODE_FIELDS[setup.mfa_type]
        if dest and normal_receiver(verification_type, dest, country_code) != setup.secret:
            raise BadRequest("invalid field dest: it is not where mfa/setup/verify checked a code")
        own = destination_of(user, setup.mfa_type)
        if own and own != setup.secret:
            raise BadRequest(f"your account's {field} changed since its code was checked: set the factor up again")
        if not own and await self.users.held_by_another(field, setup.secret, user["owner"], user["name"]):
            raise Conflict(f"{field.capitalize()} already exists")
        changes: dict[str, Any] = {} if own else {field: setup.secret}
        return {**changes, "emailVerified": True} if setup.mfa_type == EMAIL else changes

    async def delete(self, owner: str, name: str) -> list[dict[str, Any]]:
        """Every factor and recovery code removed (Casdoor's DisabledMultiFactorAuth)."""
        user = await self._user(owner, name, managers_too=True)
        await self.repository.forget_factors(user_id_of(user))
        await self._mirror(user, Factors(user_id=user_id_of(user)))
        return all_props(Factors(user_id=user_id_of(user)), user=user)

    async def set_preferred(self, owner: str, name: str, mfa_type: str) -> list[dict[str, Any]]:
        user = await self._user(owner, name, managers_too=True)
        factors = await self.repository.factors(user_id_of(user), for_update=True)
        if mfa_type not in factors.enabled_types:
            raise BadRequest(f"invalid field mfaType: {mfa_type!r} is not enabled for {owner}/{name}")
        chosen = replace(factors, preferred=mfa_type)
        await self.repository.save_factors(chosen, user["owner"], user["name"])
        await self._mirror(user, chosen)
        return all_props(chosen, user=user)

    async def _mirror(self, user: dict[str, Any], factors: Factors, changes: Mapping[str, Any] | None = None) -> None:
        """The user's document shows Casdoor's ``preferredMfaType``, ``mfaEmailEnabled`` and
        ``mfaPhoneEnabled`` (never a secret); mfa_factors decides."""
        shown = {**user, **(changes or {}), "preferredMfaType": factors.preferred if factors.is_enabled else "",
                 "mfaEmailEnabled": factors.email_enabled, "mfaPhoneEnabled": factors.phone_enabled,
                 "updatedTime": rfc3339(utcnow())}
        await self.users.replace(user["owner"], user["name"], shown)
        self.context.action.concerns(obj=USERS.mask(shown, may_manage=False))


def _turned_on(setup: Setup) -> dict[str, Any]:
    """The columns of ``mfa_factors`` a verified setup turns on."""
    if setup.mfa_type == EMAIL:
        return {"email_enabled": True}
    if setup.mfa_type == SMS:
        return {"phone_enabled": True}
    return {"totp_secret": setup.secret, "totp_last_step": 0}


# ---- the second step of a sign-in ----------------------------------------------------------------

@dataclass(frozen=True)
class Gate:
    """What a sign-in whose password was right still needs: nothing, the second factor (``token``
    for the browser, ``props`` the factors it may use), or a Required factor set up first."""

    next_mfa: bool = False
    setup_required: bool = False
    token: str = ""
    props: tuple[dict[str, Any], ...] = ()


class SecondFactor:
    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.repository = MfaRepository(context.db)

    async def gate(self, user: dict[str, Any], application: Mapping[str, Any]) -> Gate:
        """Casdoor's checkMfaEnable: a user with MFA on is asked for the second factor; one whom a
        Required rule lacks a factor is signed in to set it up (and gets no code meanwhile)."""
        factors = await self.repository.factors(user_id_of(user))
        organization = await ObjectRepository(self.context.db, ORGANIZATIONS).get(GLOBAL_OWNER, user["owner"])
        if needs_setup(organization, factors):
            return Gate(setup_required=True)
        if not factors.is_enabled:
            return Gate()
        token = secrets.token_urlsafe(32)
        await self.repository.open_challenge(
            Challenge(hash_code(token), user_id_of(user), user["owner"], user["name"], application["name"], 0),
            CHALLENGE_LIFETIME_SECONDS)
        remember = int((organization or {}).get("mfaRememberInHours") or 0)
        props = tuple(p for p in all_props(factors, remember, user) if p["enabled"])
        return Gate(next_mfa=True, token=token, props=props)

    async def complete(self, token: str, body: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The user and application of the sign-in this token awaits, once its passcode (or one of the
        user's recovery codes) is right. Wrong passcodes count against the account (not forgotten
        when the password is right again) and end the challenge after a few."""
        challenge, user = await awaited_sign_in(self.context, token)
        application = await ObjectRepository(self.context.db, kind("application")).get(GLOBAL_OWNER,
                                                                                        challenge.application)
        if application is None:
            raise NotAuthenticated("the sign-in awaiting a second factor is no longer valid: sign in again")
        account = f"{challenge.owner}/{challenge.name}#mfa"
        throttle = self.context.services.throttle
        await throttle.check(self.context.db, account, self.context.action.request["clientIp"])
        try:
            await self._check_factor(challenge, user, body)
        except SecondFactorRefused:
            self.context.write_even_if_failed(lambda db: self._count_failure(db, challenge, account))
            raise
        if not await self.repository.close_challenge(challenge.token_hash):
            raise NotAuthenticated("the sign-in awaiting a second factor ended: sign in again")
        return user, application

    async def _count_failure(self, db: Any, challenge: Challenge, account: str) -> None:
        await MfaRepository(db).count_failure(challenge.token_hash, CHALLENGE_MAX_FAILURES)
        await self.context.services.throttle.failed(db, account, self.context.action.request["clientIp"])

    async def _check_factor(self, challenge: Challenge, user: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        passcode, recovery_code = _text(body, "passcode"), _text(body, "recoveryCode")
        factors = await self.repository.factors(challenge.user_id, for_update=True)
        if passcode:
            mfa_type = _text(body, "mfaType") or factors.preferred
            if mfa_type not in factors.enabled_types:
                raise SecondFactorRefused("Invalid multi-factor authentication type")
            if mfa_type in CODE_TYPES:
                await self._check_sent_code(user, mfa_type, passcode)
                return
            step = totp_step(factors.totp_secret or "", passcode, time.time())
            if step is None or step <= factors.totp_last_step:
                # A passcode seen once is spent: one read over a shoulder does not sign in twice.
                raise SecondFactorRefused(WRONG_PASSCODE)
            await self.repository.save_factors(replace(factors, totp_last_step=step), challenge.owner, challenge.name)
        elif recovery_code:
            hashed = hash_code(recovery_code)
            if hashed not in factors.recovery_code_hashes:
                raise SecondFactorRefused("recovery code not found")
            remaining = tuple(h for h in factors.recovery_code_hashes if h != hashed)
            await self.repository.save_factors(replace(factors, recovery_code_hashes=remaining), challenge.owner,
                                               challenge.name)
        else:
            raise BadRequest("missing passcode or recovery code")

    async def _check_sent_code(self, user: Mapping[str, Any], mfa_type: str, passcode: str) -> None:
        """The code sent for this sign-in (purpose mfaAuth) to the account's own address or number."""
        try:
            await Codes(self.context).check(destination_of(user, mfa_type), passcode, spend=True, purpose=MFA_AUTH,
                                            user=user)
        except BadRequest as exc:  # wrong, expired, spent or never sent: a refused second factor
            raise SecondFactorRefused(exc.message) from exc

    async def factors_of(self, user: Mapping[str, Any]) -> Factors:
        return await self.repository.factors(user_id_of(user))


async def awaited_sign_in(context: Any, token: str) -> tuple[Challenge, dict[str, Any]]:
    """The sign-in this browser's MFA cookie names, and its user, while it awaits the second factor."""
    if not token:
        raise NotAuthenticated("no sign-in is awaiting a second factor in this browser: sign in with your "
                               "password first")
    challenge = await MfaRepository(context.db).challenge(hash_code(token))
    if challenge is None:
        raise NotAuthenticated("the sign-in awaiting a second factor expired or ended: sign in again")
    user = await ObjectRepository(context.db, USERS).get(challenge.owner, challenge.name)
    if user is None or user_id_of(user) != challenge.user_id:
        raise NotAuthenticated("the sign-in awaiting a second factor is no longer valid: sign in again")
    if user.get("isForbidden") or user.get("isDeleted"):
        raise Forbidden(f"user {challenge.owner}/{challenge.name} is forbidden to sign in")
    context.action.concerns(subject=USERS.mask(user, may_manage=False))
    return challenge, user


async def awaited_factors(context: Any, token: str) -> tuple[str, list[dict[str, Any]]]:
    """The application of the sign-in this token names and the factors it may finish with (the
    second-factor page's choices); nothing once that sign-in has ended."""
    try:
        challenge, user = await awaited_sign_in(context, token)
    except HookdoorError:
        return "", []
    factors = await MfaRepository(context.db).factors(challenge.user_id)
    return challenge.application, [p for p in all_props(factors, user=user) if p["enabled"]]


async def user_awaiting_second_factor(context: Any, verification_type: str) -> dict[str, Any]:
    """For send-verification-code's method mfaAuth: the user whose sign-in this browser began, if that
    user has an email (``verification_type`` email) or SMS (phone) factor to send a code for."""
    challenge, user = await awaited_sign_in(context, context.request.cookies.get(MFA_COOKIE, ""))
    mfa_type = EMAIL if verification_type == EMAIL_TYPE else SMS
    if mfa_type not in (await MfaRepository(context.db).factors(challenge.user_id)).enabled_types:
        raise BadRequest(f"invalid field type: {challenge.owner}/{challenge.name} has no {mfa_type} second factor")
    return user


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"invalid field {name}: must be a string")
    return value.strip()[:200]


def second_factor_given(body: Mapping[str, Any]) -> bool:
    """Is this /api/login call the second step (Casdoor's page sends the form again with a passcode)?"""
    return bool(body.get("passcode") or body.get("recoveryCode"))


SETUP_FIRST = ("your organization requires multi-factor authentication: set it up first "
               "(mfa/setup/initiate, or your account's security page)")


async def setup_pending(db: Any, user: Mapping[str, Any]) -> bool:
    """Does a Required rule of the user's organization name a factor they have not set up? Such a
    user has a session (to set it up) but no code or token for any application meanwhile."""
    organization = await ObjectRepository(db, ORGANIZATIONS).get(GLOBAL_OWNER, user["owner"])
    if not required_types(organization):
        return False
    return needs_setup(organization, await MfaRepository(db).factors(user_id_of(user)))


async def require_sign_in_complete(db: Any, user: Mapping[str, Any]) -> None:
    if await setup_pending(db, user):
        raise Forbidden(SETUP_FIRST)


async def password_grant_problem(db: Any, user: Mapping[str, Any]) -> str:
    """The OAuth password grant has no step for a second factor (Casdoor's skips it): a user with MFA
    on, or owing a Required one, gets no token that way."""
    if (await MfaRepository(db).factors(user_id_of(user))).is_enabled:
        return "this user signs in with a second factor, which the password grant cannot ask for: " \
               "use the authorization code flow"
    return SETUP_FIRST if await setup_pending(db, user) else ""


MFA_COOKIE = "hookdoor_mfa_sign_in"


def with_mfa_cookie(response: Any, token: str, settings: Any) -> Any:
    """The browser holds the sign-in awaiting its second factor (Lax, as the session cookie: the
    sign-in page of an authorization request posts it from this site)."""
    response.set_cookie(MFA_COOKIE, token, httponly=True, samesite="lax", secure=settings.cookie_secure,
                        max_age=CHALLENGE_LIFETIME_SECONDS, path="/")
    return response
