"""The inspector's console: create bins, watch arrivals live (Server-Sent Events), verify signatures,
and point a new webhook at a bin in one click.

Bins are no Casdoor object, so their forms record no event; the one-click webhook is a real
add-webhook, through ObjectService, in the API's unit of work.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hookdoor.console.identity_pages import organization_names
from hookdoor.console.live import sse
from hookdoor.console.web import (
    TEMPLATES,
    ConsoleRoute,
    CsrfRefused,
    acting,
    changing,
    field_of,
    read_form,
    redirect,
    render,
    segment,
    viewing,
)
from hookdoor.db.types import utcnow
from hookdoor.errors import BadRequest, HookdoorError, NotAuthenticated
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ListQuery
from hookdoor.identity.service import ObjectService, parse_id
from hookdoor.inspector.live import ARRIVALS
from hookdoor.inspector.repository import BinRepository
from hookdoor.inspector.service import DEFAULT_LIFETIME_HOURS, MAX_LIFETIME_HOURS, Inspector, verification_secrets
from hookdoor.inspector.signatures import badge
from hookdoor.webhooks.config import DEFAULT_EVENTS

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
STREAM_SECONDS = 15.0  # then the browser reconnects (and is authorized again) by itself
# Captures made by another process are found by polling: on two cores `serve`'s worker is its child
# process, and it hands the deliveries to this server's bins (test events among them) to the inspector.
POLL_SECONDS = 0.5
KEEP_ALIVE_SECONDS = 5.0


def bin_path(bin_id: str, tail: str = "") -> str:
    return f"/console/inspector/{segment(bin_id)}{tail}"


def arrival_view(row: dict[str, Any], secrets: list[str]) -> dict[str, Any]:
    """A captured request as shown: its body pretty-printed when it is JSON or a form."""
    shown, kind_of_body = row["body"], "text"
    if row["body_base64"]:
        kind_of_body = "base64"
    elif shown.strip():
        try:
            shown, kind_of_body = json.dumps(json.loads(shown), indent=2, ensure_ascii=False), "json"
        except ValueError:
            pairs = parse_qsl(shown, keep_blank_values=True)
            if pairs and "=" in shown and "\n" not in shown.strip():
                shown, kind_of_body = "\n".join(f"{k} = {v}" for k, v in pairs), "form"
    kept = len(base64.b64decode(row["body"])) if row["body_base64"] else len(row["body"].encode())
    return {**row, "shown_body": shown, "body_kind": kind_of_body, "kept_bytes": kept,
            "badge": badge(row, secrets) if secrets else None}


def render_arrival(row: dict[str, Any], secrets: list[str]) -> str:
    return TEMPLATES.get_template("inspector/_arrival.html").render(arrival=arrival_view(row, secrets))


# ---- bins ---------------------------------------------------------------------------------------

async def _list_page(request: Request, error: HookdoorError | None = None,
                     values: dict[str, Any] | None = None) -> Response:
    async with viewing(request) as context:
        bins = await Inspector(context).list()
        counts = await BinRepository(context.db).request_counts([b["id"] for b in bins])
        return render(
            request, "inspector/list.html", status_code=error.status_code if error else 200, bins=bins,
            counts=counts,
            organizations=await organization_names(context, managed=True),
            values=values or {"organization": context.principal.organization, "hours": DEFAULT_LIFETIME_HOURS},
            max_hours=MAX_LIFETIME_HOURS, error=error.message if error else None,
            error_field=field_of(error.message) if error else None, active="inspector",
        )


@router.get("/console/inspector")
async def list_bins(request: Request) -> Response:
    return await _list_page(request)


@router.post("/console/inspector")
async def create_bin(request: Request) -> Response:
    form = await read_form(request)
    values = {name: str(form.get(name) or "").strip() for name in ("organization", "label", "hours", "then")}
    try:
        async with changing(request, form) as context:
            try:
                hours = int(values["hours"] or DEFAULT_LIFETIME_HOURS)
            except ValueError:
                raise BadRequest("invalid field hours: must be a whole number of hours") from None
            organization = values["organization"] or context.principal.organization
            created = await Inspector(context).create(organization, values["label"], hours)
    except HookdoorError as exc:
        if isinstance(exc, NotAuthenticated | CsrfRefused):
            raise
        return await _list_page(request, exc, values)
    if values["then"] == "webhook":
        return redirect("/console/webhooks/new", url=created["url"], organization=created["organization"])
    return redirect(bin_path(created["id"]), notice="bin-created")


@router.get("/console/inspector/{bin_id}")
async def show_bin(request: Request, bin_id: str) -> Response:
    async with viewing(request) as context:
        inspector = Inspector(context)
        found = await inspector.get(bin_id)
        webhook = await inspector.linked_webhook(found)
        secrets = verification_secrets(webhook)
        rows = await inspector.arrivals(found)
        webhooks, _ = await ObjectService(context, kind("webhook")).list(
            ListQuery(sort_field="name", sort_order="ascend", page=1, page_size=200)
        )
        return render(
            request, "inspector/show.html", bin=found, webhook=webhook, arrivals=[arrival_view(r, secrets)
                                                                                    for r in rows],
            latest=max((r["id"] for r in rows), default=0),
            count=await BinRepository(context.db).count_requests(found["id"]),
            webhooks=[w for w in webhooks if context.principal.manages(kind("webhook").organization_of(w))],
            default_events=DEFAULT_EVENTS, active="inspector",
        )


@router.post("/console/inspector/{bin_id}/link")
async def link_webhook(request: Request, bin_id: str) -> Response:
    form = await read_form(request)
    async with changing(request, form) as context:
        inspector = Inspector(context)
        found = await inspector.get(bin_id)
        chosen = str(form.get("webhook") or "")
        await inspector.link(found, parse_id(chosen) if chosen else None)
    return redirect(bin_path(bin_id), notice="linked")


@router.post("/console/inspector/{bin_id}/webhook")
async def create_webhook_for_bin(request: Request, bin_id: str) -> Response:
    """One click: a webhook of the bin's organization, pointing at the bin (add-webhook, as the API)."""
    form = await read_form(request)
    async with acting(request, "add-webhook", form) as context:
        found = await Inspector(context).get(bin_id)
        organization = found["organization"]
        body = {"owner": organization, "name": f"inspect-{found['id'][-8:].lower()}", "organization": organization,
                "url": found["url"], "events": list(DEFAULT_EVENTS),
                "displayName": f"Inspector bin {found['label'] or found['id']}"}
        await ObjectService(context, kind("webhook")).add(body)
    return redirect(bin_path(bin_id), notice="webhook-created")


