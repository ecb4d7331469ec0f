"""Access control with Casbin: enforcing (by enforcer, permission, model, resource or organization),
an enforcer's policies, what a user may reach, and what changing authorization data implies.

Routes call this; nothing here commits. Reads and writes of this database happen in the request's
transaction; an external adapter's rules in a transaction of their own (repository.ExternalRules).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookdoor.api.context import ApiContext
from hookdoor.authz import engines, permissions
from hookdoor.authz.engines import Engine, EngineCache
from hookdoor.authz.permissions import Directory, model_and_adapter, object_id
from hookdoor.authz.repository import (
    ExternalDatabase,
    LocalRules,
    current_generation,
    is_external,
    new_generation,
    rule_store,
    table_name,
)
from hookdoor.authz.schemas import PolicyFilter, PolicyRule, checked_model_text
from hookdoor.errors import BadRequest, Forbidden, NotFound
from hookdoor.identity.registry import BUILT_IN_ORG, GLOBAL_OWNER, kind
from hookdoor.identity.repository import ListQuery, ObjectRepository
from hookdoor.identity.service import parse_id

ENFORCERS, MODELS, ADAPTERS = kind("enforcer"), kind("model"), kind("adapter")
PERMISSIONS, ROLES, GROUPS, USERS = kind("permission"), kind("role"), kind("group"), kind("user")
SELECTORS = ("permissionId", "modelId", "resourceId", "enforcerId", "owner")


@dataclass(frozen=True)
class Selector:
    """Which policies a request is enforced against: one of Casdoor's query parameters."""

    name: str
    value: str

    @classmethod
    def one_of(cls, given: dict[str, str], allowed: tuple[str, ...] = SELECTORS) -> Selector:
        present = [(name, given[name]) for name in allowed if given.get(name)]
        if len(present) > 1:
            raise BadRequest(f"Only one of the parameters ({', '.join(allowed)}) should be provided")
        if not present:
            raise BadRequest(f"Missing parameter: one of {', '.join(allowed)} is required")
        return cls(*present[0])


def _organization(owner: str) -> str:
    return BUILT_IN_ORG if owner == GLOBAL_OWNER else owner


def _related_id(owner: str, value: str) -> str:
    """Enforcers and permissions name their model and adapter by id, or by name in their own organization."""
    return value if "/" in value else f"{owner}/{value}"


