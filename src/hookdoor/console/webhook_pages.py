"""Settings > Webhooks: the list, the add/edit form, a webhook's health and deliveries, an attempt's
detail, and the controls (resend, test event, recover, rotate, delete).

Reads and changes go through ObjectService and WebhookControl, as the API's routes do; each form
performs the API action of the same name and so records the same event.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from hookdoor.api.context import ApiContext
from hookdoor.console.forms import (
    CONTENT_TYPES,
    METHODS,
    PAYLOAD_FORMATS,
    WEBHOOK_DEFAULTS,
    event_groups,
    split_events,
    webhook_body,
)
from hookdoor.console.identity_pages import PAGE_SIZE, organization_names, page_number
from hookdoor.console.live import change_stream
from hookdoor.console.repository import delivery_version, health_of_webhooks, webhook_version
from hookdoor.console.web import (
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
from hookdoor.errors import BadRequest, Forbidden, HookdoorError, NotAuthenticated, NotFound
from hookdoor.events.catalog import CATALOG, unknown_selectors
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ListQuery
from hookdoor.identity.service import ObjectService
from hookdoor.inspector.service import DEFAULT_LIFETIME_HOURS, Inspector
from hookdoor.webhooks.control import WebhookControl, parse_time
from hookdoor.webhooks.health import HEALTH_WINDOW, DeliveryCounts, delivery_counts
from hookdoor.webhooks.repository import STATES, DeliveryQuery

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
WEBHOOKS = kind("webhook")
DELIVERIES_PER_PAGE = 25


def webhook_path(owner: str, name: str, tail: str = "") -> str:
    return f"/console/webhooks/{segment(owner)}/{segment(name)}{tail}"


def state_of(webhook: dict[str, Any], health: dict[str, Any] | None, counts: DeliveryCounts) -> tuple[str, str]:
    """(state, words): disabled, failing, healthy or new."""
    if not webhook.get("isEnabled"):
        reason = webhook.get("disabledReason") or "turned off"
        return "disabled", f"disabled: {reason}"
    if health and health.get("failure_streak"):
        return "failing", f"failing ({health['failure_streak']} in a row)"
    if counts.retrying:
        return "failing", f"failing ({counts.retrying} retrying)"
    if health and health.get("last_success_at"):
        return "healthy", "healthy"
    return "new", "no deliveries yet"


async def webhook_rows(context: ApiContext, webhooks: list[dict[str, Any]],
                       window: timedelta = HEALTH_WINDOW) -> list[dict[str, Any]]:
    """Webhooks with their state and delivery counts over ``window``, for the list and the dashboard."""
    keys = [(w["owner"], w["name"]) for w in webhooks]
    counts = await delivery_counts(context.db, keys, window)
    health = await health_of_webhooks(context.db, keys)
    rows = []
    for webhook in webhooks:
        key = (webhook["owner"], webhook["name"])
        state, words = state_of(webhook, health.get(key), counts[key])
        rows.append({"webhook": webhook, "state": state, "state_words": words, "health": health.get(key) or {},
                     "rate": counts[key].success_rate, "counts": counts[key]})
    return rows


def _refuse_foreign_filter(context: ApiContext, organization: str) -> None:
    if organization and not context.principal.manages(organization):
        raise Forbidden(f"you may not read webhooks of organization {organization!r}")


# ---- list ---------------------------------------------------------------------------------------

@router.get("/console/webhooks")
async def list_webhooks(request: Request) -> Response:
    params = request.query_params
    number, search = page_number(params.get("p")), params.get("q", "")[:200]
    organization = params.get("organization", "")[:100]
    async with viewing(request) as context:
        _refuse_foreign_filter(context, organization)
        query = ListQuery(field="url" if search else "", value=search, page=number, page_size=PAGE_SIZE,
                          equals={"organization": organization} if organization else None)
        items, total = await ObjectService(context, WEBHOOKS).list(query)
        return render(
            request, "webhooks/list.html", rows=await webhook_rows(context, items), total=total or 0,
            number=number, pages=max(1, -(-(total or 0) // PAGE_SIZE)), search=search, organization=organization,
            organizations=await organization_names(context, managed=True), active="webhooks",
        )


# ---- add and edit -------------------------------------------------------------------------------

def _form_values(webhook: dict[str, Any]) -> dict[str, Any]:
    values = {**WEBHOOK_DEFAULTS, **webhook}
    values["checked_events"], values["event_patterns"] = split_events(list(values.get("events") or []))
    return values


def _posted_values(form: FormData) -> dict[str, Any]:
    values = webhook_body(form, creating=True, global_admin=True)
    values["name"] = form.get("name") or ""
    for name in ("maxRetries", "retryInterval", "timeoutSeconds", "rateLimit", "maxConcurrency"):
        values[name] = form.get(name) or ""
    return _form_values(values)


async def _form_page(request: Request, *, values: dict[str, Any], webhook: dict[str, Any] | None,
                     error: HookdoorError | None = None, bin_made: dict[str, Any] | None = None) -> Response:
    async with viewing(request) as context:
        return render(
            request, "webhooks/form.html", status_code=error.status_code if error else 200, values=values,
            webhook=webhook, creating=webhook is None, groups=event_groups(), methods=METHODS, bin_made=bin_made,
            content_types=CONTENT_TYPES, payload_formats=PAYLOAD_FORMATS,
            organizations=await organization_names(context, managed=True),
            global_admin=context.principal.is_global_admin,
            error=error.message if error else None, error_field=_error_field(error, values) if error else None,
            active="webhooks",
        )


def _error_field(error: HookdoorError, values: dict[str, Any]) -> str | None:
    """The input to mark: an unknown event among the typed patterns marks the Patterns field."""
    field = field_of(error.message)
    if field == "events" and unknown_selectors(str(values.get("event_patterns") or "").split()):
        return "eventPatterns"
    return field


def _in_place(exc: HookdoorError) -> bool:
    return not isinstance(exc, NotAuthenticated | CsrfRefused)


@router.get("/console/webhooks/new")
async def new_webhook(request: Request) -> Response:
    async with viewing(request) as context:
        organization = request.query_params.get("organization") or context.principal.organization
    values = _form_values({"organization": organization, "url": request.query_params.get("url", "")})
    return await _form_page(request, values=values, webhook=None)


@router.post("/console/webhooks/new")
async def add_webhook(request: Request) -> Response:
    form = await read_form(request)
    try:
        async with acting(request, "add-webhook", form) as context:
            body = webhook_body(form, creating=True, global_admin=context.principal.is_global_admin)
            await ObjectService(context, WEBHOOKS).add(body)
    except HookdoorError as exc:
        if not _in_place(exc):
            raise
        return await _form_page(request, values=_posted_values(form), webhook=None, error=exc)
    return redirect(webhook_path(body["owner"], body["name"]), notice="created")


def bin_label(values: dict[str, Any]) -> str:
    """Which webhook the bin was made for, so the bin list tells them apart."""
    name = str(values.get("name") or "").strip()[:100]
    return f"for webhook {name}" if name else f"for a webhook of {values.get('organization') or 'built-in'}"


@router.post("/console/webhooks/new/bin")
async def add_webhook_with_new_bin(request: Request) -> Response:
    """"Use a new inspector bin": a bin made from the posted form, shown again with the bin's URL in it."""
    form = await read_form(request)
    values = _posted_values(form)
    try:
        async with changing(request, form) as context:
            organization = values["organization"] or context.principal.organization
            made = await Inspector(context).create(organization, bin_label(values), DEFAULT_LIFETIME_HOURS)
    except HookdoorError as exc:
        if not _in_place(exc):
            raise
        return await _form_page(request, values=values, webhook=None, error=exc)
    return await _form_page(request, values={**values, "url": made["url"]}, webhook=None, bin_made=made)


