"""The ``hookdoor`` command."""

from __future__ import annotations

import asyncio
import logging
import signal

import typer

from hookdoor.config import Settings

cli = typer.Typer(help="Hookdoor: an identity server whose every action is a webhook event.", no_args_is_help=True)


@cli.command()
def serve(
    host: str = typer.Option(None, help="Bind address (default HOOKDOOR_HOST or 127.0.0.1)"),
    port: int = typer.Option(None, help="Port (default HOOKDOOR_PORT or 8000)"),
    no_worker: bool = typer.Option(False, "--no-worker", help="Serve the API only; run `hookdoor worker` elsewhere"),
) -> None:
    """Run the API, the console and the delivery worker in one process."""
    import uvicorn

    from hookdoor.app import create_app

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    if no_worker:
        overrides["run_worker"] = False
    settings = Settings(**overrides)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, loop="uvloop", http="httptools",
        proxy_headers=False, log_level="info",
    )


@cli.command()
def worker() -> None:
    """Run a delivery worker only (scale-out: several workers on one PostgreSQL)."""
    from hookdoor.db.engine import create_engine, create_sessionmaker
    from hookdoor.db.migrate import upgrade
    from hookdoor.delivery.runner import running_worker
    from hookdoor.delivery.worker import Worker
    from hookdoor.events.wakeup import Wakeup

    settings = Settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def run() -> None:
        engine = create_engine(settings)
        await upgrade(engine)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            async with running_worker(Worker(create_sessionmaker(engine), settings, Wakeup()), settings):
                await stop.wait()
        finally:
            await engine.dispose()

    import uvloop

    uvloop.run(run())


@cli.command()
def migrate() -> None:
    """Apply database migrations (the server also does this at start)."""
    from hookdoor.db.engine import create_engine
    from hookdoor.db.migrate import upgrade

    async def run() -> None:
        engine = create_engine(Settings())
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    typer.echo("database is up to date")


def main() -> None:
    cli()
