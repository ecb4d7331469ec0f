"""``hookdoor webhooks ...``: list, add, show, test, enable, disable, rotate-secret."""

from __future__ import annotations

from datetime import UTC, datetime
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
    wait_for_deliveries,
)
from hookdoor.cli.errors import FAILED, USAGE, CliError
from hookdoor.cli.output import fields, note, print_json, say, table

webhooks = typer.Typer(help="Configure webhooks and check on them.", no_args_is_help=True)

WebhookArg = Annotated[str, typer.Argument(metavar="WEBHOOK", help="owner/name, or a name in built-in.")]
FORMATS = ("hookdoor", "casdoor", "cloudevents")
CONTENT_TYPES = {"json": "application/json", "form": "application/x-www-form-urlencoded"}


def fetch(api: Any, webhook_id: str) -> dict[str, Any]:
    webhook, _ = api.get("get-webhook", id=webhook_id)
    if not webhook:
        raise CliError(f"webhook {webhook_id} does not exist")
    return webhook


def split_events(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def parse_header(value: str) -> dict[str, str]:
    name, sep, header_value = value.partition(":")
    if not sep or not name.strip():
        raise CliError(f"--header must be 'Name: value', got {value!r}", USAGE)
    return {"name": name.strip(), "value": header_value.strip()}


def current_secrets(webhook: dict[str, Any]) -> list[str]:
    """The secrets a receiver should accept now: the current one and, in its grace period, the previous."""
    found = [webhook.get("signingSecret") or ""]
    previous, until = webhook.get("previousSigningSecret") or "", webhook.get("previousSecretExpiresAt") or ""
    if previous and until:
        try:
            if datetime.fromisoformat(until.replace("Z", "+00:00")) > datetime.now(UTC):
                found.append(previous)
        except ValueError:
            pass
    return [secret for secret in found if secret and secret != "***"]


@webhooks.command("list")
def list_webhooks(
    owner: Annotated[str, typer.Option("--owner", help="Only this organization's webhooks.")] = "",
    url: Url = None, local: Local = False, as_json: Json = False,
) -> None:
    """The webhooks you may manage."""
    with connect(url, local) as api:
        items, _ = api.get("get-webhooks", owner=owner)
    if as_json:
        print_json(items)
        return
    if not items:
        note("no webhooks yet: add one with 'hookdoor webhooks add NAME TARGET_URL --event login'")
        return
    table(["WEBHOOK", "URL", "EVENTS", "FORMAT", "ENABLED"], [
        (f"{w['owner']}/{w['name']}", w.get("url", ""), ", ".join(w.get("events") or []),
         w.get("payloadFormat", "hookdoor"), "yes" if w.get("isEnabled") else "no") for w in items
    ])


@webhooks.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Name of the webhook (owner/name, or a name in built-in).")],
    target: Annotated[str, typer.Argument(metavar="TARGET_URL", help="Where the events are POSTed.")],
    event: Annotated[list[str], typer.Option(
        "--event", "-e", help="An event or pattern (add-*, *); repeat or separate with commas. "
        "Default: signup, login, logout, update-user.")] = [],  # noqa: B006
    payload_format: Annotated[str, typer.Option("--format", help="hookdoor, casdoor or cloudevents.")] = "hookdoor",
    content_type: Annotated[str, typer.Option("--content-type", help="json or form.")] = "json",
    header: Annotated[list[str], typer.Option(
        "--header", "-H", help="A custom header 'Name: value'; repeatable.")] = [],  # noqa: B006
    organization: Annotated[str, typer.Option("--organization", help="Organization whose events it gets "
                                              "(default: the owner's).")] = "",
    single_org: Annotated[bool, typer.Option("--single-org", help="Only the organization's own events.")] = False,
    include_failures: Annotated[bool, typer.Option("--include-failures", help="Also failed actions.")] = False,
    ordered: Annotated[bool, typer.Option("--ordered", help="Deliver one at a time, in order.")] = False,
    secret: Annotated[str, typer.Option("--secret", envvar="HOOKDOOR_WEBHOOK_SECRET", help="Signing secret "
                                        "(whsec_...); default: generated.")] = "",
    max_retries: Annotated[int, typer.Option("--max-retries", min=0, max=50, help="Casdoor's retry policy: this "
                                             "many retries (default 0: the Standard Webhooks schedule).")] = 0,
    retry_interval: Annotated[int, typer.Option("--retry-interval", min=0, max=86400, help="Seconds between "
                                                "Casdoor-policy retries (0: 60).")] = 0,
    exponential: Annotated[bool, typer.Option("--exponential-backoff", help="Double the interval each "
                                              "retry (capped at 1 h).")] = False,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
    delivery_timeout: Annotated[float, typer.Option("--timeout", min=1, max=60, help="Seconds to wait for the "
                                                    "receiver's answer before the attempt counts as failed.")] = 15,
    url: Url = None, local: Local = False, as_json: Json = False,
) -> None:
    """Add a webhook; prints its signing secret, which the receiver verifies signatures with."""
    webhook_id = object_id(name)
    owner, short_name = webhook_id.split("/", 1)
    if payload_format not in FORMATS:
        raise CliError(f"--format must be one of {', '.join(FORMATS)}", USAGE)
    if content_type not in CONTENT_TYPES:
        raise CliError("--content-type must be json or form", USAGE)
    body: dict[str, Any] = {
        "owner": owner, "name": short_name, "url": target, "method": "POST",
        "contentType": CONTENT_TYPES[content_type], "payloadFormat": payload_format,
        "events": split_events(event) or ["signup", "login", "logout", "update-user"],
        "headers": [parse_header(h) for h in header], "isEnabled": not disabled,
        "includeFailures": include_failures, "ordered": ordered, "singleOrgOnly": single_org,
        "maxRetries": max_retries, "retryInterval": retry_interval, "useExponentialBackoff": exponential,
        "timeoutSeconds": delivery_timeout,
    }
    if organization:
        body["organization"] = organization
    if secret:
        body["signingSecret"] = secret
    with connect(url, local, create=True) as api:
        api.post("add-webhook", body)
        webhook = fetch(api, webhook_id)
    if as_json:
        print_json(webhook)
        return
    say(f"added webhook {webhook_id} -> {webhook['url']} (events: {', '.join(webhook.get('events') or [])})")
    say(f"signing secret: {webhook.get('signingSecret', '')}")
    note(f"verify signatures with it; 'hookdoor webhooks show {webhook_id} --show-secrets' shows it again")


