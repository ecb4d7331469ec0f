"""Casdoor's Casbin routes: enforce and batch-enforce, an enforcer's policies, what a user may reach,
refresh-engines and run-casbin-command (evaluated in-process by pycasbin: no program is run)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request

from hookdoor.api.context import ApiContext, api_context
from hookdoor.api.envelope import affected, json_value, ok
from hookdoor.authz import commands
from hookdoor.authz.schemas import filters_from, request_values, requests_from, rule_from, rule_pair_from
from hookdoor.authz.service import AuthzService, Selector
from hookdoor.errors import BadRequest, Forbidden

router = APIRouter(prefix="/api", tags=["authz"])
Context = Depends(api_context, scope="function")


def _id() -> Any:
    """A fresh Query per parameter: FastAPI binds each one to its parameter's name."""
    return Query("", max_length=201, description="owner/name")


EDITOR_VERSION = "casbin-editor-v1"  # Casdoor's request identifier for the Casbin editor's calls
IDENTIFIER_WINDOW = timedelta(minutes=5)


def _body_spec(description: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": {}}}}}


def _selectors(**given: str) -> dict[str, str]:
    return {name: value for name, value in given.items() if value}


@router.post("/enforce", openapi_extra=_body_spec('a Casbin request, e.g. ["alice", "data1", "read"]'))
async def enforce(
    request: Request, context: ApiContext = Context, permissionId: str = _id(), modelId: str = _id(),
    resourceId: str = Query("", max_length=500), enforcerId: str = _id(), owner: str = Query("", max_length=100),
) -> dict[str, Any]:
    selector = Selector.one_of(_selectors(permissionId=permissionId, modelId=modelId, resourceId=resourceId,
                                          enforcerId=enforcerId, owner=owner))
    casbin_request = request_values(await json_value(request, "a Casbin request (a JSON list)"), "body")
    results, keys = await AuthzService(context).enforce(selector, casbin_request)
    context.action.concerns(obj={selector.name: selector.value, "results": results, "keys": keys})
    return ok(results, keys)


@router.post("/batch-enforce", openapi_extra=_body_spec("a list of Casbin requests"))
async def batch_enforce(
    request: Request, context: ApiContext = Context, permissionId: str = _id(), modelId: str = _id(),
    enforcerId: str = _id(), owner: str = Query("", max_length=100),
) -> dict[str, Any]:
    selector = Selector.one_of(_selectors(permissionId=permissionId, modelId=modelId, enforcerId=enforcerId,
                                          owner=owner), ("permissionId", "modelId", "enforcerId", "owner"))
    casbin_requests = requests_from(await json_value(request, "a list of Casbin requests"))
    results, keys = await AuthzService(context).batch_enforce(selector, casbin_requests)
    context.action.concerns(obj={selector.name: selector.value, "results": results, "keys": keys})
    return ok(results, keys)


# ---- what a user may reach ----------------------------------------------------------------------------

def _user_id(context: ApiContext, user_id: str) -> str:
    if user_id:
        return user_id
    principal = context.require_login()
    if principal.kind != "user":
        raise BadRequest("Missing parameter: userId")
    return f"{principal.organization}/{principal.name}"


@router.get("/get-all-objects")
async def get_all_objects(context: ApiContext = Context, userId: str = _id()) -> dict[str, Any]:
    service = AuthzService(context)
    return ok(await service.reachable(await service.user(_user_id(context, userId)), "objects"))


@router.get("/get-all-actions")
async def get_all_actions(context: ApiContext = Context, userId: str = _id()) -> dict[str, Any]:
    service = AuthzService(context)
    return ok(await service.reachable(await service.user(_user_id(context, userId)), "actions"))


@router.get("/get-all-roles")
async def get_all_roles(context: ApiContext = Context, userId: str = _id()) -> dict[str, Any]:
    service = AuthzService(context)
    roles = await service.roles_of(await service.user(_user_id(context, userId)))
    return ok([role["name"] for role in roles])


@router.get("/get-permissions-by-role")
async def get_permissions_by_role(context: ApiContext = Context, id: str = _id()) -> dict[str, Any]:
    if not id:
        raise BadRequest("Missing parameter: id (the role's owner/name)")
    found = await AuthzService(context).permissions_by_role(id)
    return ok(found, len(found))


@router.get("/get-permissions-by-submitter")
async def get_permissions_by_submitter(context: ApiContext = Context) -> dict[str, Any]:
    found = await AuthzService(context).permissions_by_submitter()
    return ok(found, len(found))


# ---- an enforcer's policies ------------------------------------------------------------------------

def _required(enforcer_id: str) -> str:
    if not enforcer_id:
        raise BadRequest("Missing parameter: id (the enforcer's owner/name)")
    return enforcer_id


@router.get("/get-policies")
async def get_policies(context: ApiContext = Context, id: str = _id(), adapterId: str = _id()) -> dict[str, Any]:
    service = AuthzService(context)
    if adapterId:
        await service.check_adapter(adapterId)  # Casdoor: connects to the adapter, answers nothing
        return ok()
    return ok(await service.policies(await service.enforcer(_required(id), "read the policies of enforcers")))


@router.post("/get-filtered-policies", openapi_extra=_body_spec("a list of filters {ptype, fieldIndex, fieldValues}"))
async def get_filtered_policies(request: Request, context: ApiContext = Context, id: str = _id()) -> dict[str, Any]:
    raw = await request.body()
    filters = filters_from(await json_value(request, "a list of filters") if raw.strip() else None)
    service = AuthzService(context)
    enforcer = await service.enforcer(_required(id), "read the policies of enforcers")
    return ok(await service.filtered_policies(enforcer, filters))


@router.post("/add-policy", openapi_extra=_body_spec("a policy {ptype, v0..v5}"))
async def add_policy(request: Request, context: ApiContext = Context, id: str = _id()) -> dict[str, Any]:
    rule = rule_from(await json_value(request, "a policy {ptype, v0..v5}"))
    service = AuthzService(context)
    enforcer = await service.enforcer(_required(id), "change the policies of enforcers")
    changed = await service.add_policy(enforcer, rule)
    return affected(changed)


@router.post("/update-policy", openapi_extra=_body_spec("a list of two policies: the old one and the new one"))
async def update_policy(request: Request, context: ApiContext = Context, id: str = _id()) -> dict[str, Any]:
    old, new = rule_pair_from(await json_value(request, "a list of two policies"))
    service = AuthzService(context)
    enforcer = await service.enforcer(_required(id), "change the policies of enforcers")
    changed = await service.update_policy(enforcer, old, new)
    return affected(changed)


@router.post("/remove-policy", openapi_extra=_body_spec("a policy {ptype, v0..v5}"))
async def remove_policy(request: Request, context: ApiContext = Context, id: str = _id()) -> dict[str, Any]:
    rule = rule_from(await json_value(request, "a policy {ptype, v0..v5}"))
    service = AuthzService(context)
    enforcer = await service.enforcer(_required(id), "change the policies of enforcers")
    changed = await service.remove_policy(enforcer, rule)
    return affected(changed)


# ---- the Casbin editor's routes -----------------------------------------------------------------------

def _check_identifier(hash_value: str, timestamp: str, raw: str) -> None:
    """Casdoor's request identifier: ``m`` = SHA-256 of "casbin-editor-v1|<t>[|params]", ``t`` within
    five minutes of now."""
    if not hash_value or not timestamp:
        raise BadRequest("invalid identifier")
    try:
        sent = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest("invalid identifier") from None
    if sent.tzinfo is None or abs(datetime.now(UTC) - sent) > IDENTIFIER_WINDOW:
        raise BadRequest("invalid identifier")
    expected = hashlib.sha256(raw.encode()).hexdigest()
    if expected != hash_value.lower():
        raise BadRequest("invalid identifier")


def _require_admin(context: ApiContext) -> None:
    principal = context.require_login()
    if not (principal.is_global_admin or principal.is_org_admin):
        raise Forbidden("Unauthorized operation")


@router.get("/run-casbin-command")
async def run_casbin_command(
    context: ApiContext = Context, language: str = Query("", max_length=20),
    args: str = Query("", max_length=200_000), m: str = Query("", max_length=64), t: str = Query("", max_length=40),
) -> dict[str, Any]:
    _require_admin(context)
    if not language or not args:
        raise BadRequest("invalid identifier")
    _check_identifier(m, t, f"{EDITOR_VERSION}|{t}|args={args}&language={language}")
    try:
        parsed = json.loads(args)
    except ValueError as exc:
        raise BadRequest(f"invalid parameter args: not a JSON list of strings ({exc})") from None
    if not isinstance(parsed, list) or not all(isinstance(a, str) for a in parsed):
        raise BadRequest("invalid parameter args: a JSON list of strings is expected")
    output = commands.run(parsed)
    context.action.concerns(obj={"language": language, "command": parsed[:1], "output": output[:1000]})
    return ok(output)


@router.post("/refresh-engines")
async def refresh_engines(
    context: ApiContext = Context, m: str = Query("", max_length=64), t: str = Query("", max_length=40),
) -> dict[str, Any]:
    if not context.require_login().is_global_admin:
        raise Forbidden("refresh-engines reloads every organization's enforcers: for global administrators only")
    _check_identifier(m, t, f"{EDITOR_VERSION}|{t}")
    await AuthzService(context).refresh()
    return ok("Engines refreshed: every process reloads its enforcers on its next request")
