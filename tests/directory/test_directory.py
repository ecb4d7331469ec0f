"""The lookup routes over the core kinds and the system routes, on a real server: Casdoor's
parameters and answer shapes, who may ask, and the event each records."""

from __future__ import annotations

from typing import Any

from tests.compat.sdk import Tenant
from tests.identity.test_events_recorded import events
from tests.mfa.test_totp import new_person, set_up_totp
from tests.support import Api, ServerProcess, eventually, unique

PASSWORD = "directory-password-1234"


def _ok(answer: dict[str, Any]) -> Any:
    assert answer["status"] == "ok", answer
    return answer["data"]


def _user(admin: Api, organization: str, **fields: Any) -> str:
    name = unique("dir-user")
    _ok(admin.post("add-user", {"owner": organization, "name": name, "password": PASSWORD, **fields}))
    return name


def _signed_in(server: ServerProcess, tenant: Tenant, name: str) -> Api:
    api = Api(server.url)
    _ok(api.login(name, PASSWORD, tenant.organization, tenant.application))
    return api


def test_user_count_and_sorted_users(server: ServerProcess, admin: Api, tenant: Tenant) -> None:
    first = _user(admin, tenant.organization, isOnline=True, score=5)
    second = _user(admin, tenant.organization, score=50)
    assert _ok(admin.get("get-user-count", owner=tenant.organization, isOnline="")) == 2
    assert _ok(admin.get("get-user-count", owner=tenant.organization, isOnline="1")) == 1
    assert _ok(admin.get("get-user-count", owner=tenant.organization, isOnline="0")) == 1
    ranked = _ok(admin.get("get-sorted-users", owner=tenant.organization, sorter="score", limit=1))
    assert [u["name"] for u in ranked] == [second]
    newest = _ok(admin.get("get-sorted-users", owner=tenant.organization, sorter="created_time", limit=0))
    assert [u["name"] for u in newest] == [second, first]
    assert all("password" not in u for u in newest)
    bad = admin.get("get-user-count", owner=tenant.organization, isOnline="yes")
    assert bad["status"] == "error" and "isOnline" in bad["msg"]
    bad = admin.get("get-sorted-users", owner=tenant.organization, sorter="score; drop table users")
    assert bad["status"] == "error" and "sortField" in bad["msg"]
    member = _signed_in(server, tenant, first)
    refused = member.get("get-user-count", owner=tenant.organization)
    assert refused["status"] == "error" and tenant.organization in refused["msg"]
    assert eventually(lambda: events(server, action="get-user-count", organization=tenant.organization),
                      "get-user-count events")


def test_global_lists_are_for_global_administrators(server: ServerProcess, admin: Api, tenant: Tenant) -> None:
    name = _user(admin, tenant.organization, isAdmin=True)
    org_admin = _signed_in(server, tenant, name)
    for plural in ("users", "providers", "certs", "forms"):
        every = admin.get(f"get-global-{plural}")
        assert every["status"] == "ok", every
        refused = org_admin.get(f"get-global-{plural}")
        assert refused["status"] == "error" and "global administrators" in refused["msg"], refused
    users = _ok(admin.get("get-global-users"))
    assert {"built-in", tenant.organization} <= {u["owner"] for u in users}
    paged = admin.get("get-global-users", p=1, pageSize=1)
    assert len(paged["data"]) == 1 and paged["data2"] >= 2


def test_organization_names_and_applications(server: ServerProcess, admin: Api, anonymous: Api,
                                             tenant: Tenant) -> None:
    names = _ok(anonymous.get("get-organization-names", owner="admin"))
    assert {"owner": "admin", "name": tenant.organization, "displayName": tenant.organization} in names
    default = _ok(anonymous.get("get-default-application", id=f"admin/{tenant.organization}"))
    assert default["name"] == tenant.application and default["clientSecret"] == "***"
    assert _ok(admin.get("get-default-application", id=f"admin/{tenant.organization}"))["clientSecret"] != "***"
    missing = anonymous.get("get-default-application", id="admin/no-such-org")
    assert missing["status"] == "error" and "no-such-org" in missing["msg"]

    user = _user(admin, tenant.organization)
    member = _signed_in(server, tenant, user)
    listed = _ok(member.get("get-organization-applications", owner="admin", organization=tenant.organization))
    assert [a["name"] for a in listed] == [tenant.application]
    refused = member.get("get-organization-applications", owner="admin", organization="built-in")
    assert refused["status"] == "error" and "built-in" in refused["msg"]
    mine = _ok(member.get("get-user-application", id=f"{tenant.organization}/{user}"))
    assert mine["name"] == tenant.application
    refused = member.get("get-user-application", id="built-in/admin")
    assert refused["status"] == "error"