@webhooks.command("show")
def show(
    webhook: WebhookArg,
    show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Show the signing secrets and custom "
                                               "header values instead of ***.")] = False,
    url: Url = None, local: Local = False, as_json: Json = False,
) -> None:
    """A webhook's settings and its endpoint's health."""
    webhook_id = object_id(webhook)
    with connect(url, local) as api:
        found = fetch(api, webhook_id)
        health, _ = api.get("get-webhook-health", id=webhook_id)
    if as_json:
        print_json({"webhook": found, "health": health})
        return

    def hidden(value: str) -> str:
        return value if show_secrets or not value else "***"

    retries = (f"Casdoor policy: {found['maxRetries']} x {found.get('retryInterval') or 60} s"
               + (", doubling" if found.get("useExponentialBackoff") else "")
               if found.get("maxRetries") else "Standard Webhooks schedule (10 attempts over about 3 days)")
    enabled = "yes" if found.get("isEnabled") else f"no ({found.get('disabledReason') or 'disabled'})"
    rows: list[tuple[str, Any]] = [
        ("webhook", webhook_id), ("url", f"{found.get('method', 'POST')} {found.get('url', '')}"),
        ("enabled", enabled), ("events", ", ".join(found.get("events") or [])),
        ("organization", found.get("organization", "")
         + (" (its events only)" if found.get("singleOrgOnly") else "")),
        ("format", f"{found.get('payloadFormat', 'hookdoor')}, {found.get('contentType', 'application/json')}"),
        ("headers", ", ".join(f"{h['name']}: {hidden(h.get('value', ''))}" for h in found.get("headers") or [])),
        ("retries", retries), ("timeout", f"{found.get('timeoutSeconds', 15):g} s"),
        ("concurrency", f"{found.get('maxConcurrency', 10)}" + (", ordered" if found.get("ordered") else "")),
        ("rate limit", f"{found.get('rateLimit')}/s" if found.get("rateLimit") else "none"),
        ("failures too", "yes" if found.get("includeFailures") else "no"),
        ("signing secret", hidden(found.get("signingSecret", ""))),
    ]
    if found.get("previousSigningSecret"):
        rows.append(("previous secret", f"{hidden(found['previousSigningSecret'])} "
                                        f"(signs too until {found.get('previousSecretExpiresAt', '')})"))
    rows += [
        ("failure streak", health.get("failureStreak", 0)),
        ("last success", health.get("lastSuccessTime") or "never"),
        ("last failure", health.get("lastFailureTime") or "never"),
        ("last error", health.get("lastError") or ""),
    ]
    if health.get("circuitBreaker") == "open":
        rows.append(("circuit breaker", "open: deliveries are put off while the endpoint keeps failing"))
    if counts := health.get("deliveries"):
        rows.append((f"last {counts['windowHours']:g} h", delivery_counts_line(counts)))
    fields(rows)


