"""Consent: an application that describes scopes (customScopes) asks the user once, on a page, before
it gets a code for them; the grant is kept on the user and can be revoked."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from tests.compat.sdk import new_tenant
from tests.identity.test_events_recorded import events
from tests.oauth.test_authorize import CALLBACK, PASSWORD, Browser, Client, _query, new_client
from tests.support import Api, ServerProcess

SCOPES = [{"scope": "contacts.read", "displayName": "Read your contacts", "description": "names and emails"},
          {"scope": "calendar.write", "displayName": "Change your calendar"}]


@pytest.fixture
def client(server: ServerProcess, admin: Api) -> Client:
    return new_client(server, admin, redirectUris=[CALLBACK], customScopes=SCOPES)


def _url(client: Client, scope: str, **extra: str) -> str:
    session = OAuth2Session(client.tenant.client_id, client.tenant.client_secret, redirect_uri=CALLBACK, scope=scope)
    return session.create_authorization_url(client.config["authorization_endpoint"], **extra)[0]


def _signed_in(client: Client) -> Browser:
    browser = Browser(client)
    browser.authorize(_url(client, "openid"))  # no described scope asked: no consent page
    return browser


def _consent_page(browser: Browser, url: str) -> requests.Response:
    page = browser.get(url)
    assert page.status_code == 200 and "wants to access your account" in page.text, page.text[:500]
    return page


def _answer(browser: Browser, page: requests.Response, decision: str) -> str:
    fields = {name: html.unescape(value) for name, value in re.findall(r'name="([\w.]+)" value="([^"]*)"', page.text)}
    fields["decision"] = decision
    response = browser.http.post(f"{browser.client.server.url}/login/oauth/authorize", data=fields,
                                 allow_redirects=False, timeout=30)
    assert response.status_code == 303, response.text[:500]
    return response.headers["location"]


def _user(admin: Api, client: Client) -> dict[str, Any]:
    return admin.get("get-user", id=f"{client.tenant.organization}/{client.user}")["data"]


def test_described_scopes_are_asked_once_then_remembered(client: Client, admin: Api) -> None:
    browser = _signed_in(client)
    url = _url(client, "openid contacts.read")
    page = _consent_page(browser, url)
    assert "Read your contacts" in page.text and "Change your calendar" not in page.text

    callback = _answer(browser, page, "allow")
    assert callback.startswith(CALLBACK) and "code" in _query(callback)
    granted = _user(admin, client)["applicationScopes"]
    assert granted == [{"application": f"admin/{client.tenant.application}", "grantedScopes": ["contacts.read"]}]
    assert any(e["outcome"] == "ok" for e in events(client.server, action="grant-consent"))

    assert "code" in _query(browser.authorize(url)), "granted once: not asked again"
    _consent_page(browser, _url(client, "openid contacts.read calendar.write"))  # a new scope is asked
    _consent_page(browser, _url(client, "openid contacts.read", prompt="consent"))


def test_deny_sends_access_denied_and_grants_nothing(client: Client, admin: Api) -> None:
    browser = _signed_in(client)
    page = _consent_page(browser, _url(client, "contacts.read", state="st"))
    answer = _query(_answer(browser, page, "deny"))
    assert (answer["error"], answer["state"]) == ("access_denied", "st")
    assert not _user(admin, client).get("applicationScopes")


def test_prompt_none_answers_consent_required(client: Client) -> None:
    browser = _signed_in(client)
    response = browser.get(_url(client, "openid calendar.write", prompt="none"))
    assert _query(response.headers["location"])["error"] == "consent_required"


def test_a_forged_consent_form_is_refused(client: Client, admin: Api) -> None:
    browser = _signed_in(client)
    page = _consent_page(browser, _url(client, "contacts.read"))
    forged = page.text.replace('name="csrf_token" value="', 'name="csrf_token" value="forged')
    response = browser.http.post(f"{client.server.url}/login/oauth/authorize", allow_redirects=False, timeout=30,
                                 data={**dict(re.findall(r'name="([\w.]+)" value="([^"]*)"', forged)),
                                       "decision": "allow"})
    assert response.status_code == 403
    assert not _user(admin, client).get("applicationScopes")


def test_the_consent_api_grants_and_revokes(client: Client, admin: Api) -> None:
    api = Api(client.server.url)
    assert api.login(client.user, PASSWORD, client.tenant.organization, client.tenant.application)["status"] == "ok"
    application_id = f"admin/{client.tenant.application}"
    granted = api.post("grant-consent", {
        "application": application_id, "grantedScopes": ["contacts.read", "calendar.write"],
        "clientId": client.tenant.client_id, "responseType": "code", "redirectUri": CALLBACK,
        "scope": "openid contacts.read", "state": "s",
    })
    assert granted["status"] == "ok" and granted["data"], granted
    exchanged = requests.post(client.config["token_endpoint"], timeout=30, data={
        "grant_type": "authorization_code", "code": granted["data"], "client_id": client.tenant.client_id,
        "client_secret": client.tenant.client_secret})
    assert "access_token" in exchanged.json()

    assert api.post("revoke-consent", {"application": application_id, "grantedScopes": ["calendar.write"]})[
        "status"] == "ok"
    assert _user(admin, client)["applicationScopes"][0]["grantedScopes"] == ["contacts.read"]
    widened = admin.get("get-user", id=f"{client.tenant.organization}/{client.user}")["data"]
    own = api.post("update-user", {**widened, "applicationScopes": []},
                   params={"id": f"{client.tenant.organization}/{client.user}"})
    assert own["status"] == "error" and "applicationScopes" in own["msg"]

    other = new_tenant(admin)
    refused = api.post("grant-consent", {
        "application": f"admin/{other.application}", "grantedScopes": ["x"], "clientId": other.client_id,
        "redirectUri": CALLBACK})
    assert refused["status"] == "error"


def test_casdoors_page_style_code_login_asks_for_consent_first(client: Client) -> None:
    """Casdoor's sign-in page posts /api/login with type code; a scope not granted yet answers
    {"required": true} with a session, and the page's grant-consent then gives the code."""
    query = {"clientId": client.tenant.client_id, "responseType": "code", "redirectUri": CALLBACK,
             "scope": "openid contacts.read", "state": "s2"}
    page = Api(client.server.url)
    body = {"type": "code", "organization": client.tenant.organization, "application": client.tenant.application,
            "username": client.user, "password": PASSWORD}
    asked = page.post("login", body, params=query)
    assert asked["status"] == "ok" and asked["data"] == {"required": True}, asked
    granted = page.post("grant-consent", {
        "application": f"admin/{client.tenant.application}", "grantedScopes": ["contacts.read"],
        "clientId": client.tenant.client_id, "responseType": "code", "redirectUri": CALLBACK,
        "scope": query["scope"], "state": "s2"})
    assert granted["status"] == "ok" and isinstance(granted["data"], str), granted
    again = Api(client.server.url).post("login", body, params=query)
    assert again["status"] == "ok" and isinstance(again["data"], str), "granted: the code comes at once"
