"""Casdoor's lookup routes over users, organizations, applications, records and sessions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from hookdoor.api.context import ApiContext, api_context, unit_of_work
from hookdoor.api.envelope import affected, json_object, ok
from hookdoor.directory.schemas import online_filter
from hookdoor.directory.service import DirectoryService, look_up_domain_expiry
from hookdoor.identity.endpoints import ListParameters
from hookdoor.identity.repository import ListQuery

router = APIRouter(prefix="/api", tags=["directory"])
Context = Depends(api_context, scope="function")
Owner = Query("", max_length=100, description="The organization")


@router.get("/get-user-count", tags=["users"])
async def get_user_count(
    context: ApiContext = Context, owner: str = Owner,
    isOnline: str = Query("", max_length=1, description="'' every user, '1' online, '0' offline"),
) -> dict[str, Any]:
    return ok(await DirectoryService(context).user_count(owner, online_filter(isOnline)))


@router.get("/get-sorted-users", tags=["users"])
async def get_sorted_users(
    context: ApiContext = Context, owner: str = Owner,
    sorter: str = Query("created_time", max_length=64, description="The field to sort by, descending"),
    limit: int = Query(0, ge=0, le=10_000, description="How many users; 0 for all"),
) -> dict[str, Any]:
    return ok(await DirectoryService(context).sorted_users(owner, sorter, limit))


@router.get("/get-organization-names", tags=["organizations"])
async def get_organization_names(context: ApiContext = Context, owner: str = Owner) -> dict[str, Any]:
    names = await DirectoryService(context).organization_names()
    return ok([name.model_dump() for name in names])


@router.get("/get-default-application", tags=["applications"])
async def get_default_application(
    context: ApiContext = Context, id: str = Query(..., max_length=201, description="admin/<organization>")
) -> dict[str, Any]:
    return ok(await DirectoryService(context).default_application(id))


@router.get("/get-organization-applications", tags=["applications"])
async def get_organization_applications(
    context: ApiContext = Context, organization: str = Query("", max_length=100),
    query: ListQuery = ListParameters,
) -> dict[str, Any]:
    applications, total = await DirectoryService(context).organization_applications(organization, query)
    return ok(applications, total)


@router.get("/get-user-application", tags=["applications"])
async def get_user_application(
    context: ApiContext = Context, id: str = Query(..., max_length=201, description="owner/name of the user")
) -> dict[str, Any]:
    return ok(await DirectoryService(context).user_application(id))


@router.post("/get-records-filter", tags=["records"])
async def get_records_filter(context: ApiContext = Context) -> dict[str, Any]:
    """Records whose fields equal those of the record in the body (empty fields match anything)."""
    return ok(await DirectoryService(context).records_like(await json_object(context.request)))


@router.get("/is-session-duplicated", tags=["sessions"])
async def is_session_duplicated(
    context: ApiContext = Context,
    sessionPkId: str = Query(..., max_length=302, description="owner/name/application of the session"),
    sessionId: str = Query("", max_length=200, description="The browser session to compare with"),
) -> dict[str, Any]:
    return ok(await DirectoryService(context).is_session_duplicated(sessionPkId, sessionId))


@router.post("/update-cert-domain-expire", tags=["certs"])
async def update_cert_domain_expire(
    request: Request, id: str = Query(..., max_length=201, description="owner/name of the cert (its domain)")
) -> dict[str, Any]:
    """The cert's domainExpireTime from WHOIS. The lookup runs before the call's unit of work
    opens (it may take seconds), which then stores the answer and records the event."""
    lookup = await look_up_domain_expiry(request, id)
    async with unit_of_work(request, "update-cert-domain-expire") as context:
        changed = await DirectoryService(context).store_domain_expiry(id, lookup)
    return affected(changed)
