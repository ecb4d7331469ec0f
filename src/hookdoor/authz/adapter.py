"""The pycasbin adapter Hookdoor builds enforcers with: rules already read (from this database or an
external one, repository.py) handed to pycasbin's own load path, so that its sorting by priority and
subject hierarchy and its role links apply exactly as with any adapter.

Writes never go through it: the policy routes write the rows in the request's transaction and the
enforcer is rebuilt (engines.py), so auto-save is not used.
"""

from __future__ import annotations

from casbin import persist
from casbin.model import Model


class LoadedRules(persist.Adapter):
    def __init__(self, rules: list[tuple[str, str, list[str]]]) -> None:
        self.rules = rules  # (section, ptype, values), each fitted to its definition

    def load_policy(self, model: Model) -> None:
        seen: set[tuple[str, ...]] = set()
        for section, ptype, values in self.rules:
            key = (ptype, *values)
            if key in seen:  # what Model.add_policy would refuse, without its linear search
                continue
            seen.add(key)
            model.model[section][ptype].policy.append(values)
