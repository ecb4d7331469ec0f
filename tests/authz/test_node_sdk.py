"""Casdoor's Node.js SDK (casdoor-nodejs-sdk from npm, unmodified) enforces through Hookdoor: by
permission and by model, one request and a batch."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.authz.support import ok
from tests.compat.sdk import Tenant
from tests.oauth.test_sdk_clients import node_peer  # noqa: F401  (the fixture: the SDK installed from npm)
from tests.support import Api, ServerProcess, unique


def _node(server: ServerProcess, tenant: Tenant, workdir: Path, command: str, **argument: Any) -> Any:
    config = {"endpoint": server.url, "clientId": tenant.client_id, "clientSecret": tenant.client_secret,
              "certificate": "", "orgName": tenant.organization, "appName": tenant.application}
    done = subprocess.run(["node", "peer.js", command, json.dumps(argument)], cwd=workdir, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "CASDOOR_CONFIG": json.dumps(config)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["result"]


def test_the_node_sdk_enforces(server: ServerProcess, admin: Api, tenant: Tenant, node_peer: Path) -> None:  # noqa: F811
    o = tenant.organization
    user = unique("reader")
    ok(admin.post("add-user", {"owner": o, "name": user, "password": "pw-123456789"}))
    ok(admin.post("add-permission", {"owner": o, "name": "node-read", "users": [f"{o}/{user}"],
                                     "resources": ["doc1"], "actions": ["read"], "effect": "Allow",
                                     "isEnabled": True}))
    by_permission = {"permissionId": f"{o}/node-read", "modelId": "", "resourceId": ""}
    assert _node(server, tenant, node_peer, "enforce", **by_permission, request=[f"{o}/{user}", "doc1", "read"]) \
        is True
    assert _node(server, tenant, node_peer, "enforce", **by_permission, request=[f"{o}/{user}", "doc1", "write"]) \
        is False
    assert _node(server, tenant, node_peer, "batch-enforce", **by_permission,
                 request=[[f"{o}/{user}", "doc1", "read"], [f"{o}/{user}", "doc2", "read"]]) == [True, False]
    by_resource = {"permissionId": "", "modelId": "", "resourceId": "doc1"}
    assert _node(server, tenant, node_peer, "enforce", **by_resource, request=[f"{o}/{user}", "doc1", "read"]) \
        is True
