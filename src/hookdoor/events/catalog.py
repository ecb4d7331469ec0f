"""The catalog of every event type Hookdoor can emit.

Every API action in Hookdoor is an event delivered as a webhook, and webhooks subscribe to events by
name (or by `*` pattern). Casdoor's UI offers many events that never fire; Hookdoor's promise is the
opposite, so the full list lives in one place: webhook validation rejects unknown names, the console
and the API list the catalog with a description and a JSON Schema (Draft 2020-12) of each event's
``hookdoor`` payload, and tests check every name from Casdoor's list is here.

The CRUD and read events for the 27 resource kinds are generated from one table of kinds; the
specialised events are listed by category, in the grouping of Casdoor's webhook overview.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

AUTH = "Authentication & Session"
RESOURCES = "Resource Management"
USERS = "User Management"
BULK = "Bulk Operations"
ORDERS = "Order Processing"
PAYMENTS = "Payment Handling"
INVITATIONS = "Invitations"
SUPPORT = "Support Systems"
SYNC = "Synchronization"
ACCESS = "Access Control"
MFA = "Multi-Factor Authentication"
WEBAUTHN = "WebAuthn"
OAUTH = "OAuth & Token Management"
VERIFICATION = "Verification & Communication"
SAML = "SAML"
SYSTEM = "System Operations"
READS = "Reads"
OPERATIONAL = "Webhooks (operational)"

CATEGORIES: tuple[str, ...] = (
    AUTH,
    RESOURCES,
    USERS,
    BULK,
    ORDERS,
    PAYMENTS,
    INVITATIONS,
    SUPPORT,
    SYNC,
    ACCESS,
    MFA,
    WEBAUTHN,
    OAUTH,
    VERIFICATION,
    SAML,
    SYSTEM,
    READS,
    OPERATIONAL,
)


@dataclass(frozen=True)
class EventType:
    """One event: its name (the selector webhooks use), category, one-line description, schema."""

    name: str
    category: str
    description: str
    schema: dict[str, Any] = field(hash=False, compare=False, repr=False)


# (singular, plural, human label): Casdoor's resource kinds, each with add-/update-/delete-/get- events.
# A label is a regular English noun with its article, so its plural is the noun plus "s".
RESOURCE_KINDS: tuple[tuple[str, str, str], ...] = (
    ("organization", "organizations", "an organization"),
    ("group", "groups", "a group"),
    ("user", "users", "a user"),
    ("application", "applications", "an application"),
    ("provider", "providers", "a provider"),
    ("resource", "resources", "a resource"),
    ("cert", "certs", "a certificate"),
    ("role", "roles", "a role"),
    ("permission", "permissions", "a permission"),
    ("model", "models", "a Casbin model"),
    ("adapter", "adapters", "a Casbin adapter"),
    ("enforcer", "enforcers", "a Casbin enforcer"),
    ("session", "sessions", "a session"),
    ("token", "tokens", "a token"),
    ("product", "products", "a product"),
    ("payment", "payments", "a payment"),
    ("plan", "plans", "a plan"),
    ("pricing", "pricings", "a pricing"),
    ("subscription", "subscriptions", "a subscription"),
    ("syncer", "syncers", "a syncer"),
    ("webhook", "webhooks", "a webhook"),
    ("form", "forms", "a form"),
    ("invitation", "invitations", "an invitation"),
    ("ldap", "ldaps", "an LDAP server"),
    ("order", "orders", "an order"),
    ("ticket", "tickets", "a ticket"),
    ("transaction", "transactions", "a transaction"),
)

_CRUD_VERBS: tuple[tuple[str, str], ...] = (("add", "created"), ("update", "updated"), ("delete", "deleted"))

# Events other than the generated CRUD and read events: (category, ((name, description), ...)).
_SPECIALISED: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        AUTH,
        (
            ("signup", "A user signed up."),
            ("login", "A user signed in."),
            ("logout", "A user signed out."),
            ("sso-logout", "A user was signed out of every application (single sign-on logout)."),
            ("unlink", "A third-party provider account was unlinked from a user."),
            ("new-user", "A new user account was created, by sign-up or by an administrator."),
            ("new-user-ldap", "A new user account was created from an LDAP directory."),
            ("new-user-syncer", "A new user account was created by a syncer."),
            ("is-session-duplicated", "A check was made whether a user's session is in use elsewhere."),
        ),
    ),
    (
        USERS,
        (
            ("add-user-keys", "An API key pair (access key and secret) was generated for a user."),
            ("remove-user-from-group", "A user was removed from a group."),
            ("upload-users", "Users were imported from an uploaded spreadsheet."),
            ("check-user-password", "A user's password was checked."),
            ("set-password", "A user's password was set or changed."),
            ("reset-email-or-phone", "A user's email or phone number was changed after verification."),
            ("verify-identification", "A user's real-name identification was verified."),
            ("impersonate-user", "A global administrator began acting as another user in their session."),
            ("exit-impersonate-user", "A global administrator stopped acting as another user."),
        ),
    ),
    (
        BULK,
        (
            ("upload-groups", "Groups were imported from an uploaded spreadsheet."),
            ("upload-roles", "Roles were imported from an uploaded spreadsheet."),
            ("upload-permissions", "Permissions were imported from an uploaded spreadsheet."),
            ("upload-resource", "A file was uploaded as a resource."),
            ("update-permissions", "Several permissions were updated at once."),
        ),
    ),
    (
        ORDERS,
        (
            ("place-order", "An order was placed for a product."),
            ("cancel-order", "An order was cancelled."),
            ("pay-order", "Payment of an order was started."),
            ("buy-product", "A product was bought: an order of it placed and its payment started."),
        ),
    ),
    (
        PAYMENTS,
        (
            ("invoice-payment", "An invoice was issued for a payment."),
            ("notify-payment", "A payment provider reported the result of a payment."),
        ),
    ),
    (
        INVITATIONS,
        (
            ("send-invitation", "An invitation was sent by email."),
            ("verify-invitation", "An invitation code was checked."),
        ),
    ),
    (SUPPORT, (("add-ticket-message", "A message was added to a support ticket."),)),
    (
        SYNC,
        (
            ("run-syncer", "A syncer was run on demand."),
            ("test-syncer-db", "A syncer's database connection was tested."),
            ("sync-ldap-users", "Users were synchronised from an LDAP server."),
        ),
    ),
    (
        ACCESS,
        (
            ("enforce", "A permission check (Casbin enforce) was evaluated."),
            ("batch-enforce", "A batch of permission checks was evaluated."),
            ("add-policy", "A policy rule was added to an enforcer."),
            ("update-policy", "A policy rule of an enforcer was changed."),
            ("remove-policy", "A policy rule was removed from an enforcer."),
            ("add-record", "An audit record was added."),
        ),
    ),
    (
        MFA,
        (
            ("delete-mfa", "A user's multi-factor authentication was removed."),
            ("set-preferred-mfa", "A user chose their preferred multi-factor authentication method."),
            ("mfa/setup/initiate", "Multi-factor authentication setup was started for a user."),
            ("mfa/setup/verify", "A multi-factor authentication setup code was verified."),
            ("mfa/setup/enable", "Multi-factor authentication was enabled for a user."),
        ),
    ),
    (
        WEBAUTHN,
        (
            ("webauthn/signup/begin", "Registration of a WebAuthn credential (passkey) was started."),
            ("webauthn/signup/finish", "A WebAuthn credential (passkey) was registered for a user."),
            ("webauthn/signin/begin", "A WebAuthn (passkey) sign-in was started."),
            ("webauthn/signin/finish", "A user signed in with a WebAuthn credential (passkey)."),
        ),
    ),
    (
        OAUTH,
        (
            ("login/oauth/access_token", "An OAuth access token was requested at the token endpoint."),
            ("login/oauth/refresh_token", "An OAuth access token was refreshed with a refresh token."),
            ("login/oauth/introspect", "An OAuth token was introspected."),
        ),
    ),
    (
        VERIFICATION,
        (
            ("send-verification-code", "A verification code was sent by email or SMS."),
            ("verify-code", "A verification code was checked."),
            ("verify-captcha", "A captcha answer was checked."),
            ("send-email", "An email was sent through an email provider."),
            ("send-sms", "An SMS was sent through an SMS provider."),
            ("send-notification", "A notification was sent through a notification provider."),
        ),
    ),
    (
        SAML,
        (
            ("acs", "A SAML response was received at the assertion consumer service."),
            ("saml/metadata", "The SAML identity provider metadata was read."),
            ("get-saml-login", "A sign-in through an upstream SAML identity provider was started."),
            ("saml/redirect", "A SAML AuthnRequest (POST binding) was passed on to the sign-in page."),
        ),
    ),
    (
        SYSTEM,
        (
            ("run-casbin-command", "A Casbin command was run."),
            ("refresh-engines", "The policy engines were reloaded."),
            ("health", "The health endpoint was queried."),
            ("update-cert-domain-expire", "A certificate's domain expiry time was looked up and stored."),
            ("metrics", "The metrics endpoint was queried."),
            ("callback", "An identity provider redirected back to the sign-in callback."),
            ("device-auth", "A device authorization (OAuth device flow) was started."),
            ("faceid-signin-begin", "A Face ID sign-in was started."),
            ("user", "The signed-in user's profile was read (/api/user)."),
            ("userinfo", "The OpenID Connect userinfo endpoint was queried."),
        ),
    ),
    (
        READS,
        (
            ("get-account", "The signed-in user's account was read."),
            ("get-webhook-events", "The log of webhook events and deliveries was listed."),
            ("get-webhook-event-detail", "A webhook event and its delivery attempts were read."),
            ("get-webhook-health", "A webhook's endpoint health was read."),
            ("get-event-types", "The event catalog was read."),
            ("get-user-count", "The number of users of an organization was read."),
            ("get-sorted-users", "An organization's users were listed in the order of one field."),
            ("get-global-users", "The users of every organization were listed."),
            ("get-global-providers", "The providers of every organization were listed."),
            ("get-global-certs", "The certificates of every organization were listed."),
            ("get-global-forms", "The forms of every organization were listed."),
            ("get-organization-names", "The names of the organizations were listed."),
            ("get-default-application", "An organization's default application was read."),
            ("get-organization-applications", "An organization's applications were listed."),
            ("get-user-application", "The application a user signs in with was read."),
            ("get-records-filter", "Records matching an example record were listed."),
            ("get-dashboard", "The dashboard's daily object counts were read."),
            ("get-dashboard-providers", "The dashboard's count of providers by type was read."),
            ("get-dashboard-mfa", "The dashboard's multi-factor authentication coverage was read."),
            ("get-dashboard-heatmap", "The dashboard's sign-ins per day were read."),
            ("get-system-info", "The server's CPU, memory, disk and network usage was read."),
            ("get-version-info", "The server's version was read."),
            ("get-prometheus-info", "The server's API throughput and latency summary was read."),
            ("get-ldap-users", "The users of an LDAP server's directory were listed."),
            ("get-user-orders", "A user's orders were listed."),
            ("get-user-payments", "A user's payments were listed."),
        ),
    ),
    (
        OPERATIONAL,
        (
            ("replay-webhook-event", "A webhook event was queued for delivery again."),
            ("delete-webhook-event", "A webhook event (one delivery and its attempts) was deleted."),
            ("webhook-disabled", "A webhook was disabled automatically after its deliveries kept failing."),
            ("webhook-test", "A test event was sent to a webhook from the console or the API."),
            ("test-webhook", "A test event was requested for a webhook."),
            ("rotate-webhook-secret", "A webhook's signing secret was rotated."),
            ("recover-webhook-deliveries", "A webhook's failed deliveries in a time range were queued again."),
        ),
    ),
)


def _string() -> dict[str, Any]:
    return {"type": "string"}


def _strings(*names: str) -> dict[str, Any]:
    return {name: _string() for name in names}


def _user_schema() -> dict[str, Any]:
    return {"type": ["object", "null"], "properties": _strings("id", "owner", "username", "email")}


def _request_schema() -> dict[str, Any]:
    return {"type": "object", "properties": _strings("method", "uri", "clientIp", "userAgent")}


def _any_object_schema() -> dict[str, Any]:
    return {"type": ["object", "null"]}


# Kinds Casdoor keys by another field than their name (identity/registry.py's key_field).
_KEY_FIELDS = {"ldap": "id"}


def _resource_schema(kind: str) -> dict[str, Any]:
    key = _KEY_FIELDS.get(kind, "name")
    return {
        "type": "object",
        "title": kind,
        "required": ["owner", key],
        "properties": _strings("owner", key),
        "additionalProperties": True,
    }


def _envelope(event: str, object_schema: dict[str, Any]) -> dict[str, Any]:
    """The schema of the `hookdoor` payload of `event`, whose subject is described by `object_schema`."""
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": event,
        "type": "object",
        "required": ["id", "event", "timestamp", "organization", "user", "object", "request", "outcome"],
        "properties": {
            "id": _string(),
            "event": {"type": "string", "const": event},
            "timestamp": {"type": "integer", "description": "Unix seconds"},
            "organization": _string(),
            "user": _user_schema(),
            "object": object_schema,
            "request": _request_schema(),
            "outcome": {"enum": ["ok", "error"]},
        },
    }


def _sentence(text: str) -> str:
    """`text` with its first letter capitalised (str.capitalize would lower-case "LDAP")."""
    return text[:1].upper() + text[1:]


def _noun(label: str) -> str:
    """The noun of a kind's label, without its article: "an LDAP server" -> "LDAP server"."""
    return label.split(" ", 1)[1]


