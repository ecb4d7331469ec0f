"""The official ``casdoor`` Python SDK (1.43.3), unmodified, against a running Hookdoor.

Every call below is the SDK's own: it authenticates with clientId/clientSecret in the query string
and posts JSON without a Content-Type header, exactly as it does against Casdoor.
"""

from __future__ import annotations

import json

import pytest
import requests
from casdoor import CasdoorSDK
from casdoor.application import Application
from casdoor.group import Group
from casdoor.organization import Organization
from casdoor.role import Role
from casdoor.user import User

from tests.compat.sdk import BUILT_IN_ORG, Tenant, built_in_sdk, new_tenant
from tests.support import Api, ServerProcess, unique

PASSWORD = "sdk-password-1234"




@pytest.fixture
def root_sdk(server: ServerProcess, admin: Api) -> CasdoorSDK:
    """The SDK as the built-in application: a global administrator."""
    return built_in_sdk(server.url, admin)


def new_user(owner: str, name: str | None = None, **fields: object) -> User:
    user = User.new(owner=owner, name=name or unique("user"), created_time="", display_name="Test User")
    for key, value in fields.items():
        setattr(user, key, value)
    return user


def raw_get(server: ServerProcess, sdk: CasdoorSDK, action: str, **params: str) -> requests.Response:
    """The same call the SDK makes, to look at the bytes it receives."""
    query = {**params, "clientId": sdk.client_id, "clientSecret": sdk.client_secret}
    return requests.get(f"{server.url}/api/{action}", params=query, timeout=30)


# ---- users ----------------------------------------------------------------------------------------

def test_user_lifecycle(sdk: CasdoorSDK, tenant: Tenant) -> None:
    user = new_user(tenant.organization, email=f"{unique('mail')}@example.com", phone="5550100")
    assert sdk.add_user(user)["data"] == "Affected"

    got = sdk.get_user(user.name)
    assert (got.owner, got.name, got.displayName) == (tenant.organization, user.name, "Test User")
    assert got.email == user.email
    assert got.id, "the server assigns a user id"
    assert got.createdTime
    assert user.name in [u.name for u in sdk.get_users()]
    assert sdk.get_user_by_email(user.email).name == user.name
    assert sdk.get_user_by_phone("5550100").name == user.name
    assert sdk.get_user_by_user_id(got.id).name == user.name

    got.displayName = "Renamed"
    got.tag = "staff"
    assert sdk.update_user(got)["data"] == "Affected"
    again = sdk.get_user(user.name)
    assert (again.displayName, again.tag) == ("Renamed", "staff")

    assert sdk.delete_user(again)["data"] == "Affected"
    assert sdk.get_user(user.name) is None
    assert user.name not in [u.name for u in sdk.get_users()]


def test_unknown_user_fields_round_trip(sdk: CasdoorSDK, tenant: Tenant) -> None:
    user = new_user(tenant.organization, bio="likes webhooks", karma=7, properties={"team": "blue"})
    sdk.add_user(user)
    got = sdk.get_user(user.name)
    assert (got.bio, got.karma, got.properties) == ("likes webhooks", 7, {"team": "blue"})


def test_update_user_for_columns_changes_only_those_columns(sdk: CasdoorSDK, tenant: Tenant) -> None:
    user = new_user(tenant.organization, email="before@example.com")
    sdk.add_user(user)

    changed = sdk.get_user(user.name)
    changed.email = "after@example.com"
    changed.displayName = "Not Saved"
    assert sdk.update_user_for_columns(changed, ["email"])["data"] == "Affected"

    got = sdk.get_user(user.name)
    assert got.email == "after@example.com"
    assert got.displayName == "Test User"


def test_user_pagination(sdk: CasdoorSDK, tenant: Tenant) -> None:
    names = sorted(unique("paged") for _ in range(5))
    for name in names:
        sdk.add_user(new_user(tenant.organization, name))

    pages = [sdk.get_pagination_users(p, 2, {"sortField": "name", "sortOrder": "ascend"}) for p in (1, 2, 3)]
    assert [len(users) for users, _ in pages] == [2, 2, 1]
    assert {total for _, total in pages} == {5}
    assert [u.name for users, _ in pages for u in users] == names

    users, total = sdk.get_pagination_users(4, 2)
    assert (users, total) == ([], 5)

    users, total = sdk.get_pagination_users(1, 10, {"field": "name", "value": names[0]})
    assert ([u.name for u in users], total) == ([names[0]], 1)


