"""``hookdoor listen``: a local receiver that prints each webhook, verifies it, and can forward it."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

import typer

from hookdoor.cli.common import Local, Url, connect, object_id
from hookdoor.cli.errors import USAGE, CliError
from hookdoor.cli.output import note, out, print_json

# Not passed on when forwarding: they describe the hop, not the message.
HOP_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
                         "te", "trailer", "proxy-authorization", "proxy-connection"})


def _secrets_of_webhook(webhook: str, url: str | None, local: bool) -> list[str]:
    from hookdoor.cli.webhooks import current_secrets, fetch

    with connect(url, local) as api:
        found = current_secrets(fetch(api, object_id(webhook)))
    if not found:
        raise CliError(f"cannot read the signing secret of {webhook}: you need to manage it")
    return found


def _decoded(body: bytes, content_type: str) -> Any:
    text = body.decode("utf-8", errors="replace")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(text, keep_blank_values=True))
    try:
        return json.loads(text)
    except ValueError:
        return text


class Listener:
    def __init__(self, secrets: list[str], forward: str, as_json: bool, tolerance: timedelta) -> None:
        self.secrets = secrets
        self.forward = forward
        self.as_json = as_json
        self.tolerance = tolerance
        self.count = 0
        self.session: Any = None

    async def handle(self, request: Any) -> Any:
        from aiohttp import web

        from hookdoor.receiver import WebhookVerificationError, verify

        body = await request.read()
        headers = {key: value for key, value in request.headers.items()}
        lowered = {key.lower(): value for key, value in headers.items()}
        self.count += 1
        verdict, event, error = "unchecked", None, None
        status = 200
        if self.secrets:
            try:
                event = verify(headers, body, self.secrets, tolerance=self.tolerance)
                verdict = "verified"
            except WebhookVerificationError as exc:
                verdict, error, status = "rejected", f"{type(exc).__name__}: {exc}", exc.status_code
        forwarded: dict[str, Any] | None = None
        answer_body = "ok" if status == 200 else (error or "")
        if self.forward and status == 200:
            forwarded = await self._forward(request.method, body, headers, request.path_qs)
            status, answer_body = forwarded["status"], forwarded["body"]
        self._print(request, lowered, body, verdict, event, error, forwarded)
        return web.Response(status=status, text=answer_body)

    async def _forward(self, method: str, body: bytes, headers: dict[str, str], path_qs: str) -> dict[str, Any]:
        import aiohttp

        outgoing = {k: v for k, v in headers.items() if k.lower() not in HOP_HEADERS}
        started = time.monotonic()
        try:
            async with self.session.request(method, self.forward, data=body, headers=outgoing,
                                            allow_redirects=False) as response:
                text = (await response.content.read(4096)).decode("utf-8", errors="replace")
                return {"url": self.forward, "status": response.status, "body": text,
                        "ms": round((time.monotonic() - started) * 1000)}
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return {"url": self.forward, "status": 502, "body": f"forwarding failed: {exc}", "error": str(exc),
                    "ms": round((time.monotonic() - started) * 1000)}

    def _print(self, request: Any, headers: dict[str, str], body: bytes, verdict: str, event: Any,
               error: str | None, forwarded: dict[str, Any] | None) -> None:
        content_type = headers.get("content-type", "")
        decoded = event.raw if event is not None else _decoded(body, content_type)
        event_type = event.event_type if event is not None else (
            decoded.get("event") or decoded.get("action") or decoded.get("type") if isinstance(decoded, dict) else "")
        if self.as_json:
            print_json({
                "receivedTime": datetime.now(UTC).isoformat(timespec="seconds"), "method": request.method,
                "path": request.path_qs, "webhookId": headers.get("webhook-id", ""), "event": event_type or "",
                "format": event.format if event is not None else "", "verified": verdict == "verified",
                "verdict": verdict, "error": error, "headers": headers, "body": decoded, "forwarded": forwarded,
            })
            return
        clock = datetime.now().strftime("%H:%M:%S")
        mark = {"verified": "[green]signature verified[/]", "rejected": f"[red]REJECTED[/] {error}",
                "unchecked": "[yellow]signature not checked[/] (no --secret)"}[verdict]
        out.rule(f"[bold]#{self.count}[/] {clock} {request.method} {request.path_qs}", align="left")
        out.print(f"[bold]{event_type or '?'}[/]  webhook-id [cyan]{headers.get('webhook-id', '-')}[/]  {mark}",
                  highlight=False)
        if event is not None:
            out.print(f"format {event.format}, {content_type or 'no content type'}", style="dim", highlight=False)
        out.print_json(data=decoded) if isinstance(decoded, dict | list) else out.print(decoded, markup=False)
        if forwarded is not None:
            style = "green" if 200 <= forwarded["status"] < 300 else "red"
            out.print(f"-> forwarded to {forwarded['url']}: [{style}]{forwarded['status']}[/] in {forwarded['ms']} ms"
                      + (f" ({forwarded['error']})" if forwarded.get("error") else ""), highlight=False)

    async def run(self, host: str, port: int, path: str) -> None:
        import aiohttp
        from aiohttp import web

        app = web.Application(client_max_size=8 * 1024 * 1024)
        route = "/{tail:.*}" if path == "/" else path
        app.router.add_route("*", route, self.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 3) from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as self.session:
            checking = f"verifying with {len(self.secrets)} secret(s)" if self.secrets else "not verifying"
            forwarding = f", forwarding to {self.forward}" if self.forward else ""
            note(f"listening on http://{host}:{port}{path} ({checking}{forwarding}); Ctrl-C stops")
            try:
                await stop.wait()
            finally:
                await runner.cleanup()
        note(f"stopped after {self.count} webhook(s)")


def listen(
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="Port to listen on.")] = 9000,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    path: Annotated[str, typer.Option("--path", show_default=False, help="Only requests to this path; the "
                                      "default, /, takes every path.")] = "/",
    secret: Annotated[list[str], typer.Option("--secret", "-s", envvar="HOOKDOOR_LISTEN_SECRET",
                                              help="Verify with this secret; repeatable (rotation).")] = [],  # noqa: B006
    webhook: Annotated[str, typer.Option("--webhook", "-w", help="Verify with this webhook's secrets, read "
                                         "from the server (needs credentials, or --local).")] = "",
    forward: Annotated[str, typer.Option("--forward", "-f", help="Pass each verified webhook on to this URL; "
                                         "its answer becomes ours.")] = "",
    tolerance: Annotated[int, typer.Option("--tolerance", min=1, help="Seconds of clock difference "
                                           "accepted.")] = 300,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per webhook, for scripts.")] = False,
    url: Url = None, local: Local = False,
) -> None:
    """Receive webhooks locally: print each one readably, verify its signature, optionally forward it.

    Answers 200, or 401/400 when verification fails (so Hookdoor retries), or, with --forward, the forward target's answer.
    """  # noqa: E501 - one line: the help keeps a docstring's line breaks
    if not path.startswith("/"):
        raise CliError("--path must start with /", USAGE)
    if forward and not forward.startswith(("http://", "https://")):
        raise CliError("--forward must be an http:// or https:// URL", USAGE)
    secrets = [s for value in secret for s in value.split()] + (
        _secrets_of_webhook(webhook, url, local) if webhook else [])
    if secrets:
        from hookdoor.receiver.verify import _signers

        try:
            _signers(secrets)
        except ValueError as exc:
            raise CliError(f"--secret: {exc}", USAGE) from None
    listener = Listener(secrets, forward, as_json, timedelta(seconds=tolerance))
    asyncio.run(listener.run(host, port, path))


def register(cli: typer.Typer) -> None:
    cli.command(rich_help_panel="Webhooks")(listen)