def _event(
    name: str, category: str, description: str, object_schema: dict[str, Any] | None = None
) -> EventType:
    return EventType(name, category, description, _envelope(name, object_schema or _any_object_schema()))


def _crud_events() -> tuple[EventType, ...]:
    return tuple(
        _event(f"{verb}-{singular}", RESOURCES, _sentence(f"{label} was {past}."), _resource_schema(singular))
        for singular, _plural, label in RESOURCE_KINDS
        for verb, past in _CRUD_VERBS
    )


def _read_events() -> tuple[EventType, ...]:
    return tuple(
        event
        for singular, plural, label in RESOURCE_KINDS
        for event in (
            _event(f"get-{plural}", READS, f"The list of {_noun(label)}s was read."),
            _event(f"get-{singular}", READS, _sentence(f"{label} was read.")),
        )
    )


def _specialised_events() -> tuple[EventType, ...]:
    return tuple(
        _event(name, category, description)
        for category, events in _SPECIALISED
        for name, description in events
    )


def _display_order(events: Iterable[EventType]) -> tuple[EventType, ...]:
    """Events grouped by category in CATEGORIES order, keeping their order within a category."""
    return tuple(sorted(events, key=lambda event: CATEGORIES.index(event.category)))


CATALOG: tuple[EventType, ...] = _display_order((*_specialised_events(), *_crud_events(), *_read_events()))