def test_sdk_added_user_with_password_can_sign_in(server: ServerProcess, sdk: CasdoorSDK, tenant: Tenant) -> None:
    user = new_user(tenant.organization, password=PASSWORD)
    sdk.add_user(user)

    answer = Api(server.url).login(user.name, PASSWORD, tenant.organization, tenant.application)
    assert answer == {"status": "ok", "msg": "", "data": f"{tenant.organization}/{user.name}", "data2": None}


def test_check_and_set_password(server: ServerProcess, sdk: CasdoorSDK, tenant: Tenant) -> None:
    user = new_user(tenant.organization, password=PASSWORD)
    sdk.add_user(user)
    assert sdk.check_user_password(new_user(tenant.organization, user.name, password=PASSWORD)) is True

    # An application administers its organization: no old password needed.
    assert sdk.set_password(tenant.organization, user.name, "", "sdk-new-password-5678") is True

    assert sdk.check_user_password(new_user(tenant.organization, user.name, password="sdk-new-password-5678"))
    signed_in = Api(server.url).login(user.name, "sdk-new-password-5678", tenant.organization, tenant.application)
    assert signed_in["status"] == "ok"


def test_passwords_never_come_back(server: ServerProcess, sdk: CasdoorSDK, tenant: Tenant) -> None:
    user = new_user(tenant.organization, password=PASSWORD)
    sdk.add_user(user)

    assert sdk.get_user(user.name).password in ("", "***")
    assert all(u.password in ("", "***") for u in sdk.get_users())
    responses = [
        raw_get(server, sdk, "get-user", id=f"{tenant.organization}/{user.name}"),
        raw_get(server, sdk, "get-users", owner=tenant.organization),
        raw_get(server, sdk, "get-users", owner=tenant.organization, p="1", pageSize="10"),
    ]
    for response in responses:
        assert response.json()["status"] == "ok"
        assert PASSWORD not in response.text
        assert "argon2" not in response.text  # nor its hash


# ---- organizations and applications -------------------------------------------------------------

def test_organization_lifecycle(root_sdk: CasdoorSDK) -> None:
    organization = Organization()
    organization.name = unique("org")
    organization.displayName = "Made by the SDK"
    assert root_sdk.add_organization(organization) == "Affected"
    assert organization.owner == "admin"

    got = root_sdk.get_organization(organization.name)
    assert (got.owner, got.name, got.displayName) == ("admin", organization.name, "Made by the SDK")
    assert organization.name in [o.name for o in root_sdk.get_organizations()]

    got.displayName = "Renamed"
    got.websiteUrl = "https://example.com"
    assert root_sdk.update_organization(got) == "Affected"
    again = root_sdk.get_organization(organization.name)
    assert (again.displayName, again.websiteUrl) == ("Renamed", "https://example.com")

    assert root_sdk.delete_organization(again) == "Affected"
    assert root_sdk.get_organization(organization.name) is None


def test_application_lifecycle(root_sdk: CasdoorSDK, admin: Api) -> None:
    tenant = new_tenant(admin)
    application = Application.new(
        owner="admin", name=unique("app"), created_time="", display_name="SDK app", logo="",
        homepage_url="https://example.com", description="made by the SDK", organization=tenant.organization,
    )
    assert root_sdk.add_application(application) == "Affected"

    got = root_sdk.get_application(application.name)
    assert (got.organization, got.description) == (tenant.organization, "made by the SDK")
    assert got.clientId and got.clientSecret not in ("", "***"), "an administrator sees generated credentials"
    assert application.name in [a.name for a in root_sdk.get_applications()]

    got.description = "changed"
    assert root_sdk.update_application(got) == "Affected"
    again = root_sdk.get_application(application.name)
    assert again.description == "changed"
    assert again.clientSecret == got.clientSecret, "an update that echoes the secret keeps it"

    assert root_sdk.delete_application(again) == "Affected"
    assert root_sdk.get_application(application.name) is None


