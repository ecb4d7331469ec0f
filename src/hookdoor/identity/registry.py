"""Every Casdoor resource kind, declared once.

The tables, the generic ``get-/add-/update-/delete-`` routes, their authorization rules and the
events they record all derive from these declarations.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hookdoor.authority.schemas import NO_AUTHORITY, Authority, Reference
from hookdoor.identity import schemas
from hookdoor.invitations import schemas as invitation_schemas
from hookdoor.tickets import schemas as ticket_schemas
from hookdoor.webhooks.config import WebhookConfig

GLOBAL_OWNER = "admin"
# A lifecycle hook: "module:function", or several, called in order.
Hooks = str | tuple[str, ...]
BUILT_IN_ORG = "built-in"


def _org_from_owner(obj: Mapping[str, Any]) -> str:
    """Objects owned by "admin" are shared by every organization, and only global administrators
    (those of the built-in organization) manage them."""
    owner = obj.get("owner") or ""
    return BUILT_IN_ORG if owner == GLOBAL_OWNER else owner


def _org_is_name(obj: Mapping[str, Any]) -> str:
    return obj.get("name") or ""


def _org_from_field(obj: Mapping[str, Any]) -> str:
    return obj.get("organization") or _org_from_owner(obj)


@dataclass(frozen=True)
class ResourceKind:
    singular: str
    plural: str
    model: type[schemas.CasdoorObject] = schemas.CasdoorObject
    # Shown only to callers who may manage the object; masked as "***" for everyone else.
    secret_fields: tuple[str, ...] = ()
    # Never returned to anyone (hashes, one-time codes).
    hidden_fields: tuple[str, ...] = ()
    # JSON fields mirrored into indexed columns, for lookups by something other than owner/name.
    lookup_columns: tuple[str, ...] = ()
    # Lookup fields that find one object (the caller, by clientId or accessKey; a user by id): no two
    # objects may share a value, or which one authenticates would depend on the database's row order.
    unique_fields: tuple[str, ...] = ()
    # Built-in objects (owned by "admin") that the server itself relies on: never renamed or deleted.
    built_in: tuple[str, ...] = ()
    # Which organization an object belongs to, for authorization and event routing.
    organization_of: Callable[[Mapping[str, Any]], str] = _org_from_owner
    # Objects owned by "admin" rather than by an organization (Casdoor: organizations, applications).
    globally_owned: bool = False
    # Only global admins may add or delete (organizations).
    global_admin_only: bool = False
    # The fields that carry authority, and how (authority/schemas.py); checked on every write.
    authority: Authority = NO_AUTHORITY
    # Objects of this kind are people's accounts: a user reads and edits their own, and the events
    # of a change name it as their subject.
    is_account: bool = False
    # Objects of this kind are the organizations themselves.
    is_organization: bool = False
    # Ordinary signed-in users may read this kind within their own organization (secrets masked).
    readable_by_members: bool = False
    # Casdoor also lists this kind across every organization at get-global-<plural> (global
    # administrators only).
    listed_globally: bool = False
    # Casdoor also updates a list of these at once at update-<plural> (permissions).
    updated_in_batch: bool = False
    # Casdoor imports these from .xlsx files at upload-<plural> (uploads/).
    uploadable: bool = False
    # What adding or updating an object implies (hashing a password, generating credentials), as
    # "module:function" in the kind's own domain folder, or several such, each domain checking what
    # is its own (a provider: the sending, SAML and sign-in ones); imported when first used, since
    # those modules depend on this one. They may fill in ``data`` and return values for private columns.
    on_add: Hooks = ""
    on_update: Hooks = ""
    # What any change of an object (added, updated or deleted) implies elsewhere, such as cached
    # Casbin enforcers going stale or a deleted resource's file going too: called as (context,
    # before or None, after or None) in the change's transaction, after the write.
    on_change: Hooks = ""
    # What an object imported from a spreadsheet row (uploads/) gets where the row says nothing.
    on_import: Hooks = ""
    # Objects of this kind are filed by members of their organization (Casdoor's tickets): this field
    # names the member who filed one (owner/name). The server writes the caller into it on add and
    # nobody changes it; a member adds objects in their own organization and reads and updates only
    # those they filed; their administrators manage them all.
    filed_by: str = ""
    # Casdoor keys a few kinds by another field than "name" (an LDAP server by its "id", with no
    # name at all): the key is stored as the name and shown under its own field only.
    key_field: str = "name"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def table_name(self) -> str:
        return self.plural

    async def prepare_new(self, context: Any, data: dict[str, Any]) -> dict[str, Any]:
        private: dict[str, Any] = {}
        for hook in hooks(self.on_add):
            private.update(await hook(context, data))
        return private

    async def prepare_update(self, context: Any, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        private: dict[str, Any] = {}
        for hook in hooks(self.on_update):
            private.update(await hook(context, current, data))
        return private

    async def changed(self, context: Any, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        for hook in hooks(self.on_change):
            await hook(context, before, after)

    async def imported_defaults(self, context: Any, row: dict[str, Any]) -> dict[str, Any]:
        for hook in hooks(self.on_import):
            row = await hook(context, row)
        return row

    def stored_shape(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body as stored: its key as the name."""
        if self.key_field == "name":
            return body
        return {**body, "name": str(body.get(self.key_field) or "")}

    def mask(self, obj: dict[str, Any], *, may_manage: bool) -> dict[str, Any]:
        """A copy safe to show: hidden fields dropped, secrets masked unless the viewer manages it."""
        shown = {k: v for k, v in obj.items() if k not in self.hidden_fields}
        if self.key_field != "name":
            shown.pop("name", None)
        for name in self.secret_fields:
            if shown.get(name) and not may_manage:
                shown[name] = "***"
        return shown


