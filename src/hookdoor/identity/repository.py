"""SQL for the identity objects: one generic repository over the registry-generated tables."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    null,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.direct import DirectSelect, DirectStatement
from hookdoor.db.tables import KIND_TABLES, lookup_column_name
from hookdoor.errors import BadRequest
from hookdoor.identity.registry import BUILT_IN_ORG, GLOBAL_OWNER, ResourceKind, kind

FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
SORT_ORDERS = {"ascend": "asc", "descend": "desc", "": "desc"}
# camelCase fields that live in real columns rather than the JSON document.
COLUMN_FIELDS = {"owner": "owner", "name": "name", "createdTime": "created_time", "updatedTime": "updated_time"}


@dataclass(frozen=True)
class ListQuery:
    owner: str | None = None
    organization: str | None = None  # restricts to one organization's objects (authorization)
    field: str = ""
    value: str = ""
    sort_field: str = ""
    sort_order: str = ""
    page: int | None = None
    page_size: int | None = None
    equals: Mapping[str, str] | None = None  # exact JSON field matches (e.g. groups' parentId)


@dataclass(frozen=True)
class StoredObject:
    data: dict[str, Any]
    private: dict[str, Any]


@dataclass(frozen=True)
class _KeyedStatements:
    """One table's statements on a row named by its key, built and compiled once (see db/direct.py).
    The key's parameters are ``key_owner``/``key_name``, names no column has, so that the SET clause
    of ``replace`` takes the row's columns unambiguously."""

    get: DirectSelect
    exists: DirectSelect
    delete: DirectStatement

    @classmethod
    def of(cls, table: Table) -> _KeyedStatements:
        is_key = _is_key(table)
        return cls(
            get=DirectSelect(select(table).where(is_key).limit(1)),
            exists=DirectSelect(select(func.count().label("count")).select_from(table).where(is_key)),
            delete=DirectStatement(delete(table).where(is_key)),
        )


def _is_key(table: Table) -> ColumnElement[bool]:
    return and_(table.c.owner == bindparam("key_owner"), table.c.name == bindparam("key_name"))


@functools.cache
def _keyed_statements(table: Table) -> _KeyedStatements:
    return _KeyedStatements.of(table)


@functools.cache
def _insert_statement(table: Table, columns: tuple[str, ...]) -> DirectStatement:
    return DirectStatement(insert(table), columns)


@functools.cache
def _replace_statement(table: Table, columns: tuple[str, ...]) -> DirectStatement:
    """UPDATE of the given columns of the row named by :key_owner/:key_name."""
    return DirectStatement(update(table).where(_is_key(table)), columns)


@functools.cache
def _claim_statement(table: Table, column: str) -> DirectStatement:
    return DirectStatement(update(table).where(_is_key(table), table.c[column].is_not(None)).values({column: null()}))


@functools.cache
def _find_statement(table: Table, column: str, with_owner: bool) -> DirectSelect:
    """The first row whose ``column`` holds :value (and, if asked, whose owner is :key_owner)."""
    statement = select(table).where(table.c[column] == bindparam("value"))
    if with_owner:
        statement = statement.where(table.c.owner == bindparam("key_owner"))
    return DirectSelect(statement.limit(1))


@functools.cache
def _held_by_another_statement(table: Table, column: str) -> DirectSelect:
    """Whether a row other than :key_owner/:key_name holds :value in ``column``."""
    return DirectSelect(select(table.c.name).where(table.c[column] == bindparam("value"), ~_is_key(table)).limit(1))


def _key(owner: str, name: str) -> dict[str, str]:
    return {"key_owner": owner, "key_name": name}


