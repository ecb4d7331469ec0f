"""Casdoor's synchronization routes: run-syncer, test-syncer-db, get-ldap-users, sync-ldap-users.

Each talks to another server (the syncer's database, the directory), so none of them runs inside a
transaction while it does: the caller is authorized in a read-only scope first, the source is asked,
each user created or changed is written in a transaction of its own with its events, and the route's
own event (its overview name) is recorded last, in the unit of work, with the outcome: a failure at
any step is that event's ``error``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import APIRouter, Query
from starlette.requests import Request

from hookdoor.api.context import ApiContext, unit_of_work
from hookdoor.api.envelope import json_array, json_object, ok
from hookdoor.console.web import viewing
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import BadRequest, Conflict, HookdoorError
from hookdoor.events.recorder import request_facts
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.sync import ldap as ldap_rules
from hookdoor.sync.repository import run_lock
from hookdoor.sync.schemas import LdapUser
from hookdoor.sync.service import (
    Origin,
    masked_syncer,
    run_once,
    runnable_syncer,
    test_connection,
    testable_syncer,
    users_organization,
)

router = APIRouter(prefix="/api", tags=["syncers"])
ldap_router = APIRouter(prefix="/api", tags=["ldaps"])
ID = Query(..., max_length=201, description="owner/name of the syncer (owner/id of an LDAP server)")


Scope = Callable[[], AbstractAsyncContextManager[ApiContext]]


def _api_scope(request: Request) -> Scope:
    """The API authorizes in a read-only scope; a console form passes one that checks its CSRF token."""
    return lambda: viewing(request)


@router.get("/run-syncer")
async def run_syncer(request: Request, id: str = ID) -> dict[str, Any]:
    """One run of the syncer now (Casdoor's RunSyncer); answers its counts."""
    return ok(await perform_run(request, id, _api_scope(request)))


@router.post("/test-syncer-db")
async def test_syncer_db(request: Request) -> dict[str, Any]:
    """Connect to the syncer's database and check its table and mapped columns (Casdoor's TestSyncerDb)."""
    return ok(await perform_test(request, await _body_or_failure(request), _api_scope(request)))


@ldap_router.get("/get-ldap-users")
async def get_ldap_users(request: Request, id: str = ID) -> dict[str, Any]:
    """The directory's users, and which of them the organization has already (Casdoor's GetLdapUsers)."""
    return ok(await perform_listing(request, id, _api_scope(request)))


@ldap_router.post("/sync-ldap-users")
async def sync_ldap_users(request: Request, id: str = ID) -> dict[str, Any]:
    """Import the directory users in the body (Casdoor's SyncLdapUsers): ``{exist, failed}``."""
    try:
        users: list[LdapUser] | HookdoorError = ldap_rules.parsed_users(await json_array(request))
    except HookdoorError as exc:
        users = exc
    return ok(await perform_import(request, id, users, _api_scope(request)))


async def _body_or_failure(request: Request) -> dict[str, Any] | HookdoorError:
    try:
        return await json_object(request)
    except HookdoorError as exc:
        return exc


# ---- the four actions, for the API and the console alike -------------------------------------------

async def perform_run(request: Request, syncer_id: str, scope: Scope) -> dict[str, Any]:
    failure: HookdoorError | None = None
    syncer: dict[str, Any] = {}
    counts: dict[str, Any] = {}
    try:
        async with scope() as context:
            syncer = await runnable_syncer(context, syncer_id)
            origin = Origin(context.principal, request_facts(request))
        report = await run_once(request.app.state, syncer, origin)
        counts = report.as_dict()
        if report.failed:
            failure = BadRequest(f"syncer {syncer_id}: {len(report.failed)} users could not be synced "
                                 f"({report.created} created, {report.updated} updated): {report.failed[0]}")
    except HookdoorError as exc:
        failure = exc
    async with unit_of_work(request, "run-syncer") as context:
        if syncer:
            context.action.concerns(obj={**masked_syncer(syncer), "lastRun": counts},
                                    organization=users_organization(syncer))
        if failure is not None:
            raise failure
    return counts


async def perform_test(request: Request, body: dict[str, Any] | HookdoorError, scope: Scope) -> dict[str, Any]:
    failure: HookdoorError | None = body if isinstance(body, HookdoorError) else None
    syncer: dict[str, Any] = {}
    answer: dict[str, Any] = {}
    try:
        if failure is None:
            assert isinstance(body, dict)
            async with scope() as context:
                syncer = await testable_syncer(context, body)
            answer = await test_connection(request.app.state, syncer)
    except HookdoorError as exc:
        failure = exc
    async with unit_of_work(request, "test-syncer-db") as context:
        if syncer:
            context.action.concerns(obj=masked_syncer(syncer), organization=users_organization(syncer))
        if failure is not None:
            raise failure
    return answer


async def perform_listing(request: Request, ldap_id: str, scope: Scope) -> dict[str, Any]:
    failure: HookdoorError | None = None
    stored: dict[str, Any] = {}
    answer: dict[str, Any] = {}
    try:
        async with scope() as context:
            stored = await ldap_rules.managed_ldap(context, ldap_id)
        users = await ldap_rules.directory_users(request.app.state, stored)
        uuids = await ldap_rules.existing_uuids(request.app.state, stored["owner"], [u.ldap_uuid for u in users])
        answer = {"users": [u.model_dump() for u in users], "existUuids": uuids}
    except HookdoorError as exc:
        failure = exc
    async with unit_of_work(request, "get-ldap-users") as context:
        if stored:
            context.action.concerns(obj=ldap_rules.shown_ldap(stored), organization=stored["owner"])
        if failure is not None:
            raise failure
    return answer


async def perform_import(request: Request, ldap_id: str, users: list[LdapUser] | HookdoorError | None,
                         scope: Scope) -> dict[str, Any]:
    """``users`` None: the directory's users whose uuids the console's form chose (``request.state``)."""
    failure: HookdoorError | None = users if isinstance(users, HookdoorError) else None
    stored: dict[str, Any] = {}
    answer: dict[str, Any] = {}
    try:
        if failure is None:
            async with scope() as context:
                stored = await ldap_rules.managed_ldap(context, ldap_id)
                origin = Origin(context.principal, request_facts(request))
            chosen = users if isinstance(users, list) else await _chosen(request, stored)
            key = f"{stored['owner']}/{stored['name']}"
            # One import of a directory at a time (its automatic sync included): two at once would
            # each create the same entry's user.
            async with run_lock(request.app.state.engine, f"ldap:{key}") as held:
                if not held:
                    raise Conflict(f"the LDAP server {key} is being synced already")
                answer = await ldap_rules.LdapImport(request.app.state, stored, origin).run(chosen)
    except HookdoorError as exc:
        failure = exc
    async with unit_of_work(request, "sync-ldap-users") as context:
        if stored:
            await _note_sync_time(context.db, stored)
            context.action.concerns(obj=ldap_rules.shown_ldap(stored), organization=stored["owner"])
        if failure is not None:
            raise failure
    return answer


async def _chosen(request: Request, stored: dict[str, Any]) -> list[LdapUser]:
    wanted = set(getattr(request.state, "chosen_uuids", ()))
    return [u for u in await ldap_rules.directory_users(request.app.state, stored) if u.ldap_uuid in wanted]


async def _note_sync_time(db: Any, stored: dict[str, Any]) -> None:
    """Casdoor's UpdateLdapSyncTime: the server's lastSync is now."""
    repository = ObjectRepository(db, kind("ldap"))
    current = await repository.get(stored["owner"], stored["name"])
    if current is not None:
        await repository.replace(stored["owner"], stored["name"], {**current, "lastSync": rfc3339(utcnow())})
