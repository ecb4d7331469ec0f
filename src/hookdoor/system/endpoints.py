"""Health, metrics, the dashboards and the server's facts (Casdoor's System API)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hookdoor.api.context import ApiContext, api_context
from hookdoor.api.envelope import ok
from hookdoor.system.service import SystemService, require_metrics_reader

router = APIRouter(prefix="/api", tags=["system"])
Context = Depends(api_context, scope="function")
Owner = Query("", max_length=100, description="The organization, or 'All' (global administrators)")


@router.get("/health")
async def health(context: ApiContext = Context) -> dict[str, Any]:
    return ok()


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(context: ApiContext = Context) -> PlainTextResponse:
    require_metrics_reader(context)
    registry = context.request.app.state.metrics_registry
    return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/get-dashboard")
async def get_dashboard(context: ApiContext = Context, owner: str = Owner) -> dict[str, Any]:
    return ok(await SystemService(context).dashboard(owner))


@router.get("/get-dashboard-providers")
async def get_dashboard_providers(context: ApiContext = Context, owner: str = Owner) -> dict[str, Any]:
    counts = await SystemService(context).provider_distribution(owner)
    return ok([count.model_dump() for count in counts])


@router.get("/get-dashboard-mfa")
async def get_dashboard_mfa(context: ApiContext = Context, owner: str = Owner) -> dict[str, Any]:
    return ok((await SystemService(context).mfa_coverage(owner)).model_dump())


@router.get("/get-dashboard-heatmap")
async def get_dashboard_heatmap(context: ApiContext = Context, owner: str = Owner) -> dict[str, Any]:
    return ok((await SystemService(context).login_heatmap(owner)).model_dump())


@router.get("/get-system-info")
async def get_system_info(context: ApiContext = Context) -> dict[str, Any]:
    return ok(SystemService(context).system_info().model_dump())


@router.get("/get-version-info")
async def get_version_info(context: ApiContext = Context) -> dict[str, Any]:
    return ok(SystemService(context).version_info().model_dump())


@router.get("/get-prometheus-info")
async def get_prometheus_info(context: ApiContext = Context) -> dict[str, Any]:
    info = SystemService(context).prometheus_info(context.request.app.state.http_metrics)
    return ok(info.model_dump())
