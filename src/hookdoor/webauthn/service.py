"""WebAuthn's rules, with py_webauthn: the relying party is this server (its id the public URL's
host, its origin the public URL), attestation "none" as Casdoor asks, a challenge good once for the
browser that asked for it, and a signature counter that must move on (a cloned authenticator's
replayed counter is refused)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import webauthn
from sqlalchemy import delete
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from hookdoor.api.context import ApiContext
from hookdoor.db.tables import webauthn_ceremonies
from hookdoor.db.types import utcnow
from hookdoor.errors import BadRequest, Forbidden, NotAuthenticated, NotFound
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ObjectRepository, application_of_user
from hookdoor.mfa.service import hash_code, user_id_of
from hookdoor.oauth.service import issuer_of
from hookdoor.webauthn.repository import WebAuthnRepository
from hookdoor.webauthn.schemas import (
    CEREMONY_LIFETIME_SECONDS,
    SIGNIN,
    SIGNUP,
    TIMEOUT_MS,
    Ceremony,
    Credential,
)

USERS = kind("user")
APPLICATIONS = kind("application")
NOT_BEGUN = "Please call WebAuthnSigninBegin first"  # Casdoor's message (for both ceremonies)
NO_SUCH_CREDENTIAL = "the passkey is not registered here (or was removed)"


class RelyingParty:
    """This server as WebAuthn sees it."""

    def __init__(self, context: ApiContext) -> None:
        self.origin = issuer_of(context)
        self.id = urlsplit(self.origin).hostname or "localhost"
        self.name = "Hookdoor"


def _options_answer(options: Any) -> dict[str, Any]:
    """go-webauthn's shape, which Casdoor's page expects: the options under ``publicKey``."""
    return {"publicKey": json.loads(webauthn.options_to_json(options))}


def _credential_id_of(credential: Mapping[str, Any]) -> str:
    raw = credential.get("rawId") or credential.get("id")
    if not isinstance(raw, str) or not raw:
        raise BadRequest("invalid field rawId: the credential's id (base64url) is required")
    try:
        return bytes_to_base64url(base64url_to_bytes(raw))
    except (ValueError, TypeError):
        raise BadRequest("invalid field rawId: not base64url") from None


class Passkeys:
    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.repository = WebAuthnRepository(context.db)

    # ---- the ceremonies' cookie-bound state -------------------------------------------------------

    async def _begin(self, purpose: str, user_id: str, challenge: bytes) -> str:
        token = secrets.token_urlsafe(32)
        await self.repository.begin(Ceremony(hash_code(token), purpose, user_id, bytes_to_base64url(challenge)),
                                    CEREMONY_LIFETIME_SECONDS)
        return token

    async def _take(self, token: str, purpose: str) -> Ceremony:
        """The ceremony this browser began; spent whatever the outcome (a failed answer rolls the
        call back, so its deletion is one of the writes kept even if the call fails)."""
        ceremony = await self.repository.take(hash_code(token), purpose) if token else None
        if ceremony is None:
            raise BadRequest(NOT_BEGUN)

        async def spend(db: Any) -> None:
            await db.execute(delete(webauthn_ceremonies).where(webauthn_ceremonies.c.token_hash == ceremony.token_hash))
        self.context.write_even_if_failed(spend)
        return ceremony

    def _signed_in_user(self) -> dict[str, Any]:
        principal = self.context.principal
        if principal.kind != "user" or principal.user is None:
            raise NotAuthenticated("Please login first")
        self.context.action.concerns(subject=USERS.mask(principal.user, may_manage=False))
        return principal.user

    # ---- registration ---------------------------------------------------------------------------

    async def signup_begin(self) -> tuple[dict[str, Any], str]:
        user = self._signed_in_user()
        rp = RelyingParty(self.context)
        existing = await self.repository.credentials_of(user_id_of(user))
        options = webauthn.generate_registration_options(
            rp_id=rp.id, rp_name=rp.name, user_id=user_id_of(user).encode(),
            user_name=f"{user['owner']}/{user['name']}",
            user_display_name=user.get("displayName") or user["name"], timeout=TIMEOUT_MS,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.PREFERRED),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(c.credential_id))
                                 for c in existing],
        )
        token = await self._begin(SIGNUP, user_id_of(user), options.challenge)
        return _options_answer(options), token

    async def signup_finish(self, token: str, credential: dict[str, Any]) -> None:
        user = self._signed_in_user()
        ceremony = await self._take(token, SIGNUP)
        if ceremony.user_id != user_id_of(user):
            raise Forbidden("this registration was begun by another user")
        rp = RelyingParty(self.context)
        try:
            verified = webauthn.verify_registration_response(
                credential=credential, expected_challenge=base64url_to_bytes(ceremony.challenge),
                expected_rp_id=rp.id, expected_origin=rp.origin)
        except WebAuthnException as exc:
            raise BadRequest(f"the passkey could not be registered: {exc}") from None
        credential_id = bytes_to_base64url(verified.credential_id)
        if await self.repository.credential(credential_id) is not None:
            raise BadRequest("this passkey is already registered")
        answer = credential.get("response")
        transports = answer.get("transports") if isinstance(answer, dict) else None
        transports = transports if isinstance(transports, list) else []
        await self.repository.add_credential(Credential(
            credential_id, user_id_of(user), user["owner"], user["name"],
            bytes_to_base64url(verified.credential_public_key), verified.sign_count,
            tuple(t for t in transports if isinstance(t, str))[:8], utcnow(), None))

    # ---- sign-in --------------------------------------------------------------------------------

    async def signin_begin(self, owner: str, name: str) -> tuple[dict[str, Any], str]:
        """For a named user, their credentials are allowed; for nobody named, any discoverable one."""
        rp = RelyingParty(self.context)
        user_id, allowed = "", []
        if name:
            user = await ObjectRepository(self.context.db, USERS).get(owner, name)
            credentials = await self.repository.credentials_of(user_id_of(user)) if user else []
            if not credentials:
                # One answer for "no such user" and "no passkey": it tells nobody who exists.
                raise BadRequest("Found no credentials for this user")
            self.context.action.concerns(subject=USERS.mask(user or {}, may_manage=False))
            user_id = credentials[0].user_id
            allowed = [PublicKeyCredentialDescriptor(id=base64url_to_bytes(c.credential_id)) for c in credentials]
        options = webauthn.generate_authentication_options(
            rp_id=rp.id, timeout=TIMEOUT_MS, allow_credentials=allowed,
            user_verification=UserVerificationRequirement.PREFERRED)
        return _options_answer(options), await self._begin(SIGNIN, user_id, options.challenge)

    async def signin_finish(self, token: str, credential: dict[str, Any]) -> dict[str, Any]:
        """The user whose passkey signed this browser's challenge."""
        ceremony = await self._take(token, SIGNIN)
        stored = await self.repository.credential(_credential_id_of(credential), for_update=True)
        if stored is None or (ceremony.user_id and stored.user_id != ceremony.user_id):
            raise NotAuthenticated(NO_SUCH_CREDENTIAL)
        rp = RelyingParty(self.context)
        try:
            verified = webauthn.verify_authentication_response(
                credential=credential, expected_challenge=base64url_to_bytes(ceremony.challenge),
                expected_rp_id=rp.id, expected_origin=rp.origin,
                credential_public_key=base64url_to_bytes(stored.public_key),
                credential_current_sign_count=stored.sign_count)
        except WebAuthnException as exc:
            raise NotAuthenticated(f"the passkey's answer was refused: {exc}") from None
        user = await ObjectRepository(self.context.db, USERS).get(stored.owner, stored.name)
        if user is None or user_id_of(user) != stored.user_id:
            raise NotAuthenticated(NO_SUCH_CREDENTIAL)
        self.context.action.concerns(subject=USERS.mask(user, may_manage=False))
        if user.get("isForbidden") or user.get("isDeleted"):
            raise Forbidden(f"user {user['owner']}/{user['name']} is forbidden to sign in")
        await self.repository.note_use(stored.credential_id, verified.new_sign_count)
        return user

    async def application_for(self, user: Mapping[str, Any], client_id: str, response_type: str) -> dict[str, Any]:
        """Casdoor's choice: the client named for a code, else the user's sign-up application, else their
        organization's default one, else its first."""
        applications = ObjectRepository(self.context.db, APPLICATIONS)
        if client_id and response_type == "code":
            found = await applications.find_by("clientId", client_id)
            application = found.data if found else None
        else:
            application = await application_of_user(self.context.db, user)
        if application is None or application.get("organization") != user["owner"]:
            raise BadRequest("Application does not exist (for this user's organization)")
        return application

    # ---- the account page ------------------------------------------------------------------------

    async def listed(self, user: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [c.listed() for c in await self.repository.credentials_of(user_id_of(user))]

    async def remove(self, credential_id: str) -> None:
        user = self._signed_in_user()
        if not await self.repository.remove_credential(user_id_of(user), credential_id):
            raise NotFound("no such passkey on your account")
