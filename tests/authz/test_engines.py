"""The enforcer's index (only rules that can match are evaluated) decides exactly as pycasbin does
over every rule: RBAC, domains, deny effects, priorities, a top-level ||, ABAC objects."""

from __future__ import annotations

import itertools
import random

import casbin

from hookdoor.authz import engines
from hookdoor.authz.schemas import PolicyRule, model_from_text
from tests.authz.support import RBAC_DOMAINS_MODEL, RBAC_DOMAINS_POLICY, RBAC_MODEL, policy_lines

DENY_MODEL = """[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act, eft
[role_definition]
g = _, _
[policy_effect]
e = !some(where (p.eft == deny))
[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
"""
PRIORITY_MODEL = """[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act, eft
[role_definition]
g = _, _
[policy_effect]
e = priority(p.eft) || deny
[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
"""
EITHER_MODEL = RBAC_MODEL.replace("m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act",
                                  "m = r.sub == \"root\" || r.obj == p.obj && r.act == p.act")


def _rules(text: str) -> list[PolicyRule]:
    return [PolicyRule(ptype, tuple(values)) for ptype, *values in policy_lines(text)]


def _direct(model: str, rules: list[PolicyRule]) -> casbin.Enforcer:
    enforcer = casbin.Enforcer(model_from_text(model))
    for rule in rules:
        enforcer.get_model().add_policy(rule.section, rule.ptype, list(rule.values))
    enforcer.build_role_links()
    return enforcer


def _same_answers(model: str, policy: str, requests: list[list[str]]) -> None:
    rules = _rules(policy)
    engine, direct = engines.build(model, rules, ""), _direct(model, rules)
    assert [engines.enforce(engine, r) for r in requests] == [
        (bool(a), list(e)) for a, e in (direct.enforce_ex(*r) for r in requests)]


def test_the_index_answers_as_pycasbin_over_every_rule() -> None:
    rbac = "\n".join([*(f"p, role{i % 7}, data{i % 13}, {'read' if i % 2 else 'write'}" for i in range(60)),
                      *(f"g, user{i}, role{i % 7}" for i in range(20))])
    subjects, objects = [f"user{i}" for i in range(22)] + ["role3"], [f"data{i}" for i in range(15)]
    requests = [[s, o, a] for s, o, a in itertools.product(subjects, objects, ("read", "write", "admin"))]
    _same_answers(RBAC_MODEL, rbac, requests)
    assert engines.build(RBAC_MODEL, _rules(rbac), "").index is not None

    effects = "\n".join([*(f"p, role{i % 3}, data{i % 5}, read, {'deny' if i % 4 == 0 else 'allow'}"
                           for i in range(30)), "g, alice, role1", "g, bob, role2"])
    random.seed(7)
    some = random.sample(requests, 200) + [["alice", "data1", "read"], ["bob", "nothing", "read"]]
    for model in (DENY_MODEL, PRIORITY_MODEL):
        _same_answers(model, effects.replace("role", "role").replace("user", "alice"), some)

    _same_answers(EITHER_MODEL, rbac, [["root", "nowhere", "x"], ["user1", "data1", "read"], ["u", "zz", "read"]])
    assert engines.build(EITHER_MODEL, _rules(rbac), "").index is None  # a top-level || indexes nothing

    domains = [[s, d, o, a] for s in ("alice", "bob", "admin") for d in ("domain1", "domain2", "domain3")
               for o in ("data1", "data2", "data3") for a in ("read", "write")]
    _same_answers(RBAC_DOMAINS_MODEL, RBAC_DOMAINS_POLICY, domains)


def test_an_engine_built_under_a_generation_the_cache_has_left_is_not_kept() -> None:
    cache, engine = engines.EngineCache(capacity=2), engines.build(RBAC_MODEL, [], "")
    cache.at("g1")
    cache.put("a", engine, "g1")
    assert cache.get("a") is engine
    cache.at("g2")  # another request saw a newer generation: everything cached is stale
    assert cache.get("a") is None
    cache.put("a", engine, "g1")  # built by a request that read its data under g1
    assert cache.get("a") is None
    for key in ("a", "b", "c"):
        cache.put(key, engine, "g2")
    assert len(cache) == 2 and cache.get("a") is None  # the least recently used went first
