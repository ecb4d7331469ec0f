"""Synchronization in the console: syncers ("test connection", "sync now", the last run's counts and
errors) and LDAP servers (the directory's users, "sync selected").

Every button performs the API's action (test-syncer-db, run-syncer, get-ldap-users, sync-ldap-users)
through the same code as the API (sync/endpoints.py), its CSRF token checked before anything connects,
and records the same event.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from hookdoor.console.web import ConsoleRoute, changing, read_form, render, viewing
from hookdoor.errors import HookdoorError, NotFound
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ListQuery
from hookdoor.identity.service import ObjectService
from hookdoor.sync import endpoints as sync_actions
from hookdoor.sync import repository

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
SYNCERS, LDAPS = kind("syncer"), kind("ldap")


@router.get("/console/sync")
async def overview(request: Request) -> Response:
    async with viewing(request) as context:
        syncers, _ = await ObjectService(context, SYNCERS).list(ListQuery(sort_field="name", sort_order="ascend"))
        ldaps, _ = await ObjectService(context, LDAPS).list(ListQuery())
        runs = await repository.last_runs(context.db, "syncer")
    return render(request, "sync/overview.html", syncers=syncers, ldaps=ldaps, runs=runs, active="sync")


async def _syncer_page(request: Request, owner: str, name: str, **shown: Any) -> Response:
    async with viewing(request) as context:
        syncer = await ObjectService(context, SYNCERS).get(owner, name)
        if syncer is None:
            raise NotFound(f"syncer {owner}/{name} does not exist")
        run = await repository.last_run(context.db, "syncer", f"{owner}/{name}")
    return render(request, "sync/syncer.html", syncer=syncer, run=run, active="sync", **shown)


@router.get("/console/sync/syncers/{owner}/{name}")
async def syncer_page(request: Request, owner: str, name: str) -> Response:
    return await _syncer_page(request, owner, name)


@router.post("/console/sync/syncers/{owner}/{name}/test")
async def test_connection(request: Request, owner: str, name: str) -> Response:
    form = await read_form(request)
    async with viewing(request) as context:
        syncer = await ObjectService(context, SYNCERS).get(owner, name)
    if syncer is None:
        raise NotFound(f"syncer {owner}/{name} does not exist")
    try:
        answer = await sync_actions.perform_test(request, syncer, lambda: changing(request, form))
    except HookdoorError as exc:
        return await _syncer_page(request, owner, name, error=exc.message)
    return await _syncer_page(request, owner, name,
                              result=f"Connected: table {answer['table']} has {', '.join(answer['columns'])}.")


@router.post("/console/sync/syncers/{owner}/{name}/run")
async def sync_now(request: Request, owner: str, name: str) -> Response:
    form = await read_form(request)
    try:
        counts = await sync_actions.perform_run(request, f"{owner}/{name}", lambda: changing(request, form))
    except HookdoorError as exc:
        return await _syncer_page(request, owner, name, error=exc.message)
    summary = ", ".join(f"{counts[k]} {k}" for k in ("created", "updated", "exported", "unchanged"))
    return await _syncer_page(request, owner, name, result=f"Synced: {summary}.")


async def _ldap_page(request: Request, owner: str, ldap_id: str, **shown: Any) -> Response:
    async with viewing(request) as context:
        ldap = await ObjectService(context, LDAPS).get(owner, ldap_id)
    if ldap is None:
        raise NotFound(f"the LDAP server {owner}/{ldap_id} does not exist")
    return render(request, "sync/ldap.html", ldap=ldap, owner=owner, ldap_id=ldap_id, active="sync", **shown)


@router.get("/console/sync/ldaps/{owner}/{ldap_id}")
async def ldap_page(request: Request, owner: str, ldap_id: str) -> Response:
    return await _ldap_page(request, owner, ldap_id)


@router.post("/console/sync/ldaps/{owner}/{ldap_id}/users")
async def directory_users(request: Request, owner: str, ldap_id: str) -> Response:
    form = await read_form(request)
    try:
        answer = await sync_actions.perform_listing(request, f"{owner}/{ldap_id}", lambda: changing(request, form))
    except HookdoorError as exc:
        return await _ldap_page(request, owner, ldap_id, error=exc.message)
    return await _ldap_page(request, owner, ldap_id, users=answer["users"], exist=set(answer["existUuids"]))


@router.post("/console/sync/ldaps/{owner}/{ldap_id}/sync")
async def sync_selected(request: Request, owner: str, ldap_id: str) -> Response:
    form = await read_form(request)
    request.state.chosen_uuids = [value for value in form.getlist("uuid") if isinstance(value, str)]
    try:
        answer = await sync_actions.perform_import(request, f"{owner}/{ldap_id}", None,
                                                   lambda: changing(request, form))
    except HookdoorError as exc:
        return await _ldap_page(request, owner, ldap_id, error=exc.message)
    created = len(request.state.chosen_uuids) - len(answer["exist"]) - len(answer["failed"])
    return await _ldap_page(request, owner, ldap_id, result=f"Synced: {created} created, {len(answer['exist'])} "
                            f"already there, {len(answer['failed'])} failed.")
