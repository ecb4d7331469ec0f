from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest
import requests

from tests.compat.sdk import Tenant, application_credentials, new_tenant
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique

PASSWORD = "account-password-1234"
SESSION_COOKIE = "casdoor_session_id"


def test_admin_logs_in_and_reads_account(admin: Api) -> None:
    account = admin.get("get-account")
    assert account["status"] == "ok"
    assert account["name"] == "admin"
    assert account["data"]["owner"] == "built-in"
    assert "password" not in account["data"]


def test_wrong_password_is_refused(anonymous: Api) -> None:
    answer = anonymous.login("admin", ADMIN_PASSWORD + "-wrong")
    assert answer["status"] == "error"
    assert answer["msg"] == "password or username is incorrect"


def test_anonymous_cannot_list_users(anonymous: Api) -> None:
    answer = anonymous.get("get-users", owner="built-in")
    assert answer == {"status": "error", "msg": "Please login first", "data": None, "data2": None}


# ---- helpers ------------------------------------------------------------------------------------

def add_user(admin: Api, owner: str = "built-in", password: str = PASSWORD, **fields: Any) -> str:
    name = unique("user")
    answer = admin.post("add-user", {"owner": owner, "name": name, "password": password, **fields})
    assert answer["status"] == "ok", answer
    return name


def signed_in(server: ServerProcess, name: str, owner: str = "built-in", application: str = "app-built-in",
              password: str = PASSWORD) -> Api:
    api = Api(server.url)
    answer = api.login(name, password, owner, application)
    assert answer["status"] == "ok", answer
    return api


def token_for(server: ServerProcess, name: str, owner: str = "built-in", application: str = "app-built-in") -> str:
    answer = Api(server.url).post("login", {"type": "token", "organization": owner, "application": application,
                                            "username": name, "password": PASSWORD})
    assert answer["status"] == "ok", answer
    return answer["data"]


def with_cookie(server: ServerProcess, session: str) -> Api:
    api = Api(server.url)
    api.http.cookies.set(SESSION_COOKIE, session)
    return api


def set_password_form(api: Api, owner: str, name: str, old: str, new: str) -> requests.Response:
    """The way the SDK sends it: a multipart form."""
    form = {"userOwner": owner, "userName": name, "oldPassword": old, "newPassword": new}
    return api.http.post(f"{api.base_url}/api/set-password", files={k: (None, v) for k, v in form.items()}, timeout=30)


@pytest.fixture
def signup_tenant(admin: Api) -> Tenant:
    return new_tenant(admin, enable_sign_up=True)


# ---- sign-up ------------------------------------------------------------------------------------

def test_signup_creates_a_user_who_can_sign_in(server: ServerProcess, signup_tenant: Tenant, admin: Api) -> None:
    name = unique("signup")
    answer = Api(server.url).post("signup", {
        "application": signup_tenant.application, "organization": signup_tenant.organization,
        "username": name, "password": PASSWORD, "email": f"{name}@example.com", "name": "Signed Up",
        "isAdmin": True, "type": "admin", "emailVerified": True,  # not the signer-up's to choose
    })
    assert answer["status"] == "ok", answer
    assert answer["data"] == f"{signup_tenant.organization}/{name}"

    user = admin.get("get-user", id=f"{signup_tenant.organization}/{name}")["data"]
    assert (user["email"], user["displayName"], user["signupApplication"]) == (
        f"{name}@example.com", "Signed Up", signup_tenant.application)
    assert (user["isAdmin"], user["type"], user.get("emailVerified", False)) == (False, "normal-user", False)
    signed_in(server, name, signup_tenant.organization, signup_tenant.application)


def test_signup_is_refused_when_the_application_does_not_allow_it(server: ServerProcess, admin: Api) -> None:
    closed = new_tenant(admin, enable_sign_up=False)  # not app-built-in: other tests may open that one
    response = requests.post(f"{server.url}/api/signup", json={
        "application": closed.application, "username": unique("signup"), "password": PASSWORD,
    }, timeout=30)
    assert response.status_code == 403
    assert response.json()["status"] == "error"
    assert "does not allow sign-up" in response.json()["msg"]