@functools.cache
def _hook(path: str) -> Callable[..., Awaitable[Any]]:
    module, _, function = path.partition(":")
    return getattr(importlib.import_module(module), function)


def hooks(paths: Hooks) -> tuple[Callable[..., Awaitable[Any]], ...]:
    """The functions a kind's hook field names, in order (none, one, or several)."""
    return tuple(_hook(path) for path in ((paths,) if isinstance(paths, str) else paths) if path)


def _kind(
    singular: str, plural: str, model: type[schemas.CasdoorObject] = schemas.CasdoorObject, **kwargs: Any
) -> ResourceKind:
    return ResourceKind(singular=singular, plural=plural, model=model, **kwargs)


def _members(*kinds: str) -> tuple[Reference, ...]:
    """Lists of ``owner/name`` ids of the same organization's users, groups, roles..."""
    return tuple(Reference(f"{k}s", k, many=True) for k in kinds)


# A user editing their own account changes none of these: who they are, what they may do, and the
# verified identifiers relying parties trust (email_verified), as in Casdoor.
USER_AUTHORITY = Authority(
    issued=("id", "accessKey", "accessSecret", "isGlobalAdmin", "roles", "permissions", "applicationScopes",
            "preferredMfaType", "mfaEmailEnabled", "mfaPhoneEnabled",  # MFA: mirrors of mfa_factors
            "balance"),  # a balance moves only by transactions (commerce/)
    references=(Reference("groups", "group", many=True), Reference("signupApplication", "application",
                                                                   form="global-name")),
    guarded=("owner", "name", "isAdmin", "isForbidden", "isDeleted", "type", "score", "groups",
             "signupApplication", "registerType", "email", "emailVerified", "phone", "isVerified",
             "ldap",  # an imported user's directory entry: where their password is checked
             "balanceCredit", "balanceCurrency"),
)
APPLICATION_AUTHORITY = Authority(
    # A client registered through RFC 7591 holds no admin rights, and its registration token's hash
    # is the server's (oauth/registration.py).
    issued=("registrationAccessTokenHash",),
    references=(Reference("cert", "cert", form="name", shared_ok=True),
                Reference("providers", "provider", form="name", many=True, key="name", shared_ok=True)),
    guarded=("clientId", "clientSecret", "grantTypes", "redirectUris", "tokenFormat", "enablePassword",
             "enableSignUp", "customScopes", "samlReplyUrl"),
)
# Tokens and sessions are credentials the server hands out: whom they act for is never edited.
TOKEN_AUTHORITY = Authority(
    issued=("application", "organization", "user", "scope", "expiresIn", "tokenType", "code", "accessToken",
            "refreshToken", "codeChallenge", "codeIsUsed", "nonce", "redirectUri", "authTime", "issuedToken",
            "rotatedTo", "deviceStatus", "cancelTokenHash", "lastPoll"),
)
SESSION_AUTHORITY = Authority(issued=("application", "sessionId"))
# What an invitation has admitted is counted by the server: its usedCount is kept as stored whatever
# a body says (invitations/service.py: clients send back the object they read, perhaps before a
# sign-up), so an administrator widens an invitation by raising its quota, which the event log shows.
# The application it admits to and the group it puts its users in are its own organization's.
INVITATION_AUTHORITY = Authority(
    issued=("usedCodeHashes",),
    references=(Reference("application", "application", form="global-name"),
                Reference("signupGroup", "group")),
    guarded=("code", "defaultCode", "quota", "state", "expireTime", "username", "email", "phone"),
)
# A ticket's thread is written by add-ticket-message alone; its reporter ("user", the kind's
# filed_by) by the server alone.
TICKET_AUTHORITY = Authority(issued=("messages",))
# Orders, payments and subscriptions are moved by their flows (commerce/): what was paid, at what
# price and in which state is the server's record, never a caller's edit (an administrator's neither).
ORDER_AUTHORITY = Authority(issued=("state", "price", "currency", "payment", "productInfos", "message",
                                    "updateTime", "couponDiscount"))
