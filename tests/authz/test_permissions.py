"""Permissions compiled into Casbin policies as Casdoor compiles them: users, groups, roles (nested),
domains, resources, actions, effect and model; enforced by permissionId, owner and modelId through
Casdoor's SDK; what a user may reach."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from casdoor import CasdoorSDK

from tests.authz.support import RBAC_DOMAINS_MODEL, ok
from tests.compat.sdk import Tenant
from tests.support import Api, unique


@dataclass
class Org:
    name: str
    users: dict[str, str]  # short name -> id

    def id(self, name: str) -> str:
        return f"{self.name}/{name}"


@pytest.fixture
def org(admin: Api, tenant: Tenant) -> Org:
    o = tenant.organization
    ok(admin.post("add-group", {"owner": o, "name": "g1"}))
    users = {}
    for short, groups in (("u1", []), ("u2", []), ("u3", [f"{o}/g1"])):
        name = unique(short)
        ok(admin.post("add-user", {"owner": o, "name": name, "password": "pw-123456789", "groups": groups}))
        users[short] = f"{o}/{name}"
    ok(admin.post("add-role", {"owner": o, "name": "staff", "users": [users["u1"]]}))
    ok(admin.post("add-role", {"owner": o, "name": "managers", "roles": [f"{o}/staff"]}))
    return Org(o, users)


def _permission(admin: Api, org: Org, name: str, **fields: object) -> str:
    body = {"owner": org.name, "name": name, "resources": [], "actions": [], "effect": "Allow",
            "isEnabled": True, **fields}
    ok(admin.post("add-permission", body))
    return org.id(name)


def _enforce(admin: Api, request: list[str], **selector: str) -> list[bool]:
    return ok(admin.post("enforce", request, params=selector))["data"]


def test_roles_nested_roles_and_groups_compile_as_casdoor_does(admin: Api, org: Org, sdk: CasdoorSDK) -> None:
    u = org.users
    p1 = _permission(admin, org, "read-doc1", roles=[org.id("managers")], resources=["doc1"], actions=["read"])
    p2 = _permission(admin, org, "write-doc2", users=[u["u2"]], groups=[org.id("g1")], resources=["doc2"],
                     actions=["write", "read"])
    assert _enforce(admin, [u["u1"], "doc1", "read"], permissionId=p1) == [True]  # staff is in managers
    assert _enforce(admin, [u["u2"], "doc1", "read"], permissionId=p1) == [False]
    assert _enforce(admin, [u["u3"], "doc2", "write"], permissionId=p2) == [True]  # through group g1
    assert _enforce(admin, [u["u1"], "doc2", "write"], permissionId=p2) == [False]
    # One enforcer for the permissions sharing a model and an adapter (here the built-in model).
    answer = ok(admin.post("enforce", [u["u2"], "doc2", "read"], params={"owner": org.name}))
    assert (answer["data"], answer["data2"]) == ([True], ["/"])

    assert sdk.enforce(p1, "", "", "", "", [u["u1"], "doc1", "read"]) is True
    assert sdk.enforce("", "", "", "", org.name, [u["u1"], "doc2", "read"]) is False
    assert sdk.batch_enforce(p2, "", "", "", [[u["u3"], "doc2", "read"], [u["u3"], "doc1", "read"]]) == [True, False]

    # A change to the permission is in force at once (the cached enforcer is dropped).
    stored = ok(admin.get("get-permission", id=p1))["data"]
    ok(admin.post("update-permission", {**stored, "roles": []}, params={"id": p1}))
    assert _enforce(admin, [u["u1"], "doc1", "read"], permissionId=p1) == [False]
    # So is a change to a role, and to a user's groups.
    ok(admin.post("update-permission", {**stored, "isEnabled": True}, params={"id": p1}))
    assert _enforce(admin, [u["u1"], "doc1", "read"], permissionId=p1) == [True]
    staff = ok(admin.get("get-role", id=org.id("staff")))["data"]
    ok(admin.post("update-role", {**staff, "users": []}, params={"id": org.id("staff")}))
    assert _enforce(admin, [u["u1"], "doc1", "read"], permissionId=p1) == [False]
    u3 = ok(admin.get("get-user", id=u["u3"]))["data"]
    ok(admin.post("update-user", {**u3, "groups": []}, params={"id": u["u3"]}))
    assert _enforce(admin, [u["u3"], "doc2", "write"], permissionId=p2) == [False]


def test_a_disabled_or_deleted_permission_grants_nothing(admin: Api, org: Org) -> None:
    p = _permission(admin, org, "off", users=[org.users["u1"]], resources=["doc9"], actions=["read"],
                    isEnabled=False)
    assert _enforce(admin, [org.users["u1"], "doc9", "read"], permissionId=p) == [False]
    stored = ok(admin.get("get-permission", id=p))["data"]
    ok(admin.post("update-permission", {**stored, "isEnabled": True}, params={"id": p}))
    assert _enforce(admin, [org.users["u1"], "doc9", "read"], owner=org.name) == [True]
    ok(admin.post("delete-permission", {"owner": org.name, "name": "off"}))
    assert _enforce(admin, [org.users["u1"], "doc9", "read"], owner=org.name) == []


def test_domains_and_a_deny_effect_with_the_permissions_model(admin: Api, org: Org) -> None:
    ok(admin.post("add-model", {"owner": org.name, "name": "rbac-domains", "modelText": RBAC_DOMAINS_MODEL}))
    common = {"model": "rbac-domains", "resources": ["data1"], "actions": ["read"]}
    _permission(admin, org, "domain-read", roles=[org.id("managers")], domains=["d1"], **common)
    model_id = org.id("rbac-domains")
    assert _enforce(admin, [org.users["u1"], "d1", "data1", "read"], modelId=model_id) == [True]
    assert _enforce(admin, [org.users["u1"], "d2", "data1", "read"], modelId=model_id) == [False]
    assert _enforce(admin, [org.users["u2"], "d1", "data1", "read"], modelId=model_id) == [False]
    answer = admin.post("enforce", ["only", "two"], params={"modelId": model_id})
    assert answer["status"] == "error" and "cannot be evaluated" in answer["msg"]


def test_what_a_user_may_reach(admin: Api, org: Org) -> None:
    u = org.users
    p1 = _permission(admin, org, "reach", roles=[org.id("managers")], resources=["doc1", "doc3"],
                     actions=["read"])
    _permission(admin, org, "reach-direct", users=[u["u1"]], resources=["doc4"], actions=["delete"])
    assert sorted(ok(admin.get("get-all-roles", userId=u["u1"]))["data"]) == ["managers", "staff"]
    assert sorted(ok(admin.get("get-all-objects", userId=u["u1"]))["data"]) == ["doc1", "doc3", "doc4"]
    assert sorted(set(ok(admin.get("get-all-actions", userId=u["u1"]))["data"])) == ["delete", "read"]
    assert ok(admin.get("get-all-objects", userId=u["u2"]))["data"] == []
    by_role = ok(admin.get("get-permissions-by-role", id=org.id("managers")))
    assert [f"{p['owner']}/{p['name']}" for p in by_role["data"]] == [p1] and by_role["data2"] == 1
    assert ok(admin.get("get-permissions-by-submitter"))["data2"] == 0
