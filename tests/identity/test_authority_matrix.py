"""No caller can widen its own reach by writing an object: a matrix derived from the registry.

For every kind and every field that carries authority (``owner``, the organization field where the
kind has one, and the kind's declared issued, reference and guarded fields), three callers of
organization A try to widen their reach: its administrator, a normal user of it, and its
application's client credentials. Each tries on an object of its own organization, on one of
another organization and on one of the built-in organization, by update and by add (and by delete,
where deleting is itself out of reach). Every cell must be refused with a message naming the field or
the organization, leave the stored objects as they were, and be recorded as an ``error`` event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from hookdoor.authority.schemas import Reference
from hookdoor.identity.registry import GLOBAL_OWNER, KINDS, ResourceKind
from tests.compat.sdk import application_credentials, new_tenant
from tests.identity.test_events_recorded import events
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique

PASSWORD = "matrix-password-1234"
BUILT_IN = "built-in"
MANAGERS = ("org-admin", "client-credentials")
ACTORS = (*MANAGERS, "normal-user")
TARGETS = ("own", "other", "built-in")


@dataclass
class Actor:
    name: str
    http: requests.Session
    params: dict[str, str] = field(default_factory=dict)  # client credentials ride in the query


@dataclass
class World:
    server: ServerProcess
    admin: Api
    organizations: dict[str, str]  # target -> organization
    applications: dict[str, str]  # target -> application of that organization
    users: dict[str, str]  # target -> a normal user of that organization
    actors: dict[str, Actor]
    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (kind, target) -> object


# ---- the world: organizations A and B, the built-in one, and the callers ---------------------------

def _signed_in(world_url: str, organization: str, application: str, name: str, password: str) -> requests.Session:
    api = Api(world_url)
    answer = api.login(name, password, organization, application)
    assert answer["status"] == "ok", answer
    return api.http


def _add(admin: Api, kind: str, body: dict[str, Any]) -> None:
    answer = admin.post(f"add-{kind}", body)
    assert answer["status"] == "ok", (kind, body, answer)


def _add_user(admin: Api, organization: str, **fields: Any) -> str:
    name = unique("mx-user")
    _add(admin, "user", {"owner": organization, "name": name, "password": PASSWORD, **fields})
    return name


def _token_of(world: World, organization: str, application: str, user: str) -> dict[str, Any]:
    answer = Api(world.server.url).post("login", {
        "type": "token", "organization": organization, "application": application,
        "username": user, "password": PASSWORD if user != "admin" else ADMIN_PASSWORD,
    })
    assert answer["status"] == "ok", answer
    tokens = world.admin.get("get-tokens", owner=GLOBAL_OWNER, field="user", value=user)["data"]
    return next(t for t in tokens if t["organization"] == organization and t["user"] == user)


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> World:
    admin = Api(server.url)
    assert admin.login("admin", ADMIN_PASSWORD)["status"] == "ok"
    a, b = new_tenant(admin), new_tenant(admin)
    organizations = {"own": a.organization, "other": b.organization, "built-in": BUILT_IN}
    applications = {"own": a.application, "other": b.application, "built-in": "app-built-in"}
    users = {target: _add_user(admin, org) for target, org in organizations.items()}
    org_admin = _add_user(admin, a.organization, isAdmin=True)
    client_id, client_secret = application_credentials(admin, a.application)
    actors = {
        "org-admin": Actor("org-admin", _signed_in(server.url, a.organization, a.application, org_admin, PASSWORD)),
        "normal-user": Actor("normal-user", _signed_in(server.url, a.organization, a.application, users["own"],
                                                       PASSWORD)),
        "client-credentials": Actor("client-credentials", requests.Session(),
                                    {"clientId": client_id, "clientSecret": client_secret}),
    }
    world = World(server, admin, organizations, applications, users, actors)
    for resource in KINDS:
        for target in TARGETS:
            world.objects[(resource.singular, target)] = _target_object(world, resource, target)
    return world


def _base_body(resource: ResourceKind, organization: str) -> dict[str, Any]:
    """A minimal valid new object of this kind in ``organization``."""
    if resource.globally_owned or _has_organization_field(resource):
        body: dict[str, Any] = {"owner": GLOBAL_OWNER, "organization": organization}
    else:
        body = {"owner": organization}
    if resource.singular == "webhook":
        body.update(owner=organization, url="http://127.0.0.1:9/matrix", isEnabled=False, events=["login"])
    return {**body, resource.key_field: unique(f"mx-{resource.singular}")}


def _target_object(world: World, resource: ResourceKind, target: str) -> dict[str, Any]:
    organization = world.organizations[target]
    if resource.singular == "organization":
        return world.admin.get("get-organization", id=f"{GLOBAL_OWNER}/{organization}")["data"]
    if resource.singular == "application":
        return world.admin.get("get-application", id=f"{GLOBAL_OWNER}/{world.applications[target]}")["data"]
    if resource.singular == "user":
        user = "admin" if target == "built-in" else world.users[target]
        return world.admin.get("get-user", id=f"{organization}/{user}")["data"]
    if resource.singular == "token":
        user = "admin" if target == "built-in" else world.users[target]
        return _token_of(world, organization, world.applications[target], user)
    body = _base_body(resource, organization)
    if resource.singular == "token":
        body.pop("organization")
    _add(world.admin, resource.singular, body)
    return _stored(world, resource, body)


def _stored(world: World, resource: ResourceKind, obj: dict[str, Any]) -> dict[str, Any] | None:
    answer = world.admin.get(f"get-{resource.singular}", id=f"{obj['owner']}/{obj[resource.key_field]}")
    assert answer["status"] == "ok", answer
    return answer["data"]


def _has_organization_field(resource: ResourceKind) -> bool:
    return resource.organization_of({"owner": "x", "name": "x", "organization": "y"}) == "y"


# ---- the cells -------------------------------------------------------------------------------------

def authority_fields(resource: ResourceKind) -> list[str]:
    namespace = ["owner", "organization"] if _has_organization_field(resource) else ["owner"]
    if resource.singular == "organization":
        namespace = ["owner", "name"]
    return list(dict.fromkeys([*namespace, *resource.authority.fields]))


def _reference(resource: ResourceKind, name: str) -> Reference | None:
    return next((r for r in resource.authority.references if r.field == name), None)


def _is_guarded_only(resource: ResourceKind, name: str) -> bool:
    authority = resource.authority
    return name in authority.guarded and name not in authority.issued and _reference(resource, name) is None


def _typed(resource: ResourceKind, name: str, text: str) -> Any:
    """A value of the field's own type, so that validation passes and the authority rule decides."""
    info = resource.model.model_fields.get(name)
    default = None if info is None else (info.default_factory() if info.default_factory else info.default)
    annotation = "" if info is None else str(info.annotation)
    if isinstance(default, bool):
        return not default
    if isinstance(default, int | float):
        return 9999
    if isinstance(default, list) or "list" in annotation:
        return [text]
    if name == "email":
        return f"{text}@example.com"
    return text