def delivery_counts_line(counts: dict[str, Any]) -> str:
    """get-webhook-health's counts in the words the console uses."""
    rate = counts.get("successRate")
    line = (f"{counts['succeeded']} succeeded, {counts['failed']} failed, {counts['retrying']} retrying"
            + (f" (next try {counts['nextRetryTime']})" if counts.get("nextRetryTime") else "")
            + f", {counts['pending']} pending, {counts['delivering']} in flight")
    return line + ("" if rate is None else f"; {int(rate * 100)}% succeeded")


@webhooks.command("secret")
def secret(webhook: WebhookArg, url: Url = None, local: Local = False) -> None:
    """Print the secrets a receiver should accept now, space-separated: the current one and, during a
    rotation's grace period, the previous one (what WEBHOOK_SECRET of the examples expects)."""
    with connect(url, local) as api:
        found = current_secrets(fetch(api, object_id(webhook)))
    if not found:
        raise CliError(f"cannot read the signing secret of {object_id(webhook)}: you need to manage it")
    say(" ".join(found))


@webhooks.command("test")
def test(
    webhook: WebhookArg, wait: Wait = True, timeout: Timeout = 30,
    url: Url = None, local: Local = False, as_json: Json = False,
) -> None:
    """Send a 'webhook-test' event to this webhook only; exits 1 unless the receiver answered 2xx."""
    webhook_id = object_id(webhook)
    with connect(url, local) as api:
        delivery_id, _ = api.post("test-webhook", id=webhook_id)
        if not wait:
            print_json({"delivery": delivery_id}) if as_json else say(f"queued test delivery {delivery_id}")
            return
        detail = wait_for_deliveries(api, [delivery_id], timeout=timeout, label=f"testing {webhook_id}")[delivery_id]
    if as_json:
        print_json(detail)
    else:
        say(f"test delivery {delivery_id} to {webhook_id}: {describe_outcome(detail)}")
    if delivery_outcome(detail) != "succeeded":
        raise typer.Exit(FAILED)


def _set_enabled(webhook: str, enabled: bool, url: str | None, local: bool) -> None:
    webhook_id = object_id(webhook)
    state = "enabled" if enabled else "disabled"
    with connect(url, local) as api:
        if bool(fetch(api, webhook_id).get("isEnabled")) == enabled:
            say(f"{webhook_id} was already {state}")
            return
        api.post("update-webhook", {"isEnabled": enabled}, id=webhook_id, columns="isEnabled")
    say(f"{webhook_id} {state}")


@webhooks.command("enable")
def enable(webhook: WebhookArg, url: Url = None, local: Local = False) -> None:
    """Enable a webhook (also one that Hookdoor disabled after failing for days, or on 410 Gone)."""
    _set_enabled(webhook, True, url, local)


@webhooks.command("disable")
def disable(webhook: WebhookArg, url: Url = None, local: Local = False) -> None:
    """Disable a webhook: it gets no new deliveries until enabled."""
    _set_enabled(webhook, False, url, local)


@webhooks.command("rotate-secret")
def rotate_secret(webhook: WebhookArg, url: Url = None, local: Local = False, as_json: Json = False) -> None:
    """A new signing secret; the old one keeps signing beside it for 24 hours."""
    webhook_id = object_id(webhook)
    with connect(url, local) as api:
        secret, _ = api.post("rotate-webhook-secret", id=webhook_id)
    if as_json:
        print_json({"webhook": webhook_id, "signingSecret": secret})
        return
    say(f"new signing secret of {webhook_id}: {secret}")
    note("for 24 hours every delivery is signed with the old and the new secret: switch the receiver to the new "
         "one (or let it accept both) within that time")


def register(cli: typer.Typer) -> None:
    cli.add_typer(webhooks, name="webhooks", rich_help_panel="Webhooks")