def test_organization_app_sees_only_its_organization(sdk: CasdoorSDK, tenant: Tenant) -> None:
    assert [o.name for o in sdk.get_organizations()] == [tenant.organization]
    assert [a.name for a in sdk.get_applications()] == [tenant.application]
    with pytest.raises(ValueError):
        sdk.get_organization(BUILT_IN_ORG)
    with pytest.raises(ValueError):
        sdk.get_application("app-built-in")


def test_organization_app_cannot_create_organizations(sdk: CasdoorSDK) -> None:
    organization = Organization()
    organization.name = unique("org")
    with pytest.raises(ValueError, match="global administrators"):
        sdk.add_organization(organization)


# ---- groups and roles ---------------------------------------------------------------------------

def test_group_lifecycle_and_pagination(sdk: CasdoorSDK, tenant: Tenant) -> None:
    names = sorted(unique("group") for _ in range(3))
    for name in names:
        assert sdk.add_group(Group.new(tenant.organization, name, "", f"Group {name}")) == "Affected"

    got = sdk.get_group(names[0])
    assert (got.owner, got.name, got.displayName) == (tenant.organization, names[0], f"Group {names[0]}")
    assert sorted(g.name for g in sdk.get_groups()) == names

    groups, total = sdk.get_pagination_groups(1, 2, {"sortField": "name", "sortOrder": "ascend"})
    assert ([g.name for g in groups], total) == (names[:2], 3)
    groups, total = sdk.get_pagination_groups(2, 2, {"sortField": "name", "sortOrder": "ascend"})
    assert ([g.name for g in groups], total) == (names[2:], 3)

    got.displayName = "Renamed"
    got.manager = "someone"
    assert sdk.update_group(got) == "Affected"
    again = sdk.get_group(names[0])
    assert (again.displayName, again.manager) == ("Renamed", "someone")

    assert sdk.delete_group(again) == "Affected"
    assert sdk.get_group(names[0]) is None
    assert sorted(g.name for g in sdk.get_groups()) == names[1:]


def test_role_lifecycle_and_pagination(sdk: CasdoorSDK, tenant: Tenant) -> None:
    user = new_user(tenant.organization)
    sdk.add_user(user)
    names = sorted(unique("role") for _ in range(3))
    for name in names:
        response = sdk.add_role(Role.new(tenant.organization, name, "", f"Role {name}", "made by the SDK"))
        assert response["data"] == "Affected"

    got = sdk.get_role(names[0])
    assert (got.owner, got.name, got.description) == (tenant.organization, names[0], "made by the SDK")
    assert sorted(r.name for r in sdk.get_roles()) == names
    roles, total = sdk.get_pagination_roles(1, 2)
    assert (len(roles), total) == (2, 3)

    sdk.assign_role_to_user(user.name, names[0])
    assert [r.name for r in sdk.get_user_roles(user.name)] == [names[0]]

    got = sdk.get_role(names[0])
    got.description = "changed"
    got.displayName = "Not Saved"
    assert sdk.update_role_for_columns(got, ["description"])["data"] == "Affected"
    again = sdk.get_role(names[0])
    assert (again.description, again.displayName) == ("changed", f"Role {names[0]}")

    got.displayName = "Renamed"
    assert sdk.update_role(got)["data"] == "Affected"
    assert sdk.get_role(names[0]).displayName == "Renamed"

    assert sdk.delete_role(got)["data"] == "Affected"
    assert sdk.get_role(names[0]) is None


# ---- one organization's application and another organization's users ----------------------------

