"""The background side of synchronization: enabled syncers run every ``syncInterval`` seconds and
LDAP servers with ``autoSync`` re-import their directory every ``autoSync`` minutes (Casdoor's
syncer cron and LdapAutoSynchronizer).

Every ``hookdoor serve`` process looks for due sources every HOOKDOOR_SYNC_POLL_SECONDS; a source is
run by one process at a time (the lock in repository.py), and whether it is due is read from its last
run, shared by all processes, under that lock: two processes never run it twice in one interval.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from fastapi import APIRouter, FastAPI

from hookdoor.identity.principal import SYSTEM
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ListQuery, ObjectRepository
from hookdoor.runtime import periodically
from hookdoor.sync import repository
from hookdoor.sync.ldap import LdapImport, directory_users
from hookdoor.sync.service import Origin, is_due, run_if_due, syncer_key

log = logging.getLogger(__name__)


def _origin(uri: str) -> Origin:
    """Scheduled runs are the server's own: their events name the source in the request's URI."""
    return Origin(SYSTEM, {"method": "", "uri": uri, "clientIp": "", "userAgent": "hookdoor-sync", "language": "en"})


async def _sources(state: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The syncers and LDAP servers that look due; each is checked again under its lock."""
    async with state.sessionmaker() as db:
        syncers, _ = await ObjectRepository(db, kind("syncer")).list(ListQuery())
        ldaps, _ = await ObjectRepository(db, kind("ldap")).list(ListQuery())
        syncer_runs, ldap_runs = await repository.last_runs(db, "syncer"), await repository.last_runs(db, "ldap")
        await db.rollback()
    due_syncers = [s for s in syncers if s.get("isEnabled") and (s.get("type") or "Database") == "Database"
                   and is_due(syncer_runs.get(syncer_key(s)), s.get("syncInterval") or 0)]
    due_ldaps = [server for server in ldaps
                 if is_due(ldap_runs.get(f"{server['owner']}/{server['name']}"), int(server.get("autoSync") or 0) * 60)]
    return due_syncers, due_ldaps


async def run_due_sources(state: Any) -> None:
    syncers, ldaps = await _sources(state)
    for syncer in syncers:
        key = syncer_key(syncer)
        try:
            report = await run_if_due(state, syncer, _origin(f"/api/run-syncer?id={key}"))
        except Exception as exc:  # one broken syncer does not stop the others; its run says why
            log.warning("syncer %s failed: %s", key, getattr(exc, "message", "") or type(exc).__name__)
            continue
        if report is not None:
            log.info("syncer %s ran: %s", key, report.as_dict())
    for server in ldaps:
        await _auto_sync(state, server)


async def _auto_sync(state: Any, server: dict[str, Any]) -> None:
    key = f"{server['owner']}/{server['name']}"
    async with repository.run_lock(state.engine, f"ldap:{key}") as held:
        if not held:
            return
        async with state.sessionmaker() as db:
            last = await repository.last_run(db, "ldap", key)
            await db.rollback()
        if not is_due(last, int(server.get("autoSync") or 0) * 60):
            return
        started = repository.now()
        try:
            users = await directory_users(state, server)
            answer = await LdapImport(state, server, _origin(f"/api/sync-ldap-users?id={key}")).run(users)
            counts = {"listed": len(users), "exist": len(answer["exist"]), "failed": len(answer["failed"])}
            outcome, error = ("failed" if answer["failed"] else "ok"), ""
        except Exception as exc:
            counts, outcome, error = {}, "failed", getattr(exc, "message", "") or type(exc).__name__
            log.warning("LDAP server %s could not be synced: %s", key, error)
        async with state.sessionmaker() as db:
            await repository.save_run(db, "ldap", key, started_at=started, outcome=outcome, counts=counts,
                                      error=error, finished_at=repository.now())
            await db.commit()


def _scheduling(app: FastAPI) -> contextlib.AbstractAsyncContextManager[None]:
    return periodically(lambda: app.state.settings.sync_poll_seconds, lambda: run_due_sources(app.state),
                        name="hookdoor-sync", failing="look for due syncers", log=log)


# Its lifespan runs inside the app's own, after the migrations.
lifecycle = APIRouter(lifespan=_scheduling)