PAYMENT_AUTHORITY = Authority(issued=("state", "price", "currency", "order", "user", "provider", "type",
                                      "outOrderId", "payUrl", "invoiceUrl", "message", "products"))
SUBSCRIPTION_AUTHORITY = Authority(issued=("payment",), guarded=("state", "startTime", "endTime", "plan", "user"))
# Which payment providers sell a product: the organization's own.
PRODUCT_AUTHORITY = Authority(references=(Reference("providers", "provider", form="name", many=True),))
# Models, adapters, enforcers, permissions, roles and groups: a change makes cached enforcers stale.
AUTHORIZATION_CHANGED = "hookdoor.authz.service:authorization_changed"

KINDS: tuple[ResourceKind, ...] = (
    _kind(
        "organization", "organizations", schemas.Organization,
        organization_of=_org_is_name, globally_owned=True, global_admin_only=True,
        is_organization=True, readable_by_members=True, built_in=(BUILT_IN_ORG,),
        authority=Authority(
            references=(Reference("defaultApplication", "application", form="global-name"),),
            guarded=("passwordType", "enableSoftDeletion", "mfaItems", "dcrPolicy"),
        ),
        on_add="hookdoor.mfa.service:check_organization_mfa_items",
        on_update="hookdoor.mfa.service:check_organization_mfa_items",
    ),
    _kind("group", "groups", schemas.Group, readable_by_members=True, uploadable=True, authority=Authority(
        references=(Reference("parentId", "group", form="name"), Reference("users", "user", many=True)),
        guarded=("manager", "isEnabled"),
    ), on_change=AUTHORIZATION_CHANGED),
    _kind(
        "user", "users", schemas.User,
        secret_fields=("accessSecret", "totpSecret", "recoveryCodes"),
        hidden_fields=("password", "passwordSalt"),
        lookup_columns=("id", "email", "phone", "accessKey"), unique_fields=("id", "accessKey"),
        authority=USER_AUTHORITY, is_account=True, listed_globally=True, uploadable=True,
        on_add="hookdoor.identity.accounts:prepare_new_user",
        on_update="hookdoor.identity.accounts:prepare_updated_user",
        on_change="hookdoor.authz.service:user_changed",
        on_import="hookdoor.identity.accounts:imported_user_defaults",
    ),
    _kind(
        "application", "applications", schemas.Application,
        secret_fields=("clientSecret",), hidden_fields=("registrationAccessTokenHash",), lookup_columns=("clientId",),
        unique_fields=("clientId",), built_in=("app-built-in",),
        organization_of=_org_from_field, globally_owned=True, authority=APPLICATION_AUTHORITY,
        readable_by_members=True, on_add="hookdoor.identity.credentials:prepare_new_application",
    ),
    _kind("provider", "providers", schemas.Provider, secret_fields=("clientSecret", "clientSecret2", "httpHeaders"),
          listed_globally=True,
          authority=Authority(guarded=("clientId", "clientSecret", "clientSecret2", "host", "port", "customAuthUrl",
                                       "customTokenUrl", "customUserInfoUrl", "idP", "issuerUrl", "endpoint",
                                       "metadata")),
          # Each domain checks its own providers: those that send, SAML ones, those to sign in with,
          # payment ones.
          on_add=("hookdoor.messaging.service:check_new_provider", "hookdoor.saml.service:check_new_provider",
                  "hookdoor.federation.service:check_new_provider", "hookdoor.commerce.service:check_new_provider"),
          on_update=("hookdoor.messaging.service:check_updated_provider",
                     "hookdoor.saml.service:check_updated_provider",
                     "hookdoor.federation.service:check_updated_provider",
                     "hookdoor.commerce.service:check_updated_provider")),
    _kind("resource", "resources", on_change="hookdoor.uploads.service:resource_changed"),
    _kind("cert", "certs", schemas.Cert, secret_fields=("privateKey",), listed_globally=True,
          authority=Authority(guarded=("certificate", "privateKey")),
          on_add="hookdoor.oauth.service:prepare_new_cert", on_update="hookdoor.oauth.service:prepare_updated_cert"),
    _kind("role", "roles", schemas.Role, readable_by_members=True, uploadable=True, authority=Authority(
        references=_members("user", "group", "role"), guarded=("isEnabled",),
    ), on_change=AUTHORIZATION_CHANGED),
    _kind("permission", "permissions", schemas.Permission, updated_in_batch=True, uploadable=True,
          authority=Authority(
              references=(*_members("user", "group", "role"), Reference("model", "model", form="name"),
                          Reference("adapter", "adapter", form="name")),
              guarded=("resources", "actions", "effect", "isEnabled"),
          ), on_change=AUTHORIZATION_CHANGED),
    _kind("model", "models", on_add="hookdoor.authz.service:check_new_model",
          on_update="hookdoor.authz.service:check_updated_model", on_change=AUTHORIZATION_CHANGED),
    _kind("adapter", "adapters", secret_fields=("password",),
          authority=Authority(guarded=("host", "port", "user", "password", "databaseType", "database")),
          on_add="hookdoor.authz.service:check_new_adapter", on_update="hookdoor.authz.service:check_updated_adapter",
          on_change="hookdoor.authz.service:adapter_changed"),
    _kind("enforcer", "enforcers", authority=Authority(
        references=(Reference("model", "model"), Reference("adapter", "adapter")),
    ), on_change=AUTHORIZATION_CHANGED),
    _kind("session", "sessions", schemas.Session, authority=SESSION_AUTHORITY),
    _kind(
        "token", "tokens", schemas.Token,
        hidden_fields=("accessToken", "refreshToken", "code"),
        organization_of=_org_from_field, authority=TOKEN_AUTHORITY,
    ),
    _kind("product", "products", readable_by_members=True, authority=PRODUCT_AUTHORITY,
          on_add="hookdoor.commerce.service:check_new_product",
          on_update="hookdoor.commerce.service:check_updated_product"),
    _kind("payment", "payments", authority=PAYMENT_AUTHORITY),
    _kind("plan", "plans", readable_by_members=True,
          authority=Authority(references=(Reference("role", "role", form="name"),)),
          on_add="hookdoor.commerce.service:check_new_plan", on_update="hookdoor.commerce.service:check_updated_plan"),
    _kind("pricing", "pricings", readable_by_members=True),
    _kind("subscription", "subscriptions", authority=SUBSCRIPTION_AUTHORITY,
          on_add="hookdoor.commerce.service:check_new_subscription",
          on_update="hookdoor.commerce.service:check_updated_subscription"),
    _kind("syncer", "syncers", secret_fields=("password",),
          authority=Authority(guarded=("host", "port", "user", "password", "databaseType", "database")),
          on_add="hookdoor.sync.service:check_new_syncer", on_update="hookdoor.sync.service:check_updated_syncer"),
    _kind(
        "webhook", "webhooks", WebhookConfig, organization_of=_org_from_field,
        secret_fields=("signingSecret", "previousSigningSecret", "headers"),
        on_add="hookdoor.webhooks.service:prepare_new_webhook",
        on_update="hookdoor.webhooks.service:prepare_updated_webhook",
    ),
    _kind("form", "forms", listed_globally=True),
    _kind("invitation", "invitations", invitation_schemas.Invitation,
          # The code admits sign-ups: a credential, shown to the organization's administrators only.
          secret_fields=("code", "defaultCode"), hidden_fields=("usedCodeHashes",),
          authority=INVITATION_AUTHORITY,
          on_add="hookdoor.invitations.service:check_new_invitation",
          on_update="hookdoor.invitations.service:check_updated_invitation"),
    _kind("ldap", "ldaps", key_field="id", secret_fields=("password",),
          authority=Authority(guarded=("host", "port", "username", "password", "baseDn", "enableSsl")),
          on_add="hookdoor.sync.service:check_new_ldap", on_update="hookdoor.sync.service:check_updated_ldap"),
    _kind("order", "orders", authority=ORDER_AUTHORITY),
    _kind("ticket", "tickets", ticket_schemas.Ticket, filed_by="user", authority=TICKET_AUTHORITY,
          on_add="hookdoor.tickets.service:check_new_ticket",
          on_update="hookdoor.tickets.service:check_updated_ticket"),
    _kind("transaction", "transactions", on_add="hookdoor.commerce.service:apply_new_transaction",
          on_update="hookdoor.commerce.service:check_updated_transaction"),
    _kind("record", "records"),
)

BY_SINGULAR: dict[str, ResourceKind] = {k.singular: k for k in KINDS}
BY_PLURAL: dict[str, ResourceKind] = {k.plural: k for k in KINDS}


def kind(singular: str) -> ResourceKind:
    return BY_SINGULAR[singular]
