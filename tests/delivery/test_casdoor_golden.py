"""Golden tests of the `casdoor` format: for each action, the body Casdoor's own rules produce,
written out by hand from its source, compared field by field with what a real server delivers.

The rules, from casdoor/casdoor:
- object/record.go NewRecord: ``id`` 0 (sent before the insert), ``name`` util.GenerateId (a UUID),
  ``createdTime`` RFC 3339 in seconds, ``requestUri`` util.FilterQuery of the URI (names sorted by
  url.Values.Encode, ``/`` unescaped), ``language`` the first two characters of Accept-Language,
  ``object`` the request body with the password masked, ``response`` ``{status:"..", msg:".."}``,
  ``statusCode`` 200, ``isTriggered`` false; AddRecord: ``owner`` = ``organization``.
- routers/record.go: ``organization``/``user`` = the signed-in caller (getUser); for login and signup,
  the user the call signed in (set by the controller, so nobody when it failed); for set-password,
  the target userOwner/userName; new-user copies signup's record with the new user as ``object``.
- object/webhook_util.go: ``extendedUser`` null unless isUserExtended.

Where Hookdoor departs on purpose, the test says so: every credential is masked (Casdoor masks only a
JSON "password" written without spaces) or left out of the URI (Casdoor leaves out only accessToken
and id_token_hint). The bodies are sent as compact JSON, so that Casdoor's copy of the bytes and
Hookdoor's re-encoding of the parsed body are the same text.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from tests.compat.sdk import application_credentials, new_tenant
from tests.delivery.test_webhook_delivery import add_webhook, on_path
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique

PASSWORD = "a-long-password-1"
OK = '{status:"ok", msg:""}'
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RFC3339_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
# Generous: the suite shares two cores with a server, its worker and PostgreSQL.
ARRIVAL_TIMEOUT = 30
PROBE = "get-event-types"  # a read any administrator may make, not one of the actions tested
FIELDS = ("id", "owner", "name", "createdTime", "organization", "clientIp", "user", "method", "requestUri",
          "action", "language", "object", "response", "statusCode", "detail", "isTriggered", "extendedUser")


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def post_compact(api: Api, action: str, body: Any, **kwargs: Any) -> dict[str, Any]:
    """POST the body as compact JSON with no Content-Type, as Casdoor's SDKs send it."""
    return api.http.post(f"{api.base_url}/api/{action}", data=compact(body), timeout=30, **kwargs).json()


def casdoor_hook(admin: Api, receiver: Receiver, events: list[str], **fields: Any) -> str:
    """A casdoor-format webhook the worker is known to have seen: on PostgreSQL a worker cycle reads
    the webhooks and, in a later statement, the events, so a webhook committed in between misses
    the events committed meanwhile. A probe event delivered to it shows later cycles include it."""
    path = f"/ok/{unique('golden')}"
    add_webhook(admin, receiver.url(path), [*events, PROBE], payloadFormat="casdoor", **fields)
    assert admin.get(PROBE)["status"] == "ok"
    delivered(receiver, path, PROBE)
    return path


def delivered(receiver: Receiver, path: str, action: str) -> dict[str, Any]:
    [arrival] = receiver.wait_for(lambda a: on_path(path)(a) and json.loads(a.body)["action"] == action,
                                  timeout=ARRIVAL_TIMEOUT)
    return json.loads(arrival.body)


def assert_record(real: dict[str, Any], expected: dict[str, Any]) -> None:
    """Field by field, in Casdoor's order and JSON types; the generated fields by their format."""
    assert list(real) == list(FIELDS)
    assert UUID.match(real["name"]), real["name"]
    assert RFC3339_SECONDS.match(real["createdTime"]), real["createdTime"]
    for field in FIELDS:
        if field in ("name", "createdTime"):
            continue
        assert (field, real[field]) == (field, expected[field])
        assert type(real[field]) is type(expected[field]), field


