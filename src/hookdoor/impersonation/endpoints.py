"""impersonate-user and exit-impersonate-user (Casdoor's names; its form fields owner and name)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from hookdoor.api.context import ApiContext, api_context
from hookdoor.api.envelope import form_or_json, ok
from hookdoor.impersonation.service import ImpersonationService

router = APIRouter(prefix="/api", tags=["users"])
Context = Depends(api_context, scope="function")


@router.post("/impersonate-user")
async def impersonate_user(context: ApiContext = Context) -> dict[str, Any]:
    fields = await form_or_json(context.request)
    impersonation = await ImpersonationService(context).begin(fields.get("owner", ""), fields.get("name", ""))
    return ok(impersonation.model_dump())


@router.post("/exit-impersonate-user")
async def exit_impersonate_user(context: ApiContext = Context) -> dict[str, Any]:
    return ok((await ImpersonationService(context).end()).model_dump())
