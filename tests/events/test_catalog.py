"""Tests for the event catalog: completeness against Casdoor's list, schemas, selector matching."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from hookdoor.events.catalog import (
    CATALOG,
    CATEGORIES,
    EventType,
    catalog_as_json,
    get_event_type,
    is_pattern,
    selector_matches,
    unknown_selectors,
)

# The non-CRUD events of "Events Casdoor's UI offers (146)" in the compat reference, plus add-user-keys
# from Casdoor's webhook overview.
REFERENCE_SPECIALISED: tuple[str, ...] = (
    "signup", "login", "logout", "sso-logout", "unlink", "new-user", "new-user-ldap", "new-user-syncer",
    "upload-groups", "upload-users", "upload-resource", "upload-roles", "upload-permissions",
    "remove-user-from-group", "check-user-password", "set-password", "reset-email-or-phone",
    "verify-identification", "enforce", "batch-enforce", "is-session-duplicated", "invoice-payment",
    "notify-payment", "run-syncer", "test-syncer-db", "send-invitation", "verify-invitation",
    "sync-ldap-users", "place-order", "cancel-order", "pay-order", "add-ticket-message", "add-policy",
    "update-policy", "remove-policy", "add-record", "delete-mfa", "set-preferred-mfa",
    "mfa/setup/initiate", "mfa/setup/verify", "mfa/setup/enable", "webauthn/signup/begin",
    "webauthn/signup/finish", "webauthn/signin/begin", "webauthn/signin/finish",
    "login/oauth/access_token", "login/oauth/refresh_token", "login/oauth/introspect",
    "send-verification-code", "verify-code", "verify-captcha", "send-email", "send-sms",
    "send-notification", "acs", "saml/metadata", "run-casbin-command", "refresh-engines", "health",
    "metrics", "callback", "device-auth", "faceid-signin-begin", "user", "userinfo",
)  # fmt: skip
OVERVIEW_EXTRA: tuple[str, ...] = ("add-user-keys",)
HOOKDOOR_OWN: tuple[str, ...] = (
    "webhook-disabled", "webhook-test", "get-account", "get-webhook-events", "get-webhook-event-detail",
    "replay-webhook-event", "get-webhook-health", "get-event-types", "test-webhook", "rotate-webhook-secret",
    "recover-webhook-deliveries",
    "get-saml-login", "saml/redirect", "get-ldap-users",
)  # fmt: skip
# Casdoor routes of the core kinds beyond the 146 of its UI (issue 12).
CORE_ROUTES: tuple[str, ...] = (
    "impersonate-user", "exit-impersonate-user", "update-permissions", "update-cert-domain-expire",
    "get-user-count", "get-sorted-users", "get-global-users", "get-global-providers", "get-global-certs",
    "get-global-forms", "get-organization-names", "get-default-application", "get-organization-applications",
    "get-user-application", "get-records-filter", "get-dashboard", "get-dashboard-providers", "get-dashboard-mfa",
    "get-dashboard-heatmap", "get-system-info", "get-version-info", "get-prometheus-info", "delete-webhook-event",
)  # fmt: skip

# Casdoor's order and payment routes beyond the 146 of its UI (issue 15, commerce/).
COMMERCE_ROUTES: tuple[str, ...] = ("buy-product", "get-user-orders", "get-user-payments")

# (singular, plural) of the 27 kinds with add-/update-/delete- events, in Casdoor's spelling.
KINDS: tuple[tuple[str, str], ...] = (
    ("organization", "organizations"), ("group", "groups"), ("user", "users"),
    ("application", "applications"), ("provider", "providers"), ("resource", "resources"),
    ("cert", "certs"), ("role", "roles"), ("permission", "permissions"), ("model", "models"),
    ("adapter", "adapters"), ("enforcer", "enforcers"), ("session", "sessions"), ("token", "tokens"),
    ("product", "products"), ("payment", "payments"), ("plan", "plans"), ("pricing", "pricings"),
    ("subscription", "subscriptions"), ("syncer", "syncers"), ("webhook", "webhooks"), ("form", "forms"),
    ("invitation", "invitations"), ("ldap", "ldaps"), ("order", "orders"), ("ticket", "tickets"),
    ("transaction", "transactions"),
)  # fmt: skip

CRUD_NAMES = [f"{verb}-{singular}" for singular, _ in KINDS for verb in ("add", "update", "delete")]
READ_NAMES = [name for singular, plural in KINDS for name in (f"get-{plural}", f"get-{singular}")]
NAMES = [event.name for event in CATALOG]


def _sample(event: str, obj: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": "01J8Z6XK3M",
        "event": event,
        "timestamp": 1709452800,
        "organization": "built-in",
        "user": {"id": "12345", "owner": "built-in", "username": "johndoe", "email": "johndoe@example.com"},
        "object": obj,
        "request": {"method": "POST", "uri": f"/api/{event}", "clientIp": "203.0.113.7", "userAgent": "curl"},
        "outcome": "ok",
    }


@pytest.fixture(scope="module")
def schema_tools() -> tuple[Callable[[dict[str, Any]], None], Callable[[dict[str, Any], Any], bool]]:
    """(check_schema, is_valid) from jsonschema, or from jsonschema_rs (what schemathesis installs)."""
    try:
        import jsonschema
    except ImportError:
        rs = pytest.importorskip("jsonschema_rs")
        return rs.meta.validate, lambda schema, instance: rs.Draft202012Validator(schema).is_valid(instance)
    validator = jsonschema.Draft202012Validator
    return validator.check_schema, lambda schema, instance: validator(schema).is_valid(instance)


def _schema(name: str) -> dict[str, Any]:
    event = get_event_type(name)
    assert event is not None
    return event.schema


def test_reference_events_are_all_in_the_catalog() -> None:
    assert len(REFERENCE_SPECIALISED) + len(CRUD_NAMES) == 146
    expected = (*REFERENCE_SPECIALISED, *OVERVIEW_EXTRA, *HOOKDOOR_OWN, *CORE_ROUTES, *COMMERCE_ROUTES, *CRUD_NAMES,
                *READ_NAMES)
    assert [name for name in expected if get_event_type(name) is None] == []


def test_crud_and_read_events_are_generated_for_27_kinds() -> None:
    assert len(KINDS) == 27
    assert len(set(CRUD_NAMES)) == 81
    assert sorted(e.name for e in CATALOG if e.category == "Resource Management") == sorted(CRUD_NAMES)
    assert len(set(READ_NAMES)) == 54
    assert set(READ_NAMES) <= {e.name for e in CATALOG if e.category == "Reads"}


def test_catalog_holds_exactly_the_expected_events() -> None:
    expected = {*REFERENCE_SPECIALISED, *OVERVIEW_EXTRA, *HOOKDOOR_OWN, *CORE_ROUTES, *COMMERCE_ROUTES, *CRUD_NAMES,
                *READ_NAMES}
    assert set(NAMES) == expected
    assert len(CATALOG) == len(expected)


def test_names_are_unique() -> None:
    assert len(NAMES) == len(set(NAMES))


def test_categories_are_declared_used_and_in_display_order() -> None:
    used = [event.category for event in CATALOG]
    assert set(used) == set(CATEGORIES)
    assert len(CATEGORIES) == len(set(CATEGORIES))
    assert [CATEGORIES.index(c) for c in used] == sorted(CATEGORIES.index(c) for c in used)


def test_descriptions_are_one_sentence_lines() -> None:
    for event in CATALOG:
        assert event.description[0].isupper(), event.name
        assert event.description.endswith("."), event.name
        assert "\n" not in event.description, event.name


def test_get_event_type() -> None:
    login = get_event_type("login")
    assert isinstance(login, EventType)
    assert login.category == "Authentication & Session"
    assert get_event_type("update-user") == EventType(
        "update-user", "Resource Management", "A user was updated.", {}
    )
    assert get_event_type("bogus-event") is None


def test_every_schema_is_valid_draft_2020_12(schema_tools) -> None:
    check_schema, _ = schema_tools
    for event in CATALOG:
        assert event.schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert event.schema["properties"]["event"]["const"] == event.name
        check_schema(event.schema)


def test_login_schema_accepts_a_sample_and_rejects_wrong_event(schema_tools) -> None:
    _, is_valid = schema_tools
    schema = _schema("login")
    assert is_valid(schema, _sample("login", None))
    assert is_valid(schema, {**_sample("login", {"anything": 1}), "user": None})
    assert not is_valid(schema, _sample("logout", None))
    assert not is_valid(schema, {**_sample("login", None), "outcome": "maybe"})
    assert not is_valid(schema, {**_sample("login", None), "timestamp": "1709452800"})
    incomplete = _sample("login", None)
    del incomplete["request"]
    assert not is_valid(schema, incomplete)


def test_update_user_schema_describes_the_user_object(schema_tools) -> None:
    _, is_valid = schema_tools
    schema = _schema("update-user")
    user = {"owner": "built-in", "name": "alice", "displayName": "Alice", "isAdmin": False}
    assert is_valid(schema, _sample("update-user", user))
    assert not is_valid(schema, _sample("add-user", user))
    assert not is_valid(schema, _sample("update-user", None))
    assert not is_valid(schema, _sample("update-user", {"name": "alice"}))
    assert not is_valid(schema, _sample("update-user", {"owner": 1, "name": "alice"}))


def test_non_crud_events_allow_any_object_or_null() -> None:
    assert _schema("login")["properties"]["object"] == {"type": ["object", "null"]}
    assert _schema("get-user")["properties"]["object"] == {"type": ["object", "null"]}
    assert _schema("delete-user")["properties"]["object"]["required"] == ["owner", "name"]
    assert _schema("delete-ldap")["properties"]["object"]["required"] == ["owner", "id"]  # Casdoor keys it by id


def test_is_pattern() -> None:
    assert is_pattern("*")
    assert is_pattern("add-*")
    assert is_pattern("*-user")
    assert not is_pattern("login")
    assert not is_pattern("mfa/setup/enable")
    assert not is_pattern("a?b[c]")


@pytest.mark.parametrize(
    ("selector", "name", "expected"),
    [
        ("*", "login", True),
        ("*", "mfa/setup/enable", True),
        ("add-*", "add-user", True),
        ("add-*", "add-user-keys", True),
        ("add-*", "update-user", False),
        ("*-user", "update-user", True),
        ("*-user", "new-user", True),
        ("*-user", "add-user-keys", False),
        ("*-user", "user", False),
        ("login", "login", True),
        ("login", "logout", False),
        ("login", "login/oauth/access_token", False),
        ("mfa/setup/*", "mfa/setup/verify", True),
        ("mfa/setup/*", "delete-mfa", False),
        ("add-[u]*", "add-user", False),
        ("add-[u]*", "add-[u]ser", True),
        ("[", "[", True),
        ("*[", "x[", True),
        ("*]", "x]", True),
        ("add-?ser", "add-user", False),
        ("add-?*", "add-?x", True),
        ("ADD-*", "add-user", False),
    ],
)
def test_selector_matches(selector: str, name: str, expected: bool) -> None:
    assert selector_matches(selector, name) is expected


def test_selector_patterns_match_the_expected_catalog_events() -> None:
    assert [n for n in NAMES if selector_matches("mfa/setup/*", n)] == [
        "mfa/setup/initiate", "mfa/setup/verify", "mfa/setup/enable",
    ]  # fmt: skip
    assert sorted(n for n in NAMES if selector_matches("*-user", n)) == [
        "add-user", "delete-user", "exit-impersonate-user", "get-user", "impersonate-user", "new-user", "update-user",
    ]  # fmt: skip
    assert all(selector_matches("*", n) for n in NAMES)


def test_unknown_selectors() -> None:
    selectors = ["login", "bogus-event", "add-*", "add-nothing*", "mfa/setup/*", "*", "Login", "[*"]
    assert unknown_selectors(selectors) == ["bogus-event", "add-nothing*", "Login", "[*"]
    assert unknown_selectors(iter(["update-user", "webhook-test"])) == []
    assert unknown_selectors([]) == []


def test_catalog_as_json() -> None:
    data = catalog_as_json()
    assert [item["name"] for item in data] == NAMES
    assert all(set(item) == {"name", "category", "description", "schema"} for item in data)
    json.dumps(data)
    data[0]["schema"]["properties"].clear()
    assert CATALOG[0].schema["properties"]
