"""Sign in with Hookdoor through Casdoor's own SDKs, unmodified: the ``casdoor`` Python SDK and the
``casdoor-nodejs-sdk`` from npm (installed into a copy of tests/oauth/node when node is present)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from casdoor import CasdoorSDK

from tests.compat.sdk import sdk_for
from tests.oauth.test_authorize import CALLBACK, Browser, Client, new_client
from tests.support import Api, ServerProcess

NODE_PEER = Path(__file__).parent / "node"


@pytest.fixture
def client(server: ServerProcess, admin: Api) -> Client:
    return new_client(server, admin, redirectUris=[CALLBACK])


def _certificate(admin: Api) -> str:
    return admin.get("get-cert", id="admin/cert-built-in")["data"]["certificate"]


def _python_sdk(client: Client, admin: Api) -> CasdoorSDK:
    tenant = client.tenant
    sdk = sdk_for(client.server.url, tenant.client_id, tenant.client_secret, tenant.organization, tenant.application)
    sdk.front_endpoint = client.server.url
    sdk.certificate = _certificate(admin)
    return sdk


def _code(client: Client, url: str) -> str:
    return parse_qs(urlsplit(Browser(client).authorize(url)).query)["code"][0]


def test_the_python_sdk_signs_in_with_a_code_and_refreshes(client: Client, admin: Api) -> None:
    sdk = _python_sdk(client, admin)
    for url in (sdk.get_auth_link(CALLBACK, state="s-1"), sdk.get_signin_url(CALLBACK)):
        token = sdk.get_oauth_token(code=_code(client, url))
        claims = sdk.parse_jwt_token(token["access_token"])
        assert (claims["owner"], claims["name"]) == (client.tenant.organization, client.user)

    refreshed = sdk.refresh_oauth_tokens(token["refresh_token"])
    assert sdk.parse_jwt_token(refreshed["access_token"])["name"] == client.user
    assert sdk.refresh_oauth_token(refreshed["refresh_token"])
    by_client = sdk.get_oauth_token()  # client credentials
    assert sdk.parse_jwt_token(by_client["access_token"])["name"] == client.tenant.application


def _node(client: Client, admin: Api, workdir: Path, *args: str) -> dict[str, Any]:
    config = {"endpoint": client.server.url, "clientId": client.tenant.client_id,
              "clientSecret": client.tenant.client_secret, "certificate": _certificate(admin),
              "orgName": client.tenant.organization, "appName": client.tenant.application}
    done = subprocess.run(["node", "peer.js", *args], cwd=workdir, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CASDOOR_CONFIG": json.dumps(config)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="session")
def node_peer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are needed for Casdoor's Node.js SDK")
    workdir = tmp_path_factory.mktemp("node-peer")
    for name in ("package.json", "package-lock.json", "peer.js"):
        shutil.copy(NODE_PEER / name, workdir / name)
    installed = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=workdir, capture_output=True, text=True,
                               timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return workdir


def test_the_node_sdk_signs_in_with_a_code_and_refreshes(client: Client, admin: Api, node_peer: Path) -> None:
    url = _node(client, admin, node_peer, "sign-in-url", CALLBACK)["url"]
    answer = _node(client, admin, node_peer, "exchange", _code(client, url))
    assert answer["claims"]["name"] == client.user and answer["claims"]["aud"] == [client.tenant.client_id]
    assert answer["refreshedClaims"]["name"] == client.user
    assert answer["refreshed"]["access_token"] != answer["tokens"]["access_token"]
