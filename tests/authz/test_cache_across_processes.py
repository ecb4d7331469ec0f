"""Two server processes on one database: a policy, permission or model change made through one is in
force in the other's very next request, though both cache their enforcers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.authz.support import RBAC_MODEL, casdoor_rule, new_enforcer, ok
from tests.conftest import SERVER_ENV
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def two_servers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Api, Api]]:
    with fresh_database(request.param, tmp_path) as url:
        first = ServerProcess(database_url=url, workdir=tmp_path, env=SERVER_ENV).start()
        second = ServerProcess(database_url=url, workdir=tmp_path, env=SERVER_ENV, options=["--no-worker"])
        try:
            second.start()
            apis = Api(first.url), Api(second.url)
            for api in apis:
                assert api.login("admin", ADMIN_PASSWORD)["status"] == "ok"
            yield apis
        finally:
            second.stop()
            first.stop()


def _allowed(api: Api, enforcer_id: str, request: list[str]) -> bool:
    return ok(api.post("enforce", request, params={"enforcerId": enforcer_id}))["data"] == [True]


def test_a_change_in_one_process_is_in_force_in_the_others_next_request(two_servers: tuple[Api, Api]) -> None:
    one, other = two_servers
    enforcer = new_enforcer(one, "built-in", RBAC_MODEL)
    request = ["alice", "data1", "read"]
    rule = casdoor_rule("p", "alice", "data1", "read")
    for _ in range(10):
        assert not _allowed(other, enforcer.id, request)  # cached by the other process now
        assert not _allowed(one, enforcer.id, request)
        assert ok(one.post("add-policy", rule, params={"id": enforcer.id}))["data"] == "Affected"
        assert _allowed(other, enforcer.id, request)  # no wait: its very next request
        assert _allowed(one, enforcer.id, request)
        assert ok(other.post("remove-policy", rule, params={"id": enforcer.id}))["data"] == "Affected"
        assert not _allowed(one, enforcer.id, request)

    # A change of the model itself (every request is now allowed), and of a permission.
    model = ok(one.get("get-model", id=enforcer.model))["data"]
    allow_all = RBAC_MODEL.replace("m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act", "m = r.sub != \"\"")
    ok(one.post("update-model", {**model, "modelText": allow_all}, params={"id": enforcer.model}))
    assert _allowed(other, enforcer.id, ["anyone", "anything", "any"])

    ok(one.post("add-permission", {"owner": "built-in", "name": "p-two", "users": ["built-in/admin"],
                                   "resources": ["r1"], "actions": ["read"], "effect": "Allow", "isEnabled": True}))
    assert ok(other.post("enforce", ["built-in/admin", "r1", "read"], params={"permissionId": "built-in/p-two"}))[
        "data"] == [True]
    stored = ok(one.get("get-permission", id="built-in/p-two"))["data"]
    ok(one.post("update-permission", {**stored, "actions": ["write"]}, params={"id": "built-in/p-two"}))
    assert ok(other.post("enforce", ["built-in/admin", "r1", "read"], params={"permissionId": "built-in/p-two"}))[
        "data"] == [False]
