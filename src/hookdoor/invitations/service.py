"""Invitations: what saving one implies, which invitation a code is, using one at sign-up, sending one.

A sign-up names its invitation by code (Casdoor's ``invitationCode``); the code is looked for among
the invitations of the application's organization made for that application (or for "All"). An
invitation admits ``quota`` sign-ups: each one that uses it counts itself with a compare-and-set
on the stored count (``repository.count_use``), so that two sign-ups racing for the last place
cannot both have it. A pattern code admits each code it matches once.

The code is a credential (anyone holding it may sign up where sign-up needs one; Casdoor masks it in
get-invitation-info): it is a secret field of the kind, masked in every event and shown only to
the organization's administrators, and it is left out of recorded URIs and bodies
(``events/recorder.CREDENTIAL_PARAMS``: ``code``, ``defaultCode``, ``invitationCode``).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hookdoor.api.context import ApiContext
from hookdoor.db.types import parse_rfc3339, rfc3339, utcnow
from hookdoor.errors import BadRequest, Conflict, Forbidden, HookdoorError, NotFound
from hookdoor.identity.registry import GLOBAL_OWNER, kind
from hookdoor.identity.repository import ListQuery, ObjectRepository
from hookdoor.identity.schemas import EMAIL_PATTERN
from hookdoor.identity.service import parse_id
from hookdoor.invitations.repository import InvitationStore
from hookdoor.invitations.schemas import (
    ACTIVE,
    EVERY_APPLICATION,
    code_matches,
    compiled,
    is_pattern,
    masked_info,
    used_code_hash,
)
from hookdoor.messaging.schemas import EMAIL, provider_id
from hookdoor.messaging.service import application_provider, no_provider, send_email
from hookdoor.oauth.service import issuer_of_request
from hookdoor.verification.schemas import text_field

INVITATIONS = kind("invitation")
APPLICATIONS = kind("application")
ORGANIZATIONS = kind("organization")
USED_HASHES = "usedCodeHashes"  # a hidden field: the codes a pattern invitation has admitted
INVALID_CODE = "invitation code is invalid"
COUNT_TRIES = 5  # compare-and-set attempts before a sign-up gives up on a busy invitation
MAX_RECEIVERS = 100
CODE_ALPHABET = string.ascii_lowercase + string.digits
MADE_CODE_LENGTH = 16
PROVIDER_RULE = "Invitation"  # Casdoor's GetEmailProvider("Invitation")
DEFAULT_TITLE = "You are invited to {organization}"
DEFAULT_CONTENT = ("You are invited to join {organization}. Sign up here: %link\n\n"
                   "Your invitation code is %code.")


# ---- what saving an invitation implies (declared with the kind in identity/registry.py) -----------

async def check_new_invitation(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    _normalised(data)
    data["usedCount"] = 0
    data[USED_HASHES] = []
    return {}


async def check_updated_invitation(context: ApiContext, current: dict[str, Any],
                                   data: dict[str, Any]) -> dict[str, Any]:
    """The count and the codes used are the server's: taken from the row as committed, locked until
    this change commits, so that a sign-up counted meanwhile is not written over."""
    _normalised(data)
    stored = await InvitationStore(context.db).locked(current["owner"], current["name"]) or current
    data["usedCount"] = int(stored.get("usedCount") or 0)
    data[USED_HASHES] = list(stored.get(USED_HASHES) or [])
    return {}


def _normalised(data: dict[str, Any]) -> None:
    """Casdoor's AddInvitation/UpdateInvitation checks: the code compiles, isRegexp is what the code
    is, the default code matches it. Unset state and application mean Casdoor's defaults."""
    code = data.get("code") or ""
    if not code:  # one made here, as Casdoor's console makes one for a new invitation
        code = data["code"] = "".join(secrets.choice(CODE_ALPHABET) for _ in range(MADE_CODE_LENGTH))
    try:
        pattern = compiled(code)
    except ValueError as exc:
        raise BadRequest(f"invalid field code: {exc}") from None
    data["isRegexp"] = is_pattern(code)
    if not data.get("defaultCode") and not data["isRegexp"]:
        data["defaultCode"] = code
    if pattern.search(data.get("defaultCode") or "") is None:
        raise BadRequest("invalid field defaultCode: must be a code the code matches (the one links carry)")
    data["state"] = data.get("state") or ACTIVE
    data["application"] = data.get("application") or EVERY_APPLICATION
    if data.get("email") and not EMAIL_PATTERN.match(data["email"]):
        raise BadRequest("invalid field email: is not an email address")