def test_signup_with_a_taken_username_conflicts(server: ServerProcess, signup_tenant: Tenant) -> None:
    body = {"application": signup_tenant.application, "username": unique("signup"), "password": PASSWORD}
    assert Api(server.url).post("signup", body)["status"] == "ok"

    response = requests.post(f"{server.url}/api/signup", json={**body, "password": PASSWORD + "-other"}, timeout=30)
    assert response.status_code == 409
    assert "already exists" in response.json()["msg"]


def test_signup_with_a_weak_password_names_the_field(server: ServerProcess, signup_tenant: Tenant) -> None:
    name = unique("signup")
    response = requests.post(f"{server.url}/api/signup", json={
        "application": signup_tenant.application, "username": name, "password": "short",
    }, timeout=30)
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert "password" in response.json()["msg"]
    assert "8 characters" in response.json()["msg"]


def test_signup_with_an_invalid_email_names_the_field(server: ServerProcess, signup_tenant: Tenant) -> None:
    answer = Api(server.url).post("signup", {
        "application": signup_tenant.application, "username": unique("signup"), "password": PASSWORD,
        "email": "not-an-email",
    })
    assert answer["status"] == "error"
    assert answer["msg"].startswith("invalid field email")


# ---- sign-in ------------------------------------------------------------------------------------

def test_login_sets_an_httponly_samesite_lax_session_cookie(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)
    response = requests.post(f"{server.url}/api/login", json={
        "type": "login", "organization": "built-in", "application": "app-built-in",
        "username": name, "password": PASSWORD,
    }, timeout=30)
    assert response.json() == {"status": "ok", "msg": "", "data": f"built-in/{name}", "data2": None}

    raw = response.headers["set-cookie"]
    attributes = [part.strip().lower() for part in raw.split(";")]
    assert attributes[0].startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    cookie = SimpleCookie(raw)[SESSION_COOKIE]
    assert len(cookie.value) >= 32, "the session id is long enough not to be guessed"
    assert int(cookie["max-age"]) > 0

    assert with_cookie(server, cookie.value).get("get-account")["name"] == name


def test_login_type_token_returns_access_and_refresh_tokens(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)
    response = requests.post(f"{server.url}/api/login", json={
        "type": "token", "organization": "built-in", "application": "app-built-in",
        "username": name, "password": PASSWORD,
    }, timeout=30)
    answer = response.json()
    assert answer["status"] == "ok"
    assert answer["data"] and answer["data2"] and answer["data"] != answer["data2"]
    assert "set-cookie" not in response.headers, "a token sign-in opens no browser session"

    account = requests.get(f"{server.url}/api/get-account",
                           headers={"Authorization": f"Bearer {answer['data']}"}, timeout=30).json()
    assert account["name"] == name


def test_login_type_code_returns_a_code(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)
    response = requests.post(f"{server.url}/api/login", json={
        "type": "code", "organization": "built-in", "application": "app-built-in",
        "username": name, "password": PASSWORD,
    }, timeout=30)
    answer = response.json()
    assert answer["status"] == "ok"
    assert isinstance(answer["data"], str) and len(answer["data"]) >= 20
    assert "set-cookie" not in response.headers


def test_login_with_an_unknown_type_names_the_field(anonymous: Api) -> None:
    answer = anonymous.post("login", {"type": "magic", "username": "admin", "password": ADMIN_PASSWORD})
    assert answer["status"] == "error"
    assert answer["msg"].startswith("invalid field type")


def test_login_into_another_organizations_application_is_refused(server: ServerProcess, admin: Api) -> None:
    tenant = new_tenant(admin)
    name = add_user(admin)
    answer = Api(server.url).login(name, PASSWORD, "built-in", tenant.application)
    assert answer["status"] == "error"
    assert "does not belong to organization" in answer["msg"]


# ---- sign-out -----------------------------------------------------------------------------------

def test_logout_ends_the_session(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)
    user = signed_in(server, name)
    session = user.http.cookies[SESSION_COOKIE]

    response = user.http.post(f"{server.url}/api/logout", timeout=30)
    assert response.json()["status"] == "ok"
    assert response.json()["data"] == name

    assert user.get("get-account")["msg"] == "Please login first"
    # The server forgot the session: the old cookie, replayed, no longer works.
    assert with_cookie(server, session).get("get-account")["msg"] == "Please login first"


