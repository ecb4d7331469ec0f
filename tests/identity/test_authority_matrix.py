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
from tests.authz.support import RBAC_MODEL, casdoor_rule, new_enforcer
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
    if resource.singular == "model":
        body.update(modelText=RBAC_MODEL)  # checked on save (authz/)
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


# ---- the Casbin routes (authz/): an enforcer, a permission and a role per organization ----------------

AUTHZ_ROUTES = ("enforce", "batch-enforce", "enforce-permission", "enforce-owner", "enforce-model", "get-policies",
                "get-filtered-policies", "add-policy", "update-policy", "remove-policy", "get-permissions-by-role",
                "get-all-roles", "get-all-objects", "get-all-actions")


@dataclass(frozen=True)
class AuthzTarget:
    enforcer: str
    model: str
    permission: str
    role: str
    user: str


@pytest.fixture(scope="module")
def authz_targets(world: World) -> dict[str, AuthzTarget]:
    targets = {}
    for target, organization in world.organizations.items():
        enforcer = new_enforcer(world.admin, organization, RBAC_MODEL)
        assert world.admin.post("add-policy", casdoor_rule("p", "alice", "data1", "read"),
                                params={"id": enforcer.id})["status"] == "ok"
        role, permission = unique("mx-role"), unique("mx-perm")
        _add(world.admin, "role", {"owner": organization, "name": role})
        _add(world.admin, "permission", {"owner": organization, "name": permission, "roles": [f"{organization}/{role}"],
                                         "resources": ["data1"], "actions": ["read"], "effect": "Allow"})
        user = "admin" if target == "built-in" else world.users[target]
        targets[target] = AuthzTarget(enforcer.id, enforcer.model, f"{organization}/{permission}",
                                      f"{organization}/{role}", f"{organization}/{user}")
    return targets


def _authz_call(world: World, route: str, target: AuthzTarget, actor: Actor | None,
                marker: str) -> requests.Response:
    http = actor.http if actor else requests.Session()
    params = {**(actor.params if actor else {}), "matrixCell": marker}
    rule, other = casdoor_rule("p", "alice", "data1", "read"), casdoor_rule("p", "mallory", "data1", "read")
    request = ["alice", "data1", "read"]
    calls: dict[str, tuple[str, str, dict[str, str], Any]] = {
        "enforce": ("post", "enforce", {"enforcerId": target.enforcer}, request),
        "batch-enforce": ("post", "batch-enforce", {"enforcerId": target.enforcer}, [request]),
        "enforce-permission": ("post", "enforce", {"permissionId": target.permission}, request),
        "enforce-owner": ("post", "enforce", {"owner": target.permission.split("/")[0]}, request),
        "enforce-model": ("post", "enforce", {"modelId": target.model}, request),
        "get-policies": ("get", "get-policies", {"id": target.enforcer}, None),
        "get-filtered-policies": ("post", "get-filtered-policies", {"id": target.enforcer}, []),
        "add-policy": ("post", "add-policy", {"id": target.enforcer}, other),
        "update-policy": ("post", "update-policy", {"id": target.enforcer}, [rule, other]),
        "remove-policy": ("post", "remove-policy", {"id": target.enforcer}, rule),
        "get-permissions-by-role": ("get", "get-permissions-by-role", {"id": target.role}, None),
        "get-all-roles": ("get", "get-all-roles", {"userId": target.user}, None),
        "get-all-objects": ("get", "get-all-objects", {"userId": target.user}, None),
        "get-all-actions": ("get", "get-all-actions", {"userId": target.user}, None),
    }
    method, path, extra, body = calls[route]
    url = f"{world.server.url}/api/{path}"
    if method == "get":
        return http.get(url, params={**params, **extra}, timeout=30)
    return http.post(url, params={**params, **extra}, json=body, timeout=30)


def _authz_allowed(route: str, actor: str, target: str) -> bool:
    if target != "own":
        return False
    return actor in MANAGERS or (actor == "normal-user" and route.startswith("get-all-"))  # their own reach


@pytest.mark.parametrize("route", AUTHZ_ROUTES)
def test_casbin_routes_answer_only_within_the_callers_reach(world: World, authz_targets: dict[str, AuthzTarget],
                                                           route: str) -> None:
    policies_before = {t: world.admin.get("get-policies", id=a.enforcer)["data"] for t, a in authz_targets.items()}
    problems, refused = [], []
    for actor_name in (*ACTORS, "anonymous"):
        for target in TARGETS:
            marker = f"authz.{route}.{actor_name}.{target}"
            response = _authz_call(world, route, authz_targets[target], world.actors.get(actor_name), marker)
            expected = _authz_allowed(route, actor_name, target)
            status = response.json().get("status")
            if expected and status != "ok":
                problems.append(f"{marker}: refused {response.status_code} {response.text[:200]}")
            elif not expected:
                refused.append(marker)
                if response.status_code not in (401, 403) or status != "error":
                    problems.append(f"{marker}: answered {response.status_code} {response.text[:200]}")
    if route in ("add-policy", "update-policy", "remove-policy"):
        for target in ("other", "built-in"):
            after = world.admin.get("get-policies", id=authz_targets[target].enforcer)["data"]
            if after != policies_before[target]:
                problems.append(f"{route} changed the policies of {target}: {after}")
    assert not problems, "\n".join(problems)
    action = route.split("-")[0] if route.startswith("enforce-") else route
    outcomes = {e["request"]["uri"].split("matrixCell=")[1].split("&")[0]: e["outcome"]
                for e in events(world.server, action=action) if "matrixCell=" in e["request"]["uri"]}
    missing = [m for m in refused if outcomes.get(m) != "error"]
    assert not missing, f"not recorded as error events: {missing}"