class ObjectRepository:
    """Reads and writes one resource kind. It never commits: the request owns the transaction."""

    def __init__(self, session: AsyncSession, kind: ResourceKind) -> None:
        self.session = session
        self.kind = kind
        self.table = KIND_TABLES[kind.singular]
        self.statements = _keyed_statements(self.table)

    def _field_expression(self, field: str, parameter: str = "field") -> ColumnElement[Any]:
        if not FIELD_NAME.match(field):
            # Name the query parameter that carried it: "field" and "sortField" both end up here.
            raise BadRequest(f"invalid parameter {parameter}: {field!r} is not a field name")
        if field in COLUMN_FIELDS:
            return self.table.c[COLUMN_FIELDS[field]]
        if field in self.kind.lookup_columns:
            return self.table.c[lookup_column_name(field)]
        return self.table.c.data[field].as_string()

    def _conditions(self, query: ListQuery) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if query.owner:
            conditions.append(self.table.c.owner == query.owner)
        if query.organization is not None:
            conditions.append(self.table.c.organization == query.organization)
        if query.field and query.value:
            expression = self._field_expression(query.field)
            conditions.append(expression.contains(query.value, autoescape=True))
        for field, value in (query.equals or {}).items():
            conditions.append(self._field_expression(field) == value)
        return conditions

    async def list(self, query: ListQuery) -> tuple[list[dict[str, Any]], int | None]:
        where = and_(True, *self._conditions(query))
        order_column = self._field_expression(query.sort_field or "createdTime", "sortField")
        if query.sort_order not in SORT_ORDERS:
            raise BadRequest("sortOrder must be 'ascend' or 'descend'")
        ordering = order_column.asc() if SORT_ORDERS[query.sort_order] == "asc" else order_column.desc()
        statement = select(self.table.c.data).where(where).order_by(ordering, self.table.c.name)
        total = None
        if query.page is not None and query.page_size is not None:
            total = await self.session.scalar(select(func.count()).select_from(self.table).where(where))
            statement = statement.limit(query.page_size).offset((query.page - 1) * query.page_size)
        rows = (await self.session.execute(statement)).scalars().all()
        return [dict(row) for row in rows], total

    async def get(self, owner: str, name: str) -> dict[str, Any] | None:
        stored = await self.get_stored(owner, name)
        return stored.data if stored else None

    async def get_stored(self, owner: str, name: str) -> StoredObject | None:
        row = await self.statements.get.first(self.session, **_key(owner, name))
        return self._stored(row) if row else None

    async def find_by(self, field: str, value: str, owner: str | None = None) -> StoredObject | None:
        # A lookup field's indexed column, or else a private column (e.g. access_token_hash).
        column = lookup_column_name(field) if field in self.kind.lookup_columns else field
        statement = _find_statement(self.table, column, with_owner=bool(owner))
        parameters = {"value": value, "key_owner": owner} if owner else {"value": value}
        row = await statement.first(self.session, **parameters)
        return self._stored(row) if row else None

    async def held_by_another(self, field: str, value: str, owner: str, name: str) -> bool:
        """Does an object other than ``owner/name`` have ``value`` in the lookup field ``field``?"""
        statement = _held_by_another_statement(self.table, lookup_column_name(field))
        return await statement.first(self.session, value=value, **_key(owner, name)) is not None

    async def exists(self, owner: str, name: str) -> bool:
        row = await self.statements.exists.first(self.session, **_key(owner, name))
        return bool(row and row["count"])

    async def insert(self, data: dict[str, Any], private: Mapping[str, Any] | None = None) -> None:
        row = {**self._row(data), **(private or {})}
        await _insert_statement(self.table, tuple(row)).execute(self.session, row)

    async def replace(
        self, owner: str, name: str, data: dict[str, Any], private: Mapping[str, Any] | None = None
    ) -> bool:
        row = {**self._row(data), **(private or {})}
        statement = _replace_statement(self.table, tuple(row))
        return await statement.execute(self.session, {**row, **_key(owner, name)}) > 0

    async def claim(self, owner: str, name: str, column: str) -> bool:
        """Clear the private ``column`` of ``owner/name`` if it is still set; True for the one caller
        that did. Two transactions racing for a one-time credential both read it as unused; only one
        of them gets this row (PostgreSQL makes the second wait for the first and then finds nothing)."""
        statement = _claim_statement(self.table, column)
        return await statement.execute(self.session, _key(owner, name)) > 0

    async def delete(self, owner: str, name: str) -> bool:
        return await self.statements.delete.execute(self.session, _key(owner, name)) > 0

    async def delete_where(self, **private_equals: Any) -> int:
        conditions = [self.table.c[column] == value for column, value in private_equals.items()]
        result = await self.session.execute(delete(self.table).where(*conditions))
        return result.rowcount

    def _row(self, data: dict[str, Any]) -> dict[str, Any]:
        row = {
            "owner": data["owner"],
            "name": data["name"],
            "organization": self.kind.organization_of(data),
            "created_time": data.get("createdTime") or "",
            "updated_time": data.get("updatedTime") or "",
            "data": data,
        }
        for field in self.kind.lookup_columns:
            value = data.get(field)
            row[lookup_column_name(field)] = str(value)[:255] if value not in (None, "") else None
        return row

    def _stored(self, row: Mapping[str, Any]) -> StoredObject:
        standard = {"owner", "name", "organization", "created_time", "updated_time", "data"}
        private = {
            key: value for key, value in row.items()
            if key not in standard and not key.startswith("lk_")
        }
        return StoredObject(data=dict(row["data"]), private=private)


async def application_of_user(session: AsyncSession, user: Mapping[str, Any]) -> dict[str, Any] | None:
    """Casdoor's GetApplicationByUser: the application a user signs in through when none is named — the
    one they signed up with, else their organization's default one, else (the built-in organization)
    the built-in application, else their organization's first. Never another organization's."""
    applications = ObjectRepository(session, kind("application"))
    organization = await ObjectRepository(session, kind("organization")).get(GLOBAL_OWNER, user["owner"]) or {}
    names = [user.get("signupApplication"), organization.get("defaultApplication"),
             "app-built-in" if user["owner"] == BUILT_IN_ORG else ""]
    for name in filter(None, names):
        application = await applications.get(GLOBAL_OWNER, str(name))
        if application is not None and application.get("organization") == user["owner"]:
            return application
    first, _ = await applications.list(ListQuery(organization=user["owner"], sort_field="createdTime",
                                                 sort_order="ascend", page=1, page_size=1))
    return first[0] if first else None