def test_logout_by_get_ends_the_session_too(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)
    user = signed_in(server, name)
    session = user.http.cookies[SESSION_COOKIE]
    assert user.get("logout")["status"] == "ok"
    assert with_cookie(server, session).get("get-account")["msg"] == "Please login first"


def test_logout_of_one_session_keeps_the_others(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)
    first, second = signed_in(server, name), signed_in(server, name)
    first.post("logout")
    assert second.get("get-account")["name"] == name


def test_sso_logout_ends_every_session_and_token(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)
    browsers = [signed_in(server, name), signed_in(server, name)]
    tokens = [token_for(server, name), token_for(server, name)]
    for browser in browsers:
        assert browser.get("get-account")["name"] == name

    answer = requests.post(f"{server.url}/api/sso-logout", headers={"Authorization": f"Bearer {tokens[0]}"},
                           timeout=30).json()
    assert answer["status"] == "ok", answer

    for browser in browsers:
        assert browser.get("get-account")["msg"] == "Please login first"
    for token in tokens:
        answer = Api(server.url).get("get-account", accessToken=token)
        assert answer["status"] == "error"
        assert "access token is invalid" in answer["msg"]
    # Other users are untouched.
    assert admin.get("get-account")["name"] == "admin"


# ---- other ways to authenticate -----------------------------------------------------------------

def test_bearer_token_in_header_or_query(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)
    token = token_for(server, name)

    by_header = requests.get(f"{server.url}/api/get-account", headers={"Authorization": f"Bearer {token}"},
                             timeout=30).json()
    by_query = Api(server.url).get("get-account", accessToken=token)
    assert by_header["name"] == by_query["name"] == name
    assert by_header["data"]["owner"] == "built-in"

    forged = Api(server.url).get("get-account", accessToken=token[:-2] + "xx")
    assert forged["status"] == "error"
    assert "access token is invalid" in forged["msg"]


def test_access_key_and_secret_after_add_user_keys(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)
    assert admin.post("add-user-keys", {"owner": "built-in", "name": name})["data"] == "Affected"
    user = admin.get("get-user", id=f"built-in/{name}")["data"]
    key, secret = user["accessKey"], user["accessSecret"]
    assert key and secret and secret != "***"

    answer = Api(server.url).get("get-account", accessKey=key, accessSecret=secret)
    assert answer["name"] == name

    wrong = Api(server.url).get("get-account", accessKey=key, accessSecret=secret + "x")
    assert wrong["status"] == "error"
    assert "accessKey or accessSecret" in wrong["msg"]


def test_a_user_sees_their_own_access_secret_but_others_see_it_masked(server: ServerProcess, admin: Api) -> None:
    tenant = new_tenant(admin)
    owner_name = add_user(admin, tenant.organization)
    admin.post("add-user-keys", {"owner": tenant.organization, "name": owner_name})
    secret = admin.get("get-user", id=f"{tenant.organization}/{owner_name}")["data"]["accessSecret"]

    user = signed_in(server, owner_name, tenant.organization, tenant.application)
    assert user.get("get-user", id=f"{tenant.organization}/{owner_name}")["data"]["accessSecret"] == secret
    # ...and an org member who is not them cannot read the user at all.
    other = signed_in(server, add_user(admin, tenant.organization), tenant.organization, tenant.application)
    answer = other.get("get-user", id=f"{tenant.organization}/{owner_name}")
    assert answer["status"] == "error"
    assert secret not in str(answer)