def record(**fields: Any) -> dict[str, Any]:
    """A record with NewRecord's constants; each test writes out the rest."""
    constants = {"id": 0, "clientIp": "127.0.0.1", "method": "POST", "language": "en", "response": OK,
                 "statusCode": 200, "detail": "", "isTriggered": False, "extendedUser": None}
    written = {**constants, **fields}
    written["owner"] = written["organization"]  # AddRecord
    return {field: written.get(field) for field in FIELDS}


def new_user(admin: Api) -> str:
    name = unique("gold")
    assert admin.post("add-user", {"owner": "built-in", "name": name, "password": PASSWORD})["status"] == "ok"
    return name


def login_body(name: str, password: str = PASSWORD) -> dict[str, str]:
    return {"type": "login", "organization": "built-in", "application": "app-built-in", "username": name,
            "password": password}


def test_login(admin: Api, receiver: Receiver, server: ServerProcess) -> None:
    name = new_user(admin)
    path = casdoor_hook(admin, receiver, ["login"])
    assert post_compact(Api(server.url), "login", login_body(name))["status"] == "ok"
    assert_record(delivered(receiver, path, "login"), record(
        organization="built-in", user=name, requestUri="/api/login", action="login",
        object=f'{{"type":"login","organization":"built-in","application":"app-built-in","username":"{name}",'
               f'"password":"***"}}',
    ))


def test_failed_login_with_include_failures(admin: Api, receiver: Receiver, server: ServerProcess) -> None:
    name = new_user(admin)
    path = casdoor_hook(admin, receiver, ["login"], includeFailures=True)
    assert post_compact(Api(server.url), "login", login_body(name, "not-the-password"))["status"] == "error"
    # Nobody was signed in: no organization, no user; the failure is in response, statusCode stays 200.
    assert_record(delivered(receiver, path, "login"), record(
        organization="", user="", requestUri="/api/login", action="login",
        object=f'{{"type":"login","organization":"built-in","application":"app-built-in","username":"{name}",'
               f'"password":"***"}}',
        response='{status:"error", msg:"password or username is incorrect"}',
    ))


def test_logout(admin: Api, receiver: Receiver, server: ServerProcess) -> None:
    name = new_user(admin)
    user = Api(server.url)
    assert user.login(name, PASSWORD)["status"] == "ok"
    path = casdoor_hook(admin, receiver, ["logout"])
    assert user.http.post(f"{server.url}/api/logout", timeout=30).json()["status"] == "ok"
    assert_record(delivered(receiver, path, "logout"), record(
        organization="built-in", user=name, requestUri="/api/logout", action="logout", object="",
    ))


def test_add_user_by_the_admin(admin: Api, receiver: Receiver) -> None:
    path = casdoor_hook(admin, receiver, ["add-user"])
    name = unique("gold")
    body = {"owner": "built-in", "name": name, "displayName": "Gold", "password": PASSWORD}
    assert post_compact(admin, "add-user", body)["status"] == "ok"
    assert_record(delivered(receiver, path, "add-user"), record(  # the caller, not the new user
        organization="built-in", user="admin", requestUri="/api/add-user", action="add-user",
        object=f'{{"owner":"built-in","name":"{name}","displayName":"Gold","password":"***"}}',
    ))


def test_add_user_by_client_credentials(admin: Api, receiver: Receiver, server: ServerProcess) -> None:
    client_id, client_secret = application_credentials(admin, "app-built-in")
    path = casdoor_hook(admin, receiver, ["add-user"])
    name = unique("gold")
    answer = post_compact(Api(server.url), "add-user", {"owner": "built-in", "name": name},
                          params={"clientSecret": client_secret, "clientId": client_id})
    assert answer["status"] == "ok"
    # The application, as routers/record.go's getUserByClientIdSecret names it: its organization and
    # name. (Casdoor's session path names it "app/app-built-in" and then drops the record.) The
    # secret is left out of the URI, where Casdoor would keep it.
    assert_record(delivered(receiver, path, "add-user"), record(
        organization="built-in", user="app-built-in", requestUri=f"/api/add-user?clientId={client_id}",
        action="add-user", object=f'{{"owner":"built-in","name":"{name}"}}',
    ))