# ---- which invitation a code is, and whether it admits a sign-up ---------------------------------

def refusal(invitation: Mapping[str, Any], code: str, secret_key: str) -> HookdoorError | None:
    """Why ``invitation`` admits no sign-up with ``code`` now (None: it does)."""
    name = f"{invitation.get('owner')}/{invitation.get('name')}"
    if invitation.get("state") != ACTIVE:
        return Forbidden(f"invitation code suspended: invitation {name} is {invitation.get('state') or 'not active'}")
    expires = parse_rfc3339(str(invitation.get("expireTime") or ""))
    if expires is not None and expires <= utcnow():
        return Forbidden(f"invitation code expired: invitation {name} admitted sign-ups until {rfc3339(expires)}")
    used, quota = int(invitation.get("usedCount") or 0), int(invitation.get("quota") or 0)
    if used >= quota:
        return Conflict(f"invitation code used up: invitation {name} has admitted {used} of its {quota} sign-ups")
    if invitation.get("isRegexp") and used_code_hash(secret_key, invitation, code) in (invitation.get(USED_HASHES)
                                                                                       or []):
        return Conflict("invitation code already used: each code of this invitation admits one sign-up")
    return None


def for_application(invitation: Mapping[str, Any], application: Mapping[str, Any]) -> bool:
    return invitation.get("application") in (application.get("name"), EVERY_APPLICATION)


def _identity_refusal(invitation: Mapping[str, Any], username: str, email: str, phone: str) -> BadRequest | None:
    """An invitation made out to a username, email or phone admits that one only. Casdoor checks this
    only where the application's signup item is required; here always, or the restriction would be
    the form's choice."""
    for field, given in (("username", username), ("email", email), ("phone", phone)):
        wanted = str(invitation.get(field) or "")
        if wanted and wanted.lower() != given.lower():
            return BadRequest(f"invalid field {field}: this invitation code is for the {field} {wanted!r}")
    return None


@dataclass
class InvitationUse:
    """An invitation a sign-up may use: ``spend`` counts the use and marks the new user."""

    context: ApiContext
    invitation: dict[str, Any]
    code: str

    async def spend(self, user: dict[str, Any]) -> None:
        store, seen = InvitationStore(self.context.db), self.invitation
        for _ in range(COUNT_TRIES):
            if (refused := refusal(seen, self.code, self.context.services.secret_key)) is not None:
                raise refused
            if await store.count_use(seen, self._counted(seen)):
                self._mark(user)
                return
            fresh = await store.get(seen["owner"], seen["name"])  # another sign-up counted first
            if fresh is None:
                raise BadRequest(INVALID_CODE)
            seen = fresh
        raise Conflict("the invitation is being used by other sign-ups right now; try again")

    def _counted(self, seen: dict[str, Any]) -> dict[str, Any]:
        counted = {**seen, "usedCount": int(seen.get("usedCount") or 0) + 1, "updatedTime": rfc3339(utcnow())}
        if seen.get("isRegexp"):
            secret_key = self.context.services.secret_key
            counted[USED_HASHES] = [*(seen.get(USED_HASHES) or []), used_code_hash(secret_key, seen, self.code)]
        return counted

    def _mark(self, user: dict[str, Any]) -> None:
        """Casdoor's user fields: the invitation's name (never its code) and its sign-up group."""
        user["invitation"] = self.invitation["name"]
        group = str(self.invitation.get("signupGroup") or "")
        if group:
            user["groups"] = [group if "/" in group else f"{user['owner']}/{group}"]