def test_client_id_and_secret_by_basic_auth_or_query(server: ServerProcess, admin: Api) -> None:
    tenant = new_tenant(admin)
    member = add_user(admin, tenant.organization)

    by_basic = requests.get(f"{server.url}/api/get-users", params={"owner": tenant.organization},
                            auth=(tenant.client_id, tenant.client_secret), timeout=30).json()
    by_query = Api(server.url).get("get-users", owner=tenant.organization,
                                   clientId=tenant.client_id, clientSecret=tenant.client_secret)
    assert [u["name"] for u in by_basic["data"]] == [u["name"] for u in by_query["data"]] == [member]

    wrong = requests.get(f"{server.url}/api/get-users", params={"owner": tenant.organization},
                         auth=(tenant.client_id, "wrong"), timeout=30)
    assert wrong.status_code == 401
    assert wrong.json()["msg"] == "invalid clientId or clientSecret"
    # As in Casdoor, a clientId without its secret (an authorization request's) authenticates nobody.
    alone = requests.get(f"{server.url}/api/get-users", timeout=30,
                         params={"owner": tenant.organization, "clientId": tenant.client_id})
    assert alone.status_code == 401 and alone.json()["msg"] == "Please login first"


def test_a_forbidden_user_is_signed_out_everywhere(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)
    browser, token = signed_in(server, name), token_for(server, name)
    admin.post("update-user", {"isForbidden": True}, params={"id": f"built-in/{name}", "columns": "isForbidden"})

    assert browser.get("get-account")["msg"] == "Please login first"
    assert Api(server.url).get("get-account", accessToken=token)["status"] == "error"
    refused = Api(server.url).login(name, PASSWORD)
    assert refused["status"] == "error"
    assert "forbidden" in refused["msg"]


def test_a_deleted_user_is_signed_out_everywhere(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)
    browser, token = signed_in(server, name), token_for(server, name)
    assert admin.post("delete-user", {"owner": "built-in", "name": name})["data"] == "Affected"

    assert browser.get("get-account")["msg"] == "Please login first"
    assert Api(server.url).get("get-account", accessToken=token)["status"] == "error"


# ---- passwords ----------------------------------------------------------------------------------

def test_set_password_as_oneself_needs_the_old_password(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)
    user = signed_in(server, name)

    wrong = set_password_form(user, "built-in", name, "not-the-old-password", "brand-new-password-1")
    assert wrong.status_code == 400
    assert wrong.json()["status"] == "error"
    assert "oldPassword" in wrong.json()["msg"]

    right = set_password_form(user, "built-in", name, PASSWORD, "brand-new-password-1")
    assert right.json() == {"status": "ok", "msg": "", "data": None, "data2": None}

    assert user.get("get-account")["name"] == name, "the caller's own session stays open"
    assert Api(server.url).login(name, PASSWORD)["status"] == "error", "the old password stopped working"
    signed_in(server, name, password="brand-new-password-1")


def test_set_password_by_an_admin_needs_no_old_password(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)
    elsewhere = signed_in(server, name)
    token = token_for(server, name)

    answer = set_password_form(admin, "built-in", name, "", "set-by-the-admin-1")
    assert answer.json()["status"] == "ok", answer.json()

    signed_in(server, name, password="set-by-the-admin-1")
    assert elsewhere.get("get-account")["msg"] == "Please login first", "the user's other sessions end"
    assert Api(server.url).get("get-account", accessToken=token)["status"] == "error", "and their tokens"


def test_set_password_refuses_a_weak_password_and_another_users_account(server: ServerProcess, admin: Api) -> None:
    name, other = add_user(admin), add_user(admin)
    user = signed_in(server, name)

    weak = set_password_form(user, "built-in", name, PASSWORD, "short").json()
    assert weak["status"] == "error"
    assert "password" in weak["msg"]

    foreign = set_password_form(user, "built-in", other, PASSWORD, "taken-over-password-1")
    assert foreign.status_code == 403
    signed_in(server, other)  # still the original password

    missing = set_password_form(user, "", "", "", "whatever-password-1").json()
    assert missing["status"] == "error"
    assert "userOwner" in missing["msg"]


def test_check_user_password(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)
    right = admin.post("check-user-password", {"owner": "built-in", "name": name, "password": PASSWORD})
    assert right["status"] == "ok"
    wrong = admin.post("check-user-password", {"owner": "built-in", "name": name, "password": PASSWORD + "x"})
    assert wrong["status"] == "error"
    missing = admin.post("check-user-password", {"owner": "built-in", "name": name})
    assert missing["status"] == "error"
    assert "password" in missing["msg"]

    # A user may check their own password only.
    other = signed_in(server, add_user(admin))
    refused = other.post("check-user-password", {"owner": "built-in", "name": name, "password": PASSWORD})
    assert refused["status"] == "error"
    assert "may not check" in refused["msg"]