@router.get("/console/webhooks/{owner}/{name}/edit")
async def edit_webhook(request: Request, owner: str, name: str) -> Response:
    async with viewing(request) as context:
        webhook = await WebhookControl(context).managed_webhook(owner, name)
    return await _form_page(request, values=_form_values(webhook), webhook=webhook)


@router.post("/console/webhooks/{owner}/{name}/edit")
async def update_webhook(request: Request, owner: str, name: str) -> Response:
    form = await read_form(request)
    try:
        async with acting(request, "update-webhook", form) as context:
            await WebhookControl(context).managed_webhook(owner, name)
            body = webhook_body(form, creating=False, global_admin=context.principal.is_global_admin)
            await ObjectService(context, WEBHOOKS).update(owner, name, body, list(body))
    except HookdoorError as exc:
        if not _in_place(exc) or isinstance(exc, NotFound | Forbidden):
            raise
        async with viewing(request) as context:
            webhook = await WebhookControl(context).managed_webhook(owner, name)
        values = {**_posted_values(form), "name": name, "signingSecret": webhook.get("signingSecret")}
        return await _form_page(request, values=values, webhook=webhook, error=exc)
    return redirect(webhook_path(owner, name), notice="saved")


# ---- one webhook: health and deliveries ---------------------------------------------------------

