"""The rules around Casdoor objects: who may see and change what, and what each change implies.

Routes call this; it calls the repository; nothing here commits.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from hookdoor.api.context import ApiContext
from hookdoor.api.messages import validation_message
from hookdoor.authority.service import AuthorityGuard
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import BadRequest, Conflict, Forbidden, NotFound
from hookdoor.events.recorder import record
from hookdoor.identity.principal import Principal
from hookdoor.identity.registry import GLOBAL_OWNER, ResourceKind, kind
from hookdoor.identity.repository import ListQuery, ObjectRepository

# Objects whose loss would lock everyone out.
MASKED = "***"
LOOKUP_LENGTH = 255  # the indexed lookup columns hold this many characters


def parse_id(object_id: str) -> tuple[str, str]:
    owner, sep, name = object_id.partition("/")
    if not sep or not owner or not name or "/" in name:
        raise BadRequest(f"id must be 'owner/name', got {object_id!r}")
    return owner, name


class ObjectService:
    def __init__(self, context: ApiContext, kind: ResourceKind) -> None:
        self.context = context
        self.kind = kind
        self.repository = ObjectRepository(context.db, kind)
        self.guard = AuthorityGuard(context.db, context.principal, kind)

    @property
    def principal(self) -> Principal:
        return self.context.principal

    # ---- reading --------------------------------------------------------------------------------

    def _readable_organization(self) -> str | None:
        """None: every organization; otherwise the one organization the caller may read."""
        principal = self.context.require_login()
        if principal.is_global_admin:
            return None
        if principal.is_org_admin or self.kind.readable_by_members:
            return principal.organization
        if self.kind.is_account or self.kind.filed_by:
            return principal.organization  # narrowed to themselves, or what they filed, in list()
        raise Forbidden(f"only administrators may read {self.kind.plural}")

    def _may_read(self, obj: dict[str, Any]) -> bool:
        principal = self.principal
        organization = self.kind.organization_of(obj)
        if principal.manages(organization):
            return True
        if self.kind.is_account:
            return principal.is_user(obj["owner"], obj["name"])
        if self.guard.is_filer(obj):
            return True
        return self.kind.readable_by_members and organization == principal.organization

    def shown(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self.kind.mask(obj, may_manage=self.may_manage(obj))

    def may_manage(self, obj: dict[str, Any]) -> bool:
        return self.guard.manages(obj) or self.guard.is_own_account(obj) or self.guard.is_filer(obj)

    async def list(self, query: ListQuery) -> tuple[list[dict[str, Any]], int | None]:
        organization = self._readable_organization()
        if organization is not None and query.owner not in (None, organization, GLOBAL_OWNER):
            # Asking for another organization's objects is refused, as Casdoor does, rather than
            # answered with an empty list that looks like "it has none".
            raise Forbidden(f"you may not read {self.kind.plural} of organization {query.owner!r}")
        query = replace(query, organization=organization)
        principal = self.principal
        if self.kind.is_account and not principal.manages(principal.organization):
            query = replace(query, equals={**(query.equals or {}), "name": principal.name})
        if self.kind.filed_by and not principal.manages(principal.organization):
            query = replace(query, equals={**(query.equals or {}), self.kind.filed_by: principal.ref})
        items, total = await self.repository.list(query)
        return [self.shown(item) for item in items], total

    async def get(self, owner: str, name: str) -> dict[str, Any] | None:
        self.context.require_login()
        obj = await self.repository.get(owner, name)
        if obj is None:
            return None
        if not self._may_read(obj):
            raise Forbidden(f"you may not read {self.kind.singular} {owner}/{name}")
        return self.shown(obj)

    async def get_by(self, field: str, value: str, owner: str) -> dict[str, Any] | None:
        self.context.require_login()
        stored = await self.repository.find_by(field, value, owner)
        if stored is None:
            return None
        if not self._may_read(stored.data):
            raise Forbidden(f"you may not read this {self.kind.singular}")
        return self.shown(stored.data)

    # ---- writing --------------------------------------------------------------------------------

    def _validated(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            model = self.kind.model.model_validate(self.kind.stored_shape(body))
        except ValidationError as exc:
            raise BadRequest(validation_message(exc)) from None
        data = model.model_dump(exclude_unset=False)
        if not data.get("name"):
            raise BadRequest(f"invalid field {self.kind.key_field}: must not be empty")
        if not data.get("owner"):
            raise BadRequest("invalid field owner: must not be empty")
        return data

    async def _ensure_organization_exists(self, data: dict[str, Any]) -> None:
        if self.kind.is_organization:
            return
        organization = self.kind.organization_of(data)
        if not await ObjectRepository(self.context.db, kind("organization")).exists(
            GLOBAL_OWNER, organization
        ):
            raise BadRequest(f"organization {organization!r} does not exist")

    def _record(self, obj: dict[str, Any]) -> None:
        masked = self.kind.mask(obj, may_manage=False)
        self.context.action.concerns(
            obj=masked,
            organization=self.kind.organization_of(obj),
            subject=masked if self.kind.is_account else None,
        )

    async def add(self, body: dict[str, Any]) -> None:
        self.context.require_login()
        if self.kind.key_field != "name" and not body.get(self.kind.key_field):
            body = {**body, self.kind.key_field: str(uuid.uuid4())}  # Casdoor's util.GenerateId
        body = self._filed_by_caller(body)
        data = self._validated(body)
        await self.guard.check_add(data)
        await self._ensure_organization_exists(data)
        if await self.repository.exists(data["owner"], data["name"]):
            raise Conflict(f"{self.kind.singular} {data['owner']}/{data['name']} already exists")
        now = rfc3339(utcnow())
        data["createdTime"] = data.get("createdTime") or now
        data["updatedTime"] = now
        private = await self.kind.prepare_new(self.context, data)
        await self._refuse_duplicates(data, (data["owner"], data["name"]))
        await self.repository.insert(data, private)
        await self.kind.changed(self.context, None, data)
        self._record(data)

    def _filed_by_caller(self, body: dict[str, Any]) -> dict[str, Any]:
        """Whatever the body says, an object of a filed kind names the caller who files it (as
        Casdoor's AddTicket does); only a signed-in user files one."""
        if not self.kind.filed_by:
            return body
        if self.principal.kind != "user":
            raise Forbidden(f"{self.kind.plural} are filed by signed-in users, not by applications; only "
                            "administrators of the organization manage them once filed")
        return {**body, self.kind.filed_by: self.principal.ref}

    async def _current(self, owner: str, name: str) -> dict[str, Any] | None:
        """The object as stored. Users updating their own account have it already: authenticating
        them read it in this same transaction."""
        own = self.principal.user
        if self.kind.is_account and own is not None and self.principal.is_user(owner, name):
            return own
        return await self.repository.get(owner, name)

    async def update(self, owner: str, name: str, body: dict[str, Any], columns: list[str] | None) -> bool:
        current = await self._current(owner, name)
        if current is None:
            raise NotFound(f"{self.kind.singular} {owner}/{name} does not exist")
        self.context.require_login()
        self.guard.require_write(current, "update")
        merged = {**current, **({c: body[c] for c in columns if c in body} if columns else body)}
        data = self._validated(merged)
        restore_masked(current, data, self.kind.secret_fields)
        await self.guard.check_update(current, data)
        self._refuse_password_in_self_service(data)
        if self.kind.organization_of(data) != self.kind.organization_of(current):
            await self._ensure_organization_exists(data)  # moving it must not orphan it
        if (data["owner"], data["name"]) != (owner, name):
            self._refuse_protected(owner, name, "rename")
            if await self.repository.exists(data["owner"], data["name"]):
                raise Conflict(f"{self.kind.singular} {data['owner']}/{data['name']} already exists")
        data["createdTime"] = current.get("createdTime") or data.get("createdTime", "")
        data["updatedTime"] = rfc3339(utcnow())
        private = await self.kind.prepare_update(self.context, current, data)
        await self._refuse_duplicates(data, (owner, name))
        changed = await self.repository.replace(owner, name, data, private)
        await self.kind.changed(self.context, current, data)
        self._record(data)
        return changed

    async def update_many(self, bodies: list[Any]) -> list[dict[str, Any]]:
        """Casdoor's update-<plural>: each object replaced whole, those that do not exist left
        out; one refusal refuses them all (the request's transaction). Each change is also
        recorded as its own update-<singular> event; returns the objects changed."""
        changed = []
        for index, body in enumerate(bodies):
            if not isinstance(body, dict):
                raise BadRequest(f"invalid item {index}: a {self.kind.singular} object is expected")
            owner, name = parse_id(f"{body.get('owner') or ''}/{body.get('name') or ''}")
            if not await self.repository.exists(owner, name):
                continue
            if await self.update(owner, name, body, None):
                await record(self.context.db, self.context.action.derived(f"update-{self.kind.singular}"),
                             outcome="ok", status_code=200)
                changed.append(self.context.action.object or {})
        self.context.action.object = {"updated": [f"{o.get('owner')}/{o.get('name')}" for o in changed]}
        return changed

    async def _refuse_duplicates(self, data: dict[str, Any], key: tuple[str, str]) -> None:
        for field in self.kind.unique_fields:
            value = str(data.get(field) or "")
            if not value:
                continue
            if len(value) > LOOKUP_LENGTH:
                raise BadRequest(f"invalid field {field}: longer than {LOOKUP_LENGTH} characters")
            if await self.repository.held_by_another(field, value, *key):
                raise Conflict(f"invalid field {field}: another {self.kind.singular} already uses this value")

    def _refuse_password_in_self_service(self, data: dict[str, Any]) -> None:
        if not self.kind.is_account or self.guard.manages(data):
            return
        if (data.get("password") or "") not in ("", MASKED):
            # Otherwise a borrowed session could change the password without knowing the old one.
            raise Forbidden("change your own password with set-password, which asks for the old one")

    def _refuse_protected(self, owner: str, name: str, verb: str) -> None:
        if owner == GLOBAL_OWNER and name in self.kind.built_in:
            raise Forbidden(f"{self.kind.singular} {owner}/{name} is built in and cannot be {verb}d")

    async def delete(self, body: dict[str, Any]) -> bool:
        owner, name = body.get("owner"), body.get(self.kind.key_field)
        if not isinstance(owner, str) or not isinstance(name, str) or not owner or not name:
            raise BadRequest(f"invalid field owner/{self.kind.key_field}: both are required to delete")
        self._refuse_protected(owner, name, "delete")
        current = await self.repository.get(owner, name)
        if current is None:
            return False
        self.context.require_login()
        self.guard.check_delete(current)
        if self.guard.is_own_account(current) and self.principal.is_org_admin:
            raise Forbidden("administrators cannot delete their own account")
        deleted = await self.repository.delete(owner, name)
        if deleted:
            await self.kind.changed(self.context, current, None)
        self._record(current)
        return deleted


def restore_masked(current: dict[str, Any], data: dict[str, Any], fields: tuple[str, ...]) -> None:
    """A masked secret sent back ("***", or left out) keeps its stored value."""
    for field in fields:
        if data.get(field) == MASKED or (field in current and field not in data):
            data[field] = current.get(field)