def test_login_is_locked_after_too_many_failures(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)  # a user of its own: other tests keep signing in while this one is locked
    for _ in range(5):  # HOOKDOOR_LOGIN_MAX_FAILURES defaults to 5
        assert Api(server.url).login(name, "not-the-password")["msg"] == "password or username is incorrect"

    response = requests.post(f"{server.url}/api/login", json={
        "type": "login", "organization": "built-in", "application": "app-built-in",
        "username": name, "password": PASSWORD,
    }, timeout=30)
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 300
    answer = response.json()
    assert answer["status"] == "error"
    assert "too many failed sign-in attempts" in answer["msg"]
    assert "try again in" in answer["msg"]

    assert admin.get("get-account")["name"] == "admin", "other accounts are not locked"
    signed_in(server, add_user(admin))


# ---- groups -------------------------------------------------------------------------------------

def test_remove_user_from_group(admin: Api) -> None:
    group = unique("group")
    assert admin.post("add-group", {"owner": "built-in", "name": group})["status"] == "ok"
    name = add_user(admin, groups=[f"built-in/{group}", "built-in/other"])

    answer = admin.post("remove-user-from-group", params={"owner": "built-in", "name": name, "groupName": group})
    assert answer["data"] == "Affected"
    assert admin.get("get-user", id=f"built-in/{name}")["data"]["groups"] == ["built-in/other"]

    again = admin.post("remove-user-from-group", params={"owner": "built-in", "name": name, "groupName": group})
    assert again["data"] == "Unaffected"

    missing = admin.post("remove-user-from-group", params={"owner": "built-in", "name": name})
    assert missing["status"] == "error"
    assert "groupName" in missing["msg"]


def test_a_plain_user_cannot_remove_themselves_from_a_group(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin, groups=["built-in/staff"])
    answer = signed_in(server, name).post(
        "remove-user-from-group", params={"owner": "built-in", "name": name, "groupName": "staff"})
    assert answer["status"] == "error"
    assert admin.get("get-user", id=f"built-in/{name}")["data"]["groups"] == ["built-in/staff"]


# ---- who sees what ------------------------------------------------------------------------------

def test_a_user_sees_and_edits_only_themselves(server: ServerProcess, admin: Api) -> None:
    name, other = add_user(admin), add_user(admin)
    user = signed_in(server, name)

    listed = user.get("get-users", owner="built-in")
    assert [u["name"] for u in listed["data"]] == [name]
    paged = user.get("get-users", owner="built-in", p=1, pageSize=10)
    assert ([u["name"] for u in paged["data"]], paged["data2"]) == ([name], 1)

    refused = user.get("get-user", id=f"built-in/{other}")
    assert refused["status"] == "error"
    assert "may not read" in refused["msg"]
    assert user.get("get-user", id="built-in/admin")["status"] == "error"

    me = user.get("get-user", id=f"built-in/{name}")["data"]
    answer = user.post("update-user", {**me, "displayName": "Me Myself"}, params={"id": f"built-in/{name}"})
    assert answer["data"] == "Affected"
    assert user.get("get-account")["data"]["displayName"] == "Me Myself"

    theirs = admin.get("get-user", id=f"built-in/{other}")["data"]
    answer = user.post("update-user", {**theirs, "displayName": "Hacked"}, params={"id": f"built-in/{other}"})
    assert answer["status"] == "error"
    assert admin.get("get-user", id=f"built-in/{other}")["data"]["displayName"] != "Hacked"

    assert user.post("delete-user", {"owner": "built-in", "name": other})["status"] == "error"
    assert user.post("add-user", {"owner": "built-in", "name": unique("user")})["status"] == "error"