def test_casbin_editor_routes_are_for_administrators(world: World) -> None:
    for actor_name in ("normal-user", "anonymous"):
        actor = world.actors.get(actor_name)
        http, params = (actor.http, actor.params) if actor else (requests.Session(), {})
        for method, path in (("get", "run-casbin-command"), ("post", "refresh-engines")):
            answer = http.request(method, f"{world.server.url}/api/{path}", params={**params, "t": "x", "m": "y"},
                                  timeout=30)
            assert answer.status_code in (401, 403), (actor_name, path, answer.text)
    org_admin = world.actors["org-admin"]
    refused = org_admin.http.post(f"{world.server.url}/api/refresh-engines", params={"t": "x", "m": "y"}, timeout=30)
    assert refused.status_code == 403 and "global administrators" in refused.json()["msg"]


# ---- the routes beyond the five per kind: who may call each ------------------------------------------

ALL_CALLERS = ("anonymous", *ACTORS, "global-admin")
SIGNED_IN = (*ACTORS, "global-admin")
MANAGERS_OF_OWN = (*MANAGERS, "global-admin")
GLOBAL_ONLY = ("global-admin",)


@dataclass(frozen=True)
class RouteCell:
    """One call of a route on organization A's ("own") or B's ("other") objects, and who may make it."""

    route: str
    target: str
    allowed: tuple[str, ...]
    method: str = "GET"
    answered: int = 200  # what an allowed caller gets

    def marker(self, actor: str) -> str:
        return f"{self.route}.{self.target}.{actor}"


ROUTE_CELLS: tuple[RouteCell, ...] = (
    RouteCell("get-user-count", "own", MANAGERS_OF_OWN), RouteCell("get-user-count", "other", GLOBAL_ONLY),
    RouteCell("get-sorted-users", "own", MANAGERS_OF_OWN), RouteCell("get-sorted-users", "other", GLOBAL_ONLY),
    *(RouteCell(f"get-global-{plural}", "own", GLOBAL_ONLY) for plural in ("users", "providers", "certs", "forms")),
    RouteCell("get-organization-names", "own", ALL_CALLERS),
    RouteCell("get-default-application", "own", ALL_CALLERS),
    RouteCell("get-organization-applications", "own", SIGNED_IN),
    RouteCell("get-organization-applications", "other", GLOBAL_ONLY),
    RouteCell("get-user-application", "own", SIGNED_IN), RouteCell("get-user-application", "other", GLOBAL_ONLY),
    RouteCell("update-permissions", "own", MANAGERS_OF_OWN, "POST"),
    RouteCell("update-permissions", "other", GLOBAL_ONLY, "POST"),
    RouteCell("get-records-filter", "own", MANAGERS_OF_OWN, "POST"),
    RouteCell("get-records-filter", "other", GLOBAL_ONLY, "POST"),
    RouteCell("is-session-duplicated", "own", SIGNED_IN), RouteCell("is-session-duplicated", "other", GLOBAL_ONLY),
    RouteCell("get-dashboard", "own", MANAGERS_OF_OWN), RouteCell("get-dashboard", "other", GLOBAL_ONLY),
    RouteCell("get-dashboard-mfa", "own", MANAGERS_OF_OWN), RouteCell("get-dashboard-providers", "other", GLOBAL_ONLY),
    RouteCell("get-dashboard-heatmap", "own", MANAGERS_OF_OWN),
    *(RouteCell(route, "own", GLOBAL_ONLY) for route in ("get-system-info", "get-version-info", "get-prometheus-info")),
    RouteCell("upload-roles", "own", MANAGERS_OF_OWN, "POST"), RouteCell("upload-roles", "other", GLOBAL_ONLY, "POST"),
    RouteCell("upload-resource", "own", SIGNED_IN, "POST"), RouteCell("upload-resource", "other", GLOBAL_ONLY, "POST"),
    RouteCell("impersonate-user", "own", GLOBAL_ONLY, "POST"),
    # The cert's name is no domain: allowed callers are told so, and nobody's call reaches WHOIS.
    RouteCell("update-cert-domain-expire", "own", MANAGERS_OF_OWN, "POST", answered=400),
)  # fmt: skip


