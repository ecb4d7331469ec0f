"""The unmodified ``casdoor`` SDK (PyPI) calls the core routes: get_user_count, get_global_users,
get_sorted_users, upload_resource, delete_resource, get_organization_names,
get_organization_applications and get_global_certs."""

from __future__ import annotations

import requests
from casdoor import CasdoorSDK

from tests.compat.sdk import Tenant, built_in_sdk
from tests.support import Api, ServerProcess, unique


def test_get_user_count_and_sorted_users(admin: Api, sdk: CasdoorSDK, tenant: Tenant) -> None:
    for online in (True, False):
        name = unique("sdk-user")
        assert admin.post("add-user", {"owner": tenant.organization, "name": name, "isOnline": online})["status"] \
            == "ok"
    assert sdk.get_user_count() == 2
    assert sdk.get_user_count(is_online=True) == 1
    assert sdk.get_user_count(is_online=False) == 1
    assert len(sdk.get_sorted_users("created_time", "1")) == 1


def test_get_global_users(server: ServerProcess, admin: Api, tenant: Tenant) -> None:
    name = unique("sdk-user")
    assert admin.post("add-user", {"owner": tenant.organization, "name": name})["status"] == "ok"
    users = built_in_sdk(server.url, admin).get_global_users()
    assert {(u.owner, u.name) for u in users} >= {("built-in", "admin"), (tenant.organization, name)}


def test_upload_resource_and_delete_it(admin: Api, sdk: CasdoorSDK, tenant: Tenant) -> None:
    user = unique("sdk-user")
    assert admin.post("add-user", {"owner": tenant.organization, "name": user})["status"] == "ok"
    answer = sdk.upload_resource(user, "custom", "", "notes/readme.txt", b"hello from the SDK")
    url, name = answer["data"], answer["data2"]
    assert requests.get(url, timeout=10).content == b"hello from the SDK"
    assert sdk.delete_resource(name)["data"] == "Affected"
    assert requests.get(url, timeout=10).status_code == 404


def test_organization_names_applications_and_global_certs(server: ServerProcess, admin: Api, sdk: CasdoorSDK,
                                                           tenant: Tenant) -> None:
    names = {o.name for o in sdk.get_organization_names()}
    assert {"built-in", tenant.organization} <= names
    assert [a.name for a in sdk.get_organization_applications()] == [tenant.application]
    certs = built_in_sdk(server.url, admin).get_global_certs()
    assert "cert-built-in" in {c.name for c in certs}
