"""Casdoor's generic routes, five per resource kind (and get-global-<plural> for the kinds Casdoor
lists across organizations), derived from the registry."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Query

from hookdoor.api.context import ApiContext, api_context
from hookdoor.api.envelope import affected, json_array, json_object, ok
from hookdoor.errors import BadRequest
from hookdoor.identity.registry import GLOBAL_OWNER, KINDS, ResourceKind
from hookdoor.identity.repository import ListQuery
from hookdoor.identity.service import ObjectService, parse_id

Context = Depends(api_context, scope="function")


def _body_spec(kind: ResourceKind) -> dict[str, Any]:
    schema = kind.model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _list_query(
    owner: str = Query("", max_length=100, description="Organization (or 'admin' for global kinds)"),
    p: int | None = Query(None, ge=1, le=1_000_000, description="1-based page; needs pageSize"),
    pageSize: int | None = Query(None, ge=1, le=1000),
    field: str = Query("", max_length=64, description="Field to filter on (substring match)"),
    value: str = Query("", max_length=200),
    sortField: str = Query("", max_length=64),
    sortOrder: str = Query("", pattern="^(ascend|descend|)$"),
) -> ListQuery:
    """Casdoor's list parameters, shared by get-<plural> and get-global-<plural>."""
    return ListQuery(
        owner=owner or None, field=field, value=value, sort_field=sortField, sort_order=sortOrder,
        page=p if pageSize else None, page_size=pageSize if p else None,
    )


ListParameters = Depends(_list_query)


def _list_route(kind: ResourceKind):  # type: ignore[no-untyped-def]
    async def list_objects(context: ApiContext = Context, query: ListQuery = ListParameters) -> dict[str, Any]:
        if kind.globally_owned and query.owner == GLOBAL_OWNER:
            query = replace(query, owner=None)
        items, total = await ObjectService(context, kind).list(query)
        return ok(items, total)

    list_objects.__name__ = f"get_{kind.plural}"
    return list_objects


def _global_list_route(kind: ResourceKind):  # type: ignore[no-untyped-def]
    async def list_global_objects(context: ApiContext = Context, query: ListQuery = ListParameters) -> dict[str, Any]:
        """Every organization's objects of this kind (Casdoor's get-global-<plural>)."""
        context.require_global_admin()
        items, total = await ObjectService(context, kind).list(replace(query, owner=None))
        return ok(items, total)

    list_global_objects.__name__ = f"get_global_{kind.plural}"
    return list_global_objects


def _get_route(kind: ResourceKind):  # type: ignore[no-untyped-def]
    async def get_object(
        context: ApiContext = Context,
        id: str = Query("", max_length=201, description="owner/name"),
        owner: str = Query("", max_length=100),
        email: str = Query("", max_length=255),
        phone: str = Query("", max_length=50),
        userId: str = Query("", max_length=100),
    ) -> dict[str, Any]:
        service = ObjectService(context, kind)
        lookups = {"email": email, "phone": phone, "id": userId}
        field = next((name for name, given in lookups.items() if given and name in kind.lookup_columns), None)
        if field is not None:
            obj = await service.get_by(field, lookups[field], owner)
        elif id:
            obj = await service.get(*parse_id(id))
        else:
            raise BadRequest("the id parameter ('owner/name') is required")
        return ok(obj)

    get_object.__name__ = f"get_{kind.singular}"
    return get_object


def _add_route(kind: ResourceKind):  # type: ignore[no-untyped-def]
    async def add_object(context: ApiContext = Context) -> dict[str, Any]:
        await ObjectService(context, kind).add(await json_object(context.request))
        return affected(True)

    add_object.__name__ = f"add_{kind.singular}"
    return add_object


def _update_route(kind: ResourceKind):  # type: ignore[no-untyped-def]
    async def update_object(
        context: ApiContext = Context,
        id: str = Query(..., max_length=201, description="owner/name of the object to update"),
        columns: str = Query("", max_length=1000, description="Comma-separated fields to update"),
    ) -> dict[str, Any]:
        owner, name = parse_id(id)
        fields = [c.strip() for c in columns.split(",") if c.strip()] or None
        body = await json_object(context.request)
        changed = await ObjectService(context, kind).update(owner, name, body, fields)
        return affected(changed)

    update_object.__name__ = f"update_{kind.singular}"
    return update_object


def _batch_update_route(kind: ResourceKind):  # type: ignore[no-untyped-def]
    async def update_objects(context: ApiContext = Context) -> dict[str, Any]:
        changed = await ObjectService(context, kind).update_many(await json_array(context.request))
        return affected(bool(changed))

    update_objects.__name__ = f"update_{kind.plural}"
    return update_objects


def _delete_route(kind: ResourceKind):  # type: ignore[no-untyped-def]
    async def delete_object(context: ApiContext = Context) -> dict[str, Any]:
        deleted = await ObjectService(context, kind).delete(await json_object(context.request))
        return affected(deleted)

    delete_object.__name__ = f"delete_{kind.singular}"
    return delete_object


def add_routes(router: APIRouter, prefix: str = "/api") -> None:
    """Add every kind's routes to ``router``: the app's own router, so that a call is matched
    against each route once (FastAPI matches the routes of an included router twice per call, at
    a cost that grows with their number, and this router has five per kind)."""
    for kind in KINDS:
        tags = [kind.plural]
        router.add_api_route(f"{prefix}/get-{kind.plural}", _list_route(kind), methods=["GET"], tags=tags)
        router.add_api_route(f"{prefix}/get-{kind.singular}", _get_route(kind), methods=["GET"], tags=tags)
        if kind.listed_globally:
            router.add_api_route(f"{prefix}/get-global-{kind.plural}", _global_list_route(kind), methods=["GET"],
                                 tags=tags)
        if kind.updated_in_batch:
            schema = {"type": "array", "items": kind.model.model_json_schema()}
            router.add_api_route(
                f"{prefix}/update-{kind.plural}", _batch_update_route(kind), methods=["POST"], tags=tags,
                openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}},
            )
        for verb, factory in (("add", _add_route), ("update", _update_route), ("delete", _delete_route)):
            router.add_api_route(
                f"{prefix}/{verb}-{kind.singular}", factory(kind), methods=["POST"], tags=tags,
                openapi_extra=_body_spec(kind),
            )
