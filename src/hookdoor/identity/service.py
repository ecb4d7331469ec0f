"""The rules around Casdoor objects: who may see and change what, and what each change implies.

Routes call this; it calls the repository; nothing here commits.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from hookdoor.api.context import ApiContext
from hookdoor.authority.service import AuthorityGuard
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import BadRequest, Conflict, Forbidden, NotFound
from hookdoor.identity.passwords import password_problem
from hookdoor.identity.principal import Principal
from hookdoor.identity.registry import BUILT_IN_ORG, GLOBAL_OWNER, ResourceKind, kind
from hookdoor.identity.repository import ListQuery, ObjectRepository
from hookdoor.webhooks.service import prepare_new_webhook, prepare_updated_webhook

# Kinds an ordinary signed-in user may read within their own organization (secrets masked).
READABLE_BY_MEMBERS = frozenset({"organization", "application", "group", "role"})
# Objects whose loss would lock everyone out.
PROTECTED = {("organization", GLOBAL_OWNER, BUILT_IN_ORG), ("application", GLOBAL_OWNER, "app-built-in")}
MASKED = "***"
# Fields that find one object: the caller, by clientId or accessKey, or a user by id. Were two
# objects to share a value, which one authenticates would depend on the database's row order.
UNIQUE_FIELDS: dict[str, tuple[str, ...]] = {"application": ("clientId",), "user": ("id", "accessKey")}
LOOKUP_LENGTH = 255  # the indexed lookup columns hold this many characters


def validation_message(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "body"
        problems.append(f"{location}: {error['msg']}")
    return "invalid field " + "; ".join(problems)


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
        if principal.is_org_admin or self.kind.singular in READABLE_BY_MEMBERS:
            return principal.organization
        if self.kind.singular == "user":
            return principal.organization  # narrowed to themselves in list()
        raise Forbidden(f"only administrators may read {self.kind.plural}")

    def _may_read(self, obj: dict[str, Any]) -> bool:
        principal = self.principal
        organization = self.kind.organization_of(obj)
        if principal.manages(organization):
            return True
        if self.kind.singular == "user":
            return principal.is_user(obj["owner"], obj["name"])
        return self.kind.singular in READABLE_BY_MEMBERS and organization == principal.organization

    def shown(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self.kind.mask(obj, may_manage=self.may_manage(obj))

    def may_manage(self, obj: dict[str, Any]) -> bool:
        return self.guard.manages(obj) or self.guard.is_own_account(obj)

    async def list(self, query: ListQuery) -> tuple[list[dict[str, Any]], int | None]:
        organization = self._readable_organization()
        if organization is not None and query.owner not in (None, organization, GLOBAL_OWNER):
            # Asking for another organization's objects is refused, as Casdoor does, rather than
            # answered with an empty list that looks like "it has none".
            raise Forbidden(f"you may not read {self.kind.plural} of organization {query.owner!r}")
        query = replace(query, organization=organization)
        principal = self.principal
        if self.kind.singular == "user" and not principal.manages(principal.organization):
            query = replace(query, equals={**(query.equals or {}), "name": principal.name})
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
            model = self.kind.model.model_validate(body)
        except ValidationError as exc:
            raise BadRequest(validation_message(exc)) from None
        data = model.model_dump(exclude_unset=False)
        if not data.get("name"):
            raise BadRequest("invalid field name: must not be empty")
        if not data.get("owner"):
            raise BadRequest("invalid field owner: must not be empty")
        return data

    async def _ensure_organization_exists(self, data: dict[str, Any]) -> None:
        if self.kind.singular == "organization":
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
            subject=masked if self.kind.singular == "user" else None,
        )

    async def add(self, body: dict[str, Any]) -> None:
        self.context.require_login()
        data = self._validated(body)
        await self.guard.check_add(data)
        await self._ensure_organization_exists(data)
        if await self.repository.exists(data["owner"], data["name"]):
            raise Conflict(f"{self.kind.singular} {data['owner']}/{data['name']} already exists")
        now = rfc3339(utcnow())
        data["createdTime"] = data.get("createdTime") or now
        data["updatedTime"] = now
        private = await PREPARE_NEW.get(self.kind.singular, _nothing)(self.context, data)
        await self._refuse_duplicates(data, (data["owner"], data["name"]))
        await self.repository.insert(data, private)
        self._record(data)

    async def _current(self, owner: str, name: str) -> dict[str, Any] | None:
        """The object as stored. Users updating their own account have it already: authenticating
        them read it in this same transaction."""
        own = self.principal.user
        if self.kind.singular == "user" and own is not None and self.principal.is_user(owner, name):
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
        _restore_masked(current, data, self.kind.secret_fields)
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
        private = await PREPARE_UPDATE.get(self.kind.singular, _no_update)(self.context, current, data)
        await self._refuse_duplicates(data, (owner, name))
        changed = await self.repository.replace(owner, name, data, private)
        self._record(data)
        return changed

    async def _refuse_duplicates(self, data: dict[str, Any], key: tuple[str, str]) -> None:
        for field in UNIQUE_FIELDS.get(self.kind.singular, ()):
            value = str(data.get(field) or "")
            if not value:
                continue
            if len(value) > LOOKUP_LENGTH:
                raise BadRequest(f"invalid field {field}: longer than {LOOKUP_LENGTH} characters")
            if await self.repository.held_by_another(field, value, *key):
                raise Conflict(f"invalid field {field}: another {self.kind.singular} already uses this value")

    def _refuse_password_in_self_service(self, data: dict[str, Any]) -> None:
        if self.kind.singular != "user" or self.guard.manages(data):
            return
        if (data.get("password") or "") not in ("", MASKED):
            # Otherwise a borrowed session could change the password without knowing the old one.
            raise Forbidden("change your own password with set-password, which asks for the old one")

    def _refuse_protected(self, owner: str, name: str, verb: str) -> None:
        if (self.kind.singular, owner, name) in PROTECTED:
            raise Forbidden(f"{self.kind.singular} {owner}/{name} is built in and cannot be {verb}d")

    async def delete(self, body: dict[str, Any]) -> bool:
        owner, name = body.get("owner"), body.get("name")
        if not isinstance(owner, str) or not isinstance(name, str) or not owner or not name:
            raise BadRequest("invalid field owner/name: both are required to delete")
        self._refuse_protected(owner, name, "delete")
        current = await self.repository.get(owner, name)
        if current is None:
            return False
        self.context.require_login()
        self.guard.check_delete(current)
        if self.kind.singular == "user" and self.principal.is_user(owner, name) and self.principal.is_org_admin:
            raise Forbidden("administrators cannot delete their own account")
        deleted = await self.repository.delete(owner, name)
        self._record(current)
        return deleted


# ---- what each kind implies when created or updated -------------------------------------------

Prepare = Callable[[ApiContext, dict[str, Any]], Awaitable[dict[str, Any]]]


async def _nothing(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    return {}


async def _no_update(context: ApiContext, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return {}


async def hashed_password(context: ApiContext, password: str) -> str:
    if problem := password_problem(password):
        raise BadRequest(f"invalid field password: {problem}")
    return await context.services.passwords.hash(password)


async def _new_user(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    data["id"] = data.get("id") or str(uuid.uuid4())
    password = data.pop("password", "") or ""
    data["password"] = ""
    if not password:
        return {"password_hash": None}
    return {"password_hash": await hashed_password(context, password)}


async def _updated_user(context: ApiContext, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    password = data.pop("password", "") or ""
    data["password"] = ""
    if password in ("", MASKED):
        return {}
    return {"password_hash": await hashed_password(context, password)}


def _restore_masked(current: dict[str, Any], data: dict[str, Any], fields: tuple[str, ...]) -> None:
    for field in fields:
        if data.get(field) == MASKED or (field in current and field not in data):
            data[field] = current.get(field)


async def _new_application(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    data["clientId"] = data.get("clientId") or secrets.token_hex(10)
    data["clientSecret"] = data.get("clientSecret") or secrets.token_hex(20)
    return {}


PREPARE_NEW: dict[str, Prepare] = {
    "user": _new_user, "application": _new_application, "webhook": prepare_new_webhook,
}
PrepareUpdate = Callable[[ApiContext, dict[str, Any], dict[str, Any]], Awaitable[dict[str, Any]]]
PREPARE_UPDATE: dict[str, PrepareUpdate] = {"user": _updated_user, "webhook": prepare_updated_webhook}