def test_organization_app_cannot_read_other_organizations_users(
    server: ServerProcess, sdk: CasdoorSDK, root_sdk: CasdoorSDK, tenant: Tenant
) -> None:
    outsider = new_user(BUILT_IN_ORG, email=f"{unique('outsider')}@example.com")
    root_sdk.add_user(outsider)

    with pytest.raises(Exception, match="may not read"):
        sdk.get_user(f"{BUILT_IN_ORG}/{outsider.name}")
    assert outsider.name not in [u.name for u in sdk.get_users()]

    # The same credentials with another organization's name in the SDK's configuration.
    pointed_elsewhere = CasdoorSDK(
        endpoint=server.url, client_id=sdk.client_id, client_secret=sdk.client_secret, certificate="",
        org_name=BUILT_IN_ORG, application_name=tenant.application,
    )
    with pytest.raises(Exception, match="may not read"):
        pointed_elsewhere.get_users()
    with pytest.raises(Exception, match="may not read"):
        pointed_elsewhere.get_pagination_users(1, 10)
    with pytest.raises(Exception, match="may not read"):
        pointed_elsewhere.get_user(outsider.name)
    with pytest.raises(Exception, match="may not read"):
        pointed_elsewhere.get_user_by_email(outsider.email)


def test_organization_app_cannot_write_other_organizations_users(sdk: CasdoorSDK, root_sdk: CasdoorSDK) -> None:
    outsider = new_user(BUILT_IN_ORG, displayName="Original")
    root_sdk.add_user(outsider)
    stored = root_sdk.get_user(outsider.name)

    with pytest.raises(Exception, match="may not add"):
        sdk.add_user(new_user(BUILT_IN_ORG))
    stored.displayName = "Changed by an outsider"
    with pytest.raises(Exception, match="may not update"):
        sdk.update_user(stored)
    with pytest.raises(Exception, match="may not delete"):
        sdk.delete_user(stored)
    with pytest.raises(Exception, match="may not change the password"):
        sdk.set_password(BUILT_IN_ORG, outsider.name, "", "stolen-password-123")

    unchanged = root_sdk.get_user(outsider.name)
    assert unchanged is not None
    assert unchanged.displayName == "Original"


def test_organization_app_cannot_move_its_user_into_another_organization(
    sdk: CasdoorSDK, root_sdk: CasdoorSDK, tenant: Tenant
) -> None:
    user = new_user(tenant.organization)
    sdk.add_user(user)
    moved = sdk.get_user(user.name)
    with pytest.raises(Exception, match="may not update"):
        sdk.update_user_by_id(f"{tenant.organization}/{user.name}", new_user(BUILT_IN_ORG, user.name))
    assert sdk.get_user(user.name) is not None
    assert root_sdk.get_user(f"{BUILT_IN_ORG}/{moved.name}") is None


# ---- secrets ------------------------------------------------------------------------------------

def test_plain_user_sees_application_secret_masked(server: ServerProcess, root_sdk: CasdoorSDK) -> None:
    user = new_user(BUILT_IN_ORG, password=PASSWORD)
    root_sdk.add_user(user)
    token = Api(server.url).post("login", {
        "type": "token", "organization": BUILT_IN_ORG, "application": "app-built-in",
        "username": user.name, "password": PASSWORD,
    })["data"]

    as_user = root_sdk.with_access_token(token)
    application = as_user.get_application("app-built-in")
    assert application.clientId == root_sdk.client_id
    assert application.clientSecret == "***"
    assert all(a.clientSecret in ("", "***") for a in as_user.get_applications())

    response = requests.get(
        f"{server.url}/api/get-application", params={"id": "admin/app-built-in"},
        headers={"Authorization": f"Bearer {token}"}, timeout=30,
    )
    assert root_sdk.client_secret not in response.text

    # Themselves they may read, through the same SDK.
    assert as_user.get_account().name == user.name
    assert as_user.get_user(user.name).name == user.name


def test_sdk_posts_without_content_type_are_parsed(server: ServerProcess, sdk: CasdoorSDK, tenant: Tenant) -> None:
    """What the SDK sends on the wire, spelled out: JSON, no Content-Type, credentials in the query."""
    name = unique("raw")
    request = requests.Request(
        "POST", f"{server.url}/api/add-user",
        params={"id": f"{tenant.organization}/{name}", "clientId": sdk.client_id, "clientSecret": sdk.client_secret},
        data=json.dumps({"owner": tenant.organization, "name": name}),
    ).prepare()
    assert "Content-Type" not in request.headers
    with requests.Session() as session:
        assert session.send(request, timeout=30).json()["data"] == "Affected"
    assert sdk.get_user(name).name == name