def test_a_user_cannot_make_themselves_admin(server: ServerProcess, admin: Api) -> None:
    name = add_user(admin)
    user = signed_in(server, name)
    me = user.get("get-user", id=f"built-in/{name}")["data"]

    answer = user.post("update-user", {**me, "isAdmin": True}, params={"id": f"built-in/{name}"})
    assert answer["status"] == "error"
    assert "only administrators may change: isAdmin" in answer["msg"]
    only_column = user.post("update-user", {"isAdmin": True}, params={"id": f"built-in/{name}", "columns": "isAdmin"})
    assert only_column["status"] == "error"
    assert admin.get("get-user", id=f"built-in/{name}")["data"]["isAdmin"] is False

    renamed = user.post("update-user", {**me, "name": unique("renamed")}, params={"id": f"built-in/{name}"})
    assert renamed["status"] == "error"
    assert "name" in renamed["msg"]


def test_a_signed_up_user_can_edit_their_profile(server: ServerProcess, signup_tenant: Tenant) -> None:
    """Sign-up stores fewer fields than add-user; the missing ones must not read as "changed"."""
    name = unique("signup")
    Api(server.url).post("signup", {"application": signup_tenant.application, "username": name, "password": PASSWORD})
    user = signed_in(server, name, signup_tenant.organization, signup_tenant.application)
    user_id = f"{signup_tenant.organization}/{name}"
    me = user.get("get-user", id=user_id)["data"]

    answer = user.post("update-user", {**me, "displayName": "Edited", "bio": "hello"}, params={"id": user_id})
    assert answer["data"] == "Affected", answer
    assert user.get("get-account")["data"]["displayName"] == "Edited"


def test_a_user_cannot_change_their_verified_identifiers_or_password_by_update(
    server: ServerProcess, admin: Api
) -> None:
    name = add_user(admin, email="me@example.com")
    user = signed_in(server, name)
    user_id = f"built-in/{name}"
    me = user.get("get-user", id=user_id)["data"]

    for field, value in (("email", "victim@example.com"), ("emailVerified", True), ("phone", "5550199")):
        answer = user.post("update-user", {**me, field: value}, params={"id": user_id})
        assert answer["status"] == "error"
        assert f"only administrators may change: {field}" in answer["msg"]

    answer = user.post("update-user", {**me, "password": "no-old-password-1"}, params={"id": user_id})
    assert answer["status"] == "error"
    assert "set-password" in answer["msg"]
    assert Api(server.url).login(name, PASSWORD)["status"] == "ok"
    # Echoing the masked or empty password is not a change.
    assert user.post("update-user", {**me, "password": "***"}, params={"id": user_id})["status"] == "ok"

    verified = admin.post("update-user", {"emailVerified": True}, params={"id": user_id, "columns": "emailVerified"})
    assert verified["data"] == "Affected"
    assert admin.get("get-user", id=user_id)["data"]["emailVerified"] is True


def test_an_org_admin_sees_only_their_organization(server: ServerProcess, admin: Api) -> None:
    tenant = new_tenant(admin)
    org_admin = add_user(admin, tenant.organization, isAdmin=True)
    member = add_user(admin, tenant.organization)
    manager = signed_in(server, org_admin, tenant.organization, tenant.application)

    listed = manager.get("get-users", owner=tenant.organization)
    assert sorted(u["name"] for u in listed["data"]) == sorted([org_admin, member])
    assert manager.get("get-user", id=f"{tenant.organization}/{member}")["data"]["name"] == member

    foreign = manager.get("get-users", owner="built-in")
    assert foreign["status"] == "error"
    assert "may not read" in foreign["msg"]
    assert manager.get("get-user", id="built-in/admin")["status"] == "error"
    assert [o["name"] for o in manager.get("get-organizations", owner="admin")["data"]] == [tenant.organization]
    assert manager.post("add-user", {"owner": "built-in", "name": unique("user")})["status"] == "error"
    assert manager.post("add-organization", {"owner": "admin", "name": unique("org")})["status"] == "error"

    # Within their organization they administer: add, edit, promote.
    added = manager.post("add-user", {"owner": tenant.organization, "name": unique("user"), "password": PASSWORD})
    assert added["status"] == "ok"
    member_id = f"{tenant.organization}/{member}"
    record = manager.get("get-user", id=member_id)["data"]
    promoted = manager.post("update-user", {**record, "isAdmin": True}, params={"id": member_id})
    assert promoted["data"] == "Affected"

    # ...but may not move a user out of it.
    moved = manager.post("update-user", {**record, "owner": "built-in"}, params={"id": member_id})
    assert moved["status"] == "error"


