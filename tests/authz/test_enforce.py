"""Enforcers through the API and through Casdoor's own Python SDK, unmodified: policies added, listed,
filtered, changed and removed; enforce and batch-enforce answering in Casdoor's shapes; pycasbin's
example models giving the same answers through Hookdoor as pycasbin gives directly."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import casbin
import pytest
from casdoor import CasdoorSDK
from casdoor.enforcer import Enforcer as SdkEnforcer
from casdoor.policy import Policy

from hookdoor.authz.schemas import model_from_text
from tests.authz.support import (
    ABAC_RULE_MODEL,
    ABAC_RULE_POLICY,
    RBAC_DOMAINS_MODEL,
    RBAC_DOMAINS_POLICY,
    RBAC_MODEL,
    add_rules,
    casdoor_rule,
    new_enforcer,
    ok,
    policy_lines,
)
from tests.compat.sdk import Tenant
from tests.identity.test_events_recorded import events
from tests.support import Api, ServerProcess


def _sdk_enforcer(owner: str, name: str) -> SdkEnforcer:
    enforcer = SdkEnforcer()
    enforcer.owner, enforcer.name = owner, name
    return enforcer


def _rules(policies: list[Policy]) -> list[tuple[str, ...]]:
    return [(p.ptype, p.v0, p.v1, p.v2) for p in policies]


def test_the_python_sdk_manages_policies_and_enforces(sdk: CasdoorSDK, admin: Api, tenant: Tenant) -> None:
    enforcer = new_enforcer(admin, tenant.organization, RBAC_MODEL)
    handle = _sdk_enforcer(enforcer.owner, enforcer.name)

    assert sdk.add_policy(handle, Policy.new("p", "alice", "data1", "read"))["data"] == "Affected"
    assert sdk.add_policy(handle, Policy.new("p", "alice", "data1", "read"))["data"] == "Unaffected"
    assert sdk.add_policy(handle, Policy.new("p", "data2_admin", "data2", "write"))["data"] == "Affected"
    assert sdk.add_policy(handle, Policy.new("g", "bob", "data2_admin"))["data"] == "Affected"
    assert _rules(sdk.get_policies(enforcer.name)) == [
        ("p", "alice", "data1", "read"), ("p", "data2_admin", "data2", "write"), ("g", "bob", "data2_admin", "")]
    filtered = sdk.get_filtered_policies(enforcer.id, [{"ptype": "p", "fieldIndex": 0, "fieldValues": ["alice"]}])
    assert _rules(filtered) == [("p", "alice", "data1", "read")]

    assert sdk.enforce("", "", "", enforcer.id, "", ["alice", "data1", "read"]) is True
    assert sdk.enforce("", "", "", enforcer.id, "", ["bob", "data2", "write"]) is True  # through the role
    assert sdk.enforce("", "", "", enforcer.id, "", ["bob", "data1", "read"]) is False
    assert sdk.batch_enforce("", "", enforcer.id, "", [["alice", "data1", "read"], ["alice", "data2", "write"]]) \
        == [True, False]

    old, new = Policy.new("p", "alice", "data1", "read"), Policy.new("p", "alice", "data1", "write")
    assert sdk.update_policy(handle, old, new)["data"] == "Affected"
    assert sdk.enforce("", "", "", enforcer.id, "", ["alice", "data1", "read"]) is False
    assert sdk.enforce("", "", "", enforcer.id, "", ["alice", "data1", "write"]) is True
    assert sdk.remove_policy(handle, Policy.new("g", "bob", "data2_admin"))["data"] == "Affected"
    assert sdk.enforce("", "", "", enforcer.id, "", ["bob", "data2", "write"]) is False
    assert sdk.remove_policy(handle, Policy.new("g", "bob", "data2_admin"))["data"] == "Unaffected"


def test_enforce_answers_in_casdoors_shape_and_records_its_event(server: ServerProcess, admin: Api,
                                                                  tenant: Tenant) -> None:
    enforcer = new_enforcer(admin, tenant.organization, RBAC_MODEL)
    add_rules(admin, enforcer, "p, alice, data1, read")
    answer = ok(admin.post("enforce", ["alice", "data1", "read"], params={"enforcerId": enforcer.id}))
    label = f"{enforcer.model}/{enforcer.adapter}"
    assert (answer["data"], answer["data2"]) == ([True], [label])
    batch = ok(admin.post("batch-enforce", [["alice", "data1", "read"], ["eve", "data1", "read"]],
                          params={"enforcerId": enforcer.id}))
    assert (batch["data"], batch["data2"]) == ([[True, False]], [label])
    for action in ("enforce", "batch-enforce", "add-policy"):
        recorded = [e for e in events(server, action=action) if enforcer.id in e["request"]["uri"]]
        assert recorded and recorded[-1]["outcome"] == "ok", action
        assert recorded[-1]["organization"] == tenant.organization


@pytest.mark.parametrize("model_text, policy, requests", [
    (RBAC_DOMAINS_MODEL, RBAC_DOMAINS_POLICY, [
        [s, d, o, a] for s in ("alice", "bob", "admin", "eve") for d in ("domain1", "domain2")
        for o in ("data1", "data2") for a in ("read", "write")]),
    (ABAC_RULE_MODEL, ABAC_RULE_POLICY, [
        [{"age": age}, o, a] for age in (10, 18, 19, 59, 60, 70) for o in ("/data1", "/data2")
        for a in ("read", "write")]),
], ids=["rbac-with-domains", "abac-rule"])
def test_pycasbins_examples_answer_as_pycasbin_does(admin: Api, tenant: Tenant, model_text: str, policy: str,
                                                    requests: list[list[Any]]) -> None:
    direct = casbin.Enforcer(model_from_text(model_text))
    for ptype, *values in policy_lines(policy):
        direct.get_model().add_policy("g" if ptype.startswith("g") else "p", ptype, values)
    direct.build_role_links()
    expected = [direct.enforce(*[_Object(v) if isinstance(v, dict) else v for v in r]) for r in requests]
    assert True in expected and False in expected

    enforcer = new_enforcer(admin, tenant.organization, model_text)
    add_rules(admin, enforcer, policy)
    one_by_one = [ok(admin.post("enforce", r, params={"enforcerId": enforcer.id}))["data"][0] for r in requests]
    batch = ok(admin.post("batch-enforce", requests, params={"enforcerId": enforcer.id}))["data"][0]
    assert one_by_one == expected
    assert batch == expected


class _Object:
    def __init__(self, fields: dict[str, Any]) -> None:
        self.__dict__.update(fields)


def test_a_model_that_does_not_parse_is_refused_naming_its_section(admin: Api, tenant: Tenant) -> None:
    cases = {
        RBAC_MODEL.replace("[matchers]\nm = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act\n", ""):
            "[matchers] is missing",
        RBAC_MODEL.replace("r.act == p.act", "r.act == == p.act"): "[matchers] m is not a valid expression",
        RBAC_MODEL.replace("r.act == p.act", "r.act == p.action"): "[matchers] m uses p.action",
        RBAC_MODEL.replace("some(where (p.eft == allow))", "most(where (p.eft == allow))"): "[policy_effect]",
        RBAC_MODEL.replace("g = _, _", "g = a, b"): "[role_definition]",
        RBAC_MODEL.replace("r.act == p.act", "true"): "[matchers] m uses 'true'",
        RBAC_MODEL.replace("[policy_definition]", "[policy_defs]"): "[policy_defs]",
        "": "must not be empty",
    }
    for text, message in cases.items():
        name = f"bad-{abs(hash(text)) % 10**8}"
        answer = admin.post("add-model", {"owner": tenant.organization, "name": name, "modelText": text})
        assert answer["status"] == "error" and message in answer["msg"], (message, answer)
        assert admin.get("get-model", id=f"{tenant.organization}/{name}")["data"] is None  # nothing stored

    enforcer = new_enforcer(admin, tenant.organization, RBAC_MODEL)
    broken = RBAC_MODEL.replace("[matchers]", "[matcher]")
    model_owner, model_name = enforcer.model.split("/")
    stored = ok(admin.get("get-model", id=enforcer.model))["data"]
    answer = admin.post("update-model", {**stored, "modelText": broken}, params={"id": enforcer.model})
    assert answer["status"] == "error" and "[matcher]" in answer["msg"]
    assert ok(admin.get("get-model", id=enforcer.model))["data"]["modelText"] == RBAC_MODEL


def test_a_policy_with_the_wrong_number_of_fields_is_refused(admin: Api, tenant: Tenant) -> None:
    enforcer = new_enforcer(admin, tenant.organization, RBAC_MODEL)
    add_rules(admin, enforcer, "p, alice, data1, read")
    refusals = [
        ("add-policy", casdoor_rule("p", "alice", "data1", "read", "extra"), "p takes 3 values, got 4"),
        ("add-policy", casdoor_rule("g", "alice"), "g takes 2 values, got 1"),
        ("add-policy", casdoor_rule("p2", "alice", "data1", "read"), "no policy type 'p2'"),
        ("add-policy", {"Ptype": "p"}, "the policy has no values"),
        ("add-policy", ["p", "alice"], "a policy object"),
        ("update-policy", [casdoor_rule("p", "alice", "data1", "read"),
                           casdoor_rule("p", "alice", "data1", "read", "x", "y")], "body[1]: p takes 3 values, got 5"),
        ("update-policy", [casdoor_rule("p", "alice", "data1", "read")], "a list of two policies"),
    ]
    for action, body, message in refusals:
        answer = admin.post(action, body, params={"id": enforcer.id})
        assert answer["status"] == "error" and message in answer["msg"], (action, message, answer)
    policies = ok(admin.get("get-policies", id=enforcer.id))["data"]
    assert [(p["Ptype"], p["V0"], p["V1"], p["V2"], p["V3"]) for p in policies] == [("p", "alice", "data1", "read", "")]


def test_enforce_refuses_several_selectors_none_and_other_organizations(server: ServerProcess, admin: Api,
                                                                       tenant: Tenant, sdk: CasdoorSDK) -> None:
    enforcer = new_enforcer(admin, tenant.organization, RBAC_MODEL)
    both = admin.post("enforce", ["a", "b", "c"], params={"enforcerId": enforcer.id, "owner": tenant.organization})
    assert both["status"] == "error" and "Only one of the parameters" in both["msg"]
    assert "Missing parameter" in admin.post("enforce", ["a", "b", "c"])["msg"]
    assert "not valid JSON" in admin.http.post(f"{server.url}/api/enforce", params={"enforcerId": enforcer.id},
                                               data=b"[1,").json()["msg"]
    other = new_enforcer(admin, "built-in", RBAC_MODEL)
    refused = Api(server.url).http.post(f"{server.url}/api/enforce", params={"enforcerId": other.id},
                                        json=["a", "b", "c"], auth=(tenant.client_id, tenant.client_secret))
    assert refused.status_code == 403 and "organization 'built-in'" in refused.json()["msg"]
    anonymous = Api(server.url).post("enforce", ["a", "b", "c"], params={"enforcerId": enforcer.id})
    assert anonymous["status"] == "error"
    with pytest.raises(Exception, match="organization 'built-in'"):
        sdk.get_policies(other.id)


def test_run_casbin_command_evaluates_in_process(server: ServerProcess, admin: Api) -> None:
    args = json.dumps(["enforceEx", "-m", RBAC_MODEL, "-p",
                       "p, alice, data1, read\np, data2_admin, data2, write\ng, bob, data2_admin",
                       "bob", "data2", "write"])
    t = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    m = hashlib.sha256(f"casbin-editor-v1|{t}|args={args}&language=go".encode()).hexdigest()
    answer = ok(admin.get("run-casbin-command", language="go", args=args, m=m, t=t))
    assert json.loads(answer["data"]) == {"allow": True, "explain": ["data2_admin", "data2", "write"]}
    assert admin.get("run-casbin-command", language="go", args=args, m="0" * 64, t=t)["msg"] == "invalid identifier"
    shell = json.dumps(["enforce; rm -rf /", "-m", RBAC_MODEL, "a", "b", "c"])
    m = hashlib.sha256(f"casbin-editor-v1|{t}|args={shell}&language=go".encode()).hexdigest()
    refused = admin.get("run-casbin-command", language="go", args=shell, m=m, t=t)
    assert refused["status"] == "error" and "unsupported command" in refused["msg"]

    m = hashlib.sha256(f"casbin-editor-v1|{t}".encode()).hexdigest()
    assert ok(admin.post("refresh-engines", params={"m": m, "t": t}))
    for action, outcomes in (("run-casbin-command", {"ok", "error"}), ("refresh-engines", {"ok"})):
        stamped = [e for e in events(server, action=action) if quote(t, safe="") in e["request"]["uri"]]
        assert {e["outcome"] for e in stamped} == outcomes, (action, stamped)


def test_an_adapters_rules_go_with_it(admin: Api, tenant: Tenant) -> None:
    enforcer = new_enforcer(admin, tenant.organization, RBAC_MODEL)
    add_rules(admin, enforcer, "p, alice, data1, read")
    adapter_owner, adapter_name = enforcer.adapter.split("/")
    stored = ok(admin.get("get-adapter", id=enforcer.adapter))["data"]
    renamed = f"{adapter_name}-renamed"
    ok(admin.post("update-adapter", {**stored, "name": renamed}, params={"id": enforcer.adapter}))
    enforcer_object = ok(admin.get("get-enforcer", id=enforcer.id))["data"]
    ok(admin.post("update-enforcer", {**enforcer_object, "adapter": f"{adapter_owner}/{renamed}"},
                  params={"id": enforcer.id}))
    assert len(ok(admin.get("get-policies", id=enforcer.id))["data"]) == 1  # the rules followed the rename

    ok(admin.post("delete-adapter", {"owner": adapter_owner, "name": renamed}))
    ok(admin.post("add-adapter", {"owner": adapter_owner, "name": renamed, "table": "casbin_rule"}))
    assert ok(admin.get("get-policies", id=enforcer.id))["data"] == []  # a new adapter starts empty


def test_a_rule_that_fails_to_evaluate_is_a_clear_error(admin: Api, tenant: Tenant) -> None:
    enforcer = new_enforcer(admin, tenant.organization, ABAC_RULE_MODEL)
    add_rules(admin, enforcer, "p, r.sub.age / 0 > 1, /data1, read")
    for request in ([{"age": 30}, "/data1", "read"], ["not-an-object", "/data1", "read"], ["too", "few"]):
        answer = admin.post("enforce", request, params={"enforcerId": enforcer.id})
        assert answer["status"] == "error" and "cannot be evaluated by this model" in answer["msg"], answer
