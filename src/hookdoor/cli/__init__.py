"""The ``hookdoor`` command: run the server, and manage it by URL or on its local database.

Each command group lives in its own module; this one assembles them. Commands import what they need
when they run, so ``hookdoor webhooks list`` does not load the server.
"""

from __future__ import annotations

import typer

from hookdoor.cli import admin, auth, deliveries, events, listen, server, trigger, webhooks
from hookdoor.cli.errors import HookdoorGroup

cli = typer.Typer(
    cls=HookdoorGroup,
    help="Hookdoor: an identity server whose every action is a signed webhook event.\n\n"
    "Commands that manage a server take --url (or HOOKDOOR_URL) and credentials from 'hookdoor login' or "
    "HOOKDOOR_TOKEN / HOOKDOOR_CLIENT_ID+HOOKDOOR_CLIENT_SECRET / HOOKDOOR_USERNAME+HOOKDOOR_PASSWORD; "
    "with --local they work on the database of HOOKDOOR_DATABASE_URL instead.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)



def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"hookdoor {version('hookdoor')}")
        raise typer.Exit()


@cli.callback()
def root(
    show_version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Show the version and exit."),
) -> None:
    """Hookdoor: an identity server whose every action is a signed webhook event."""


server.register(cli)
auth.register(cli)
cli.add_typer(admin.admin, name="admin", rich_help_panel="Run Hookdoor")
webhooks.register(cli)
cli.add_typer(events.events, name="events", rich_help_panel="Webhooks")
cli.add_typer(deliveries.deliveries, name="deliveries", rich_help_panel="Webhooks")
listen.register(cli)
trigger.register(cli)


def main() -> None:
    cli()
