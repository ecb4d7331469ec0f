"""Account flows: sign-up, sign-in, sign-out, passwords and API keys."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any

from hookdoor.api.context import ApiContext
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import BadRequest, Conflict, Forbidden, NotAuthenticated, NotFound
from hookdoor.events.recorder import record
from hookdoor.identity import credentials
from hookdoor.identity.passwords import password_problem
from hookdoor.identity.principal import Principal
from hookdoor.identity.registry import GLOBAL_OWNER, kind
from hookdoor.identity.repository import ObjectRepository, StoredObject
from hookdoor.identity.schemas import EMAIL_PATTERN, NAME_PATTERN
from hookdoor.identity.service import MASKED
from hookdoor.oauth.service import (
    AuthorizationRefused,
    AuthorizationRequest,
    authorization_request,
    scopes_to_consent,
    token_signer,
)

USERS = kind("user")
APPLICATIONS = kind("application")
ORGANIZATIONS = kind("organization")
LOGIN_FAILED = "password or username is incorrect"


def _text(body: dict[str, Any], field: str, *, required: bool = False, max_length: int = 256) -> str:
    value = body.get(field, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BadRequest(f"invalid field {field}: must be a string")
    if required and not value:
        raise BadRequest(f"invalid field {field}: is required")
    if len(value) > max_length:
        raise BadRequest(f"invalid field {field}: longer than {max_length} characters")
    return value


async def hashed_password(context: ApiContext, password: str) -> str:
    if problem := password_problem(password):
        raise BadRequest(f"invalid field password: {problem}")
    return await context.services.passwords.hash(password)


def login_type_of(body: dict[str, Any]) -> str:
    """What a sign-in answers with (Casdoor's ``type``): a session, a code or a token."""
    login_type = _text(body, "type") or "login"
    if login_type not in ("login", "code", "token"):
        raise BadRequest("invalid field type: must be 'login', 'code' or 'token'")
    return login_type


# ---- what adding or updating a user implies (declared with the kind in identity/registry.py) -------

async def prepare_new_user(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    """A new user gets its subject id; a password given in the body is stored only as its hash."""
    data["id"] = str(uuid.uuid4())
    password = data.pop("password", "") or ""
    data["password"] = ""
    if not password:
        return {"password_hash": None}
    return {"password_hash": await hashed_password(context, password)}


async def imported_user_defaults(context: ApiContext, row: dict[str, Any]) -> dict[str, Any]:
    """Casdoor's defaults for an uploaded user: a normal user, shown by their name, registered by
    "Upload Users" from the uploader."""
    return {
        "type": "normal-user", "displayName": row.get("name", ""), "registerType": "Upload Users",
        "registerSource": context.principal.ref, **{k: v for k, v in row.items() if v not in ("", None)},
    }


async def prepare_updated_user(context: ApiContext, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    password = data.pop("password", "") or ""
    data["password"] = ""
    if password in ("", MASKED):
        return {}
    return {"password_hash": await hashed_password(context, password)}


class Accounts:
    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.users = ObjectRepository(context.db, USERS)
        self.applications = ObjectRepository(context.db, APPLICATIONS)

    async def application(self, name: str) -> dict[str, Any]:
        application = await self.applications.get(GLOBAL_OWNER, name)
        if application is None:
            raise NotFound(f"application {name!r} does not exist")
        return application

    def _note_subject(self, user: dict[str, Any]) -> None:
        self.context.action.concerns(subject=USERS.mask(user, may_manage=False))

    # ---- sign-up ------------------------------------------------------------------------------

    async def signup(self, body: dict[str, Any]) -> dict[str, Any]:
        application = await self.application(_text(body, "application", required=True))
        organization = _text(body, "organization") or application.get("organization", "")
        if organization != application.get("organization"):
            raise BadRequest(f"application {application['name']!r} does not belong to organization {organization!r}")
        if not application.get("enableSignUp"):
            raise Forbidden(f"application {application['name']!r} does not allow sign-up")
        username = _text(body, "username", required=True, max_length=100)
        if not NAME_PATTERN.match(username):
            raise BadRequest("invalid field username: must not contain '/', '?', '#', '%', '\\' or spaces")
        email = _text(body, "email")
        if email and not EMAIL_PATTERN.match(email):
            raise BadRequest("invalid field email: is not an email address")
        if await self.users.exists(organization, username):
            raise Conflict(f"user {organization}/{username} already exists")
        from hookdoor.invitations.service import Invitations  # invitations/ builds on identity/
        invitation = await Invitations(self.context).for_signup(application, body, username, email)
        password_hash = await hashed_password(self.context, _text(body, "password", required=True))
        from hookdoor.verification.service import Verifications
        verified = await Verifications(self.context).spend_signup_codes(application, body)
        user = self._new_user(body, organization, username, email, application["name"])
        if verified.get("email"):
            user["emailVerified"] = True
        if invitation is not None:
            await invitation.spend(user)  # last: the invitation's row stays locked until the commit
        await self.users.insert(user, {"password_hash": password_hash})
        if user.get("groups"):  # the invitation's sign-up group: enforcers see the new member
            await USERS.changed(self.context, None, user)
        self._note_subject(user)
        self.context.action.concerns(obj=USERS.mask(user, may_manage=False))
        await record(self.context.db, self.context.action.derived("new-user"), outcome="ok", status_code=200)
        return user

    @staticmethod
    def _new_user(body: dict[str, Any], organization: str, username: str, email: str, app: str) -> dict[str, Any]:
        now = rfc3339(utcnow())
        return {
            "owner": organization, "name": username, "createdTime": now, "updatedTime": now,
            "id": str(uuid.uuid4()), "type": "normal-user", "password": "",
            "displayName": _text(body, "name") or _text(body, "displayName") or username,
            "email": email, "phone": _text(body, "phone", max_length=50),
            "countryCode": _text(body, "countryCode", max_length=10),
            "affiliation": _text(body, "affiliation"), "isAdmin": False, "isForbidden": False,
            "isDeleted": False, "signupApplication": app, "registerType": "Application Signup",
        }

    # ---- sign-in ------------------------------------------------------------------------------

    async def authenticate(self, organization: str, username: str, password: str) -> StoredObject:
        """The user whose password this is, or an error that says nothing about which part was wrong."""
        throttle = self.context.services.throttle
        account = f"{organization}/{username}"
        client_ip = self.context.action.request["clientIp"]
        self.context.action.concerns(subject={"owner": organization, "name": username})
        standing = await throttle.check(self.context.db, account, client_ip)
        stored = await self.users.get_stored(organization, username)
        if stored is not None:
            self._note_subject(stored.data)
        if not await self._password_matches(stored, password):
            # Counted even though the call fails, and so is rolled back.
            self.context.write_even_if_failed(lambda db: throttle.failed(db, account, client_ip))
            raise NotAuthenticated(LOGIN_FAILED)
        assert stored is not None  # verify() is False for a missing user
        if stored.data.get("isForbidden") or stored.data.get("isDeleted"):
            raise Forbidden(f"user {account} is forbidden to sign in")
        await throttle.succeeded(self.context.db, account, standing)
        return stored

    async def _password_matches(self, stored: StoredObject | None, password: str) -> bool:
        """A user imported from LDAP signs in with the directory's password (bound as them, as Casdoor
        does); anyone else with the hash stored here."""
        if stored is not None and stored.data.get("ldap"):
            from hookdoor.sync.ldap import ldap_password_matches  # sync/ builds on identity/, not the reverse

            return await ldap_password_matches(self.context, stored.data, password)
        password_hash = stored.private.get("password_hash") if stored else None
        return await self.context.services.passwords.verify(password_hash, password)

    async def login(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        login_type = login_type_of(body)
        application = await self.application(_text(body, "application") or "app-built-in")
        organization = _text(body, "organization") or application.get("organization", "")
        if organization != application.get("organization"):
            raise BadRequest(f"application {application['name']!r} does not belong to organization {organization!r}")
        if application.get("enablePassword") is False:
            raise Forbidden(f"application {application['name']!r} does not allow password sign-in")
        username = _text(body, "username", required=True, max_length=320)
        code = _text(body, "code", max_length=20)
        if code and not _text(body, "password"):
            stored = await self._sign_in_with_code(application, organization, username, code)
            return login_type, {"user": stored.data, "application": application}
        await self._captcha_where_required(application, body, organization, username)
        if len(username) > 100:
            raise BadRequest("invalid field username: longer than 100 characters")
        stored = await self.authenticate(organization, username, _text(body, "password", required=True))
        return login_type, {"user": stored.data, "application": application}

    async def _sign_in_with_code(self, application: dict[str, Any], organization: str, username: str,
                                 code: str) -> StoredObject:
        """Casdoor's sign-in with a verification code (sent by send-verification-code, method login)."""
        from hookdoor.verification.service import Verifications, code_sign_in_allowed
        if not code_sign_in_allowed(application):
            raise Forbidden(f"application {application['name']!r} does not allow sign-in with a verification code")
        self.context.action.concerns(subject={"owner": organization, "name": username})
        stored = await Verifications(self.context).sign_in_with_code(organization, username, code)
        self._note_subject(stored.data)
        return stored

    async def _captcha_where_required(self, application: dict[str, Any], body: dict[str, Any], organization: str,
                                      username: str) -> None:
        """A captcha answer, where the application's captcha rule asks for one (Always; Dynamic once
        the account has failed to sign in)."""
        from hookdoor.identity.throttle import account_key
        from hookdoor.verification.schemas import CaptchaAnswer
        from hookdoor.verification.service import Captcha
        failed = await self.context.services.throttle.has_failures(self.context.db,
                                                                   account_key(f"{organization}/{username}"))
        await Captcha(self.context).require_if_asked(application, CaptchaAnswer.of(body), failed_before=failed)

    async def open_session(self, user: dict[str, Any], application: dict[str, Any]) -> credentials.NewSession:
        return await credentials.open_session(self.context.db, user, application["name"], self.context.settings)

    async def issue_token(self, user: dict[str, Any], application: dict[str, Any]) -> credentials.IssuedToken:
        return await credentials.issue_token(
            self.context.db, token_signer(self.context), application=application, user=user
        )

    async def issue_code(self, user: dict[str, Any], application: dict[str, Any], query: Mapping[str, str]) -> str:
        """A code for the user just signed in. Casdoor's sign-in page sends the authorization request
        in the query (clientId, redirectUri, scope, state, nonce, code_challenge): it is checked as
        /login/oauth/authorize checks it, and the code bound to it."""
        grant = credentials.CodeGrant(auth_time=int(time.time()))
        if query.get("clientId") or query.get("client_id"):
            grant = await self._code_grant(application, query)
        return await credentials.issue_code(
            self.context.db, application=application["name"], organization=user["owner"], user=user["name"],
            grant=grant,
        )

    async def consent_required(self, user: dict[str, Any], application: dict[str, Any],
                               query: Mapping[str, str]) -> bool:
        """Does the authorization request in the query ask for scopes the user has not granted yet?"""
        if not (query.get("clientId") or query.get("client_id")):
            return False
        auth = await self._checked_request(application, query)
        return bool(scopes_to_consent(user, auth.application, auth.scope, auth.prompt))

    async def _checked_request(self, application: dict[str, Any], query: Mapping[str, str]) -> AuthorizationRequest:
        auth = await authorization_request(self.context.db, query)
        try:
            auth.check()
        except AuthorizationRefused as exc:
            raise BadRequest(f"{exc.error}: {exc.description}") from None
        if auth.application["name"] != application["name"]:
            raise BadRequest(f"invalid parameter clientId: it is application {auth.application['name']!r}'s, "
                             f"not {application['name']!r}'s")
        return auth

    async def _code_grant(self, application: dict[str, Any], query: Mapping[str, str]) -> credentials.CodeGrant:
        auth = await self._checked_request(application, query)
        return credentials.CodeGrant(scope=auth.scope, nonce=auth.nonce, code_challenge=auth.code_challenge,
                                     redirect_uri=auth.redirect_uri, auth_time=int(time.time()))

    # ---- sign-out -----------------------------------------------------------------------------

    async def logout(self) -> str | None:
        """Ends the credential the caller came with: its session cookie, or its Bearer token."""
        principal = self.context.principal
        if principal.access_token_name:
            await credentials.revoke_token(self.context.db, principal.access_token_name)
        if principal.kind != "user":
            return None
        self._note_subject(principal.user or {})
        if principal.session_token_hash:
            await credentials.close_session(self.context.db, principal.session_token_hash)
        return principal.name

    async def sso_logout(self) -> None:
        principal = self._require_user()
        self._note_subject(principal.user or {})
        await credentials.close_all_sessions(self.context.db, principal.organization, principal.name)
        await credentials.revoke_user_tokens(self.context.db, principal.organization, principal.name)

    def _require_user(self) -> Principal:
        principal = self.context.require_login()
        if principal.kind != "user":
            raise Forbidden("this operation needs a signed-in user, not an application")
        return principal

    async def account(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        principal = self._require_user()
        user = principal.user or {}
        self._note_subject(user)
        organization = await ObjectRepository(self.context.db, ORGANIZATIONS).get(GLOBAL_OWNER, user["owner"])
        return USERS.mask(user, may_manage=True), organization

    # ---- passwords and keys -------------------------------------------------------------------

    async def _target_user(self, owner: str, name: str) -> StoredObject:
        stored = await self.users.get_stored(owner, name)
        if stored is None:
            raise NotFound(f"user {owner}/{name} does not exist")
        self._note_subject(stored.data)
        return stored

    async def set_password(self, owner: str, name: str, old_password: str, new_password: str) -> None:
        principal = self.context.require_login()
        is_self = principal.is_user(owner, name)
        if not is_self and not principal.manages(owner):
            # Asked before looking the user up, so the answer does not tell who exists.
            raise Forbidden(f"you may not change the password of {owner}/{name}")
        target = await self._target_user(owner, name)
        passwords = self.context.services.passwords
        if is_self and not await passwords.verify(target.private.get("password_hash"), old_password):
            raise BadRequest("invalid field oldPassword: the old password is wrong")
        password_hash = await hashed_password(self.context, new_password)
        user = {**target.data, "updatedTime": rfc3339(utcnow())}
        await self.users.replace(owner, name, user, {"password_hash": password_hash})
        # Other sign-ins of this user end; the caller's own session stays.
        await credentials.close_all_sessions(self.context.db, owner, name, keep=principal.session_token_hash)
        await credentials.revoke_user_tokens(self.context.db, owner, name)

    async def set_password_with_code(self, owner: str, name: str, code: str, new_password: str) -> None:
        """The forgotten-password flow: a code sent (method forget) and passed by verify-code, then spent
        here; no sign-in needed, and every sign-in of the user ends."""
        from hookdoor.verification.service import Verifications
        target = await self._target_user(owner, name)
        await Verifications(self.context).spend_verified_code(target.data, code)
        password_hash = await hashed_password(self.context, new_password)
        user = {**target.data, "updatedTime": rfc3339(utcnow())}
        await self.users.replace(owner, name, user, {"password_hash": password_hash})
        await credentials.close_all_sessions(self.context.db, owner, name)
        await credentials.revoke_user_tokens(self.context.db, owner, name)

    async def check_password(self, owner: str, name: str, password: str) -> None:
        principal = self.context.require_login()
        if not principal.manages(owner) and not principal.is_user(owner, name):
            raise Forbidden(f"you may not check the password of {owner}/{name}")
        await self.authenticate(owner, name, password)

    async def add_keys(self, owner: str, name: str) -> None:
        principal = self.context.require_login()
        if not principal.manages(owner) and not principal.is_user(owner, name):
            raise Forbidden(f"you may not create keys for {owner}/{name}")
        target = await self._target_user(owner, name)
        user = {**target.data, "accessKey": str(uuid.uuid4()), "accessSecret": secrets.token_hex(24),
                "updatedTime": rfc3339(utcnow())}
        await self.users.replace(owner, name, user)

    async def remove_from_group(self, owner: str, name: str, group: str) -> bool:
        principal = self.context.require_login()
        if not principal.manages(owner):
            raise Forbidden(f"you may not change the groups of {owner}/{name}")
        target = await self._target_user(owner, name)
        groups = list(target.data.get("groups") or [])
        group_id = group if "/" in group else f"{owner}/{group}"
        remaining = [g for g in groups if g not in (group_id, group)]
        if remaining == groups:
            return False
        user = {**target.data, "groups": remaining, "updatedTime": rfc3339(utcnow())}
        await self.users.replace(owner, name, user)
        await USERS.changed(self.context, target.data, user)
        self.context.action.concerns(obj=USERS.mask(user, may_manage=False))
        return True
