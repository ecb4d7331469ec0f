"""``hookdoor deliveries ...``: the delivery log; resend one, recover what failed in a time window."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Annotated, Any

import typer

from hookdoor.cli.common import (
    Json,
    Local,
    Timeout,
    Url,
    Wait,
    connect,
    delivery_outcome,
    describe_outcome,
    object_id,
    parse_moment,
    progress_bar,
    wait_for_deliveries,
)
from hookdoor.cli.errors import FAILED, USAGE, CliError
from hookdoor.cli.output import fields, note, pretty_json, print_json, say, short_time, table

deliveries = typer.Typer(help="What was sent where: list, show, resend, recover.", no_args_is_help=True)

DeliveryArg = Annotated[str, typer.Argument(metavar="DELIVERY", help="A delivery id (see 'deliveries list').")]
STATES = ("pending", "delivering", "succeeded", "failed")


@deliveries.command("list")
def list_deliveries(
    webhook: Annotated[str, typer.Option("--webhook", "-w", help="Only this webhook's (owner/name).")] = "",
    state: Annotated[str, typer.Option("--state", help="pending, delivering, succeeded or failed.")] = "",
    event: Annotated[str, typer.Option("--event", "-e", help="Only this event.")] = "",
    since: Annotated[str, typer.Option("--since", help="Duration (2h, 7d) or RFC 3339 time.")] = "",
    until: Annotated[str, typer.Option("--until", help="Duration or RFC 3339 time.")] = "",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="At most this many, newest first.")] = 20,
    url: Url = None, local: Local = False, as_json: Json = False,
) -> None:
    """Deliveries, newest first."""
    if state and state not in STATES:
        raise CliError(f"--state must be one of {', '.join(STATES)}", USAGE)
    params = {
        "webhook": object_id(webhook) if webhook else "", "state": state, "event": event,
        "since": parse_moment(since, "--since") if since else "",
        "until": parse_moment(until, "--until") if until else "", "p": 1, "pageSize": limit,
    }
    with connect(url, local) as api:
        rows, total = api.get("get-webhook-events", **params)
    if as_json:
        print_json(rows)
        return
    if not rows:
        note("no deliveries match")
        return
    table(["DELIVERY", "CREATED", "WEBHOOK", "EVENT", "STATE", "TRIES", "LAST"], [
        (r["name"], short_time(r["createdTime"]), r["webhookName"], r["eventType"], delivery_outcome(r),
         r["attemptCount"], r["lastStatusCode"] or (r["lastError"][:40] if r["lastError"] else "")) for r in rows
    ])
    note(f"{len(rows)} of {total} deliveries, newest first")


@deliveries.command("show")
def show(
    delivery: DeliveryArg,
    url: Url = None, local: Local = False, as_json: Json = False,
) -> None:
    """One delivery: its payload and every attempt (request headers, response, duration, error)."""
    with connect(url, local) as api:
        detail, _ = api.get("get-webhook-event-detail", id=delivery)
    if as_json:
        print_json(detail)
        return
    fields([
        ("delivery", detail["name"]), ("webhook", detail["webhookName"]), ("event", detail["eventType"]),
        ("event id", detail.get("eventId", "")), ("created", detail["createdTime"]),
        ("state", describe_outcome(detail)), ("trigger", detail.get("trigger", "")),
        ("next retry", detail.get("nextRetryTime") or ""),
    ])
    say("payload:")
    payload = detail.get("payload")
    with contextlib.suppress(ValueError):  # a form body is shown as sent
        payload = json.loads(payload) if isinstance(payload, str) else payload
    pretty_json(payload) if not isinstance(payload, str) else say(payload)
    attempts = detail.get("attempts") or []
    if attempts:
        table(["#", "STARTED", "TRIGGER", "MS", "STATUS", "ERROR"], [
            (a["number"], short_time(a["startedTime"]), a["trigger"], round(a["durationMs"] or 0),
             a["statusCode"] or "", a["error"]) for a in attempts
        ], title="attempts")
    else:
        note("no attempt yet")


@deliveries.command("resend")
def resend(
    delivery: DeliveryArg, wait: Wait = True, timeout: Timeout = 30,
    url: Url = None, local: Local = False, as_json: Json = False,
) -> None:
    """Send a delivery again, under the same webhook-id (receivers de-duplicate on it)."""
    with connect(url, local) as api:
        before, _ = api.get("get-webhook-event-detail", id=delivery)
        api.post("replay-webhook-event", id=delivery)
        if not wait:
            print_json({"delivery": delivery, "queued": True}) if as_json else say(f"queued {delivery} again")
            return
        detail = wait_for_deliveries(api, [delivery], baseline={delivery: before["attemptCount"]},
                                     timeout=timeout, label=f"resending {delivery}")[delivery]
    print_json(detail) if as_json else say(f"resent {delivery}: {describe_outcome(detail)}")
    if delivery_outcome(detail) != "succeeded":
        raise typer.Exit(FAILED)


def _window(api: Any, webhook_id: str, since: str, until: str, state: str = "") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        batch, total = api.get("get-webhook-events", webhook=webhook_id, since=since, until=until, state=state,
                               p=page, pageSize=1000)
        rows += batch
        if not batch or len(rows) >= (total or 0):
            return rows
        page += 1


@deliveries.command("recover")
def recover(
    webhook: Annotated[str, typer.Argument(metavar="WEBHOOK", help="owner/name, or a name in built-in.")],
    since: Annotated[str, typer.Option("--since", help="Duration back from now (30m, 2h, 7d) or RFC 3339 time.")],
    until: Annotated[str, typer.Option("--until", help="Duration or RFC 3339 time (default: now).")] = "",
    wait: Wait = True, timeout: Annotated[float, typer.Option("--timeout", min=1)] = 120,
    url: Url = None, local: Local = False, as_json: Json = False,
) -> None:
    """Send again every failed delivery of a webhook created in a time window (after fixing the receiver)."""
    webhook_id = object_id(webhook)
    start = parse_moment(since, "--since")
    end = parse_moment(until, "--until") if until else ""
    with connect(url, local) as api:
        failed = {r["name"]: r["attemptCount"] for r in _window(api, webhook_id, start, end, "failed")}
        count, _ = api.post("recover-webhook-deliveries", id=webhook_id, since=start, until=end)
        outcomes: dict[str, str] = {}
        if wait and count:
            outcomes = _follow(api, webhook_id, start, end, failed, timeout)
    summary = {"webhook": webhook_id, "requeued": count,
               "succeeded": sum(1 for o in outcomes.values() if o == "succeeded"),
               "failed": sum(1 for o in outcomes.values() if o not in ("succeeded", "waiting")),
               "waiting": sum(1 for o in outcomes.values() if o == "waiting")}
    if as_json:
        print_json(summary)
    elif not count:
        say(f"no failed deliveries of {webhook_id} in that window")
    elif not wait:
        say(f"requeued {count} failed deliveries of {webhook_id}")
    else:
        say(f"requeued {count} failed deliveries of {webhook_id}: {summary['succeeded']} succeeded, "
            f"{summary['failed']} failed again, {summary['waiting']} not attempted yet")
    if wait and count and (summary["failed"] or summary["waiting"]):
        raise typer.Exit(FAILED)


def _follow(api: Any, webhook_id: str, since: str, until: str, failed: dict[str, int],
            timeout: float) -> dict[str, str]:
    """Progress over the requeued deliveries, until each has had its new attempt."""
    outcomes: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    with progress_bar() as progress:
        task = progress.add_task(f"recovering {webhook_id}", total=len(failed))
        while time.monotonic() < deadline:
            for row in _window(api, webhook_id, since, until):
                name = row["name"]
                if name in failed and name not in outcomes and row["attemptCount"] > failed[name] \
                        and row["status"] != "delivering":
                    outcomes[name] = delivery_outcome(row)
                    progress.advance(task)
            if len(outcomes) >= len(failed):
                break
            time.sleep(0.3)
    return {name: outcomes.get(name, "waiting") for name in failed}
