"""Where Casbin policy rules live, and the generation number that tells every process its cached
enforcers are stale.

An adapter keeps its rules in this database (``casbin_rules``, tagged with the adapter's id) unless
it names an external MySQL/MariaDB or PostgreSQL database, as Casdoor's adapters do (``databaseType``,
``host``, ``port``, ``user``, ``password``, ``database``, ``table``): there the rules are rows of
Casdoor's xorm-adapter table (``id, ptype, v0..v5``), created if missing.
"""

from __future__ import annotations

import asyncio
import re
import socket
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Column, Integer, MetaData, String, Table, and_, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, create_async_engine

from hookdoor.authz.schemas import MAX_FIELDS, PolicyRule, trimmed
from hookdoor.db.direct import DirectSelect
from hookdoor.db.tables import casbin_rules, server_state
from hookdoor.db.types import utcnow
from hookdoor.errors import BadRequest
from hookdoor.webhooks.target_guard import TargetPolicy, TargetRefused, check_address

GENERATION_KEY = "authz-generation"
DEFAULT_TABLE = "casbin_rule"  # Casdoor's xorm-adapter default
EXTERNAL_DRIVERS = {"mysql": "mysql+aiomysql", "mariadb": "mysql+aiomysql",
                    "postgres": "postgresql+asyncpg", "postgresql": "postgresql+asyncpg"}
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
CONNECT_TIMEOUT = 5.0
RULE_COLUMNS = tuple(f"v{i}" for i in range(MAX_FIELDS))


# ---- the generation: one value every change to authorization data replaces ---------------------

_GENERATION = DirectSelect(select(server_state.c.value).where(server_state.c.key == GENERATION_KEY))


async def current_generation(db: AsyncSession) -> str:
    """Read by every enforce: straight on SQLite's driver (db/direct.py)."""
    row = await _GENERATION.first(db)
    return (row or {}).get("value") or ""


async def new_generation(db: AsyncSession) -> None:
    """Replace the generation, in the caller's transaction: once it commits, every process's next
    enforce sees a value it has not cached and rebuilds (engines.py)."""
    values = {"key": GENERATION_KEY, "value": uuid.uuid4().hex, "updated_at": utcnow().timestamp()}
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(server_state).values(**values)
    await db.execute(statement.on_conflict_do_update(
        index_elements=[server_state.c.key], set_={"value": values["value"], "updated_at": values["updated_at"]}))


# ---- rule stores ---------------------------------------------------------------------------------

class RuleStore(Protocol):
    async def rules(self) -> list[tuple[int, PolicyRule]]: ...
    async def add(self, rule: PolicyRule) -> bool: ...
    async def remove(self, rule: PolicyRule) -> bool: ...
    async def replace(self, old: PolicyRule, new: PolicyRule) -> bool: ...


def _rule_of(row: Any) -> tuple[int, PolicyRule]:
    return row.id, PolicyRule(row.ptype, trimmed([getattr(row, c) or "" for c in RULE_COLUMNS]))


def _matching(table: Table, rule: PolicyRule) -> Any:
    return and_(table.c.ptype == rule.ptype, *(table.c[c] == v for c, v in zip(RULE_COLUMNS, rule.padded(),
                                                                                strict=True)))


def _values(rule: PolicyRule) -> dict[str, str]:
    return {"ptype": rule.ptype, **dict(zip(RULE_COLUMNS, rule.padded(), strict=True))}


class LocalRules:
    """An adapter's rules in this database, written in the request's transaction."""

    def __init__(self, db: AsyncSession, adapter_id: str) -> None:
        self.db = db
        self.adapter_id = adapter_id
        self.mine = casbin_rules.c.adapter == adapter_id

    async def rules(self) -> list[tuple[int, PolicyRule]]:
        rows = await self.db.execute(select(casbin_rules).where(self.mine).order_by(casbin_rules.c.id))
        return [_rule_of(row) for row in rows]

    async def _exists(self, rule: PolicyRule) -> bool:
        found = await self.db.scalar(select(casbin_rules.c.id).where(self.mine, _matching(casbin_rules, rule)).limit(1))
        return found is not None

    async def add(self, rule: PolicyRule) -> bool:
        if await self._exists(rule):
            return False
        await self.db.execute(insert(casbin_rules).values(adapter=self.adapter_id, **_values(rule)))
        return True

    async def add_many(self, rules: list[PolicyRule]) -> None:
        if rules:
            await self.db.execute(insert(casbin_rules), [{"adapter": self.adapter_id, **_values(r)} for r in rules])

    async def remove(self, rule: PolicyRule) -> bool:
        result = await self.db.execute(delete(casbin_rules).where(self.mine, _matching(casbin_rules, rule)))
        return result.rowcount > 0

    async def replace(self, old: PolicyRule, new: PolicyRule) -> bool:
        if old != new and await self._exists(new):
            return False
        statement = update(casbin_rules).where(self.mine, _matching(casbin_rules, old)).values(**_values(new))
        return (await self.db.execute(statement)).rowcount > 0

    async def remove_all(self) -> None:
        await self.db.execute(delete(casbin_rules).where(self.mine))

    async def move_to(self, adapter_id: str) -> None:
        await self.db.execute(update(casbin_rules).where(self.mine).values(adapter=adapter_id))


