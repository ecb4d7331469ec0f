"""Tokens are JWTs signed with the application's cert, verified by real clients unmodified: the
``casdoor`` SDK's ``parse_jwt_token`` with the cert's certificate, and joserfc with the JWKS found
through discovery."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from casdoor import CasdoorSDK
from joserfc import jwt
from joserfc.jwk import KeySet

from hookdoor.oauth.service import at_hash
from tests.compat.sdk import Tenant, new_tenant, sdk_for
from tests.identity.test_events_recorded import events
from tests.support import Api, ServerProcess, unique

PASSWORD = "signed-password-1234"
SECRETS = ("password", "passwordSalt", "accessSecret", "accessKey", "totpSecret", "recoveryCodes")


def _user(admin: Api, organization: str, **fields: Any) -> str:
    name = unique("jwt-user")
    answer = admin.post("add-user", {"owner": organization, "name": name, "password": PASSWORD,
                                     "email": f"{name}@example.com", **fields})
    assert answer["status"] == "ok", answer
    return name


def _cert(admin: Api, cert_id: str) -> dict[str, Any]:
    answer = admin.get("get-cert", id=cert_id)
    assert answer["status"] == "ok" and answer["data"], answer
    return answer["data"]


def _sdk(server: ServerProcess, admin: Api, tenant: Tenant, cert_id: str = "admin/cert-built-in") -> CasdoorSDK:
    sdk = sdk_for(server.url, tenant.client_id, tenant.client_secret, tenant.organization, tenant.application)
    sdk.certificate = _cert(admin, cert_id)["certificate"]
    return sdk


def _token_by_password(sdk: CasdoorSDK, user: str, **extra: str) -> dict[str, Any]:
    response = requests.post(f"{sdk.endpoint}/api/login/oauth/access_token", timeout=30, data={
        "grant_type": "password", "client_id": sdk.client_id, "client_secret": sdk.client_secret,
        "username": user, "password": PASSWORD, **extra,
    })
    assert response.status_code == 200, response.text
    return response.json()


def _update_application(admin: Api, name: str, **fields: Any) -> None:
    application = admin.get("get-application", id=f"admin/{name}")["data"]
    answer = admin.post("update-application", {**application, **fields}, params={"id": f"admin/{name}"})
    assert answer["status"] == "ok", answer


def test_the_sdk_verifies_an_access_token_with_the_certificate(server: ServerProcess, admin: Api) -> None:
    tenant = new_tenant(admin)
    user = _user(admin, tenant.organization)
    sdk = _sdk(server, admin, tenant)

    token = sdk.get_oauth_token_by_password(user, PASSWORD)
    claims = sdk.parse_jwt_token(token["access_token"])

    stored = admin.get("get-user", id=f"{tenant.organization}/{user}")["data"]
    assert (claims["owner"], claims["name"], claims["sub"]) == (tenant.organization, user, stored["id"])
    assert claims["aud"] == [tenant.client_id] and claims["azp"] == tenant.client_id
    assert claims["tokenType"] == "access-token"
    assert claims["iss"] == server.url
    assert not set(SECRETS) & set(claims), "a token never carries the user's secrets"
    assert sdk.parse_jwt_token(token["refresh_token"])["tokenType"] == "refresh-token"

    bearer = requests.get(f"{server.url}/api/get-account", timeout=30,
                          headers={"Authorization": f"Bearer {token['access_token']}"})
    assert bearer.json()["data"]["name"] == user


def test_a_token_verifies_against_the_jwks_found_through_discovery(server: ServerProcess, admin: Api) -> None:
    tenant = new_tenant(admin)
    user = _user(admin, tenant.organization)
    sdk = _sdk(server, admin, tenant)
    token = _token_by_password(sdk, user, scope="openid profile", nonce="n-0S6_WzA2Mj")

    config = requests.get(f"{server.url}/.well-known/openid-configuration", timeout=30).json()
    assert config["issuer"] == server.url
    assert config["token_endpoint"] == f"{server.url}/api/login/oauth/access_token"
    key_set = KeySet.import_key_set(requests.get(config["jwks_uri"], timeout=30).json())

    access = jwt.decode(token["access_token"], key_set)
    assert access.header["kid"] == "cert-built-in"
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": config["issuer"]}).validate(access.claims)

    identity = jwt.decode(token["id_token"], key_set).claims
    assert identity["aud"] == tenant.client_id and identity["azp"] == tenant.client_id
    assert identity["nonce"] == "n-0S6_WzA2Mj"
    assert identity["at_hash"] == at_hash(token["access_token"], access.header["alg"])
    assert identity["sub"] == access.claims["sub"] and identity["auth_time"] <= identity["iat"]


@pytest.mark.parametrize("token_format", ["JWT-Empty", "JWT-Standard", "JWT-Custom"])
def test_token_formats_carry_what_casdoor_puts_in_them(server: ServerProcess, admin: Api, token_format: str) -> None:
    tenant = new_tenant(admin)
    _update_application(admin, tenant.application, tokenFormat=token_format,
                        tokenFields=["Email", "DisplayName", "Properties.team", "AccessSecret", "Password"])
    user = _user(admin, tenant.organization, displayName="Jo Tester", properties={"team": "blue"})
    admin.post("add-user-keys", {"owner": tenant.organization, "name": user})
    claims = _sdk(server, admin, tenant).parse_jwt_token(
        _sdk(server, admin, tenant).get_oauth_token_by_password(user, PASSWORD)["access_token"]
    )
    expected = {
        "JWT-Empty": {"owner": tenant.organization, "name": user, "displayName": "Jo Tester",
                      "email": f"{user}@example.com"},
        "JWT-Standard": {"owner": tenant.organization, "preferred_username": user, "name": "Jo Tester",
                         "email": f"{user}@example.com"},
        "JWT-Custom": {"email": f"{user}@example.com", "displayName": "Jo Tester", "team": "blue"},
    }[token_format]
    assert {k: claims.get(k) for k in expected} == expected
    assert not set(SECRETS) & set(claims), claims


def test_an_application_signs_with_its_own_organizations_cert(server: ServerProcess, admin: Api) -> None:
    tenant = new_tenant(admin)
    cert = unique("cert")
    added = admin.post("add-cert", {"owner": tenant.organization, "name": cert, "cryptoAlgorithm": "ES256",
                                    "certificate": ""})
    assert added["status"] == "ok", added
    _update_application(admin, tenant.application, cert=cert)
    user = _user(admin, tenant.organization)

    sdk = _sdk(server, admin, tenant, cert_id=f"{tenant.organization}/{cert}")
    token = sdk.get_oauth_token_by_password(user, PASSWORD)["access_token"]
    assert sdk.parse_jwt_token(token)["name"] == user
    keys = requests.get(f"{server.url}/.well-known/{tenant.application}/jwks", timeout=30).json()["keys"]
    assert [(k["kid"], k["kty"], k["crv"]) for k in keys] == [(cert, "EC", "P-256")]
    app_config = requests.get(f"{server.url}/.well-known/{tenant.application}/openid-configuration", timeout=30)
    assert app_config.json()["jwks_uri"] == f"{server.url}/.well-known/{tenant.application}/jwks"


@pytest.mark.parametrize(("algorithm", "kty"), [("RS256", "RSA"), ("PS384", "RSA"), ("ES512", "EC"),
                                                ("EdDSA", "OKP")])
def test_add_cert_with_no_certificate_generates_the_keys(admin: Api, algorithm: str, kty: str) -> None:
    name = unique("cert")
    added = admin.post("add-cert", {"owner": "admin", "name": name, "cryptoAlgorithm": algorithm,
                                    "bitSize": 2048, "certificate": "", "privateKey": ""})
    assert added["status"] == "ok", added
    cert = _cert(admin, f"admin/{name}")
    assert cert["certificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert cert["privateKey"].startswith("-----BEGIN PRIVATE KEY-----")
    assert cert["expireTime"] and cert["scope"] == "JWT"


def test_bad_certs_are_refused_with_a_clear_error(admin: Api) -> None:
    def refused(body: dict[str, Any]) -> str:
        answer = admin.post("add-cert", {"owner": "admin", "name": unique("cert"), **body})
        assert answer["status"] == "error", answer
        return answer["msg"]

    assert "bitSize" in refused({"cryptoAlgorithm": "RS256", "bitSize": 1000})
    assert "cryptoAlgorithm" in refused({"cryptoAlgorithm": "HS256"})
    assert "certificate" in refused({"certificate": "not a pem", "privateKey": "neither"})
    other = _cert(admin, "admin/cert-built-in")
    mine = admin.post("add-cert", {"owner": "admin", "name": unique("cert"), "bitSize": 2048})
    assert mine["status"] == "ok"
    assert "privateKey" in refused({"certificate": other["certificate"], "privateKey": _generated_key(admin)})


def _generated_key(admin: Api) -> str:
    name = unique("cert")
    admin.post("add-cert", {"owner": "admin", "name": name, "bitSize": 2048})
    return _cert(admin, f"admin/{name}")["privateKey"]


def test_a_private_key_never_reaches_an_event(server: ServerProcess, admin: Api) -> None:
    name = unique("cert")
    admin.post("add-cert", {"owner": "admin", "name": name, "bitSize": 2048})
    key = _cert(admin, f"admin/{name}")["privateKey"]
    recorded = events(server, action="add-cert")
    assert recorded and key.splitlines()[1] not in json.dumps(recorded, default=str)