class Invitations:
    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.store = InvitationStore(context.db)

    @property
    def secret_key(self) -> str:
        return self.context.services.secret_key

    async def find(self, application: Mapping[str, Any], code: str,
                   identity: tuple[str, str, str] | None = None) -> dict[str, Any]:
        """The invitation ``code`` is for ``application``, admitting a sign-up (by ``identity``: username,
        email, phone, when given); else the first reason one that matched gave (Casdoor's
        CheckInvitationCode), else "invalid"."""
        first_refusal: HookdoorError | None = None
        for invitation in await self.store.of_organization(str(application.get("organization") or "")):
            if not for_application(invitation, application) or not code_matches(invitation, code):
                continue
            refused = refusal(invitation, code, self.secret_key) or (
                _identity_refusal(invitation, *identity) if identity else None)
            if refused is None:
                return invitation
            first_refusal = first_refusal or refused
        raise first_refusal or BadRequest(INVALID_CODE)

    async def for_signup(self, application: Mapping[str, Any], body: Mapping[str, Any],
                         username: str, email: str) -> InvitationUse | None:
        code = text_field(body, "invitationCode", max_length=100)
        if not code:
            if _signup_item_required(application, "Invitation code"):
                raise BadRequest(f"invalid field invitationCode: application {application.get('name')!r} "
                                 "takes sign-ups with an invitation code only")
            return None
        invitation = await self.find(application, code, (username, email, text_field(body, "phone", max_length=100)))
        return InvitationUse(self.context, invitation, code)

    # ---- the routes --------------------------------------------------------------------------

    async def info(self, code: str, application_id: str) -> dict[str, Any]:
        """get-invitation-info: for anyone holding a code, the invitation it is, masked."""
        application = await self._application(application_id)
        self.context.action.concerns(organization=str(application.get("organization") or ""))
        if not code:
            raise BadRequest("invalid parameter code: the invitation code is required")
        invitation = await self.find(application, code)
        self.context.action.concerns(obj={"invitation": _id(invitation)})
        return INVITATIONS.mask(masked_info(invitation), may_manage=False)

    async def verify(self, invitation_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """verify-invitation: whether an invitation admits sign-ups now, for its administrators. Casdoor's
        route is a stub that always fails; here it answers the invitation and its places left, or the
        reason it admits nobody."""
        invitation = await self.managed(invitation_id)
        if (refused := refusal(invitation, "", self.secret_key)) is not None:
            raise refused
        left = int(invitation.get("quota") or 0) - int(invitation.get("usedCount") or 0)
        return INVITATIONS.mask(invitation, may_manage=True), {"remaining": left}

    async def send(self, invitation_id: str, receivers: Any) -> list[str]:
        """send-invitation: the invitation's link and code, by email through its application's Email
        provider (the one whose rule is "Invitation" or serves every purpose)."""
        invitation = await self.managed(invitation_id)
        destinations = _receivers(receivers)
        organization = await ObjectRepository(self.context.db, ORGANIZATIONS).get(GLOBAL_OWNER, invitation["owner"])
        application = await self.signup_application(invitation)
        provider = await application_provider(self.context.db, application, EMAIL, PROVIDER_RULE)
        if provider is None:
            raise no_provider(application, EMAIL)
        display = str((organization or {}).get("displayName") or invitation["owner"])
        title, content = _message(provider, display)
        content = content.replace("%code", str(invitation.get("defaultCode") or "")).replace(
            "%link", self.link(invitation, application))
        self.context.action.concerns(obj={"invitation": _id(invitation), "receivers": destinations,
                                          "provider": provider_id(provider), "application": application["name"]})
        await send_email(self.context, provider, destinations, title, content, display)
        return destinations

    def link(self, invitation: Mapping[str, Any], application: Mapping[str, Any]) -> str:
        """The sign-up page with the code (Casdoor's GetInvitationLink, with the default code: a pattern
        is no code to sign up with)."""
        origin = issuer_of_request(self.context.request)
        code = quote(str(invitation.get("defaultCode") or ""), safe="")
        return f"{origin}/signup/{quote(str(application['name']), safe='')}?invitationCode={code}"

    async def console_link(self, invitation: Mapping[str, Any]) -> str:
        """The sign-up link an invitation's page offers to copy ("" while its organization has no
        application to sign up to)."""
        try:
            return self.link(invitation, await self.signup_application(invitation))
        except BadRequest:
            return ""

    async def signup_application(self, invitation: Mapping[str, Any]) -> dict[str, Any]:
        """The application an invitation signs up to: its own, else its organization's default one,
        else the organization's first."""
        applications = ObjectRepository(self.context.db, APPLICATIONS)
        owner = str(invitation.get("owner") or "")
        names = [str(invitation.get("application") or "")]
        organization = await ObjectRepository(self.context.db, ORGANIZATIONS).get(GLOBAL_OWNER, owner)
        names.append(str((organization or {}).get("defaultApplication") or ""))
        for name in names:
            found = await applications.get(GLOBAL_OWNER, name) if name and name != EVERY_APPLICATION else None
            if found is not None and found.get("organization") == owner:
                return found
        items, _ = await applications.list(ListQuery(equals={"organization": owner}, sort_field="createdTime",
                                                     sort_order="ascend", page=1, page_size=1))
        if not items:
            raise BadRequest(f"organization {owner!r} has no application to sign up to: add one first")
        return items[0]

    async def _application(self, application_id: str) -> dict[str, Any]:
        owner, name = parse_id(application_id) if "/" in application_id else (GLOBAL_OWNER, application_id)
        application = await ObjectRepository(self.context.db, APPLICATIONS).get(owner, name) if name else None
        if application is None:
            raise NotFound(f"application {application_id!r} does not exist")
        return application

    async def managed(self, invitation_id: str) -> dict[str, Any]:
        """The invitation, for an administrator of its organization (asked before looking it up, so
        that the answer tells nobody else what exists)."""
        owner, name = parse_id(invitation_id)
        principal = self.context.require_login()
        self.context.action.concerns(organization=owner)
        if not principal.manages(owner):
            raise Forbidden(f"you may not use the invitations of organization {owner!r}")
        invitation = await self.store.get(owner, name)
        if invitation is None:
            raise NotFound(f"invitation {invitation_id} does not exist")
        self.context.action.concerns(obj=INVITATIONS.mask(invitation, may_manage=False))
        return invitation


def _id(invitation: Mapping[str, Any]) -> str:
    return f"{invitation.get('owner')}/{invitation.get('name')}"


def _receivers(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise BadRequest("the body must be a JSON array of the email addresses to invite")
    if len(value) > MAX_RECEIVERS:
        raise BadRequest(f"at most {MAX_RECEIVERS} addresses at once")
    invalid = [str(v) for v in value if not isinstance(v, str) or not EMAIL_PATTERN.match(v.strip())]
    if invalid:
        raise BadRequest(f"not email addresses: {', '.join(invalid[:5])}")
    return list(dict.fromkeys(v.strip() for v in value))


def _message(provider: Mapping[str, Any], organization: str) -> tuple[str, str]:
    """Casdoor's invitation mail is the provider's ``metadata`` (with ``%code`` and ``%link``) under its
    ``title``; a provider without one sends Hookdoor's."""
    template = str(provider.get("metadata") or "")
    if "%link" in template or "%code" in template:
        return str(provider.get("title") or DEFAULT_TITLE.format(organization=organization)), template
    return DEFAULT_TITLE.format(organization=organization), DEFAULT_CONTENT.format(organization=organization)


def _signup_item_required(application: Mapping[str, Any], name: str) -> bool:
    for item in application.get("signupItems") or []:
        if isinstance(item, dict) and item.get("name") == name:
            return bool(item.get("visible", True)) and bool(item.get("required"))
    return False