class AuthzService:
    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.db = context.db
        state = context.request.app.state
        self.engines: EngineCache = state.authz_engines
        self.target_policy = state.target_policy
        self._generation: str | None = None

    def _objects(self, resource: Any) -> ObjectRepository:
        return ObjectRepository(self.db, resource)

    def require_manager(self, organization: str, what: str) -> None:
        principal = self.context.require_login()
        if not principal.manages(organization):
            raise Forbidden(f"you may not {what} of organization {organization!r}")

    async def _get(self, resource: Any, object_id: str, role: str = "") -> dict[str, Any]:
        owner, name = parse_id(object_id)
        found = await self._objects(resource).get(owner, name)
        if found is None:
            raise NotFound(f"the {role or resource.singular}: {object_id} doesn't exist")
        return found

    async def _fresh(self) -> str:
        """The generation this request reads under, read once and before any authorization data (so
        that nothing read is older than it); the cache drops what was built under another."""
        if self._generation is None:
            self._generation = await current_generation(self.db)
            self.engines.at(self._generation)
        return self._generation

    # ---- enforcers and their rules ----------------------------------------------------------------

    async def enforcer(self, enforcer_id: str, what: str) -> dict[str, Any]:
        await self._fresh()
        enforcer = await self._get(ENFORCERS, enforcer_id)
        self.require_manager(_organization(enforcer["owner"]), what)
        self.context.action.concerns(obj={"owner": enforcer["owner"], "name": enforcer["name"]},
                                     organization=_organization(enforcer["owner"]))
        return enforcer

    async def _part(self, enforcer: dict[str, Any], field: str) -> dict[str, Any]:
        value = enforcer.get(field) or ""
        if not value:
            raise BadRequest(f"the {field} for enforcer: {object_id(enforcer)} should not be empty")
        resource = MODELS if field == "model" else ADAPTERS
        return await self._get(resource, _related_id(enforcer["owner"], value),
                               f"{field} {value!r} of enforcer {object_id(enforcer)}")

    async def _store(self, enforcer: dict[str, Any]) -> Any:
        return rule_store(self.db, await self._part(enforcer, "adapter"), self.target_policy)

    async def enforcer_engine(self, enforcer: dict[str, Any]) -> Engine:
        generation = await self._fresh()
        key = ("enforcer", object_id(enforcer))
        if (engine := self.engines.get(key)) is not None:
            return engine
        model = await self._part(enforcer, "model")
        rules = [rule for _, rule in await (await self._store(enforcer)).rules()]
        label = f"{enforcer.get('model') or ''}/{enforcer.get('adapter') or ''}"
        engine = engines.build(model.get("modelText") or "", rules, label)
        self.engines.put(key, engine, generation)
        return engine

    async def check_adapter(self, adapter_id: str) -> None:
        """Casdoor's get-policies with adapterId: reach the adapter's table, answer nothing."""
        adapter = await self._get(ADAPTERS, adapter_id, "adapter")
        self.require_manager(_organization(adapter["owner"]), "use the adapters")
        await rule_store(self.db, adapter, self.target_policy).rules()

    async def definitions(self, enforcer: dict[str, Any]) -> dict[str, list[str]]:
        """The model's policy and role types and their field names (``p``: sub, obj, act)."""
        model = engines.model_only((await self._part(enforcer, "model")).get("modelText") or "").get_model().model
        return {ptype: [token.strip().removeprefix(f"{ptype}_") for token in assertion.tokens]
                for section in ("p", "g") for ptype, assertion in model.get(section, {}).items()}

    async def policies(self, enforcer: dict[str, Any]) -> list[dict[str, Any]]:
        return [rule.as_casdoor(rule_id) for rule_id, rule in await (await self._store(enforcer)).rules()]

    async def filtered_policies(self, enforcer: dict[str, Any], filters: list[PolicyFilter]) -> list[dict[str, Any]]:
        stored = await (await self._store(enforcer)).rules()
        return [rule.as_casdoor(rule_id) for rule_id, rule in stored
                if all(f.matches(rule) for f in filters)]

    async def _checked(self, enforcer: dict[str, Any], *rules: PolicyRule) -> None:
        """Each rule fits the enforcer's model: a type it defines, as many values as it has fields."""
        model = engines.model_only((await self._part(enforcer, "model")).get("modelText") or "")
        for index, rule in enumerate(rules):
            engines.fitted(model, rule, "body" if len(rules) == 1 else f"body[{index}]")

    def _record(self, enforcer: dict[str, Any], rule: PolicyRule, old: PolicyRule | None = None) -> None:
        change = {"enforcer": object_id(enforcer), "policy": rule.as_casdoor()}
        self.context.action.concerns(obj={**change, "oldPolicy": old.as_casdoor()} if old else change)

    async def add_policy(self, enforcer: dict[str, Any], rule: PolicyRule) -> bool:
        self._record(enforcer, rule)
        await self._checked(enforcer, rule)
        changed = await (await self._store(enforcer)).add(rule)
        await self._changed(changed)
        return changed

    async def update_policy(self, enforcer: dict[str, Any], old: PolicyRule, new: PolicyRule) -> bool:
        self._record(enforcer, new, old)
        await self._checked(enforcer, old, new)
        changed = await (await self._store(enforcer)).replace(old, new)
        await self._changed(changed)
        return changed

    async def remove_policy(self, enforcer: dict[str, Any], rule: PolicyRule) -> bool:
        self._record(enforcer, rule)
        changed = await (await self._store(enforcer)).remove(rule)
        await self._changed(changed)
        return changed

    async def _changed(self, changed: bool) -> None:
        if changed:
            await new_generation(self.db)

    async def refresh(self) -> None:
        """Every process rebuilds its enforcers on its next request (rules changed outside Hookdoor)."""
        self.engines.clear()
        await new_generation(self.db)

    # ---- enforcing ----------------------------------------------------------------------------------

    async def engines_for(self, selector: Selector) -> list[Engine]:
        """One engine per group of permissions sharing a model and adapter, or the enforcer's."""
        await self._fresh()
        if selector.name == "enforcerId":
            return [await self.enforcer_engine(await self.enforcer(selector.value, "enforce with enforcers"))]
        if selector.name == "permissionId":
            permission = await self._get(PERMISSIONS, selector.value, "permission")
            self.require_manager(_organization(permission["owner"]), "enforce permissions")
            self.context.action.concerns(organization=_organization(permission["owner"]))
            return [await self._permission_engine([permission])]
        chosen = await self._permissions_for(selector)
        groups: dict[str, list[dict[str, Any]]] = {}
        for permission in chosen:
            groups.setdefault(model_and_adapter(permission), []).append(permission)
        return [await self._permission_engine(group) for group in groups.values()]

    async def _permissions_for(self, selector: Selector) -> list[dict[str, Any]]:
        principal = self.context.require_login()
        if selector.name == "resourceId":
            every = await self._list(PERMISSIONS, None if principal.is_global_admin else principal.organization)
            return [p for p in every if selector.value in (p.get("resources") or [])]
        if selector.name == "modelId":
            owner, _ = parse_id(selector.value)
            self.require_manager(_organization(owner), "enforce permissions")
            self.context.action.concerns(organization=_organization(owner))
            return [p for p in await self._list(PERMISSIONS, owner)
                    if _related_id(p["owner"], p.get("model") or "") == selector.value]
        self.require_manager(_organization(selector.value), "enforce permissions")
        self.context.action.concerns(organization=_organization(selector.value))
        return await self._list(PERMISSIONS, selector.value)

    async def _list(self, resource: Any, owner: str | None) -> list[dict[str, Any]]:
        items, _ = await self._objects(resource).list(ListQuery(owner=owner, sort_field="createdTime",
                                                                sort_order="descend"))
        return items

    async def _permission_engine(self, group: list[dict[str, Any]]) -> Engine:
        generation = await self._fresh()
        enabled = [p for p in group if p.get("isEnabled", True)]
        key = ("permissions", tuple(object_id(p) for p in group))
        if (engine := self.engines.get(key)) is not None:
            return engine
        first = group[0]
        model_text = permissions.padded_model_text(await self._permission_model_text(first))
        rules = [PolicyRule("p", tuple(r)) for p in enabled for r in permissions.policies_of(p)]
        rules += [PolicyRule("g", tuple(link)) for link in await self._role_links(model_text, enabled)]
        engine = engines.build(model_text, rules, model_and_adapter(first))
        self.engines.put(key, engine, generation)
        return engine

    async def _permission_model_text(self, permission: dict[str, Any]) -> str:
        if not permission.get("model"):
            return ""
        model = await self._get(MODELS, _related_id(permission["owner"], permission["model"]),
                                f"model of permission {object_id(permission)}")
        return model.get("modelText") or ""

    async def _role_links(self, model_text: str, group: list[dict[str, Any]]) -> list[list[str]]:
        """The grouping rules of the permissions' roles and groups, if the model has roles."""
        role_definitions = engines.model_only(model_text).get_model().model.get("g", {})
        if "g" not in role_definitions or not group:
            return []
        arity = len(role_definitions["g"].tokens)
        return permissions.grouping_policies(group, await self._directory(group), arity)

    async def _directory(self, group: list[dict[str, Any]]) -> Directory:
        owners = {p["owner"] for p in group} | {r.split("/", 1)[0] for p in group for r in p.get("roles") or []
                                                if "/" in r}
        directory = Directory()
        for owner in sorted(owners):
            roles = await self._list(ROLES, owner)
            directory.roles_by_owner[owner] = roles
            directory.roles.update({object_id(r): r for r in roles})
            directory.groups_by_owner[owner] = await self._list(GROUPS, owner)
        if any(p.get("groups") for p in group) or any(r.get("groups") for r in directory.roles.values()):
            for owner in sorted(owners):
                for user in await self._list(USERS, owner):
                    for group_id in user.get("groups") or []:
                        directory.users_by_group.setdefault(_related_id(owner, group_id), []).append(object_id(user))
        return directory

    async def enforce(self, selector: Selector, request: list[Any]) -> tuple[list[bool], list[str]]:
        found = await self.engines_for(selector)
        return [engines.enforce(e, request)[0] for e in found], [e.label for e in found]

    async def batch_enforce(self, selector: Selector, requests: list[list[Any]]) -> tuple[list[list[bool]], list[str]]:
        found = await self.engines_for(selector)
        return [[engines.enforce(e, r)[0] for r in requests] for e in found], [e.label for e in found]

    async def explain(self, enforcer: dict[str, Any], request: list[Any]) -> tuple[bool, list[str]]:
        return engines.enforce(await self.enforcer_engine(enforcer), request)

    # ---- what a user may reach ----------------------------------------------------------------------

    async def user(self, user_id: str) -> dict[str, Any]:
        await self._fresh()
        principal = self.context.require_login()
        user = await self._get(USERS, user_id, "user")
        if not (principal.manages(user["owner"]) or principal.is_user(user["owner"], user["name"])):
            raise Forbidden(f"you may not read what user {user_id} may reach")
        return user

    async def roles_of(self, user: dict[str, Any]) -> list[dict[str, Any]]:
        """The user's roles (directly or through a group) and every role containing them (Casdoor's
        getRolesByUser with GetAncestorRoles)."""
        user_id, groups = object_id(user), set(user.get("groups") or [])
        roles = await self._list(ROLES, user["owner"])
        held = {object_id(r) for r in roles
                if user_id in (r.get("users") or []) or groups & set(r.get("groups") or [])}
        grew = True
        while grew:
            grew = False
            for role in roles:
                rid = object_id(role)
                if rid not in held and held & {_related_id(role["owner"], s) for s in role.get("roles") or []}:
                    held.add(rid)
                    grew = True
        return [r for r in roles if object_id(r) in held]

    async def permissions_of(self, user: dict[str, Any]) -> list[dict[str, Any]]:
        """Permissions naming the user, one of their groups (or every group), or one of their roles."""
        user_id, roles = object_id(user), {object_id(r) for r in await self.roles_of(user)}
        groups = set(user.get("groups") or [])
        if groups:
            groups |= {"*", f"{user['owner']}/*"}
        return [p for p in await self._list(PERMISSIONS, user["owner"])
                if user_id in (p.get("users") or []) or groups & set(p.get("groups") or [])
                or roles & set(p.get("roles") or [])]

    async def reachable(self, user: dict[str, Any], field: str) -> list[str]:
        """Casdoor's GetAllObjects/GetAllActions: the objects or actions of the policies of every
        permission reaching the user."""
        found: list[str] = []
        for permission in await self.permissions_of(user):
            engine = await self._permission_engine([permission])
            found.extend(engine.enforcer.get_all_objects() if field == "objects" else
                         engine.enforcer.get_all_actions())
        return found

    async def permissions_by_role(self, role_id: str) -> list[dict[str, Any]]:
        """Permissions naming the role, among those of the organizations the caller manages."""
        owner, _ = parse_id(role_id)
        self.require_manager(_organization(owner), "read permissions")
        readable = None if self.context.principal.is_global_admin else owner
        return [p for p in await self._list(PERMISSIONS, readable) if role_id in (p.get("roles") or [])]

    async def permissions_by_submitter(self) -> list[dict[str, Any]]:
        principal = self.context.require_login()
        if principal.kind != "user":
            raise Forbidden("get-permissions-by-submitter is for signed-in users")
        return [p for p in await self._list(PERMISSIONS, principal.organization)
                if p.get("submitter") == principal.name]


