"""``hookdoor login``, ``logout`` and ``whoami``: the CLI's credentials for a server."""

from __future__ import annotations

from typing import Annotated

import typer

from hookdoor.cli.common import Local, Url, connect, read_secret_input
from hookdoor.cli.config import BUILT_IN_APP, BUILT_IN_ORG, Credentials, forget_login, remember_login, server_url
from hookdoor.cli.output import print_json, say


def login(
    url: Url = None,
    username: Annotated[str, typer.Option("--username", "-u", envvar="HOOKDOOR_USERNAME",
                                          help="User to sign in as.")] = "admin",
    organization: Annotated[str, typer.Option("--organization", "-o", envvar="HOOKDOOR_ORGANIZATION",
                                              help="The user's organization.")] = BUILT_IN_ORG,
    application: Annotated[str, typer.Option("--application", help="Application to sign in through.")] = BUILT_IN_APP,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Sign in to a server and keep its access token (in ~/.config/hookdoor/cli.json, mode 0600).

    The password comes from --password-stdin, HOOKDOOR_PASSWORD, or a prompt. Signing in is itself
    a 'login' event, delivered to the webhooks subscribed to it.
    """
    from hookdoor.cli.remote import RemoteBackend

    where = server_url(url)
    password = read_secret_input("Password", stdin=password_stdin, env="HOOKDOOR_PASSWORD")
    with RemoteBackend(where, Credentials()) as api:
        token = api.sign_in(organization, username, password, application)
    path = remember_login(where, token, f"{organization}/{username}")
    say(f"signed in to {where} as {organization}/{username}; token saved in {path}")


def logout(url: Url = None) -> None:
    """Forget the token stored for a server (it stays valid until it expires on the server)."""
    where = server_url(url)
    say(f"forgot the token for {where}" if forget_login(where) else f"no stored token for {where}")


def whoami(url: Url = None, local: Local = False, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Who the CLI acts as, and where."""
    with connect(url, local) as api:
        account, _ = api.get("get-account")
        where = api.where
    if as_json:
        print_json({"server": where, "account": account})
        return
    name = f"{account.get('owner')}/{account.get('name')}"
    role = "administrator" if account.get("isAdmin") else "user"
    say(f"{name} ({role}) at {where}")


def register(cli: typer.Typer) -> None:
    for command in (login, logout, whoami):
        cli.command(rich_help_panel="Credentials")(command)