@dataclass(frozen=True)
class ExternalDatabase:
    """Casdoor's database-adapter fields, checked."""

    driver: str
    host: str
    port: int
    user: str
    password: str
    database: str
    table: str

    @classmethod
    def of(cls, adapter: dict[str, Any]) -> ExternalDatabase:
        database_type = str(adapter.get("databaseType") or "").lower()
        driver = EXTERNAL_DRIVERS.get(database_type)
        if driver is None:
            raise BadRequest(f"invalid field databaseType: {database_type!r} is not supported; use one of "
                             + ", ".join(sorted(EXTERNAL_DRIVERS)))
        port = adapter.get("port") or (5432 if driver.startswith("postgresql") else 3306)
        if isinstance(port, str) and port.strip().isdigit():
            port = int(port)  # as the console's form sends it
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise BadRequest("invalid field port: must be a TCP port number")
        if not adapter.get("database"):
            raise BadRequest("invalid field database: the external database's name is required")
        return cls(driver, str(adapter.get("host") or ""), port, str(adapter.get("user") or ""),
                   str(adapter.get("password") or ""), str(adapter["database"]), table_name(adapter))


def table_name(adapter: dict[str, Any]) -> str:
    name = str(adapter.get("table") or DEFAULT_TABLE)
    if not _TABLE_NAME.match(name):
        raise BadRequest(f"invalid field table: {name[:80]!r} is not a table name (letters, digits, _)")
    return name


def is_external(adapter: dict[str, Any]) -> bool:
    """Casdoor's ``useSameDb`` (or no database named) keeps the rules in this database."""
    return not adapter.get("useSameDb") and bool(adapter.get("host")) and bool(adapter.get("databaseType"))


def _rule_table(name: str) -> Table:
    return Table(name, MetaData(), Column("id", Integer, primary_key=True, autoincrement=True),
                 Column("ptype", String(100), nullable=False, default=""),
                 *(Column(c, String(100), nullable=False, default="") for c in RULE_COLUMNS))


async def _guarded_address(host: str, port: int, policy: TargetPolicy) -> str:
    """The address to connect to, resolved once and checked by the SSRF guard: no adapter reaches an
    internal address the operator did not allow (HOOKDOOR_WEBHOOK_ALLOW_TARGETS)."""
    if not host:
        raise BadRequest("invalid field host: the external database's host is required")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise BadRequest(f"adapter host {host!r} does not resolve: {exc}") from None
    address = str(infos[0][4][0])
    try:
        for info in infos:
            check_address(str(info[4][0]), policy, host)
    except TargetRefused as exc:
        raise BadRequest(f"invalid field host: {exc}") from None
    return address


class ExternalRules:
    """An adapter's rules in an external database, in a connection (and transaction) of their own."""

    def __init__(self, target: ExternalDatabase, policy: TargetPolicy) -> None:
        self.target = target
        self.policy = policy
        self.table = _rule_table(target.table)

    async def _run(self, work: Any) -> Any:
        target = self.target
        address = await _guarded_address(target.host, target.port, self.policy)
        url = URL.create(target.driver, username=target.user or None, password=target.password or None,
                         host=address, port=target.port, database=target.database)
        timeout = {"connect_timeout": int(CONNECT_TIMEOUT)} if target.driver.startswith("mysql") else \
            {"timeout": CONNECT_TIMEOUT}
        engine = create_async_engine(url, connect_args=timeout, pool_pre_ping=False)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(self.table.metadata.create_all)
                return await work(connection)
        except (SQLAlchemyError, OSError) as exc:
            # The driver's message, never the URL (which holds the password).
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
            raise BadRequest(f"the adapter's database {target.host}:{target.port}/{target.database} "
                             f"failed: {reason}") from None
        finally:
            await engine.dispose()

    async def rules(self) -> list[tuple[int, PolicyRule]]:
        async def read(connection: AsyncConnection) -> list[tuple[int, PolicyRule]]:
            rows = await connection.execute(select(self.table).order_by(self.table.c.id))
            return [_rule_of(row) for row in rows]
        return await self._run(read)

    async def add(self, rule: PolicyRule) -> bool:
        async def write(connection: AsyncConnection) -> bool:
            if await connection.scalar(select(self.table.c.id).where(_matching(self.table, rule)).limit(1)):
                return False
            await connection.execute(insert(self.table).values(**_values(rule)))
            return True
        return await self._run(write)

    async def remove(self, rule: PolicyRule) -> bool:
        async def write(connection: AsyncConnection) -> bool:
            return (await connection.execute(delete(self.table).where(_matching(self.table, rule)))).rowcount > 0
        return await self._run(write)

    async def replace(self, old: PolicyRule, new: PolicyRule) -> bool:
        async def write(connection: AsyncConnection) -> bool:
            if old != new and await connection.scalar(select(self.table.c.id).where(_matching(self.table, new))):
                return False
            statement = update(self.table).where(_matching(self.table, old)).values(**_values(new))
            return (await connection.execute(statement)).rowcount > 0
        return await self._run(write)


def rule_store(db: AsyncSession, adapter: dict[str, Any], policy: TargetPolicy) -> RuleStore:
    if is_external(adapter):
        return ExternalRules(ExternalDatabase.of(adapter), policy)
    return LocalRules(db, f"{adapter['owner']}/{adapter['name']}")
