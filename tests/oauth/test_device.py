"""Device authorization (RFC 8628): the device polls, the user approves on the device page, the
device gets its tokens; denial, cancel, slow_down and applications without device login."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from tests.compat.sdk import new_tenant
from tests.oauth.test_authorize import CALLBACK, Browser, Client, new_client
from tests.oauth.test_consent import _signed_in
from tests.support import Api, ServerProcess

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def client(server: ServerProcess, admin: Api) -> Client:
    return new_client(server, admin, redirectUris=[CALLBACK], grantTypes=["authorization_code", DEVICE_GRANT])


def _start(client: Client) -> dict[str, Any]:
    response = requests.post(f"{client.server.url}/api/device-auth", timeout=30,
                             data={"client_id": client.tenant.client_id, "scope": "openid"})
    assert response.status_code == 200, response.text
    return response.json()


def _poll(client: Client, started: dict[str, Any]) -> requests.Response:
    return requests.post(client.config["token_endpoint"], timeout=30, data={
        "grant_type": DEVICE_GRANT, "device_code": started["device_code"], "client_id": client.tenant.client_id})


def _decide(browser: Browser, started: dict[str, Any], decision: str) -> str:
    page = browser.get(started["verification_uri_complete"])
    assert page.status_code == 200 and started["user_code"] in page.text, page.text[:400]
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
    answer = browser.http.post(f"{browser.client.server.url}/login/oauth/device", timeout=30,
                               data={**fields, "decision": decision}, allow_redirects=False)
    assert answer.status_code == 200, answer.text[:400]
    return answer.text


def test_the_device_gets_tokens_once_its_user_approves(client: Client) -> None:
    started = _start(client)
    assert re.fullmatch(r"[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}", started["user_code"])
    pending = _poll(client, started)
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"
    assert _poll(client, started).json()["error"] == "slow_down", "polled again at once"

    assert "signed in" in _decide(_signed_in(client), started, "approve")
    tokens = _poll(client, started).json()
    assert "access_token" in tokens and "id_token" in tokens
    account = requests.get(f"{client.server.url}/api/get-account", timeout=30,
                           headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert account["data"]["name"] == client.user
    assert _poll(client, started).json()["error"] == "invalid_grant", "a device code is good once"


def test_a_denied_device_is_told_so(client: Client) -> None:
    started = _start(client)
    _decide(_signed_in(client), started, "deny")
    assert _poll(client, started).json()["error"] == "access_denied"


def test_the_device_can_cancel_and_the_code_is_gone(client: Client) -> None:
    started = _start(client)
    wrong = Api(client.server.url).post("cancel-device-auth", params={"userCode": started["user_code"],
                                                                       "cancelToken": "nope"})
    assert wrong["status"] == "error"
    done = Api(client.server.url).post("cancel-device-auth", params={"userCode": started["user_code"],
                                                                      "cancelToken": started["cancel_token"]})
    assert done["status"] == "ok", done
    page = _signed_in(client).get(started["verification_uri_complete"])
    assert page.status_code == 400 and "no device is waiting" in page.text


def test_a_user_of_another_organization_cannot_approve(client: Client, admin: Api) -> None:
    started = _start(client)
    stranger = new_client(client.server, admin, redirectUris=[CALLBACK])
    browser = _signed_in(stranger)
    page = browser.get(started["verification_uri_complete"])
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
    refused = browser.http.post(f"{client.server.url}/login/oauth/device", data={**fields, "decision": "approve"},
                                timeout=30, allow_redirects=False)
    assert refused.status_code == 403
    assert _poll(client, started).json()["error"] in ("authorization_pending", "slow_down")


def test_an_application_without_device_login_refuses(server: ServerProcess, admin: Api) -> None:
    tenant = new_tenant(admin)
    answer = requests.post(f"{server.url}/api/device-auth", data={"client_id": tenant.client_id}, timeout=30)
    assert answer.status_code == 400 and answer.json()["error"] == "unauthorized_client"


def test_device_auth_complete_signs_the_user_in_once_after_the_tokens(client: Client) -> None:
    started = _start(client)
    device = Api(client.server.url)
    early = device.post("device-auth-complete", params={"deviceCode": started["device_code"]})
    assert early["status"] == "error" and "invalid parameter deviceCode" in early["msg"]

    _decide(_signed_in(client), started, "approve")
    assert "access_token" in _poll(client, started).json()
    wider = device.post("device-auth-complete", params={"deviceCode": started["device_code"], "responseType": "token",
                                                        "clientId": client.tenant.client_id, "scope": "openid email"})
    assert wider["status"] == "error" and "invalid parameter scope" in wider["msg"], wider
    other = device.post("device-auth-complete", params={"deviceCode": started["device_code"], "responseType": "token",
                                                        "clientId": "someone-else"})
    assert other["status"] == "error" and "invalid parameter clientId" in other["msg"], other

    done = device.post("device-auth-complete", params={"deviceCode": started["device_code"]})
    assert done == {**done, "status": "ok", "data": f"{client.tenant.organization}/{client.user}"}, done
    assert device.get("get-account")["data"]["name"] == client.user  # the device's browser is signed in
    again = Api(client.server.url).post("device-auth-complete", params={"deviceCode": started["device_code"]})
    assert again["status"] == "error", "completed once"
