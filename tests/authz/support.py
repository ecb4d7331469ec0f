"""Casbin models and policies for the authz tests, and making enforcers through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support import Api, unique

# pycasbin's examples/rbac_model.conf
RBAC_MODEL = """[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
"""

# pycasbin's examples/rbac_with_domains_model.conf and rbac_with_domains_policy.csv
RBAC_DOMAINS_MODEL = """[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj && r.act == p.act
"""
RBAC_DOMAINS_POLICY = """p, admin, domain1, data1, read
p, admin, domain1, data1, write
p, admin, domain2, data2, read
p, admin, domain2, data2, write
g, alice, admin, domain1
g, bob, admin, domain2"""

# pycasbin's examples/abac_rule_model.conf and abac_rule_policy.csv
ABAC_RULE_MODEL = """[request_definition]
r = sub, obj, act

[policy_definition]
p = sub_rule, obj, act

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = eval(p.sub_rule) && r.obj == p.obj && r.act == p.act
"""
ABAC_RULE_POLICY = """p, r.sub.age > 18, /data1, read
p, r.sub.age < 60, /data2, write"""


def policy_lines(text: str) -> list[list[str]]:
    return [[field.strip() for field in line.split(",")] for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class Enforcer:
    owner: str
    name: str
    model: str
    adapter: str

    @property
    def id(self) -> str:
        return f"{self.owner}/{self.name}"


def ok(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["status"] == "ok", answer
    return answer


def new_enforcer(api: Api, owner: str, model_text: str, adapter: dict[str, Any] | None = None) -> Enforcer:
    model, adapter_name, name = unique("model"), unique("adapter"), unique("enforcer")
    ok(api.post("add-model", {"owner": owner, "name": model, "modelText": model_text}))
    ok(api.post("add-adapter", {"owner": owner, "name": adapter_name, "table": "casbin_rule", **(adapter or {})}))
    ok(api.post("add-enforcer", {"owner": owner, "name": name, "model": f"{owner}/{model}",
                                 "adapter": f"{owner}/{adapter_name}"}))
    return Enforcer(owner, name, f"{owner}/{model}", f"{owner}/{adapter_name}")


def casdoor_rule(ptype: str, *values: str) -> dict[str, Any]:
    padded = [*values, *[""] * (6 - len(values))]
    return {"Ptype": ptype, **{f"V{i}": v for i, v in enumerate(padded)}}


def add_rules(api: Api, enforcer: Enforcer, text: str) -> None:
    for ptype, *values in policy_lines(text):
        assert ok(api.post("add-policy", casdoor_rule(ptype, *values), params={"id": enforcer.id}))["data"] == \
            "Affected"
