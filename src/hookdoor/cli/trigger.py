"""``hookdoor trigger EVENT``: a test delivery to every enabled webhook subscribed to EVENT.

It uses the server's ``test-webhook`` action on each matching webhook, so what arrives is Hookdoor's
``webhook-test`` event (signed, queued and logged like any delivery), not a made-up EVENT payload:
to see a real EVENT payload, perform the action (``hookdoor login`` is a real ``login``).
"""

from __future__ import annotations

from typing import Annotated

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
    progress_bar,
    wait_for_deliveries,
)
from hookdoor.cli.errors import FAILED, USAGE, CliError
from hookdoor.cli.output import print_json, say, table


def trigger(
    event: Annotated[str, typer.Argument(help="An event name from 'hookdoor events list', e.g. login.")],
    owner: Annotated[str, typer.Option("--owner", help="Only this organization's webhooks.")] = "",
    wait: Wait = True, timeout: Timeout = 30,
    url: Url = None, local: Local = False, as_json: Json = False,
) -> None:
    """Send a test event to each enabled webhook subscribed to EVENT, and report what they answered."""
    from hookdoor.events.catalog import get_event_type, selector_matches

    if get_event_type(event) is None:
        raise CliError(f"unknown event {event!r}; 'hookdoor events list' shows them all", USAGE)
    with connect(url, local) as api:
        hooks, _ = api.get("get-webhooks", owner=owner)
        matching = [w for w in hooks if w.get("isEnabled")
                    and any(selector_matches(s, event) for s in w.get("events") or [])]
        if not matching:
            raise CliError(f"no enabled webhook is subscribed to {event}")
        sent: dict[str, str] = {}
        with progress_bar() as progress:
            task = progress.add_task(f"queuing test events for {event}", total=len(matching))
            for webhook in matching:
                webhook_id = f"{webhook['owner']}/{webhook['name']}"
                sent[webhook_id], _ = api.post("test-webhook", id=webhook_id)
                progress.advance(task)
        details = (wait_for_deliveries(api, list(sent.values()), timeout=timeout, label="delivering")
                   if wait else {})
    results = [{"webhook": w, "delivery": d, "outcome": delivery_outcome(details[d]) if d in details else "queued",
                "detail": describe_outcome(details[d]) if d in details else "queued"} for w, d in sent.items()]
    if as_json:
        print_json(results)
    else:
        table(["WEBHOOK", "DELIVERY", "RESULT"], [(r["webhook"], r["delivery"], r["detail"]) for r in results])
        say(f"sent a webhook-test event to {len(results)} webhook(s) subscribed to {event}")
    if wait and any(r["outcome"] != "succeeded" for r in results):
        raise typer.Exit(FAILED)


def register(cli: typer.Typer) -> None:
    cli.command(rich_help_panel="Webhooks")(trigger)