def widening_value(world: World, resource: ResourceKind, name: str, target: str, verb: str) -> Any:
    """What a caller of organization A would write to reach further than it may: its own objects
    moved out of its organization, others' objects pulled into it, new objects put in others'."""
    if verb == "add":
        elsewhere = world.organizations["built-in" if target == "own" else target]
    else:
        elsewhere = world.organizations["built-in" if target == "own" else "own"]
    if name == "name":  # renaming an organization puts its objects under a name the caller does not hold
        return unique("mx-org")
    if name in ("owner", "organization"):
        return elsewhere
    reference = _reference(resource, name)
    if reference is not None:
        value = "app-built-in" if reference.form == "global-name" else f"{world.organizations['other']}/mx-victim"
        if reference.key:
            return [{reference.key: value}]
        return [value] if reference.many else value
    special = {"application": "app-built-in", "user": "admin", "organization": BUILT_IN}
    if name in special:
        return special[name]
    return _typed(resource, name, f"widened-{uuid.uuid4().hex[:6]}")


@dataclass(frozen=True)
class Cell:
    kind: str
    field: str
    actor: str
    target: str
    verb: str

    @property
    def marker(self) -> str:
        return f"{self.verb}.{self.kind}.{self.field}.{self.actor}.{self.target}"


def cells(resource: ResourceKind) -> list[Cell]:
    found = []
    for name in authority_fields(resource):
        for actor in ACTORS:
            for target in TARGETS:
                if actor in MANAGERS and target == "own" and _is_guarded_only(resource, name):
                    continue  # an administrator changing its own organization's settings widens nothing
                for verb in ("update", "add"):
                    found.append(Cell(resource.singular, name, actor, target, verb))
    for actor in ACTORS:
        for target in TARGETS:
            if actor == "normal-user" or target != "own":
                found.append(Cell(resource.singular, "", actor, target, "delete"))
    return found