def test_an_admin_cannot_move_a_user_into_a_missing_organization(admin: Api) -> None:
    name = add_user(admin)
    record = admin.get("get-user", id=f"built-in/{name}")["data"]
    answer = admin.post("update-user", {**record, "owner": unique("no-such-org")}, params={"id": f"built-in/{name}"})
    assert answer["status"] == "error"
    assert "does not exist" in answer["msg"]
    assert admin.get("get-user", id=f"built-in/{name}")["data"]["name"] == name


# ---- bad input: a clear error that names the field, never a server error ------------------------

def raw_post(admin: Api, action: str, data: bytes | str, params: dict[str, str] | None = None) -> requests.Response:
    return admin.http.post(f"{admin.base_url}/api/{action}", data=data, params=params, timeout=30)


def assert_refused(response: requests.Response, *words: str) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    answer = response.json()
    assert answer["status"] == "error"
    for word in words:
        assert word in answer["msg"], (word, answer["msg"])
    return answer


def test_body_that_is_not_json(admin: Api) -> None:
    assert_refused(raw_post(admin, "add-user", "owner=built-in&name=x"), "not valid JSON")
    assert_refused(raw_post(admin, "add-user", b"\xff\xfe{}"), "not valid JSON")
    assert_refused(raw_post(admin, "add-user", ""), "empty")


def test_body_that_is_a_list_or_a_scalar(admin: Api) -> None:
    assert_refused(raw_post(admin, "add-user", '[{"owner": "built-in", "name": "x"}]'), "JSON object")
    assert_refused(raw_post(admin, "add-user", '"built-in/x"'), "JSON object")
    assert_refused(raw_post(admin, "delete-user", "[]"), "JSON object")
    assert_refused(raw_post(admin, "update-user", "[]", {"id": "built-in/admin"}), "JSON object")


def test_missing_owner_or_name(admin: Api) -> None:
    assert_refused(raw_post(admin, "add-user", '{"name": "x"}'), "owner")
    assert_refused(raw_post(admin, "add-user", '{"owner": "built-in"}'), "name")
    assert_refused(raw_post(admin, "delete-user", '{"owner": "built-in"}'), "owner/name")
    assert_refused(raw_post(admin, "add-user-keys", '{"owner": "built-in"}'), "owner/name")


def test_invalid_field_values_are_named(admin: Api) -> None:
    def add(fields: str) -> requests.Response:
        return raw_post(admin, "add-user", f'{{"owner": "built-in", "name": "{unique("user")}", {fields}}}')

    assert_refused(add('"email": "not-an-email"'), "invalid field email")
    assert_refused(add('"score": "many"'), "invalid field score")
    assert_refused(add('"isAdmin": "perhaps"'), "invalid field isAdmin")
    assert_refused(add('"properties": {"a": 1}'), "invalid field properties.a")
    assert_refused(add('"createdTime": "%s"' % ("9" * 100)), "invalid field createdTime")
    assert_refused(raw_post(admin, "add-user", '{"owner": "built-in", "name": "a/b"}'), "invalid field name")
    assert_refused(raw_post(admin, "add-user", '{"owner": "built-in", "name": "%s"}' % ("n" * 101)), "name")
    assert_refused(raw_post(admin, "add-user", '{"owner": "no-such-org-x", "name": "x"}'), "does not exist")