# ---- what changing authorization data implies (hooks on the kinds' declarations) ---------------------

async def authorization_changed(context: ApiContext, *_: Any) -> None:
    """Models, adapters, enforcers, permissions, roles and groups: every cached enforcer is stale."""
    await new_generation(context.db)


async def adapter_changed(context: ApiContext, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """An adapter's rules in this database go with it: deleted with it, renamed with it (else a new
    adapter of the same name would find them)."""
    await new_generation(context.db)
    if before is None or is_external(before):
        return
    old_id = object_id(before)
    if after is None:
        await LocalRules(context.db, old_id).remove_all()
    elif object_id(after) != old_id:
        await LocalRules(context.db, old_id).move_to(object_id(after))


async def user_changed(context: ApiContext, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """A user's groups feed the grouping policies; other changes to a user leave enforcers as they are
    (an update-user call must not make every process rebuild its enforcers)."""
    if set((before or {}).get("groups") or []) != set((after or {}).get("groups") or []):
        await new_generation(context.db)


async def check_new_model(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    """A model is checked before it is stored: a bad one is refused, naming the section."""
    checked_model_text(data.get("modelText"))
    return {}


async def check_updated_model(context: ApiContext, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return await check_new_model(context, data)


async def check_new_adapter(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    """An adapter names a table Hookdoor can reach: a supported database type, a table name."""
    table_name(data)
    if is_external(data):
        ExternalDatabase.of(data)
    return {}


async def check_updated_adapter(context: ApiContext, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return await check_new_adapter(context, data)