def _send(world: World, resource: ResourceKind, cell: Cell) -> tuple[requests.Response, dict[str, Any] | None]:
    """Perform the cell's attempt; returns the response and the object that must not come to exist."""
    actor = world.actors[cell.actor]
    current = world.objects[(resource.singular, cell.target)]
    params = {**actor.params, "matrixCell": cell.marker}
    if cell.verb == "update":
        params["id"] = f"{current['owner']}/{current[resource.key_field]}"
        body = {**current, cell.field: widening_value(world, resource, cell.field, cell.target, cell.verb)}
        created = None
    elif cell.verb == "add":
        base = _base_body(resource, world.organizations[cell.target])
        body = {**base, cell.field: widening_value(world, resource, cell.field, cell.target, cell.verb)}
        created = {**base, **({cell.field: body[cell.field]} if cell.field in ("owner", resource.key_field) else {})}
    else:
        body, created = {"owner": current["owner"], resource.key_field: current[resource.key_field]}, None
    url = f"{world.server.url}/api/{cell.verb}-{resource.singular}"
    return actor.http.post(url, params=params, json=body, timeout=30), created


def _refusal_problem(response: requests.Response, cell: Cell, world: World) -> str | None:
    if not 400 <= response.status_code < 500:
        return f"answered {response.status_code}: {response.text[:300]}"
    message = response.json().get("msg", "")
    named = [cell.field, "administer", "only administrators", "only global administrators",
             "is set by the server", *world.organizations.values()]
    if not any(word and word in message for word in named):
        return f"refused without naming the field or organization: {message!r}"
    return None


@pytest.mark.parametrize("resource", KINDS, ids=[k.singular for k in KINDS])
def test_no_caller_widens_its_reach(world: World, resource: ResourceKind) -> None:
    before = {target: _stored(world, resource, world.objects[(resource.singular, target)]) for target in TARGETS}
    problems = []
    attempted = cells(resource)
    for cell in attempted:
        response, created = _send(world, resource, cell)
        if problem := _refusal_problem(response, cell, world):
            problems.append(f"{cell.marker}: {problem}")
        if created is not None and created.get("owner") and _stored(world, resource, created) is not None:
            problems.append(f"{cell.marker}: the refused add stored {created['owner']}/{created[resource.key_field]}")
    after = {target: _stored(world, resource, world.objects[(resource.singular, target)]) for target in TARGETS}
    for target in TARGETS:
        if after[target] != before[target]:
            problems.append(f"{resource.singular} ({target}) changed: {before[target]} -> {after[target]}")
    assert not problems, "\n".join(problems)
    _assert_recorded_as_errors(world, resource, attempted)


def _assert_recorded_as_errors(world: World, resource: ResourceKind, attempted: list[Cell]) -> None:
    recorded: dict[str, str] = {}
    for verb in ("update", "add", "delete"):
        for event in events(world.server, action=f"{verb}-{resource.singular}"):
            recorded[event["request"]["uri"]] = event["outcome"]
    outcomes = {cell.marker: [o for uri, o in recorded.items() if f"matrixCell={cell.marker}" in uri]
                for cell in attempted}
    missing = [marker for marker, found in outcomes.items() if found != ["error"]]
    assert not missing, f"not recorded as one error event: {missing[:10]} ({len(missing)} in all)"


def test_the_matrix_covers_every_kind_and_authority_field() -> None:
    """Derived from the registry: a kind or an authority field declared there is in the matrix, tried
    by every caller, on every target, by update and by add."""
    for resource in KINDS:
        tried = {(c.field, c.actor, c.target, c.verb) for c in cells(resource)}
        for name in authority_fields(resource):
            assert ("", "normal-user", "own", "delete") in tried
            assert {(name, "normal-user", t, v) for t in TARGETS for v in ("update", "add")} <= tried
            assert {(name, a, t, "update") for a in MANAGERS for t in ("other", "built-in")} <= tried
        assert set(resource.authority.fields) <= set(authority_fields(resource))
