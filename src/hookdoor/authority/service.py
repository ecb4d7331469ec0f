"""The one rule for every write to a Casdoor object: no caller leaves an object that reaches further
than the caller's own authority.

Every add, update and delete of a registry kind passes here: the generic routes, the console's forms
and ``hookdoor --local`` all go through ``identity/service.py``'s ``ObjectService``, which asks this
guard before it stores anything. The fields each kind has that carry authority are declared beside
the kind in ``identity/registry.py`` (see ``authority/schemas.py`` for what each sort means).
A refusal is a ``Forbidden`` naming the field; the request's unit of work then stores nothing and
records the attempt as an ``error`` event.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.authority.schemas import Reference, is_empty, same_value
from hookdoor.errors import BadRequest, Forbidden
from hookdoor.identity.principal import Principal
from hookdoor.identity.registry import GLOBAL_OWNER, ResourceKind, kind
from hookdoor.identity.repository import ObjectRepository


class AuthorityGuard:
    def __init__(self, db: AsyncSession, principal: Principal, resource: ResourceKind) -> None:
        self.db = db
        self.principal = principal
        self.kind = resource
        self.authority = resource.authority

    # ---- who may write at all -------------------------------------------------------------------

    def organizations_named(self, obj: dict[str, Any]) -> set[str]:
        """Every organization an object belongs to: the one it is filed under, and its owner when
        that is an organization rather than the global owner "admin"."""
        named = {self.kind.organization_of(obj)}
        owner = obj.get("owner") or ""
        if owner != GLOBAL_OWNER and not self.kind.globally_owned:
            named.add(owner)
        return named

    def manages(self, obj: dict[str, Any]) -> bool:
        return all(self.principal.manages(organization) for organization in self.organizations_named(obj))

    def is_own_account(self, obj: dict[str, Any]) -> bool:
        return self.kind.is_account and self.principal.is_user(obj.get("owner", ""), obj.get("name", ""))

    def is_filer(self, obj: dict[str, Any]) -> bool:
        """Is the caller the member who filed ``obj`` (a kind declared ``filed_by``), in their own
        organization?"""
        field = self.kind.filed_by
        return bool(field) and self.principal.kind == "user" and obj.get(field) == self.principal.ref and \
            self.organizations_named(obj) == {self.principal.organization}

    def require_write(self, obj: dict[str, Any], verb: str) -> None:
        if self.kind.global_admin_only and verb != "update" and not self.principal.is_global_admin:
            raise Forbidden(f"only global administrators may {verb} {self.kind.plural}")
        if self.manages(obj) or (verb == "update" and self.is_own_account(obj)):
            return
        if verb in ("add", "update") and self.is_filer(obj):  # deleting stays the administrators'
            return
        outside = sorted(o for o in self.organizations_named(obj) if not self.principal.manages(o))
        where = f"organization {outside[0]!r}" if outside else "this organization"
        raise Forbidden(
            f"you may not {verb} {self.kind.singular} {obj.get('owner')}/{obj.get('name')}: "
            f"you do not administer {where}"
        )

    # ---- the checks, per verb -------------------------------------------------------------------

    async def check_add(self, data: dict[str, Any]) -> None:
        self._require_owner_form(data)
        self.require_write(data, "add")
        for field in self.authority.issued:
            if not is_empty(data.get(field)):
                raise Forbidden(self._issued_message(field))
        await self._check_references(data, before=None)

    async def check_update(self, current: dict[str, Any], data: dict[str, Any]) -> None:
        self.require_write(current, "update")
        filed_by = self.kind.filed_by
        if filed_by and not same_value(current.get(filed_by), data.get(filed_by)):
            raise Forbidden(f"field {filed_by} names who filed the {self.kind.singular}, and cannot be changed")
        self._require_owner_form(data)
        self.require_write(data, "update")
        for field in self.authority.issued:
            if not same_value(current.get(field), data.get(field)):
                raise Forbidden(self._issued_message(field))
        if not self.manages(current):
            self._refuse_guarded_changes(current, data)
        await self._check_references(data, before=current)

    def check_delete(self, current: dict[str, Any]) -> None:
        self.require_write(current, "delete")

    # ---- the four sorts of field ----------------------------------------------------------------

    def _require_owner_form(self, data: dict[str, Any]) -> None:
        if self.kind.globally_owned and data.get("owner") != GLOBAL_OWNER:
            raise BadRequest(
                f"invalid field owner: {self.kind.plural} are owned by {GLOBAL_OWNER!r}, "
                f"not {data.get('owner')!r}"
            )

    def _issued_message(self, field: str) -> str:
        return (
            f"field {field} of a {self.kind.singular} is set by the server when it issues the "
            f"{self.kind.singular}, and cannot be given or changed"
        )

    def _refuse_guarded_changes(self, current: dict[str, Any], data: dict[str, Any]) -> None:
        # Compared with defaults filled in on both sides: a user stored by sign-up without "score"
        # has score 0, and sending it back unchanged is no change.
        before = self.kind.model.model_validate(current).model_dump()
        changed = sorted(
            f for f in self.authority.guarded if f in data and not same_value(before.get(f), data.get(f))
        )
        if changed:
            raise Forbidden(f"only administrators may change: {', '.join(changed)}")

    async def _check_references(self, data: dict[str, Any], before: dict[str, Any] | None) -> None:
        organization = self.kind.organization_of(data)
        for reference in self.authority.references:
            known = set(reference.values(before)) if before is not None else set()
            for value in reference.values(data):
                if value not in known:  # what was already there was checked when it was written
                    await self._check_reference(reference, value, organization)

    async def _check_reference(self, reference: Reference, value: str, organization: str) -> None:
        if reference.form == "global-name":
            target = await ObjectRepository(self.db, kind(reference.kind)).get(GLOBAL_OWNER, value)
            target_organization = kind(reference.kind).organization_of(target) if target else organization
        else:
            owner, sep, _ = value.partition("/")
            target_organization = owner if sep else organization
        if target_organization == organization:
            return
        if reference.shared_ok and target_organization == GLOBAL_OWNER:
            return
        raise Forbidden(
            f"invalid field {reference.field}: {reference.kind} {value!r} belongs to organization "
            f"{target_organization!r}; a {self.kind.singular} of organization {organization!r} may only "
            f"name {reference.kind}s of its own organization"
        )