def test_text_a_database_cannot_store_is_refused(admin: Api) -> None:
    def add(fields: str) -> requests.Response:
        return raw_post(admin, "add-user", f'{{"owner": "built-in", "name": "{unique("user")}", {fields}}}')

    assert_refused(add(r'"displayName": "a\u0000b"'), "invalid field displayName", "NUL")
    assert_refused(add(r'"phone": "\u0000"'), "invalid field phone", "NUL")
    assert_refused(add(r'"email": "a\ud800@example.com"'), "invalid field email", "surrogate")
    assert_refused(add(r'"properties": {"k": "\ud800"}'), "invalid field properties.k")
    assert_refused(raw_post(admin, "add-user", r'{"owner": "built-in", "name": "x\u0000"}'), "invalid field name")
    assert_refused(add('"score": NaN'), "NaN")
    assert_refused(add('"score": 1e999'), "too large")
    assert_refused(add('"score": %s' % ("9" * 5000)), "not valid JSON")
    assert_refused(add('"x": ' + "[" * 100 + "]" * 100), "nested deeper")
    assert_refused(raw_post(admin, "add-user", "[" * 100_000), "nested deeper")
    assert_refused(raw_post(admin, "login", r'{"username": "a\u0000", "password": "xxxxxxxx"}'), "username")

    def get(action: str, **params: str) -> requests.Response:
        return admin.http.get(f"{admin.base_url}/api/{action}", params=params, timeout=30)

    assert_refused(get("get-user", id="built-in/a\x00"), "id", "NUL")
    assert_refused(get("get-users", owner="built-in\x00"), "owner")
    assert_refused(get("get-users", owner="built-in", field="displayName", value="\x00"), "value")
    assert_refused(get("get-users", clientId="\x00", clientSecret="x"), "clientId")

    # None of it was stored, and listing still works.
    assert admin.get("get-users", owner="built-in")["status"] == "ok"


def test_bad_ids_and_list_parameters_are_named(admin: Api) -> None:
    def get(action: str, **params: Any) -> requests.Response:
        return admin.http.get(f"{admin.base_url}/api/{action}", params=params, timeout=30)

    assert_refused(get("get-user", id="no-slash"), "id", "owner/name")
    assert_refused(get("get-user", id="a/b/c"), "id")
    assert_refused(get("get-user"), "id")
    assert_refused(raw_post(admin, "update-user", "{}", {"id": "no-slash"}), "id")
    assert_refused(raw_post(admin, "update-user", "{}"), "id")
    assert_refused(get("get-users", owner="built-in", sortField="name; DROP TABLE users"), "sortField")
    assert_refused(get("get-users", owner="built-in", sortField="data->>'x'"), "sortField")
    assert_refused(get("get-users", owner="built-in", field="na me", value="x"), "field")
    assert_refused(get("get-users", owner="built-in", sortOrder="sideways"), "sortOrder")
    assert_refused(get("get-users", owner="built-in", p=0, pageSize=10), "invalid parameter p:")
    assert_refused(get("get-users", owner="built-in", p=1, pageSize="ten"), "invalid parameter pageSize")


def test_identifiers_that_authenticate_are_unique(admin: Api) -> None:
    """A second application with the built-in clientId would make "which app is this?" a coin toss."""
    tenant = new_tenant(admin)
    taken = application_credentials(admin, "app-built-in")[0]
    stolen = {"owner": "admin", "name": unique("app"), "organization": tenant.organization, "clientId": taken,
              "clientSecret": "chosen-by-the-impostor"}
    refused = admin.http.post(f"{admin.base_url}/api/add-application", json=stolen, timeout=30)
    assert refused.status_code == 409
    assert_refused(refused, "invalid field clientId")

    own = admin.get("get-application", id=f"admin/{tenant.application}")["data"]
    changed = admin.http.post(f"{admin.base_url}/api/update-application", params={"id": f"admin/{tenant.application}"},
                              json={**own, "clientId": taken}, timeout=30)
    assert_refused(changed, "invalid field clientId")
    assert admin.post("update-application", own, params={"id": f"admin/{tenant.application}"})["status"] == "ok"

    first = add_user(admin)
    first_id = admin.get("get-user", id=f"built-in/{first}")["data"]["id"]
    twin = admin.http.post(f"{admin.base_url}/api/add-user", json={"owner": "built-in", "name": unique("user"),
                                                                    "id": first_id}, timeout=30)
    assert_refused(twin, "field id of a user is set by the server")
    assert admin.get("get-user", owner="built-in", userId=first_id)["data"]["name"] == first


def test_list_filters_treat_wildcards_literally(admin: Api) -> None:
    tag = unique("tag")
    name = add_user(admin, displayName=f"100% real_{tag}")
    found = admin.get("get-users", owner="built-in", field="displayName", value=f"0% real_{tag}")["data"]
    assert [u["name"] for u in found] == [name]
    assert admin.get("get-users", owner="built-in", field="displayName", value="%_%")["data"] == []
