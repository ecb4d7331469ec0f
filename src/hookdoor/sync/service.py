"""The rules of synchronization: what saving a syncer or an LDAP server implies, who may test or run
one, and one run of a database syncer as Casdoor defines it (object/syncer_sync.go).

A run talks to the source outside Hookdoor's transactions, and writes each user it creates or
changes in a transaction of its own, with that user's events (``add-user`` and ``new-user-syncer``,
or ``update-user``): a failure half-way leaves every user either fully synced or untouched.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.api.context import ApiContext, notify_workers
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import BadRequest, Conflict, Forbidden, NotFound
from hookdoor.events.recorder import Action, record
from hookdoor.identity.passwords import foreign_hash
from hookdoor.identity.principal import Principal
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ListQuery, ObjectRepository
from hookdoor.identity.service import MASKED, parse_id, restore_masked, validation_message
from hookdoor.sync import repository
from hookdoor.sync.database import SourceDatabase
from hookdoor.sync.outbound import check_host_at_save
from hookdoor.sync.schemas import (
    PASSWORD_FIELDS,
    USER_FIELDS,
    DatabaseSyncer,
    RunReport,
    TableColumn,
    json_field,
    ldap_of,
    mapping_problems,
    syncer_of,
)

log = logging.getLogger(__name__)
SYNCER = kind("syncer")
LDAP = kind("ldap")
USER = kind("user")


# ---- what saving implies --------------------------------------------------------------------------

def _is_database_syncer(data: Mapping[str, Any]) -> bool:
    return (data.get("type") or "Database") == "Database"


async def check_new_syncer(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    """A database syncer's mapping names user fields that exist, and its host is no internal address."""
    if _is_database_syncer(data):
        syncer = syncer_of(data)
        problems = [p for p in mapping_problems(syncer) if "databaseType" not in p or data.get("databaseType")]
        if problems:
            raise BadRequest(problems[0])
        if syncer.engine_kind != "sqlite3" and syncer.host:
            check_host_at_save(syncer.host, context.request.app.state.target_policy)
    return {}


