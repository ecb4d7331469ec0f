"""What the commands share: the target options, connecting, ids, times, and waiting for deliveries."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Protocol

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from hookdoor.cli.errors import USAGE, CliError
from hookdoor.cli.output import err

BUILT_IN_ORG = "built-in"

Url = Annotated[str | None, typer.Option(
    "--url", envvar="HOOKDOOR_URL", show_envvar=True, metavar="URL",
    help="The Hookdoor server (default: the last 'hookdoor login', else http://127.0.0.1:8000).")]
Local = Annotated[bool, typer.Option(
    "--local", help="Work on the database of HOOKDOOR_DATABASE_URL directly, without a server.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]
Wait = Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the delivery's outcome (progress on stderr).")]
Timeout = Annotated[float, typer.Option("--timeout", min=1, help="Seconds to wait at most.")]


class Backend(Protocol):
    local: bool

    @property
    def where(self) -> str: ...

    def __enter__(self) -> Backend: ...

    def __exit__(self, *exc: object) -> None: ...

    def get(self, action: str, **params: Any) -> tuple[Any, Any]: ...

    def post(self, action: str, body: Any = None, *, form: dict[str, str] | None = None,
             **params: Any) -> tuple[Any, Any]: ...


def connect(url: str | None, local: bool, *, create: bool = False) -> Backend:
    if local:
        from hookdoor.cli.local import LocalBackend

        return LocalBackend(create=create)
    from hookdoor.cli.config import credentials_for, server_url
    from hookdoor.cli.remote import RemoteBackend

    where = server_url(url)
    return RemoteBackend(where, credentials_for(where))


def object_id(value: str, owner: str = BUILT_IN_ORG) -> str:
    """``owner/name``; a bare name means ``owner`` (default built-in)."""
    value = value.strip()
    if "/" not in value:
        value = f"{owner}/{value}"
    first, _, name = value.partition("/")
    if not first or not name or "/" in name:
        raise CliError(f"expected 'owner/name' or 'name', got {value!r}", USAGE)
    return value


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_moment(value: str, option: str) -> str:
    """A duration back from now (``90s``, ``30m``, ``2h``, ``7d``, ``1w``) or an RFC 3339 time, as RFC 3339."""
    value = value.strip()
    if match := _DURATION.match(value):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
        moment = datetime.now(UTC) - timedelta(seconds=seconds)
        return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"{option} must be a duration such as 30m, 2h, 7d or an RFC 3339 time such as "
                       f"2026-01-31T12:00:00Z, got {value!r}", USAGE) from None
    if moment.tzinfo is None:
        raise CliError(f"{option} needs a time zone, e.g. a trailing Z: {value!r}", USAGE)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def read_secret_input(prompt: str, *, stdin: bool, env: str, confirm: bool = False) -> str:
    """A password from stdin (``--password-stdin``), the environment, or a hidden prompt."""
    if stdin:
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise CliError("--password-stdin: nothing was read from standard input", USAGE)
        return value
    if value := os.environ.get(env):
        return value
    if not sys.stdin.isatty():
        raise CliError(f"no password given: use --password-stdin or set {env} (no terminal to ask on)", USAGE)
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)


# ---- waiting for deliveries ---------------------------------------------------------------------

def delivery_outcome(detail: dict[str, Any]) -> str:
    status = detail.get("status", "")
    if status == "pending" and detail.get("attemptCount", 0) > 0:
        return "retrying"
    return status


def describe_outcome(detail: dict[str, Any]) -> str:
    outcome = delivery_outcome(detail)
    code = detail.get("lastStatusCode") or ""
    error = detail.get("lastError") or ""
    extra = f"HTTP {code}" if code else ""
    if error and outcome != "succeeded" and error != extra:
        extra = f"{extra}, {error}" if extra else error
    return f"{outcome} ({extra})" if extra else outcome


def progress_bar(transient: bool = True) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=transient,
                    disable=not err.is_terminal)


def wait_for_deliveries(
    api: Backend, ids: list[str], *, baseline: dict[str, int] | None = None, timeout: float = 30,
    label: str = "delivering",
) -> dict[str, dict[str, Any]]:
    """Poll each delivery until an attempt beyond ``baseline`` has finished (or ``timeout``)."""
    baseline = baseline or {}
    settled: dict[str, dict[str, Any]] = {}
    latest: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    with progress_bar() as progress:
        task = progress.add_task(label, total=len(ids))
        while len(settled) < len(ids) and time.monotonic() < deadline:
            for delivery_id in ids:
                if delivery_id in settled:
                    continue
                detail, _ = api.get("get-webhook-event-detail", id=delivery_id)
                latest[delivery_id] = detail
                attempted = detail.get("attemptCount", 0) > baseline.get(delivery_id, 0)
                if attempted and detail.get("status") != "delivering":
                    settled[delivery_id] = detail
                    progress.advance(task)
            if len(settled) < len(ids):
                time.sleep(0.2)
    return {delivery_id: settled.get(delivery_id) or {**latest.get(delivery_id, {}), "status": "waiting"}
            for delivery_id in ids}


def poll(check: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()