def _route_permission(world: World, organization: str) -> dict[str, Any]:
    name = f"mx-route-perm-{organization}"
    if world.admin.get("get-permission", id=f"{organization}/{name}")["data"] is None:
        _add(world.admin, "permission", {"owner": organization, "name": name})
    return {"owner": organization, "name": name, "description": unique("changed")}


def _xlsx(*rows: list[Any]) -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _route_request(world: World, cell: RouteCell) -> dict[str, Any]:
    """The call's query, and its JSON body or file, on the target organization's objects."""
    organization, user = world.organizations[cell.target], world.users[cell.target]
    query: dict[str, Any] = {"owner": organization}
    json_body: Any = None
    files = None
    if cell.route == "get-default-application":
        query = {"id": f"{GLOBAL_OWNER}/{organization}"}
    elif cell.route == "get-organization-applications":
        query = {"owner": GLOBAL_OWNER, "organization": organization}
    elif cell.route == "get-user-application":
        query = {"id": f"{organization}/{user}"}
    elif cell.route == "is-session-duplicated":
        query = {"sessionPkId": f"{organization}/{user}", "sessionId": "x"}
    elif cell.route == "update-permissions":
        json_body = [_route_permission(world, organization)]
    elif cell.route == "get-records-filter":
        json_body = {"owner": organization}
    elif cell.route == "upload-roles":
        files = {"file": ("roles.xlsx", _xlsx(["name"], [unique("mx-role")]))}
    elif cell.route == "upload-resource":
        query = {"owner": organization, "user": user, "fullFilePath": f"{unique('mx')}.txt"}
        files = {"file": ("f.txt", b"matrix")}
    elif cell.route == "impersonate-user":
        json_body = {"owner": organization, "name": user}
    elif cell.route == "update-cert-domain-expire":
        cert = world.objects[("cert", cell.target)]
        query = {"id": f"{cert['owner']}/{cert['name']}"}
    return {"params": query, "json": json_body, "files": files}


def _route_caller(world: World, actor: str) -> Actor:
    if actor == "anonymous":
        return Actor("anonymous", requests.Session())
    if actor == "global-admin":
        return Actor("global-admin", world.admin.http)
    return world.actors[actor]


def test_who_may_call_each_route(world: World) -> None:
    problems = []
    for cell in ROUTE_CELLS:
        for actor in ALL_CALLERS:
            caller = _route_caller(world, actor)
            request = _route_request(world, cell)
            params = {**request["params"], **caller.params, "matrixCell": cell.marker(actor)}
            url = f"{world.server.url}/api/{cell.route}"
            if cell.method == "GET":
                response = caller.http.get(url, params=params, timeout=30)
            else:
                response = caller.http.post(url, params=params, json=request["json"], files=request["files"],
                                            timeout=30)
            if cell.route == "impersonate-user" and response.status_code == 200:
                assert caller.http.post(f"{world.server.url}/api/exit-impersonate-user", timeout=30).ok
            status = response.json().get("status")
            if actor in cell.allowed and (response.status_code != cell.answered or (status == "ok") != (cell.answered
                                                                                                     == 200)):
                problems.append(f"{cell.marker(actor)}: refused {response.status_code} {response.text[:200]}")
            elif actor not in cell.allowed and response.status_code not in (401, 403):
                problems.append(f"{cell.marker(actor)}: not refused ({response.status_code} {response.text[:200]})")
    assert not problems, "\n".join(problems)
    _assert_refusals_recorded(world)


def _assert_refusals_recorded(world: World) -> None:
    missing = []
    for route in {cell.route for cell in ROUTE_CELLS}:
        uris = [e["request"]["uri"] for e in events(world.server, action=route, outcome="error")]
        for cell in (c for c in ROUTE_CELLS if c.route == route):
            for actor in (a for a in ALL_CALLERS if a not in cell.allowed):
                if sum(f"matrixCell={cell.marker(actor)}" in uri for uri in uris) != 1:
                    missing.append(cell.marker(actor))
    assert not missing, f"refusals not recorded as one error event each: {missing[:10]} ({len(missing)} in all)"


# Routes of issue 12 whose rule another cell or test already shows.
RULE_SHOWN_ELSEWHERE = {
    "exit-impersonate-user": "tests/impersonation: only a session that impersonates may exit",
    "delete-webhook-event": "WebhookControl's managed_webhook, the rule of every webhook-event route",
    "get-dashboard-mfa": "the dashboards share one rule (SystemService.dashboard_scope)",
    "get-dashboard-providers": "ditto", "get-dashboard-heatmap": "ditto",
}


def test_the_route_matrix_covers_every_new_route() -> None:
    from tests.events.test_catalog import CORE_ROUTES

    uploads = [f"upload-{k.plural}" for k in KINDS if k.uploadable] + ["upload-resource"]
    tried = {cell.route for cell in ROUTE_CELLS}
    untried = [r for r in (*CORE_ROUTES, *uploads, "is-session-duplicated")
               if r not in tried and r not in RULE_SHOWN_ELSEWHERE and not r.startswith("upload-")]
    assert not untried, untried
    assert "upload-roles" in tried  # the four imports share ImportService's rule