def test_update_permissions_changes_them_all_or_none(server: ServerProcess, admin: Api, tenant: Tenant) -> None:
    names = [unique("perm") for _ in range(2)]
    for name in names:
        _ok(admin.post("add-permission", {"owner": tenant.organization, "name": name, "actions": ["Read"]}))
    changed = [{"owner": tenant.organization, "name": n, "actions": ["Write"]} for n in names]
    assert _ok(admin.post("update-permissions", [*changed, {"owner": tenant.organization, "name": "absent"}])) \
        == "Affected"
    for name in names:
        assert _ok(admin.get("get-permission", id=f"{tenant.organization}/{name}"))["actions"] == ["Write"]
    bad = admin.post("update-permissions", [{**changed[0], "actions": ["Admin"]}, {**changed[1], "owner": ""}])
    assert bad["status"] == "error"
    assert _ok(admin.get("get-permission", id=f"{tenant.organization}/{names[0]}"))["actions"] == ["Write"]
    assert admin.post("update-permissions", {"not": "a list"})["msg"] == "request body must be a JSON array"
    recorded = eventually(lambda: events(server, action="update-permission", organization=tenant.organization),
                          "update-permission events")
    assert len(recorded) == 2


def test_records_filter_and_session_duplication(server: ServerProcess, admin: Api, tenant: Tenant) -> None:
    record = unique("rec")
    _ok(admin.post("add-record", {"owner": tenant.organization, "name": record, "action": "login"}))
    found = _ok(admin.post("get-records-filter", {"owner": tenant.organization, "action": "login", "id": 0}))
    assert [r["name"] for r in found] == [record]
    assert _ok(admin.post("get-records-filter", {"owner": tenant.organization, "action": "logout"})) == []
    user = _user(admin, tenant.organization)
    pk = f"{tenant.organization}/{user}/{tenant.application}"
    first = _signed_in(server, tenant, user)
    cookie = first.http.cookies["casdoor_session_id"]
    assert _ok(admin.get("is-session-duplicated", sessionPkId=pk, sessionId=cookie)) is False
    assert _ok(first.get("is-session-duplicated", sessionPkId=pk, sessionId="another-browser")) is True
    _signed_in(server, tenant, user)
    assert _ok(admin.get("is-session-duplicated", sessionPkId=pk, sessionId=cookie)) is True
    other = _user(admin, tenant.organization)
    assert _ok(admin.get("is-session-duplicated", sessionPkId=f"{tenant.organization}/{other}", sessionId="b")) is False
    refused = first.get("is-session-duplicated", sessionPkId=f"{tenant.organization}/{other}", sessionId="b")
    assert refused["status"] == "error" and other in refused["msg"]


def test_dashboards_and_system_facts(server: ServerProcess, admin: Api, tenant: Tenant) -> None:
    set_up_totp(new_person(server, admin, tenant))  # a user with a second factor, and one without
    _user(admin, tenant.organization)
    _ok(admin.post("add-provider", {"owner": tenant.organization, "name": unique("prov"), "type": "GitHub"}))
    dashboard = _ok(admin.get("get-dashboard", owner=tenant.organization))
    assert dashboard["userCounts"][-1] == 2 and len(dashboard["userCounts"]) == 31
    assert dashboard["organizationCounts"][-1] == 1 and dashboard["applicationCounts"][-1] == 1
    assert _ok(admin.get("get-dashboard-mfa", owner=tenant.organization)) == {"enabled": 1, "disabled": 1, "total": 2}
    assert _ok(admin.get("get-dashboard-providers", owner=tenant.organization)) == [{"type": "GitHub", "count": 1}]
    heatmap = _ok(admin.get("get-dashboard-heatmap", owner="All"))
    assert heatmap["maxCount"] >= 1 and set(heatmap) == {"data", "maxCount", "dateRange"}
    info = _ok(admin.get("get-system-info"))
    assert info["memoryTotal"] > info["memoryUsed"] > 0 and isinstance(info["cpuUsage"], list)
    assert set(_ok(admin.get("get-version-info"))) == {"version", "commitId", "commitOffset"}
    prometheus = _ok(admin.get("get-prometheus-info"))
    assert any(item["name"] == "/api/get-system-info" for item in prometheus["apiLatency"])
    name = _user(admin, tenant.organization, isAdmin=True)
    org_admin = _signed_in(server, tenant, name)
    assert _ok(org_admin.get("get-dashboard", owner=tenant.organization))["userCounts"][-1] == 3
    for route, params in (("get-dashboard", {"owner": "All"}), ("get-dashboard-mfa", {"owner": "built-in"}),
                          ("get-system-info", {}), ("get-version-info", {}), ("get-prometheus-info", {})):
        refused = org_admin.get(route, **params)
        assert refused["status"] == "error", (route, refused)
