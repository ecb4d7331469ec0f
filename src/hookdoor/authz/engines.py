"""Casbin enforcers built once per process and dropped when the authorization data changes.

Every change to a model, adapter, enforcer, permission, role, group membership or policy replaces
one generation value in the database, in the transaction that makes the change
(``repository.new_generation``). Each enforce reads that value first, in its own transaction: a value
this process has not cached under means every cached enforcer is stale, in this process or any
other. A notification (NOTIFY, the SQLite doorbell) could arrive after the next request; the
generation row is read by the request itself, so a committed change is in force for every process's
next request, at the cost of one primary-key read.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

import casbin
from simpleeval import InvalidExpression

from hookdoor.authz.schemas import PolicyRule, model_from_text
from hookdoor.errors import BadRequest

CAPACITY = 256  # enforcers kept per process; the least recently used goes first


@dataclass(frozen=True)
class Engine:
    enforcer: casbin.Enforcer
    label: str  # Casdoor's data2 entry: "model/adapter"


class EngineCache:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.generation: str | None = None
        self._engines: OrderedDict[Hashable, Engine] = OrderedDict()

    def at(self, generation: str) -> None:
        """The database's generation, read in this request: anything cached under another is stale."""
        if generation != self.generation:
            self._engines.clear()
            self.generation = generation

    def get(self, key: Hashable) -> Engine | None:
        engine = self._engines.get(key)
        if engine is not None:
            self._engines.move_to_end(key)
        return engine

    def put(self, key: Hashable, engine: Engine) -> None:
        self._engines[key] = engine
        self._engines.move_to_end(key)
        while len(self._engines) > self.capacity:
            self._engines.popitem(last=False)

    def clear(self) -> None:
        self._engines.clear()
        self.generation = None

    def __len__(self) -> int:
        return len(self._engines)


def definition_fields(enforcer: casbin.Enforcer, rule: PolicyRule) -> int:
    """How many values a rule of this type has in the enforcer's model; a clear error if none."""
    model = enforcer.get_model()
    section = model.model.get(rule.section, {})
    if rule.ptype not in section:
        defined = ", ".join(sorted(section)) or "none"
        raise BadRequest(f"invalid field ptype: the model defines no policy type {rule.ptype!r} (it has {defined})")
    return len(section[rule.ptype].tokens)


def fitted(enforcer: casbin.Enforcer, rule: PolicyRule, where: str = "policy") -> list[str]:
    """The rule's values padded to its definition; a clear error when it has more, or too few to
    be anything but a mistake."""
    fields = definition_fields(enforcer, rule)
    if len(rule.values) > fields:
        raise BadRequest(f"invalid {where}: {rule.ptype} takes {fields} values, got {len(rule.values)}")
    if len(rule.values) < fields and rule.is_grouping:
        raise BadRequest(f"invalid {where}: {rule.ptype} takes {fields} values, got {len(rule.values)}")
    return list(rule.values) + [""] * (fields - len(rule.values))


def build(model_text: str, rules: list[PolicyRule], label: str) -> Engine:
    """An enforcer holding ``rules``, its role links built once."""
    try:
        enforcer = casbin.Enforcer(model_from_text(model_text))
    except RuntimeError as exc:
        raise BadRequest(f"the model does not load: {exc}") from None
    enforcer.enable_auto_build_role_links(False)
    model = enforcer.get_model()
    for rule in rules:
        model.add_policy(rule.section, rule.ptype, fitted(enforcer, rule, f"stored policy {rule.ptype}, "
                                                                         f"{', '.join(rule.values)}"))
    enforcer.build_role_links()
    enforcer.enable_auto_build_role_links(True)
    return Engine(enforcer, label)


def enforce(engine: Engine, values: list[object]) -> tuple[bool, list[str]]:
    """The decision and the policy that decided it (empty when none matched)."""
    try:
        allowed, explain = engine.enforcer.enforce_ex(*values)
    except (RuntimeError, SyntaxError, AttributeError, TypeError, KeyError, NameError, InvalidExpression) as exc:
        raise BadRequest(f"the request {values!r} cannot be evaluated by this model: {exc}") from None
    return bool(allowed), list(explain or [])
