"""Health and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hookdoor.api.context import ApiContext, api_context
from hookdoor.api.envelope import ok
from hookdoor.errors import Forbidden, NotAuthenticated
from hookdoor.identity.credentials import secrets_equal

router = APIRouter(prefix="/api", tags=["system"])
Context = Depends(api_context, scope="function")


@router.get("/health")
async def health(context: ApiContext = Context) -> dict[str, Any]:
    return ok()


def _may_read_metrics(context: ApiContext) -> bool:
    key = context.settings.metrics_key
    given = context.request.query_params.get("metricsKey") or context.request.headers.get("x-metrics-key", "")
    if key is not None and given and secrets_equal(given, key.get_secret_value()):
        return True
    return context.principal.is_global_admin


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(context: ApiContext = Context) -> PlainTextResponse:
    if not _may_read_metrics(context):
        if not context.principal.authenticated:
            raise NotAuthenticated()
        raise Forbidden("metrics are for global administrators or holders of the metrics key")
    registry = context.request.app.state.metrics_registry
    return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
