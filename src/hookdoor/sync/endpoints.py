"""Casdoor's synchronization routes: run-syncer, test-syncer-db, get-ldap-users, sync-ldap-users.

Each talks to another server (the syncer's database, the directory), so none of them runs inside a
transaction while it does: the caller is authorized in a read-only scope first, the source is asked,
each user created or changed is written in a transaction of its own with its events, and the route's
own event (its overview name) is recorded last, in the unit of work, with the outcome: a failure at
any step is that event's ``error``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from starlette.requests import Request

from hookdoor.api.context import unit_of_work
from hookdoor.api.envelope import json_array, json_object, ok
from hookdoor.console.web import viewing
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import BadRequest, HookdoorError
from hookdoor.events.recorder import request_facts
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.sync import ldap as ldap_rules
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


@router.get("/run-syncer")
async def run_syncer(request: Request, id: str = ID) -> dict[str, Any]:
    """One run of the syncer now (Casdoor's RunSyncer); answers its counts."""
    failure: HookdoorError | None = None
    syncer: dict[str, Any] = {}
    counts: dict[str, Any] = {}
    try:
        async with viewing(request) as context:
            syncer = await runnable_syncer(context, id)
            origin = Origin(context.principal, request_facts(request))
        report = await run_once(request.app.state, syncer, origin)
        counts = report.as_dict()
        if report.failed:
            failure = BadRequest(f"syncer {id}: {len(report.failed)} users could not be synced "
                                 f"({report.created} created, {report.updated} updated): {report.failed[0]}")
    except HookdoorError as exc:
        failure = exc
    async with unit_of_work(request, "run-syncer") as context:
        if syncer:
            context.action.concerns(obj={**masked_syncer(syncer), "lastRun": counts},
                                    organization=users_organization(syncer))
        if failure is not None:
            raise failure
    return ok(counts)


@router.post("/test-syncer-db")
async def test_syncer_db(request: Request) -> dict[str, Any]:
    """Connect to the syncer's database and check its table and mapped columns (Casdoor's TestSyncerDb)."""
    failure: HookdoorError | None = None
    body: dict[str, Any] = {}
    answer: dict[str, Any] = {}
    try:
        body = await json_object(request)
        async with viewing(request) as context:
            syncer = await testable_syncer(context, body)
        answer = await test_connection(request.app.state, syncer)
    except HookdoorError as exc:
        failure = exc
    async with unit_of_work(request, "test-syncer-db") as context:
        if body:
            context.action.concerns(obj=masked_syncer(body), organization=users_organization(body))
        if failure is not None:
            raise failure
    return ok(answer)


@ldap_router.get("/get-ldap-users")
async def get_ldap_users(request: Request, id: str = ID) -> dict[str, Any]:
    """The directory's users, and which of them the organization has already (Casdoor's GetLdapUsers)."""
    failure: HookdoorError | None = None
    stored: dict[str, Any] = {}
    answer: dict[str, Any] = {}
    try:
        async with viewing(request) as context:
            stored = await ldap_rules.managed_ldap(context, id)
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
    return ok(answer)


@ldap_router.post("/sync-ldap-users")
async def sync_ldap_users(request: Request, id: str = ID) -> dict[str, Any]:
    """Import the directory users in the body (Casdoor's SyncLdapUsers): ``{exist, failed}``."""
    failure: HookdoorError | None = None
    stored: dict[str, Any] = {}
    answer: dict[str, Any] = {}
    try:
        users = ldap_rules.parsed_users(await json_array(request))
        async with viewing(request) as context:
            stored = await ldap_rules.managed_ldap(context, id)
            origin = Origin(context.principal, request_facts(request))
        answer = await ldap_rules.LdapImport(request.app.state, stored, origin).run(users)
    except HookdoorError as exc:
        failure = exc
    async with unit_of_work(request, "sync-ldap-users") as context:
        if stored:
            await _note_sync_time(context.db, stored)
            context.action.concerns(obj=ldap_rules.shown_ldap(stored), organization=stored["owner"])
        if failure is not None:
            raise failure
    return ok(answer)


async def _note_sync_time(db: Any, stored: dict[str, Any]) -> None:
    """Casdoor's UpdateLdapSyncTime: the server's lastSync is now."""
    repository = ObjectRepository(db, kind("ldap"))
    current = await repository.get(stored["owner"], stored["name"])
    if current is not None:
        await repository.replace(stored["owner"], stored["name"], {**current, "lastSync": rfc3339(utcnow())})
