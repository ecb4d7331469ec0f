"""SQL for the identity objects: one generic repository over the registry-generated tables."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.tables import KIND_TABLES, lookup_column_name
from hookdoor.errors import BadRequest
from hookdoor.identity.registry import ResourceKind

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


class ObjectRepository:
    """Reads and writes one resource kind. It never commits: the request owns the transaction."""

    def __init__(self, session: AsyncSession, kind: ResourceKind) -> None:
        self.session = session
        self.kind = kind
        self.table = KIND_TABLES[kind.singular]

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
        row = (
            await self.session.execute(
                select(self.table).where(self.table.c.owner == owner, self.table.c.name == name)
            )
        ).mappings().first()
        return self._stored(row) if row else None

    async def find_by(self, field: str, value: str, owner: str | None = None) -> StoredObject | None:
        column = self.table.c[lookup_column_name(field)] if field in self.kind.lookup_columns else None
        if column is None:
            column = self.table.c[field]  # a private column, e.g. access_token_hash
        statement = select(self.table).where(column == value)
        if owner:
            statement = statement.where(self.table.c.owner == owner)
        row = (await self.session.execute(statement.limit(1))).mappings().first()
        return self._stored(row) if row else None

    async def exists(self, owner: str, name: str) -> bool:
        found = await self.session.scalar(
            select(func.count()).select_from(self.table).where(
                self.table.c.owner == owner, self.table.c.name == name
            )
        )
        return bool(found)

    async def insert(self, data: dict[str, Any], private: Mapping[str, Any] | None = None) -> None:
        await self.session.execute(insert(self.table).values(**self._row(data), **(private or {})))

    async def replace(
        self, owner: str, name: str, data: dict[str, Any], private: Mapping[str, Any] | None = None
    ) -> bool:
        result = await self.session.execute(
            update(self.table)
            .where(self.table.c.owner == owner, self.table.c.name == name)
            .values(**self._row(data), **(private or {}))
        )
        return result.rowcount > 0

    async def delete(self, owner: str, name: str) -> bool:
        result = await self.session.execute(
            delete(self.table).where(self.table.c.owner == owner, self.table.c.name == name)
        )
        return result.rowcount > 0

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
