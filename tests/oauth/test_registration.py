"""Dynamic client registration (RFC 7591/7592) at /api/oauth/register: off until an organization opens
it, a registered client signs users in with the code flow like any other, holds no admin rights, and
is managed with its registration access token alone."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from tests.compat.sdk import Tenant, new_tenant
from tests.identity.test_events_recorded import events
from tests.oauth.test_authorize import CALLBACK, PASSWORD, Browser, Client, _query
from tests.support import Api, ServerProcess, unique

METADATA = {"client_name": "A self-registered client", "redirect_uris": ["https://client.example/cb", CALLBACK]}


def _register(server: ServerProcess, organization: str, body: dict[str, Any] | None = None) -> requests.Response:
    return requests.post(f"{server.url}/api/oauth/register", params={"organization": organization},
                         json=METADATA if body is None else body, timeout=30)


@pytest.fixture
def open_organization(admin: Api) -> str:
    tenant = new_tenant(admin)
    organization = admin.get("get-organization", id=f"admin/{tenant.organization}")["data"]
    changed = admin.post("update-organization", {**organization, "dcrPolicy": "open"},
                         params={"id": f"admin/{tenant.organization}"})
    assert changed["status"] == "ok", changed
    return tenant.organization


def test_registration_is_off_unless_the_organization_opens_it(server: ServerProcess, admin: Api) -> None:
    closed = new_tenant(admin).organization
    for organization in (closed, "built-in", "no-such-organization"):
        refused = _register(server, organization)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_client_metadata", refused.text
        assert "does not accept client registrations" in refused.json()["error_description"]
    wrong = admin.get("get-organization", id=f"admin/{closed}")["data"]
    answer = admin.post("update-organization", {**wrong, "dcrPolicy": "anyone"}, params={"id": f"admin/{closed}"})
    assert answer["status"] == "error" and "dcrPolicy" in answer["msg"]


def test_a_registered_client_runs_the_code_flow(server: ServerProcess, admin: Api, open_organization: str) -> None:
    registered = _register(server, open_organization)
    assert registered.status_code == 201, registered.text
    client = registered.json()
    assert client["redirect_uris"] == METADATA["redirect_uris"] and client["grant_types"] == ["authorization_code"]
    assert client["registration_client_uri"] == f"{server.url}/api/oauth/register/{client['client_id']}"

    user = unique("dcr-user")
    assert admin.post("add-user", {"owner": open_organization, "name": user, "password": PASSWORD})["status"] == "ok"
    config = requests.get(f"{server.url}/.well-known/openid-configuration", timeout=30).json()
    assert config["registration_endpoint"] == f"{server.url}/api/oauth/register"
    application = next(a for a in admin.get("get-applications", owner="admin")["data"]
                       if a.get("clientId") == client["client_id"])
    assert "registrationAccessTokenHash" not in application  # hidden from every reader, admins too
    tenant = Tenant(open_organization, application["name"], client["client_id"], client["client_secret"])
    tenant_view = Client(server, tenant, user, config)
    session = OAuth2Session(client["client_id"], client["client_secret"], redirect_uri=CALLBACK, scope="openid",
                            code_challenge_method="S256")
    verifier = secrets.token_urlsafe(48)
    url, _ = session.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier)
    code = _query(Browser(tenant_view).authorize(url))["code"]
    token = session.fetch_token(config["token_endpoint"], code=code, code_verifier=verifier)
    assert token["access_token"] and token["id_token"]
    assert events(server, action="add-application", organization=open_organization)


def test_a_registered_client_is_no_administrator(server: ServerProcess, open_organization: str) -> None:
    client = _register(server, open_organization).json()
    as_client = {"clientId": client["client_id"], "clientSecret": client["client_secret"]}
    added = requests.post(f"{server.url}/api/add-user", params=as_client, timeout=30,
                          json={"owner": open_organization, "name": unique("intruder"), "password": PASSWORD}).json()
    assert added["status"] == "error", added
    tokens = requests.post(f"{server.url}/api/login/oauth/access_token", timeout=30, data={
        "grant_type": "client_credentials", **{"client_id": client["client_id"],
                                              "client_secret": client["client_secret"]}})
    assert tokens.status_code == 400 and tokens.json()["error"] == "unauthorized_client", tokens.text


def test_registration_refuses_what_a_self_registered_client_may_not_have(server: ServerProcess,
                                                                          open_organization: str) -> None:
    for body, error, named in (
        ({**METADATA, "grant_types": ["client_credentials"]}, "invalid_client_metadata", "grant_types"),
        ({**METADATA, "redirect_uris": []}, "invalid_redirect_uri", "redirect_uris"),
        ({**METADATA, "redirect_uris": ["http://client.example/cb"]}, "invalid_redirect_uri", "https"),
        ({**METADATA, "redirect_uris": ["https://client.example/cb#frag"]}, "invalid_redirect_uri", "fragment"),
        ({**METADATA, "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata", "token_endpoint"),
        ({**METADATA, "client_name": 7}, "invalid_client_metadata", "client_name"),
    ):
        refused = _register(server, open_organization, body)
        assert refused.status_code == 400 and refused.json()["error"] == error, (body, refused.text)
        assert named in refused.json()["error_description"], refused.text


def test_the_registration_token_reads_updates_and_deletes_the_client(server: ServerProcess,
                                                                      open_organization: str) -> None:
    client = _register(server, open_organization).json()
    uri, token = client["registration_client_uri"], client["registration_access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        refused = requests.get(uri, headers=headers, timeout=30)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
        assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    read = requests.get(uri, headers=bearer, timeout=30).json()
    assert read["client_id"] == client["client_id"] and "registration_access_token" not in read

    changed = requests.put(uri, headers=bearer, timeout=30,
                           json={**METADATA, "client_id": client["client_id"], "client_name": "Renamed"})
    assert changed.status_code == 200 and changed.json()["client_name"] == "Renamed", changed.text
    other = requests.put(uri, headers=bearer, timeout=30, json={**METADATA, "client_id": "another"})
    assert other.status_code == 400 and "client_id" in other.json()["error_description"]

    assert requests.delete(uri, headers=bearer, timeout=30).status_code == 204
    assert requests.get(uri, headers=bearer, timeout=30).status_code == 401
    for action in ("update-application", "delete-application"):
        recorded = events(server, action=action, organization=open_organization, outcome="ok")
        assert recorded and all(token not in str(e) and client["client_secret"] not in str(e) for e in recorded)
