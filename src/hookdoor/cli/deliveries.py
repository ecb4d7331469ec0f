"""``hookdoor deliveries ...``: the delivery log; resend one, recover what failed in a time window."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections import Counter
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
from hookdoor.delivery.health import HELD_BY_BREAKER
from hookdoor.webhooks.states import STATES, STATES_IN_WORDS

deliveries = typer.Typer(help="What was sent where: list, show, resend, recover.", no_args_is_help=True)

DeliveryArg = Annotated[str, typer.Argument(metavar="DELIVERY", help="A delivery id (see 'deliveries list').")]


@deliveries.command("list")
def list_deliveries(
    webhook: Annotated[str, typer.Option("--webhook", "-w", help="Only this webhook's (owner/name).")] = "",
    state: Annotated[str, typer.Option("--state", help=f"{STATES_IN_WORDS}.")] = "",
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
    note(f"{len(rows)} of {total} {'delivery' if total == 1 else 'deliveries'}, newest first")


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


Force = Annotated[bool, typer.Option(
    "--force", help="Send even while the endpoint's circuit breaker is open (asked when on a terminal).")]


def _check_sendable(health: dict[str, Any], webhook_id: str, force: bool, ask: bool) -> bool:
    """Whether to send past the breaker; refuses a disabled webhook, whose deliveries would not be sent."""
    if not health.get("isEnabled"):
        reason = health.get("disabledReason") or "turned off"
        raise CliError(f"webhook {webhook_id} is disabled ({reason}): nothing would be sent; enable it first "
                       f"with 'hookdoor webhooks enable {webhook_id}'")
    if force or health.get("circuitBreaker") != "open":
        return force
    warning = (f"the circuit breaker of {webhook_id}'s endpoint is open (it kept failing: "
               f"{health.get('lastError') or 'no answer'}), so the worker puts its deliveries off")
    if ask and typer.confirm(f"{warning}. Send anyway?", default=False, err=True):
        return True
    raise CliError(f"{warning}; rerun with --force to send them anyway")


@deliveries.command("recover")
def recover(
    webhook: Annotated[str, typer.Argument(metavar="WEBHOOK", help="owner/name, or a name in built-in.")],
    since: Annotated[str, typer.Option("--since", help="Duration back from now (30m, 2h, 7d) or RFC 3339 time.")],
    until: Annotated[str, typer.Option("--until", help="Duration or RFC 3339 time (default: now).")] = "",
    force: Force = False, wait: Wait = True,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds to wait at most.")] = 120,
    url: Url = None, local: Local = False, as_json: Json = False,
) -> None:
    """Send again every failed or retrying delivery of a webhook created in a time window (after fixing
    the receiver)."""
    webhook_id = object_id(webhook)
    start = parse_moment(since, "--since")
    end = parse_moment(until, "--until") if until else ""
    with connect(url, local) as api:
        health, _ = api.get("get-webhook-health", id=webhook_id)
        force = _check_sendable(health, webhook_id, force, ask=sys.stdin.isatty() and not as_json)
        rows = _window(api, webhook_id, start, end, "failed") + _window(api, webhook_id, start, end, "retrying")
        attempts = {r["name"]: r["attemptCount"] for r in rows}
        past_breaker = {"force": "true"} if force else {}
        count, requeued = api.post("recover-webhook-deliveries", id=webhook_id, since=start, until=end,
                                   **past_breaker)
        # Follow what was requeued (an older server answers only the count: then the whole window).
        before = {name: attempts.get(name, 0) for name in requeued} if isinstance(requeued, list) else attempts
        outcomes: dict[str, str] = {}
        if wait and count:
            outcomes = _follow(api, webhook_id, start, end, before, timeout)
    tally = Counter(outcomes.values())
    summary = {"webhook": webhook_id, "requeued": count, "succeeded": tally["succeeded"],
               "failed": sum(n for o, n in tally.items() if o not in ("succeeded", "waiting", "held")),
               "heldByBreaker": tally["held"], "waiting": tally["waiting"]}
    if as_json:
        print_json(summary)
    elif not count:
        say(f"no failed or retrying deliveries of {webhook_id} in that window")
    elif not wait:
        say(f"requeued {count} failed or retrying deliveries of {webhook_id}")
    else:
        say(_recover_summary(webhook_id, count, summary))
    if wait and count and (summary["failed"] or summary["waiting"] or summary["heldByBreaker"]):
        raise typer.Exit(FAILED)


def _recover_summary(webhook_id: str, count: int, summary: dict[str, Any]) -> str:
    parts = [f"{summary['succeeded']} succeeded", f"{summary['failed']} failed again"]
    if summary["heldByBreaker"]:
        parts.append(f"{summary['heldByBreaker']} put off by the endpoint's open circuit breaker "
                     "(rerun with --force to send them anyway)")
    if summary["waiting"]:
        parts.append(f"{summary['waiting']} not attempted yet (still queued; see 'hookdoor deliveries list "
                     f"--webhook {webhook_id}')")
    return f"requeued {count} deliveries of {webhook_id}: " + ", ".join(parts)


def _settled(row: dict[str, Any], attempts_before: int) -> str | None:
    """The requeued delivery's outcome once it has one: its new attempt's, or "held" by the breaker."""
    if row["status"] == "delivering":
        return None
    if row["attemptCount"] > attempts_before:
        return delivery_outcome(row)
    if row.get("lastError") == HELD_BY_BREAKER:
        return "held"
    return None


def _follow(api: Any, webhook_id: str, since: str, until: str, before: dict[str, int],
            timeout: float) -> dict[str, str]:
    """Progress over the requeued deliveries, until each has an outcome (or ``timeout``)."""
    outcomes: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    with progress_bar() as progress:
        task = progress.add_task(f"recovering {webhook_id}", total=len(before))
        while time.monotonic() < deadline and len(outcomes) < len(before):
            for row in _window(api, webhook_id, since, until):
                name = row["name"]
                if name in before and name not in outcomes and (outcome := _settled(row, before[name])):
                    outcomes[name] = outcome
                    progress.advance(task)
            if len(outcomes) < len(before):
                time.sleep(0.3)
    return {name: outcomes.get(name, "waiting") for name in before}
