"""A global administrator acts as another user in their session; every call says who was behind it."""

from __future__ import annotations

from tests.compat.sdk import Tenant
from tests.identity.test_events_recorded import events
from tests.support import Api, ServerProcess, eventually, unique

PASSWORD = "impersonation-password-1234"


def test_a_global_admin_acts_as_a_user_and_is_recorded_with_both_identities(
    server: ServerProcess, admin: Api, tenant: Tenant
) -> None:
    user = unique("imp-user")
    assert admin.post("add-user", {"owner": tenant.organization, "name": user, "password": PASSWORD})["status"] == "ok"
    began = admin.post("impersonate-user", {"owner": tenant.organization, "name": user})
    assert began["status"] == "ok", began
    assert began["data"] == {"impersonator": "built-in/admin", "impersonated": f"{tenant.organization}/{user}"}
    account = admin.get("get-account")["data"]
    assert (account["owner"], account["name"]) == (tenant.organization, user)
    assert admin.get("get-global-users")["status"] == "error"  # the user's rights, not the admin's
    again = admin.post("impersonate-user", {"owner": "built-in", "name": "admin"})
    assert again["status"] == "error" and "exit-impersonate-user" in again["msg"]

    ended = admin.post("exit-impersonate-user")
    assert ended["status"] == "ok", ended
    assert admin.get("get-account")["data"]["name"] == "admin"
    assert admin.post("exit-impersonate-user")["status"] == "error"

    [begin] = eventually(lambda: events(server, action="impersonate-user", subject=f"{tenant.organization}/{user}"),
                         "the impersonate-user event")
    assert begin["actor"] == "built-in/admin" and begin["object"]["impersonated"] == f"{tenant.organization}/{user}"
    [read] = eventually(lambda: [e for e in events(server, action="get-account")
                                 if e["actor"] == f"{tenant.organization}/{user}"], "the impersonated call")
    assert read["request"]["impersonator"] == "built-in/admin"
    [end] = eventually(lambda: events(server, action="exit-impersonate-user", outcome="ok",
                                      subject=f"{tenant.organization}/{user}"), "the exit event")
    assert end["request"]["impersonator"] == "built-in/admin"


def test_only_global_admins_in_a_session_impersonate(server: ServerProcess, admin: Api, tenant: Tenant) -> None:
    org_admin = unique("imp-admin")
    assert admin.post("add-user", {"owner": tenant.organization, "name": org_admin, "password": PASSWORD,
                                   "isAdmin": True})["status"] == "ok"
    caller = Api(server.url)
    assert caller.login(org_admin, PASSWORD, tenant.organization, tenant.application)["status"] == "ok"
    refused = caller.post("impersonate-user", {"owner": tenant.organization, "name": "someone"})
    assert refused["status"] == "error" and "global administrators" in refused["msg"]
    by_secret = Api(server.url).post("impersonate-user", {"owner": tenant.organization, "name": org_admin},
                                     params={"clientId": tenant.client_id, "clientSecret": tenant.client_secret})
    assert by_secret["status"] == "error"
    missing = admin.post("impersonate-user", {"owner": tenant.organization, "name": "nobody-here"})
    assert missing["status"] == "error" and "nobody-here" in missing["msg"]
