"""The rules of LDAP servers (Casdoor's object/ldap*.go): who may list or import a directory's
users, importing them (``new-user-ldap``), and the sign-in of an imported user, whose password is
the directory's (checked by binding as them).

The directory is asked outside Hookdoor's transactions; each user imported is written in a
transaction of its own with its events.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from hookdoor.api.context import ApiContext
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import BadRequest, Forbidden, NotFound
from hookdoor.identity.registry import GLOBAL_OWNER, kind
from hookdoor.identity.repository import ListQuery, ObjectRepository
from hookdoor.identity.service import parse_id
from hookdoor.sync.directory import Directory
from hookdoor.sync.outbound import SourceUnavailable
from hookdoor.sync.schemas import LdapUser, ldap_of
from hookdoor.sync.service import Origin, commit_with_events, record_user_event

LDAP = kind("ldap")
USER = kind("user")


async def managed_ldap(context: ApiContext, ldap_id: str) -> dict[str, Any]:
    """The stored LDAP server ``owner/id`` (its password in clear, for the bind), if the caller manages it."""
    context.require_login()
    owner, key = parse_id(ldap_id)
    stored = await ObjectRepository(context.db, LDAP).get(owner, key)
    if stored is None:
        raise NotFound(f"the LDAP server {owner}/{key} does not exist")
    organization = LDAP.organization_of(stored)
    if not context.principal.manages(organization):
        raise Forbidden(f"only administrators of organization {organization!r} may use its LDAP servers")
    return stored


def shown_ldap(stored: dict[str, Any]) -> dict[str, Any]:
    return LDAP.mask(stored, may_manage=False)


async def directory_users(state: Any, stored: dict[str, Any]) -> list[LdapUser]:
    directory = await asyncio.to_thread(Directory, ldap_of(stored), state.target_policy)
    return await asyncio.to_thread(directory.users)


async def existing_uuids(state: Any, organization: str, uuids: list[str]) -> list[str]:
    """Casdoor's GetExistUuids: which of these directory entries are users of the organization already."""
    by_uuid = await _users_by_ldap(state, organization)
    return [u for u in dict.fromkeys(uuids) if u in by_uuid]


async def _users_by_ldap(state: Any, organization: str) -> dict[str, dict[str, Any]]:
    async with state.sessionmaker() as db:
        users, _ = await ObjectRepository(db, USER).list(ListQuery(owner=organization))
        await db.rollback()
    return {str(u["ldap"]): u for u in users if u.get("ldap")}


def parsed_users(body: Any) -> list[LdapUser]:
    if not isinstance(body, list):
        raise BadRequest("the body must be a JSON array of LDAP users, as get-ldap-users lists them")
    try:
        return [LdapUser.model_validate(item) for item in body]
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadRequest(f"invalid LDAP user {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


@dataclass
class LdapImport:
    """Casdoor's SyncLdapUsers: the users new to the organization are created; those it has are "exist"."""

    state: Any
    stored: dict[str, Any]
    origin: Origin
    exist: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def organization(self) -> str:
        return str(self.stored.get("owner") or "")

    async def run(self, users: list[LdapUser]) -> dict[str, Any]:
        known = await _users_by_ldap(self.state, self.organization)
        settings = await self._organization()
        for user in users:
            shown = user.model_dump()
            if user.ldap_uuid in known:
                self.exist.append(shown)
                continue
            try:
                await self._create(user, settings)
            except BadRequest:
                self.failed.append(shown)
        return {"exist": self.exist, "failed": self.failed}

    async def _organization(self) -> dict[str, Any]:
        async with self.state.sessionmaker() as db:
            organization = await ObjectRepository(db, kind("organization")).get(GLOBAL_OWNER, self.organization)
            await db.rollback()
        if organization is None:
            raise BadRequest(f"organization {self.organization!r} does not exist")
        return organization

    def _new_user(self, user: LdapUser, name: str, organization: dict[str, Any]) -> dict[str, Any]:
        now = rfc3339(utcnow())
        dc = [part.strip()[3:] for part in str(self.stored.get("baseDn") or "").split(",") if "dc=" in part]
        ou = [part.strip()[3:] for part in str(self.stored.get("username") or "").split(",") if "ou=" in part]
        return {
            "owner": self.organization, "name": name, "id": str(uuid.uuid4()), "createdTime": now, "updatedTime": now,
            "displayName": user.displayName or user.cn, "type": "normal-user", "password": "",
            "signupApplication": organization.get("defaultApplication") or "",
            "avatar": organization.get("defaultAvatar") or "", "email": user.email, "phone": user.mobile,
            "countryCode": user.country, "address": [user.address] if user.address else [],
            "region": user.country or user.countryName, "affiliation": ".".join(dc), "tag": ".".join(ou),
            "score": int(organization.get("initScore") or 0), "ldap": user.ldap_uuid,
            "uidNumber": int(user.uidNumber) if user.uidNumber.isdigit() else 0,
            "properties": dict(user.attributes or {}), "registerType": "LDAP",
            "registerSource": f"{self.organization}/{self.stored.get('id', '')}",
        }

    async def _create(self, user: LdapUser, organization: dict[str, Any]) -> None:
        async with self.state.sessionmaker() as db:
            users = ObjectRepository(db, USER)
            taken, _ = await users.list(ListQuery(owner=self.organization, equals={"ldap": user.ldap_uuid}))
            if taken:  # imported meanwhile
                self.exist.append(user.model_dump())
                await db.rollback()
                return
            name = await _free_name(users, self.organization, user)
            try:
                data = USER.model.model_validate(self._new_user(user, name, organization)).model_dump()
            except ValidationError:
                raise BadRequest(f"the LDAP entry {user.ldap_uuid!r} makes no valid user") from None
            await users.insert(data, {"password_hash": None})  # the directory holds the password
            for event in ("add-user", "new-user-ldap"):
                await record_user_event(db, event, data, self.origin, f"from LDAP server {self.organization}/"
                                        f"{self.stored.get('id', '')}")
            await commit_with_events(self.state, db)


async def _free_name(users: ObjectRepository, organization: str, user: LdapUser) -> str:
    """Casdoor's buildLdapUserName: the uid; uid_uidNumber if it is taken; then a random suffix."""
    wanted = user.uid or user.cn
    if not wanted:
        raise BadRequest("the LDAP entry has neither uid nor cn")
    if not await users.exists(organization, wanted):
        return wanted
    numbered = f"{wanted}_{user.uidNumber}"
    if not await users.exists(organization, numbered):
        return numbered
    return f"{numbered}_{secrets.token_hex(3)}"


# ---- signing in with the directory's password -------------------------------------------------------

async def ldap_password_matches(context: ApiContext, user: dict[str, Any], password: str) -> bool:
    """Whether ``password`` is the directory's for this imported user, asking each of the organization's
    LDAP servers (Casdoor's CheckLdapUserPassword); an unreachable directory is an error, not a no."""
    servers, _ = await ObjectRepository(context.db, LDAP).list(ListQuery(owner=str(user.get("owner") or "")))
    policy = context.request.app.state.target_policy
    unreachable: SourceUnavailable | None = None
    for server in servers:
        try:
            directory = await asyncio.to_thread(Directory, ldap_of(server), policy)
            if await asyncio.to_thread(directory.password_matches, user, password):
                return True
        except (SourceUnavailable, BadRequest) as exc:
            unreachable = unreachable or SourceUnavailable(exc.message)
    if unreachable is not None:
        raise unreachable
    return False