_BY_NAME: dict[str, EventType] = {event.name: event for event in CATALOG}

# fnmatch treats `[`, `]` and `?` as special; selectors only give `*` a meaning.
_LITERAL_ESCAPES: dict[str, str] = {"[": "[[]", "]": "[]]", "?": "[?]"}


def get_event_type(name: str) -> EventType | None:
    """The event type called `name`, or None if there is no such event."""
    return _BY_NAME.get(name)


def is_pattern(selector: str) -> bool:
    """True when `selector` is a `*` pattern (`*`, `add-*`, `*-user`) rather than one event name."""
    return "*" in selector


def _fnmatch_pattern(selector: str) -> str:
    return "".join(_LITERAL_ESCAPES.get(char, char) for char in selector)


def selector_matches(selector: str, event_name: str) -> bool:
    """True when `selector` is `event_name` or a `*` pattern matching it; other characters are literal."""
    if selector == event_name:
        return True
    return is_pattern(selector) and fnmatch.fnmatchcase(event_name, _fnmatch_pattern(selector))


def _is_known(selector: str) -> bool:
    if selector in _BY_NAME:
        return True
    return is_pattern(selector) and any(selector_matches(selector, name) for name in _BY_NAME)


def unknown_selectors(selectors: Iterable[str]) -> list[str]:
    """The selectors, in input order, that name no event and are not a pattern matching some event."""
    return [selector for selector in selectors if not _is_known(selector)]


def catalog_as_json() -> list[dict[str, Any]]:
    """The catalog as JSON-ready dicts for the API; the schemas are copies, safe to modify."""
    return [
        {
            "name": event.name,
            "category": event.category,
            "description": event.description,
            "schema": copy.deepcopy(event.schema),
        }
        for event in CATALOG
    ]
