"""Permissions compiled into Casbin policies as Casdoor compiles them (object/permission_enforcer.go).

A permission gives each of its subjects (users, ``group:``-prefixed groups, roles) each action on each
resource: ``[subject, resource, action, effect, "", permissionId]``, or with domains
``[subject, domain, resource, action, effect, permissionId]``. Roles become grouping policies at
enforcement time: a role's users, groups and sub-roles (nested, cycles cut) are linked to it, in each
of the permission's domains; a group's users to the group.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hookdoor.authz.schemas import MAX_FIELDS

GROUP_PREFIX = "group:"
# Casdoor's built-in permission model (GetBuiltInModel("")).
BUILT_IN_MODEL = """[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act, eft, pad4, permissionId

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
"""


def object_id(obj: dict[str, Any]) -> str:
    return f"{obj['owner']}/{obj['name']}"


def model_and_adapter(permission: dict[str, Any]) -> str:
    """Casdoor's key for permissions that share one enforcer (``GetModelAndAdapter``)."""
    return f"{permission.get('model') or ''}/{permission.get('adapter') or ''}"


def _id_in(owner: str, value: str) -> str:
    return value if "/" in value else f"{owner}/{value}"


def group_subject(owner: str, group_id: str) -> str:
    return GROUP_PREFIX + _id_in(owner, group_id if group_id != "*" else "*")


def policies_of(permission: dict[str, Any]) -> list[list[str]]:
    permission_id = object_id(permission)
    effect = str(permission.get("effect") or "Allow").lower()
    domains = permission.get("domains") or []
    subjects = [*(permission.get("users") or []),
                *(group_subject(permission["owner"], g) for g in permission.get("groups") or []),
                *(permission.get("roles") or [])]
    rules = []
    for subject in subjects:
        for resource in permission.get("resources") or []:
            for action in permission.get("actions") or []:
                if domains:
                    rules.extend([subject, d, resource, action, effect, permission_id] for d in domains)
                else:
                    rules.append([subject, resource, action, effect, "", permission_id])
    return rules


def padded_model_text(text: str) -> str:
    """A permission's model with its policy definition padded to six fields, the last being
    ``permissionId`` (Casdoor's GetBuiltInModel): the compiled rules always have six values."""
    if not text.strip():
        return BUILT_IN_MODEL
    lines = text.splitlines()
    for index, line in enumerate(lines):
        key, sep, value = line.partition("=")
        if sep and key.strip() == "p":
            fields = [f.strip() for f in value.split(",") if f.strip()]
            if len(fields) < MAX_FIELDS:
                pads = [f"pad{i}" for i in range(len(fields), MAX_FIELDS - 1)]
                fields = [*fields, *pads, "permissionId"]
            lines[index] = "p = " + ", ".join(fields)
    return "\n".join(lines) + "\n"


@dataclass
class Directory:
    """The roles, groups and users of the organizations involved, read once per compilation."""

    roles: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id
    roles_by_owner: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    groups_by_owner: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    users_by_group: dict[str, list[str]] = field(default_factory=dict)  # group id -> user ids

    def roles_in(self, owner: str, role_id: str, visited: set[str]) -> list[dict[str, Any]]:
        """The role and, recursively, its sub-roles (Casdoor's getRolesInRole); ``*`` is every role."""
        role_id = _id_in(owner, role_id)
        role_owner, _, name = role_id.partition("/")
        if name == "*":
            return list(self.roles_by_owner.get(role_owner, []))
        role = self.roles.get(role_id)
        if role is None:
            return []
        visited.add(role_id)
        found = [role]
        for sub_role in role.get("roles") or []:
            if _id_in(role_owner, sub_role) not in visited:
                found.extend(self.roles_in(role_owner, sub_role, visited))
        return found

    def users_in(self, owner: str, group_id: str) -> list[str]:
        group_id = _id_in(owner, group_id)
        group_owner, _, name = group_id.partition("/")
        if name == "*":
            every = {u for g in self.groups_by_owner.get(group_owner, []) for u in self.users_in(group_owner,
                                                                                                   object_id(g))}
            return sorted(every)
        return self.users_by_group.get(group_id, [])


class _Links:
    """Grouping rules without duplicates, in the order they were found."""

    def __init__(self, arity: int) -> None:
        self.arity = arity
        self.rules: list[list[str]] = []
        self._seen: set[tuple[str, ...]] = set()

    def add(self, member: str, role: str, domains: list[str]) -> None:
        for domain in domains or [""]:
            rule = tuple([member, role, domain][: self.arity])
            if rule not in self._seen:
                self._seen.add(rule)
                self.rules.append(list(rule))


def grouping_policies(permissions: Iterable[dict[str, Any]], directory: Directory, arity: int) -> list[list[str]]:
    """Casdoor's getRuntimeGroupingPolicies; ``arity`` is the model's ``g`` (2, or 3 with domains)."""
    links = _Links(arity)
    for permission in permissions:
        owner, domains = permission["owner"], permission.get("domains") or []
        for group_id in permission.get("groups") or []:
            for user in directory.users_in(owner, group_id):
                links.add(user, group_subject(owner, group_id), domains)
        for role_id in permission.get("roles") or []:
            for role in directory.roles_in(owner, role_id, set()):
                _link_role(links, role, directory, domains)
    return links.rules


def _link_role(links: _Links, role: dict[str, Any], directory: Directory, domains: list[str]) -> None:
    role_id, owner = object_id(role), role["owner"]
    for user in role.get("users") or []:
        links.add(user, role_id, domains)
    for group_id in role.get("groups") or []:
        links.add(group_subject(owner, group_id), role_id, domains)
        for user in directory.users_in(owner, group_id):
            links.add(user, group_subject(owner, group_id), domains)
    for sub_role in role.get("roles") or []:
        links.add(sub_role, role_id, domains)
