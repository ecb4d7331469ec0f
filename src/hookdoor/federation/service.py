"""Sign-in through other providers: which provider an application offers, the sign-in that goes there
and comes back, the user it finds, links or creates, and unlinking.

A first sign-in links the provider's account (its ``sub``) to a user; later ones find the user by that
link alone. The link is kept by the server, not in the user's document, so that nobody can point their
account at someone else's upstream identity by editing a field.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from hookdoor.api.context import ApiContext
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import BadRequest, Conflict, Forbidden, NotAuthenticated, NotFound
from hookdoor.events.recorder import record
from hookdoor.federation.repository import PendingSignIn, PendingSignIns, ProviderLinks
from hookdoor.federation.schemas import LINK, SIGN_IN, ProviderItem, Upstream, UpstreamUser, is_sign_in_provider
from hookdoor.identity.registry import GLOBAL_OWNER, kind
from hookdoor.identity.repository import ObjectRepository, application_of_user
from hookdoor.identity.schemas import NAME_PATTERN
from hookdoor.saml.schemas import SamlUpstream, is_saml_provider
from hookdoor.webhooks.target_guard import TargetPolicy, TargetRefused, check_url_at_save

USERS = kind("user")
APPLICATIONS = kind("application")
PROVIDERS = kind("provider")
CALLBACK_PATH = "/api/callback"
URL_FIELDS = ("customAuthUrl", "customTokenUrl", "customUserInfoUrl")


# ---- what saving a provider implies -----------------------------------------------------------------

async def check_new_provider(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    """A provider to sign in with names three endpoints, each one the server may connect to."""
    if is_sign_in_provider(data):
        _check_endpoints(context.request.app.state.target_policy, data)
        _check_email_regex(data.get("emailRegex") or "")
        if not data.get("clientId"):
            raise BadRequest("invalid field clientId: the provider's client id is required to sign in with it")
    return {}


async def check_updated_provider(context: ApiContext, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return await check_new_provider(context, data)


def _check_endpoints(policy: TargetPolicy, data: dict[str, Any]) -> None:
    for field in URL_FIELDS:
        url = data.get(field) or ""
        if not url:
            raise BadRequest(f"invalid field {field}: a Custom OAuth provider needs its authorization, token "
                             "and userinfo URLs")
        try:
            check_url_at_save(url, policy)
        except (TargetRefused, ValueError) as exc:
            raise BadRequest(f"invalid field {field}: {exc}") from None


def _check_email_regex(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise BadRequest(f"invalid field emailRegex: {exc}") from None


# ---- an application's providers ------------------------------------------------------------------------

@dataclass(frozen=True)
class Offered:
    application: dict[str, Any]
    item: ProviderItem
    upstream: Upstream | SamlUpstream


async def offered(db: Any, application: dict[str, Any], provider_name: str) -> Offered:
    """The provider ``provider_name`` as ``application`` offers it: by name in the application's
    organization, else the shared one owned by "admin" (as the application's references resolve)."""
    item = ProviderItem.of(application, provider_name)
    if item is None:
        raise BadRequest(f"application {application['name']!r} offers no provider {provider_name!r}")
    providers = ObjectRepository(db, PROVIDERS)
    provider = (await providers.get(application.get("organization") or "", provider_name)
                or await providers.get(GLOBAL_OWNER, provider_name))
    if provider is None:
        raise NotFound(f"provider {provider_name!r} does not exist")
    upstream = SamlUpstream.of(provider) if is_saml_provider(provider) else Upstream.of(provider)
    return Offered(application, item, upstream)


async def sign_in_buttons(db: Any, application: dict[str, Any]) -> list[dict[str, str]]:
    """The providers the sign-in page shows for ``application``: those it lets users sign in with."""
    buttons = []
    for entry in application.get("providers") or []:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            continue
        try:
            found = await offered(db, application, name)
        except (BadRequest, NotFound):
            continue  # a captcha, an SMS provider, or one removed since: nothing to sign in with
        if found.item.can_sign_in:
            buttons.append({"name": name, "label": found.upstream.display_name})
    return buttons


async def application_named(db: Any, name: str) -> dict[str, Any]:
    application = await ObjectRepository(db, APPLICATIONS).get(GLOBAL_OWNER, name)
    if application is None:
        raise NotFound(f"application {name!r} does not exist")
    return application


# ---- going to the provider and coming back --------------------------------------------------------------

def callback_uri(issuer: str) -> str:
    """Where the provider sends the browser back: ``<origin>/api/callback`` (Casdoor's ``<origin>/callback``
    answers the same)."""
    return issuer.rstrip("/") + CALLBACK_PATH


@dataclass(frozen=True)
class Departure:
    state: str
    browser: str  # the cookie that binds the sign-in to this browser
    code_verifier: str


async def depart(db: Any, found: Offered, method: str, user_name: str, next_page: str, browser: str) -> Departure:
    """A sign-in on its way to the provider: its state and PKCE verifier kept for the way back."""
    departure = Departure(state=secrets.token_urlsafe(32), browser=browser or secrets.token_urlsafe(32),
                          code_verifier=secrets.token_urlsafe(64))
    pending = PendingSignIn(provider=found.upstream.id, application=found.application["name"], method=method,
                            user_name=user_name, code_verifier=departure.code_verifier, next=next_page)
    await PendingSignIns(db).add(departure.state, departure.browser, pending)
    return departure


@dataclass(frozen=True)
class Arrival:
    pending: PendingSignIn
    found: Offered


async def arrive(db: Any, state: str, browser: str) -> Arrival:
    """The sign-in a provider sent the browser back for. Its state is spent whatever happens next."""
    pending = await PendingSignIns(db).take(state, browser) if state else None
    if pending is None:
        raise BadRequest("invalid parameter state: this sign-in is unknown, already finished, expired, or was "
                         "started in another browser; start it again from the sign-in page")
    application = await application_named(db, pending.application)
    found = await offered(db, application, pending.provider.partition("/")[2])
    if found.upstream.id != pending.provider:
        raise BadRequest(f"provider {pending.provider} changed while signing in; start again")
    return Arrival(pending, found)


# ---- the user the provider's account is -------------------------------------------------------------

@dataclass(frozen=True)
class Landing:
    user: dict[str, Any]
    method: str
    next: str


class Federation:
    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.users = ObjectRepository(context.db, USERS)
        self.links = ProviderLinks(context.db)

    def _concerns(self, user: dict[str, Any], arrival: Arrival, upstream_user: UpstreamUser) -> None:
        shown = USERS.mask(user, may_manage=False)
        self.context.action.concerns(subject=shown, obj={
            "provider": arrival.found.upstream.id, "application": f"admin/{arrival.found.application['name']}",
            "method": arrival.pending.method, "providerUsername": upstream_user.username})

    async def land(self, arrival: Arrival, upstream_user: UpstreamUser) -> Landing:
        if arrival.pending.method == LINK:
            user = await self._link_signed_in_user(arrival, upstream_user)
        else:
            user = await self._signed_in_user(arrival, upstream_user)
        return Landing(user, arrival.pending.method, arrival.pending.next)

    async def _linked_user(self, organization: str, provider: str, subject: str) -> dict[str, Any] | None:
        user_id = await self.links.user_for(organization, provider, subject)
        if user_id is None:
            return None
        stored = await self.users.find_by("id", user_id, owner=organization)
        if stored is None:
            await self.links.remove_dead(organization, provider, subject)
            return None
        return stored.data

    async def _signed_in_user(self, arrival: Arrival, upstream_user: UpstreamUser) -> dict[str, Any]:
        found = arrival.found
        organization = found.application.get("organization") or ""
        if not found.item.can_sign_in:
            raise Forbidden(f"application {found.application['name']!r} does not let users sign in with "
                            f"provider {found.upstream.id}")
        user = await self._linked_user(organization, found.upstream.id, upstream_user.id)
        if user is None:
            user = await self._bound_user(organization, found.item, upstream_user) or await self._new_user(
                arrival, upstream_user)
            await self.links.add(organization, found.upstream.id, upstream_user.id, user["id"], upstream_user.username)
        self._concerns(user, arrival, upstream_user)
        if user.get("isForbidden") or user.get("isDeleted"):
            raise Forbidden(f"user {user['owner']}/{user['name']} is forbidden to sign in")
        return user

    async def _bound_user(self, organization: str, item: ProviderItem,
                          upstream_user: UpstreamUser) -> dict[str, Any] | None:
        """An existing user a first sign-in takes over, by the application's binding rule only. An
        email is matched only when the provider says it verified it."""
        for rule in item.binding_rule:
            stored = None
            if rule == "Email" and upstream_user.email and upstream_user.email_verified:
                stored = await self.users.find_by("email", upstream_user.email, owner=organization)
            elif rule == "Phone" and upstream_user.phone:
                stored = await self.users.find_by("phone", upstream_user.phone, owner=organization)
            elif rule == "Name" and upstream_user.username:
                stored = await self.users.get_stored(organization, upstream_user.username)
            if stored is not None:
                return stored.data
        return None

    async def _new_user(self, arrival: Arrival, upstream_user: UpstreamUser) -> dict[str, Any]:
        found = arrival.found
        application = found.application
        if not application.get("enableSignUp"):
            raise Forbidden(f"no user of application {application['name']!r} is linked to this {found.upstream.id} "
                            f"account ({upstream_user.username or upstream_user.id}), and the application does "
                            "not allow sign-up")
        if not found.item.can_sign_up:
            raise Forbidden(f"no user is linked to this {found.upstream.id} account "
                            f"({upstream_user.username or upstream_user.id}), and the application does not let "
                            "this provider sign users up")
        organization = application.get("organization") or ""
        user = _user_from(upstream_user, organization, await self._free_name(organization, upstream_user),
                          application["name"], found.item.signup_group)
        await self.users.insert(user, {"password_hash": None})
        self._concerns(user, arrival, upstream_user)
        self.context.action.concerns(obj=USERS.mask(user, may_manage=False))
        await record(self.context.db, self.context.action.derived("new-user"), outcome="ok", status_code=200)
        return user

    async def _free_name(self, organization: str, upstream_user: UpstreamUser) -> str:
        """The provider's username where it is a valid name not taken yet, else with a random suffix
        (Casdoor's way of resolving the clash)."""
        base = re.sub(r"[/?#%\\\s]+", "_", upstream_user.username or upstream_user.id).strip("_")[:80] or "user"
        if NAME_PATTERN.match(base) and not await self.users.exists(organization, base):
            return base
        return f"{base}_{secrets.token_hex(4)}"

    async def _link_signed_in_user(self, arrival: Arrival, upstream_user: UpstreamUser) -> dict[str, Any]:
        """The signed-in user adds a provider to their account (Casdoor's method "link")."""
        principal = self.context.principal
        organization = arrival.found.application.get("organization") or ""
        if not principal.is_user(organization, arrival.pending.user_name) or principal.user is None:
            raise NotAuthenticated(f"sign in as {organization}/{arrival.pending.user_name} to link a provider")
        user = principal.user
        provider = arrival.found.upstream.id
        self._concerns(user, arrival, upstream_user)
        other = await self._linked_user(organization, provider, upstream_user.id)
        if other is not None:
            raise Conflict(f"this {provider} account is already linked to user {other['owner']}/{other['name']}")
        if await self.links.of_user(user["id"], provider) is not None:
            raise Conflict(f"user {user['owner']}/{user['name']} is already linked to another {provider} account; "
                           "unlink it first")
        await self.links.add(organization, provider, upstream_user.id, user["id"], upstream_user.username)
        return user

    # ---- unlink ------------------------------------------------------------------------------------

    async def unlink(self, body: dict[str, Any]) -> None:
        """Casdoor's unlink: a user removes a provider from their own account where the application
        allows it (``canUnlink``); an administrator of the user's organization from anyone's."""
        principal = self.context.require_login()
        if principal.kind != "user" or principal.user is None:
            raise Forbidden("unlink is done by a signed-in user")
        target = await self._unlink_target(body.get("user"))
        provider_name = body.get("providerName")
        if not isinstance(provider_name, str) or not provider_name:
            raise BadRequest("invalid field providerName: the name of the provider to unlink is required")
        application = await self._application_of(target)
        found = await offered(self.context.db, application, provider_name)
        self.context.action.concerns(subject=USERS.mask(target, may_manage=False),
                                     obj={"provider": found.upstream.id, "user": f"{target['owner']}/{target['name']}"})
        if not principal.manages(target["owner"]):
            if not principal.is_user(target["owner"], target["name"]):
                raise Forbidden("only an administrator of the user's organization may unlink another user")
            if not found.item.can_unlink:
                raise Forbidden(f"application {application['name']!r} does not let users unlink {found.upstream.id}")
        if not await self.links.remove(target["id"], found.upstream.id):
            raise BadRequest(f"user {target['owner']}/{target['name']} is not linked to {found.upstream.id}")

    async def _unlink_target(self, given: Any) -> dict[str, Any]:
        principal = self.context.principal
        if given is None:
            return principal.user or {}
        if not isinstance(given, dict) or not all(isinstance(given.get(f), str) for f in ("owner", "name")):
            raise BadRequest("invalid field user: an object with the user's owner and name")
        if principal.is_user(given["owner"], given["name"]):
            return principal.user or {}
        user = await self.users.get(given["owner"], given["name"])
        if user is None or not principal.manages(given["owner"]):
            # Not telling a stranger whether the user exists.
            raise Forbidden("only an administrator of the user's organization may unlink another user")
        return user

    async def _application_of(self, user: dict[str, Any]) -> dict[str, Any]:
        """The application the user signs in through, whose provider list says what they may unlink:
        the one they signed up with, else their organization's default (as Casdoor's GetApplicationByUser)."""
        application = await application_of_user(self.context.db, user)
        if application is None:
            raise BadRequest(f"user {user['owner']}/{user['name']} belongs to no application with providers")
        return application


def _user_from(upstream_user: UpstreamUser, organization: str, name: str, application: str,
               group: str) -> dict[str, Any]:
    now = rfc3339(utcnow())
    user: dict[str, Any] = {
        "owner": organization, "name": name, "createdTime": now, "updatedTime": now, "id": str(uuid.uuid4()),
        "type": "normal-user", "password": "",
        "displayName": upstream_user.display_name or upstream_user.username or name,
        "email": upstream_user.email, "phone": upstream_user.phone, "avatar": upstream_user.avatar_url,
        "isAdmin": False, "isForbidden": False, "isDeleted": False, "signupApplication": application,
        "registerType": "Application Signup", "registerSource": f"{organization}/{application}",
    }
    if group:
        user["groups"] = [f"{organization}/{group}" if "/" not in group else group]
    return user


def method_of(value: str) -> str:
    if value not in (SIGN_IN, LINK, ""):
        raise BadRequest(f"invalid parameter method: must be {SIGN_IN!r} or {LINK!r}")
    return value or SIGN_IN