def _moment(value: str, field: str) -> Any:
    """A datetime-local input's value is UTC (the form says so); an RFC 3339 time is taken as is."""
    value = value.strip()
    if value and len(value) <= 19 and "T" in value:
        value += "Z"
    return parse_time(value, field)


@router.get("/console/webhooks/{owner}/{name}")
async def show_webhook(request: Request, owner: str, name: str) -> Response:
    return await _show(request, owner, name)


async def _show(request: Request, owner: str, name: str, recover_error: str | None = None) -> Response:
    params = request.query_params
    filters = {key: params.get(key, "")[:40] for key in ("state", "event", "since", "until")}
    number = page_number(params.get("p"))
    async with viewing(request) as context:
        # Read before what the page shows: a change in between is then seen by the live stream (read
        # after, on PostgreSQL's read committed, it could already include a change the page misses).
        version = await webhook_version(context.db, owner, name)
        control = WebhookControl(context)
        health = await control.health(owner, name)
        webhook = await control.managed_webhook(owner, name)
        filter_error, rows, total = None, [], 0
        try:
            if filters["state"] and filters["state"] not in STATES:
                raise BadRequest(f"invalid parameter state: must be one of {', '.join(STATES)}")
            query = DeliveryQuery(
                webhook=(owner, name), state=filters["state"] or None, action=filters["event"] or None,
                since=_moment(filters["since"], "since"), until=_moment(filters["until"], "until"),
                page=number, page_size=DELIVERIES_PER_PAGE,
            )
            rows, total = await control.log(query)
        except BadRequest as exc:
            filter_error = exc.message
        [summary] = await webhook_rows(context, [webhook])
        live = {"stream": webhook_path(owner, name, "/live"), "version": version}
        return render(
            request, "webhooks/show.html", webhook=webhook, health=health, summary=summary, deliveries=rows, live=live,
            total=total or 0, number=number, pages=max(1, -(-(total or 0) // DELIVERIES_PER_PAGE)),
            filters=filters, filter_error=filter_error, states=STATES, event_names=[e.name for e in CATALOG],
            recover_error=recover_error, recovered=params.get("count"), active="webhooks",
            status_code=400 if recover_error else 200,
        )


async def _delivery_of(control: WebhookControl, owner: str, name: str, delivery_id: str) -> dict[str, Any]:
    detail = await control.detail(delivery_id)
    if detail["webhookName"] != f"{owner}/{name}":
        raise NotFound(f"delivery {delivery_id!r} does not belong to webhook {owner}/{name}")
    return detail


@router.get("/console/webhooks/{owner}/{name}/deliveries/{delivery_id}")
async def show_delivery(request: Request, owner: str, name: str, delivery_id: str) -> Response:
    async with viewing(request) as context:
        version = await delivery_version(context.db, delivery_id)  # first: see webhook_version above
        control = WebhookControl(context)
        detail = await _delivery_of(control, owner, name, delivery_id)
        webhook = await control.managed_webhook(owner, name)
        live = {"stream": webhook_path(owner, name, f"/deliveries/{segment(delivery_id)}/live"),
                "version": version}
        return render(request, "webhooks/delivery.html", webhook=webhook, delivery=detail, live=live,
                      active="webhooks")


@router.get("/console/webhooks/{owner}/{name}/live")
async def webhook_changes(request: Request, owner: str, name: str) -> Response:
    async with viewing(request) as context:
        await WebhookControl(context).managed_webhook(owner, name)
    return change_stream(request, lambda db: webhook_version(db, owner, name))


@router.get("/console/webhooks/{owner}/{name}/deliveries/{delivery_id}/live")
async def delivery_changes(request: Request, owner: str, name: str, delivery_id: str) -> Response:
    async with viewing(request) as context:
        await _delivery_of(WebhookControl(context), owner, name, delivery_id)
    return change_stream(request, lambda db: delivery_version(db, delivery_id))


# ---- controls -----------------------------------------------------------------------------------

@router.post("/console/webhooks/{owner}/{name}/deliveries/{delivery_id}/resend")
async def resend_delivery(request: Request, owner: str, name: str, delivery_id: str) -> Response:
    form = await read_form(request)
    async with acting(request, "replay-webhook-event", form) as context:
        control = WebhookControl(context)
        await _delivery_of(control, owner, name, delivery_id)
        await control.resend(delivery_id)
    return redirect(webhook_path(owner, name, f"/deliveries/{segment(delivery_id)}"), notice="resent")


@router.post("/console/webhooks/{owner}/{name}/test")
async def send_test(request: Request, owner: str, name: str) -> Response:
    form = await read_form(request)
    async with acting(request, "test-webhook", form) as context:
        await WebhookControl(context).send_test(owner, name)
    return redirect(webhook_path(owner, name), notice="test-queued")


@router.post("/console/webhooks/{owner}/{name}/rotate")
async def rotate_secret(request: Request, owner: str, name: str) -> Response:
    form = await read_form(request)
    async with acting(request, "rotate-webhook-secret", form) as context:
        await WebhookControl(context).rotate_secret(owner, name)
    return redirect(webhook_path(owner, name, "/edit"), notice="rotated")


@router.post("/console/webhooks/{owner}/{name}/recover")
async def recover(request: Request, owner: str, name: str) -> Response:
    form = await read_form(request)
    try:
        async with acting(request, "recover-webhook-deliveries", form) as context:
            since = _moment(str(form.get("since") or ""), "since")
            if since is None:
                raise BadRequest("invalid field since: give the time from which to send failed deliveries again")
            force = form.get("force") is not None
            requeued = await WebhookControl(context).recover(owner, name, since, None, force)
    except BadRequest as exc:
        return await _show(request, owner, name, recover_error=exc.message)
    return redirect(webhook_path(owner, name), notice="recovered", count=len(requeued))


@router.get("/console/webhooks/{owner}/{name}/delete")
async def confirm_delete(request: Request, owner: str, name: str) -> Response:
    async with viewing(request) as context:
        await WebhookControl(context).managed_webhook(owner, name)
        return render(request, "confirm_delete.html", what=f"webhook {owner}/{name}",
                      action=webhook_path(owner, name, "/delete"), back=webhook_path(owner, name),
                      active="webhooks",
                      warning="Its deliveries not yet sent will not be sent; its delivery log is kept until retention.")


@router.post("/console/webhooks/{owner}/{name}/delete")
async def delete_webhook(request: Request, owner: str, name: str) -> Response:
    form = await read_form(request)
    async with acting(request, "delete-webhook", form) as context:
        if not await ObjectService(context, WEBHOOKS).delete({"owner": owner, "name": name}):
            raise NotFound(f"webhook {owner}/{name} does not exist")
    return redirect("/console/webhooks", notice="deleted")