async def check_updated_syncer(context: ApiContext, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return await check_new_syncer(context, data)


async def check_new_ldap(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    server = ldap_of(data)
    if server.host:
        check_host_at_save(server.host, context.request.app.state.target_policy)
    server.port_number  # noqa: B018 - refuses a port that is no number
    return {}


async def check_updated_ldap(context: ApiContext, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return await check_new_ldap(context, data)


# ---- who may test or run a syncer ---------------------------------------------------------------

def users_organization(syncer: Mapping[str, Any]) -> str:
    """Whose users a syncer syncs: its organization (Casdoor's syncers are owned by "admin")."""
    return str(syncer.get("organization") or syncer.get("owner") or "")


def _require_manager(principal: Principal, syncer: Mapping[str, Any], what: str) -> None:
    for organization in {SYNCER.organization_of(syncer), users_organization(syncer)}:
        if not principal.manages(organization):
            raise Forbidden(f"only administrators of organization {organization!r} may {what}")


async def runnable_syncer(context: ApiContext, syncer_id: str) -> dict[str, Any]:
    """The stored syncer (its password in clear, for the connection), if the caller manages it."""
    context.require_login()
    owner, name = parse_id(syncer_id)
    stored = await ObjectRepository(context.db, SYNCER).get(owner, name)
    if stored is None:
        raise NotFound(f"syncer {owner}/{name} does not exist")
    _require_manager(context.principal, stored, "run this syncer")
    return stored


async def testable_syncer(context: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    """The syncer a test-syncer-db body describes; a masked password is the stored one's."""
    context.require_login()
    _require_manager(context.principal, body, "test a syncer of it")
    if body.get("password") == MASKED and body.get("owner") and body.get("name"):
        stored = await ObjectRepository(context.db, SYNCER).get(str(body["owner"]), str(body["name"]))
        if stored is not None:
            _require_manager(context.principal, stored, "test this syncer")
            body = dict(body)
            restore_masked(stored, body, SYNCER.secret_fields)
    return body


def masked_syncer(syncer: dict[str, Any]) -> dict[str, Any]:
    return SYNCER.mask(syncer, may_manage=False)


# ---- testing the connection ------------------------------------------------------------------------

async def test_connection(state: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Connect, and check the table and every mapped column exist: what test-syncer-db reports."""
    syncer = _runnable_spec(data)
    return await asyncio.to_thread(_test_in_thread, syncer, state)


def _test_in_thread(syncer: DatabaseSyncer, state: Any) -> dict[str, Any]:
    source = SourceDatabase(syncer, state.target_policy, state.settings.syncer_sqlite_dir)
    try:
        with source.connect() as connection:
            columns = source.check(connection)
    finally:
        source.dispose()
    return {"table": syncer.table, "columns": columns}


def _runnable_spec(data: dict[str, Any]) -> DatabaseSyncer:
    if not _is_database_syncer(data):
        raise BadRequest(f"invalid field type: only syncers of type Database can be run here, not {data.get('type')!r}")
    syncer = syncer_of(data)
    if not syncer.tableColumns:
        raise BadRequest("invalid field tableColumns: the syncer table columns should not be empty")
    problems = mapping_problems(syncer)
    if problems:
        raise BadRequest(problems[0])
    return syncer


# ---- one run -------------------------------------------------------------------------------------

@dataclass
class Origin:
    """Who a run's events name: the caller of run-syncer, or the server for a scheduled run."""

    principal: Principal
    request: dict[str, str]


class DatabaseSync:
    """One run of a database syncer: Casdoor's syncUsers, each user written in its own transaction."""

    def __init__(self, state: Any, syncer: dict[str, Any], origin: Origin) -> None:
        self.state = state
        self.stored = syncer
        self.syncer = _runnable_spec(syncer)
        self.organization = users_organization(syncer)
        self.origin = origin
        self.report = RunReport()
        self.columns = self.syncer.tableColumns
        self.key = self.syncer.key_column

    async def run(self) -> RunReport:
        source = await asyncio.to_thread(SourceDatabase, self.syncer, self.state.target_policy,
                                         self.state.settings.syncer_sqlite_dir)
        try:
            rows, affiliations = await asyncio.to_thread(self._read, source)
            await self._sync(source, rows, affiliations)
        finally:
            source.dispose()
        return self.report

    def _read(self, source: SourceDatabase) -> tuple[list[dict[str, str]], dict[int, str] | None]:
        with source.connect() as connection:
            source.check(connection)
            rows = source.rows(connection)
            affiliations = source.affiliations(connection) if self.syncer.affiliationTable else None
        return rows, affiliations

    async def _sync(self, source: SourceDatabase, rows: list[dict[str, str]],
                    affiliations: dict[int, str] | None) -> None:
        local = await self._local_users()
        key_field = json_field(self.key.casdoorName)
        mine = {_as_text(user.get(key_field)): user for user in local}
        theirs: set[str] = set()
        for row in rows:
            original = self._user_from_row(row)
            primary = _as_text(original.get(key_field))
            theirs.add(primary)
            user = mine.get(primary)
            try:
                if user is None:
                    await self._create(original, row, affiliations)
                else:
                    await self._reconcile(source, user, original, row, affiliations)
            except (BadRequest, Conflict) as exc:
                self.report.failed.append(f"{primary or '(no key)'}: {exc.message}")
        if not self.syncer.isReadOnly:
            for primary, user in mine.items():
                if primary not in theirs:
                    await self._export(source, primary, user)

    async def _export(self, source: SourceDatabase, primary: str, user: dict[str, Any]) -> None:
        """A user the source does not have is written to it (Casdoor's addUser); a refusal is that user's."""
        try:
            await asyncio.to_thread(self._write_source, source, "insert", self._row_from_user(user))
        except BadRequest as exc:
            self.report.failed.append(f"{primary}: {exc.message}")
            return
        await self._set_pre_hash(user, self._local_hash(user))  # synced from now on
        self.report.exported += 1

    async def _local_users(self) -> list[dict[str, Any]]:
        async with self.state.sessionmaker() as db:
            users, _ = await ObjectRepository(db, USER).list(ListQuery(owner=self.organization))
            await db.rollback()
        return users

    # -- Casdoor's three cases: new, changed here, changed there ------------------------------------

    async def _reconcile(self, source: SourceDatabase, user: dict[str, Any], original: dict[str, Any],
                         row: dict[str, str], affiliations: dict[int, str] | None) -> None:
        local_hash, source_hash = self._local_hash(user), self._source_hash(row)
        pre_hash = user.get("preHash") or ""
        if local_hash == pre_hash:  # unchanged here since the last sync
            if local_hash != source_hash:
                await self._update_from_source(user, original, row, affiliations, source_hash)
            else:
                self.report.unchanged += 1
        elif pre_hash == source_hash:  # changed here only: the source follows, unless read-only
            if not self.syncer.isReadOnly:
                values = self._row_from_user(user)
                key_value = values.pop(self.key.name)
                await asyncio.to_thread(self._write_source, source, "update", values, key_value)
                self.report.exported += 1
            await self._set_pre_hash(user, local_hash)
        elif local_hash == source_hash:  # both changed alike
            await self._set_pre_hash(user, local_hash)
        else:  # both changed: the source wins, as in Casdoor
            await self._update_from_source(user, original, row, affiliations, source_hash)

    def _write_source(self, source: SourceDatabase, verb: str, values: dict[str, Any], key_value: Any = None) -> None:
        # A column made of several ("first + last") cannot be split back: the source keeps its own.
        typed = {name: _typed(self._column_named(name), value) for name, value in values.items() if "+" not in name}
        with source.connect() as connection:
            if verb == "insert":
                source.insert(connection, typed)
            else:
                source.update(connection, self.key.name, _typed(self.key, key_value), typed)

    def _column_named(self, name: str) -> TableColumn | None:
        return next((c for c in self.columns if c.name == name), None)

    async def _create(self, original: dict[str, Any], row: dict[str, str], affiliations: dict[int, str] | None) -> None:
        user = {**original, "owner": self.organization}
        user["name"] = user.get("name") or user.get("id") or ""
        user["id"] = user.get("id") or str(uuid.uuid4())
        now = rfc3339(utcnow())
        user["createdTime"] = user.get("createdTime") or now
        user["updatedTime"] = now
        user["type"] = user.get("type") or "normal-user"
        user["registerType"] = user.get("registerType") or "Add Users"
        user["registerSource"] = f"{self.organization}/{self.syncer.name}"
        user.setdefault("properties", {})
        self._set_affiliation(user, affiliations)
        user["hash"] = user["preHash"] = self._source_hash(row)
        private = await self._password_columns(user)
        data = _validated_user(user)
        async with self.state.sessionmaker() as db:
            users = ObjectRepository(db, USER)
            if await users.exists(data["owner"], data["name"]):
                raise Conflict(f"user {data['owner']}/{data['name']} already exists and is not this row's")
            if await users.held_by_another("id", data["id"], data["owner"], data["name"]):
                raise Conflict(f"invalid field id: another user already uses the id {data['id']!r}")
            await users.insert(data, {"password_hash": private.get("password_hash")})
            await self._record(db, "add-user", data)
            await self._record(db, "new-user-syncer", data)
            await self._commit(db)
        self.report.created += 1

    async def _update_from_source(self, user: dict[str, Any], original: dict[str, Any], row: dict[str, str],
                                  affiliations: dict[int, str] | None, source_hash: str) -> None:
        """Casdoor's updateUserForOriginalFields: the mapped fields (not the id), the affiliation and the hashes."""
        private = await self._password_columns(dict(original))  # before the transaction: it may hash
        async with self.state.sessionmaker() as db:
            users = ObjectRepository(db, USER)
            stored = await users.get_stored(user["owner"], user["name"])
            if stored is None:
                await db.rollback()
                return
            changed = dict(stored.data)
            for column in self.columns:
                if column.casdoorName in ("Id", *PASSWORD_FIELDS):
                    continue
                changed[json_field(column.casdoorName)] = original.get(json_field(column.casdoorName))
            self._set_affiliation(changed, affiliations)
            changed["hash"] = changed["preHash"] = source_hash
            changed["updatedTime"] = rfc3339(utcnow())
            data = _validated_user(changed)
            await users.replace(user["owner"], user["name"], data, private or None)
            await self._record(db, "update-user", data)
            await self._commit(db)
        self.report.updated += 1

    async def _set_pre_hash(self, user: dict[str, Any], pre_hash: str) -> None:
        async with self.state.sessionmaker() as db:
            users = ObjectRepository(db, USER)
            stored = await users.get(user["owner"], user["name"])
            if stored is None:
                await db.rollback()
                return
            data = {**stored, "hash": pre_hash, "preHash": pre_hash}
            await users.replace(user["owner"], user["name"], data)
            await self._record(db, "update-user", data)
            await self._commit(db)

    # -- mapping between a row and a user ------------------------------------------------------------

    def _user_from_row(self, row: dict[str, str]) -> dict[str, Any]:
        """Casdoor's setUserByKeyValue for each column: the user fields the row gives."""
        user: dict[str, Any] = {}
        for column in self.columns:
            value = " ".join(part for name in column.source_names() if (part := row.get(name, "")))
            user[json_field(column.casdoorName)] = _as_field(column.casdoorName, value, self.syncer.avatarBaseUrl)
        return user

    def _row_from_user(self, user: Mapping[str, Any]) -> dict[str, str]:
        """Casdoor's getMapFromOriginalUser: each column's value as text; never a credential."""
        row = {}
        for column in self.columns:
            if column.casdoorName in PASSWORD_FIELDS:
                continue
            value = user.get(json_field(column.casdoorName))
            if column.casdoorName == "Avatar":
                value = _partial_avatar(str(value or ""), self.syncer.avatarBaseUrl)
            row[column.name] = _as_text(value)
        return row

    def _source_hash(self, row: Mapping[str, str]) -> str:
        """Casdoor's calculateHash of a source row: read as a user first, as Casdoor does."""
        return self._hash(self._row_from_user(self._user_from_row(dict(row))))

    def _local_hash(self, user: Mapping[str, Any]) -> str:
        return self._hash(self._row_from_user(user))

    def _hash(self, mapped: Mapping[str, str]) -> str:
        """The MD5 of the hashed columns' values (credentials left out: Hookdoor keeps no copy of
        them to compare)."""
        values = [mapped.get(c.name, "") for c in self.columns if c.isHashed and c.casdoorName not in PASSWORD_FIELDS]
        return hashlib.md5("|".join(values).encode()).hexdigest()  # noqa: S324 - Casdoor's change marker, no secret

    def _set_affiliation(self, user: dict[str, Any], affiliations: dict[int, str] | None) -> None:
        score = user.get("score") or 0
        if affiliations is None or not score:
            return
        if score not in affiliations:
            raise BadRequest(f"invalid field affiliationTable: no affiliation has id {score}")
        user["affiliation"] = affiliations[score]

    async def _password_columns(self, user: dict[str, Any]) -> dict[str, Any]:
        """The source's password, as the organization's passwordType says it is stored there:
        clear text is hashed with argon2id; a hash is kept as it is and checked in its own scheme."""
        password, salt = user.pop("password", "") or "", user.pop("passwordSalt", "") or ""
        user["password"] = ""
        if not password:
            return {}
        scheme = await self._password_type()
        if scheme in ("", "plain"):
            return {"password_hash": await self.state.services.passwords.hash(password)}
        try:
            return {"password_hash": foreign_hash(scheme, password, salt)}
        except ValueError as exc:
            raise BadRequest(f"invalid field passwordType of organization {self.organization!r}: {exc}") from None

    async def _password_type(self) -> str:
        if not hasattr(self, "_scheme"):
            async with self.state.sessionmaker() as db:
                organization = await ObjectRepository(db, kind("organization")).get("admin", self.organization)
                await db.rollback()
            self._scheme = str((organization or {}).get("passwordType") or "")
        return self._scheme

    # -- the events of each change -------------------------------------------------------------------

    async def _record(self, db: AsyncSession, name: str, user: dict[str, Any]) -> None:
        await record_user_event(db, name, user, self.origin, f"by syncer {self.syncer.owner}/{self.syncer.name}")

    async def _commit(self, db: AsyncSession) -> None:
        await commit_with_events(self.state, db)


async def record_user_event(db: AsyncSession, name: str, user: dict[str, Any], origin: Origin, message: str) -> None:
    """One event of a user a sync created or changed, in that change's transaction; the message names the source."""
    shown = USER.mask(user, may_manage=False)
    action = Action(name=name, request=origin.request, principal=origin.principal,
                    organization=str(user.get("owner") or ""), subject=shown, object=shown)
    await record(db, action, outcome="ok", status_code=200, message=message)


async def commit_with_events(state: Any, db: AsyncSession) -> None:
    await notify_workers(db)
    await db.commit()
    state.wakeup.notify()


def _validated_user(user: dict[str, Any]) -> dict[str, Any]:
    try:
        data = USER.model.model_validate(user).model_dump()
    except ValidationError as exc:
        raise BadRequest(validation_message(exc)) from None
    if not data.get("name"):
        raise BadRequest("invalid field name: the row gives the user no name")
    return data


def _as_field(casdoor_name: str, value: str, avatar_base: str) -> Any:
    kind_of = USER_FIELDS[casdoor_name]
    if casdoor_name == "Address":
        return [value] if value else []
    if casdoor_name == "Avatar":
        return _full_avatar(value, avatar_base)
    if kind_of is bool:
        return value.strip().lower() in ("1", "true", "t", "yes", "y")
    if kind_of is int:
        try:
            return int(value.strip() or 0)
        except ValueError:
            return 0
    return value


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    return str(value)


def _typed(column: TableColumn | None, value: Any) -> Any:
    """A value for the source's column, by the column's declared type (Casdoor's "string", "integer", "boolean")."""
    kind_of = (column.type if column else "string").lower()
    if kind_of in ("integer", "int", "number"):
        try:
            return int(value or 0)
        except ValueError:
            return 0
    if kind_of in ("boolean", "bool"):
        return str(value).lower() in ("1", "true", "t", "yes")
    return value


def _full_avatar(avatar: str, base: str) -> str:
    return f"{base}{avatar}" if base and avatar and not avatar.startswith("http") else avatar


def _partial_avatar(avatar: str, base: str) -> str:
    return avatar[len(base):] if base and avatar.startswith(base) else avatar


# ---- running a source, once at a time -------------------------------------------------------------

def syncer_key(syncer: Mapping[str, Any]) -> str:
    return f"{syncer.get('owner', '')}/{syncer.get('name', '')}"


async def run_once(state: Any, syncer: dict[str, Any], origin: Origin) -> RunReport:
    """One run now, under the syncer's lock (refused while another process runs it)."""
    key = syncer_key(syncer)
    async with repository.run_lock(state.engine, f"syncer:{key}") as held:
        if not held:
            raise Conflict(f"syncer {key} is running already")
        return await _run_and_keep(state, syncer, origin)


async def run_if_due(state: Any, syncer: dict[str, Any], origin: Origin) -> RunReport | None:
    """The scheduler's run: only if no process ran the syncer within its interval (checked under the lock)."""
    key = syncer_key(syncer)
    async with repository.run_lock(state.engine, f"syncer:{key}") as held:
        if not held:
            return None
        async with state.sessionmaker() as db:
            last = await repository.last_run(db, "syncer", key)
            await db.rollback()
        if not is_due(last, syncer.get("syncInterval") or 0):
            return None
        return await _run_and_keep(state, syncer, origin)


def is_due(last: Mapping[str, Any] | None, interval_seconds: float) -> bool:
    if interval_seconds <= 0:
        return False
    if last is None:
        return True  # as Casdoor, a syncer runs as soon as it is enabled
    return (repository.now() - last["started_at"]).total_seconds() >= interval_seconds


async def _run_and_keep(state: Any, syncer: dict[str, Any], origin: Origin) -> RunReport:
    key = syncer_key(syncer)
    started = repository.now()
    await _save_run(state, key, started, "running", {})
    try:
        report = await DatabaseSync(state, syncer, origin).run()
    except Exception as exc:  # kept as the run's error whatever it is, then raised on
        await _save_run(state, key, started, "failed", {}, getattr(exc, "message", "") or type(exc).__name__)
        raise
    outcome = "failed" if report.failed else "ok"
    await _save_run(state, key, started, outcome, report.as_dict(), "\n".join(report.failed))
    return report


async def _save_run(state: Any, key: str, started: Any, outcome: str, counts: dict[str, Any], error: str = "") -> None:
    async with state.sessionmaker() as db:
        finished = None if outcome == "running" else repository.now()
        await repository.save_run(db, "syncer", key, started_at=started, outcome=outcome, counts=counts,
                                  error=error, finished_at=finished)
        await db.commit()


async def last_run_of(db: AsyncSession, syncer: Mapping[str, Any]) -> dict[str, Any] | None:
    return await repository.last_run(db, "syncer", syncer_key(syncer))