def test_update_user_with_columns(admin: Api, receiver: Receiver) -> None:
    name = new_user(admin)
    account = admin.get("get-account")["data"]
    path = casdoor_hook(admin, receiver, ["update-user"], isUserExtended=True, tokenFields=["DisplayName", "Email"])
    body = {"owner": "built-in", "name": name, "displayName": "Renamed", "password": ""}
    answer = post_compact(admin, "update-user", body, params={"id": f"built-in/{name}", "columns": "displayName"},
                          headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert answer["status"] == "ok"
    assert_record(delivered(receiver, path, "update-user"), record(
        organization="built-in", user="admin", language="de",
        requestUri=f"/api/update-user?columns=displayName&id=built-in/{name}", action="update-user",
        object=f'{{"owner":"built-in","name":"{name}","displayName":"Renamed","password":"***"}}',
        # the record's user (the admin), with the chosen fields under Go's JSON names, keys sorted
        extendedUser={"displayName": account["displayName"], "email": account["email"]},
    ))


def test_set_password_as_form_data(admin: Api, receiver: Receiver) -> None:
    name = new_user(admin)
    path = casdoor_hook(admin, receiver, ["set-password"])
    form = {"userOwner": "built-in", "userName": name, "oldPassword": "", "newPassword": "another-password-2"}
    assert admin.http.post(f"{admin.base_url}/api/set-password", data=form, timeout=30).json()["status"] == "ok"
    # The target, not the caller; the form as it was sent, every credential masked (Casdoor's mask
    # matches only a JSON "password", so it would send newPassword in clear).
    assert_record(delivered(receiver, path, "set-password"), record(
        organization="built-in", user=name, requestUri="/api/set-password", action="set-password",
        object=f"userOwner=built-in&userName={name}&oldPassword=***&newPassword=***",
    ))


def test_delete_user(admin: Api, receiver: Receiver) -> None:
    name = new_user(admin)
    path = casdoor_hook(admin, receiver, ["delete-user"])
    assert post_compact(admin, "delete-user", {"owner": "built-in", "name": name})["status"] == "ok"
    assert_record(delivered(receiver, path, "delete-user"), record(
        organization="built-in", user="admin", requestUri="/api/delete-user", action="delete-user",
        object=f'{{"owner":"built-in","name":"{name}"}}',
    ))


def test_add_webhook(admin: Api, receiver: Receiver) -> None:
    path = casdoor_hook(admin, receiver, ["add-webhook"])
    name, url = unique("hook"), receiver.url(f"/ok/{unique('other')}")
    body = {"owner": "built-in", "name": name, "url": url, "events": ["login"],
            "signingSecret": "whsec_" + "A" * 43 + "=", "headers": [{"name": "X-Api-Key", "value": "key-1"}]}
    assert post_compact(admin, "add-webhook", body)["status"] == "ok"
    [arrival] = receiver.wait_for(lambda a: on_path(path)(a) and name in json.loads(a.body)["object"],
                                  timeout=ARRIVAL_TIMEOUT)
    # The signing secret and the custom headers' values are credentials: masked whole.
    assert_record(json.loads(arrival.body), record(
        organization="built-in", user="admin", requestUri="/api/add-webhook", action="add-webhook",
        object=f'{{"owner":"built-in","name":"{name}","url":"{url}","events":["login"],'
               f'"signingSecret":"***","headers":"***"}}',
    ))


def test_signup_and_new_user(admin: Api, receiver: Receiver, server: ServerProcess) -> None:
    tenant = new_tenant(admin, enable_sign_up=True)
    path = casdoor_hook(admin, receiver, ["signup", "new-user"])
    name = unique("gold")
    body = {"application": tenant.application, "organization": tenant.organization, "username": name,
            "password": PASSWORD, "email": f"{name}@example.com"}
    assert post_compact(Api(server.url), "signup", body)["status"] == "ok"
    assert_record(delivered(receiver, path, "signup"), record(  # the user signed up
        organization=tenant.organization, user=name, requestUri="/api/signup", action="signup",
        object=f'{{"application":"{tenant.application}","organization":"{tenant.organization}",'
               f'"username":"{name}","password":"***","email":"{name}@example.com"}}',
    ))
    new_user_record = delivered(receiver, path, "new-user")
    stored = admin.get("get-user", id=f"{tenant.organization}/{name}")["data"]
    # record2: signup's record, the new user as object
    assert_record(new_user_record, record(
        organization=tenant.organization, user=name, requestUri="/api/signup", action="new-user",
        object=new_user_record["object"],
    ))
    assert json.loads(new_user_record["object"]) == stored


def test_access_token_left_out_of_the_uri(admin: Api, receiver: Receiver, server: ServerProcess) -> None:
    name = new_user(admin)
    token = post_compact(Api(server.url), "login", {**login_body(name), "type": "token"})["data"]
    path = casdoor_hook(admin, receiver, ["get-account"])
    answer = Api(server.url).http.get(f"{server.url}/api/get-account", params={"accessToken": token}, timeout=30)
    assert answer.json()["status"] == "ok"
    assert_record(delivered(receiver, path, "get-account"), record(
        organization="built-in", user=name, method="GET", requestUri="/api/get-account", action="get-account",
        object="",
    ))


@pytest.mark.parametrize("fields", [["name", "displayName"], ["All"]])
def test_object_fields(admin: Api, receiver: Receiver, fields: list[str]) -> None:
    path = casdoor_hook(admin, receiver, ["add-user"], objectFields=fields)
    name = unique("gold")
    body = {"owner": "built-in", "name": name, "displayName": "<Gold & Co>", "password": PASSWORD}
    assert post_compact(admin, "add-user", body)["status"] == "ok"
    # filterRecordObject: the named fields as Go writes a map (keys sorted, <, > and & escaped)
    expected = (f'{{"displayName":"\\u003cGold \\u0026 Co\\u003e","name":"{name}"}}' if fields[0] != "All" else
                f'{{"owner":"built-in","name":"{name}","displayName":"<Gold & Co>","password":"***"}}')
    assert_record(delivered(receiver, path, "add-user"), record(
        organization="built-in", user="admin", requestUri="/api/add-user", action="add-user", object=expected,
    ))


def test_admin_password_never_leaves(admin: Api, receiver: Receiver, server: ServerProcess) -> None:
    path = casdoor_hook(admin, receiver, ["login"])
    Api(server.url).login("admin", ADMIN_PASSWORD)
    assert ADMIN_PASSWORD not in json.dumps(delivered(receiver, path, "login"))


def test_token_endpoint_credentials_never_leave(admin: Api, receiver: Receiver, server: ServerProcess) -> None:
    """The token endpoint's form is all credentials: the body is sent with each of them masked."""
    name = new_user(admin)
    client_id, client_secret = application_credentials(admin, "app-built-in")
    client = {"client_id": client_id, "client_secret": client_secret}
    path = casdoor_hook(admin, receiver, ["login/oauth/access_token"])
    token_url = f"{server.url}/api/login/oauth/access_token"
    tokens = requests.post(token_url, data={"grant_type": "password", "username": name, "password": PASSWORD,
                                            **client}, timeout=30).json()
    refreshed = requests.post(token_url, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                                               **client}, timeout=30).json()
    arrivals = receiver.wait_for(lambda a: on_path(path)(a) and json.loads(a.body)["action"] != PROBE, count=2,
                                 timeout=ARRIVAL_TIMEOUT)
    sent = " ".join(arrival.body.decode() for arrival in arrivals)
    for secret in (PASSWORD, client_secret, tokens["access_token"], tokens["refresh_token"],
                   refreshed["access_token"], refreshed["refresh_token"]):
        assert secret not in sent
    objects = sorted(json.loads(arrival.body)["object"] for arrival in arrivals)
    assert objects == sorted([
        f"grant_type=password&username={name}&password=***&client_id={client_id}&client_secret=***",
        f"grant_type=refresh_token&refresh_token=***&client_id={client_id}&client_secret=***",
    ])
