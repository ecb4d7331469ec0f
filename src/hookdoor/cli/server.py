"""``hookdoor serve``, ``worker`` and ``migrate``: running Hookdoor itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Iterator
from typing import Any

import typer

from hookdoor.cli.errors import UNREACHABLE, CliError


def load_settings(**overrides: Any) -> Any:
    """The server's settings from ``HOOKDOOR_*``; a bad value is one clear line, not a traceback."""
    from pydantic import ValidationError

    from hookdoor.config import Settings

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"HOOKDOOR_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise CliError(f"invalid setting {problems}", 2) from None


@contextlib.contextmanager
def database_errors_in_one_line(settings: Any, doing: str) -> Iterator[None]:
    """A database that cannot be reached or opened (no server, no such folder, a wrong password) is
    one line naming it, password hidden, not a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    from hookdoor.cli.local import first_line, safe_url

    try:
        yield
    except (OSError, SQLAlchemyError) as exc:
        raise CliError(f"cannot {doing} {safe_url(settings)}: {first_line(exc)}", UNREACHABLE) from None


def check_database(settings: Any) -> None:
    """Connect once before serving: a failure in the server's start-up would be uvicorn's traceback."""
    from hookdoor.db.engine import create_engine

    async def connect() -> None:
        engine = create_engine(settings)
        try:
            async with engine.connect():
                pass
        finally:
            await engine.dispose()

    with database_errors_in_one_line(settings, "open"):
        asyncio.run(connect())


def announce_in_memory(settings: Any) -> None:
    log = logging.getLogger("hookdoor.serve")
    log.warning("HOOKDOOR_DATABASE_URL is an in-memory database: everything is lost when hookdoor serve exits")
    if not settings.run_worker:
        log.warning("no worker runs: a worker in another process cannot see an in-memory database, so nothing "
                    "will be delivered")


def serve(
    host: str = typer.Option(None, help="Bind address (default HOOKDOOR_HOST or 127.0.0.1)"),
    port: int = typer.Option(None, help="Port (default HOOKDOOR_PORT or 8000)"),
    no_worker: bool = typer.Option(False, "--no-worker", help="Serve the API only; run `hookdoor worker` elsewhere"),
) -> None:
    """Run the API, the console and the delivery worker (a child process on two cores or more)."""
    overrides: dict[str, Any] = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    if no_worker:
        overrides["run_worker"] = False
    settings = load_settings(**overrides)  # first: a bad setting is told before the server's imports

    import uvicorn

    from hookdoor.app import create_app
    from hookdoor.db.engine import is_in_memory
    from hookdoor.delivery.process import WorkerProcess, runs_in_child_process
    from hookdoor.logs import configure_logging
    from hookdoor.runtime import tune_garbage_collector

    configure_logging()
    if is_in_memory(settings.database_url):
        announce_in_memory(settings)  # and nothing to check: the server's own connection creates it
    else:
        check_database(settings)
    worker_process = None
    if runs_in_child_process(settings):  # started by the app's lifespan, once migrations have run
        worker_process = WorkerProcess(settings)
        settings = settings.model_copy(update={"run_worker": False})
    app = create_app(settings, worker_process)
    tune_garbage_collector()
    uvicorn.run(
        app, host=settings.host, port=settings.port, loop="uvloop", http="httptools",
        proxy_headers=False, log_level="info", log_config=None,  # configured above, credentials masked
    )


def worker() -> None:
    """Run a delivery worker only (scale-out: several workers on one PostgreSQL)."""
    from prometheus_client import CollectorRegistry

    from hookdoor.db.checkpoint import checkpointing
    from hookdoor.db.engine import create_engine, create_sessionmaker, is_in_memory
    from hookdoor.db.migrate import upgrade
    from hookdoor.delivery.metrics import DeliveryMetrics
    from hookdoor.delivery.process import METRICS_DIR_VARIABLE, follow_parent
    from hookdoor.delivery.runner import running_worker
    from hookdoor.delivery.worker import Worker
    from hookdoor.events.wakeup import Wakeup
    from hookdoor.logs import configure_logging
    from hookdoor.runtime import tune_garbage_collector

    settings = load_settings()
    if is_in_memory(settings.database_url):
        raise CliError("HOOKDOOR_DATABASE_URL is an in-memory database, which only the process that opens it "
                       "sees: run hookdoor serve alone, its worker runs inside it", 2)
    follow_parent(settings)
    configure_logging()
    metrics = DeliveryMetrics(CollectorRegistry()) if os.environ.get(METRICS_DIR_VARIABLE) else None

    async def run() -> None:
        engine = create_engine(settings)
        await upgrade(engine)
        tune_garbage_collector()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            worker = Worker(create_sessionmaker(engine), settings, Wakeup(), metrics)
            async with checkpointing(settings.database_url), running_worker(worker, settings):
                await stop.wait()
        finally:
            await engine.dispose()

    import uvloop

    with database_errors_in_one_line(settings, "open"):
        uvloop.run(run())


def migrate() -> None:
    """Apply database migrations (the server also does this at start)."""
    from hookdoor.db.engine import create_engine
    from hookdoor.db.migrate import upgrade

    settings = load_settings()

    async def run() -> None:
        engine = create_engine(settings)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    with database_errors_in_one_line(settings, "migrate"):
        asyncio.run(run())
    typer.echo("database is up to date")


def register(cli: typer.Typer) -> None:
    for command in (serve, worker, migrate):
        cli.command(rich_help_panel="Run Hookdoor")(command)