@router.get("/console/inspector/{bin_id}/delete")
async def confirm_delete(request: Request, bin_id: str) -> Response:
    async with viewing(request) as context:
        found = await Inspector(context).get(bin_id)
        return render(request, "confirm_delete.html", what=f"inspector bin {found['label'] or found['id']}",
                      action=bin_path(bin_id, "/delete"), back=bin_path(bin_id), active="inspector",
                      warning="Its URL stops answering and every captured request is forgotten.")


@router.post("/console/inspector/{bin_id}/delete")
async def delete_bin(request: Request, bin_id: str) -> Response:
    form = await read_form(request)
    async with changing(request, form) as context:
        inspector = Inspector(context)
        await inspector.delete(await inspector.get(bin_id))
    return redirect("/console/inspector", notice="deleted")


# ---- live arrivals ------------------------------------------------------------------------------

async def arrival_stream(request: Request, found: dict[str, Any], secrets: list[str],
                         after: int) -> AsyncIterator[str]:
    """Arrivals after ``after`` as they come, for STREAM_SECONDS; the browser then reconnects."""
    sessionmaker = request.app.state.sessionmaker
    deadline = time.monotonic() + STREAM_SECONDS
    yield "retry: 1000\n\n"
    quiet_since = time.monotonic()
    with ARRIVALS.listening(found["id"]) as signal:
        while (left := deadline - time.monotonic()) > 0:
            if found["expires_at"] <= utcnow():
                yield sse("expired", "this bin has expired")
                return
            signal.clear()
            async with sessionmaker() as db:
                rows = await BinRepository(db).requests_after(found["id"], after, 20)
                await db.rollback()
            for row in rows:
                after = row["id"]
                yield sse("arrival", render_arrival(row, secrets), row["id"])
                quiet_since = time.monotonic()
            if not rows:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(signal.wait(), min(POLL_SECONDS, left))
                if time.monotonic() - quiet_since >= KEEP_ALIVE_SECONDS:
                    yield ": keep-alive\n\n"
                    quiet_since = time.monotonic()


def _after(request: Request) -> int:
    given = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    try:
        return max(0, int(given))
    except ValueError:
        return 0


@router.get("/console/inspector/{bin_id}/stream")
async def stream_bin(request: Request, bin_id: str) -> Response:
    async with viewing(request) as context:
        inspector = Inspector(context)
        found = await inspector.get(bin_id)
        secrets = verification_secrets(await inspector.linked_webhook(found))
    return StreamingResponse(
        arrival_stream(request, found, secrets, _after(request)), media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
