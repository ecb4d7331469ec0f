"""``hookdoor admin create | reset-password``: administrators, also on the local database when locked out."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer

from hookdoor.cli.common import BUILT_IN_ORG, Local, Url, connect, read_secret_input
from hookdoor.cli.output import note, say

admin = typer.Typer(help="Administrators: create one, reset a password (with --local when no one can sign in).",
                    no_args_is_help=True)

Organization = Annotated[str, typer.Option("--organization", "-o", help="The user's organization.")]
PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the new password from stdin.")]
Generate = Annotated[bool, typer.Option("--generate", help="Generate a strong password and print it once.")]


def _new_password(stdin: bool, generate: bool) -> str:
    if generate:
        return secrets.token_urlsafe(18)
    return read_secret_input("New password", stdin=stdin, env="HOOKDOOR_NEW_PASSWORD", confirm=True)


@admin.command("create")
def create(
    name: Annotated[str, typer.Argument(help="User name of the new administrator.")],
    organization: Organization = BUILT_IN_ORG,
    email: Annotated[str, typer.Option("--email")] = "",
    display_name: Annotated[str, typer.Option("--display-name")] = "",
    password_stdin: PasswordStdin = False,
    generate: Generate = False,
    url: Url = None,
    local: Local = False,
) -> None:
    """Create an administrator: of every organization when in built-in, else of its organization.

    The password comes from --password-stdin, HOOKDOOR_NEW_PASSWORD, --generate, or a prompt.
    """
    password = _new_password(password_stdin, generate)
    body = {"owner": organization, "name": name, "type": "normal-user", "isAdmin": True, "password": password,
            "displayName": display_name or name, "email": email}
    with connect(url, local, create=True) as api:
        api.post("add-user", body)
    scope = "global administrator" if organization == BUILT_IN_ORG else f"administrator of {organization}"
    say(f"created {organization}/{name} ({scope})")
    if generate:
        say(f"password: {password}")
        note("the password is shown only now")


@admin.command("reset-password")
def reset_password(
    name: Annotated[str, typer.Argument(help="User name.")],
    organization: Organization = BUILT_IN_ORG,
    password_stdin: PasswordStdin = False,
    generate: Generate = False,
    url: Url = None,
    local: Local = False,
) -> None:
    """Set a user's password (their other sessions and tokens end). With --local no sign-in is needed."""
    password = _new_password(password_stdin, generate)
    form = {"userOwner": organization, "userName": name, "oldPassword": "", "newPassword": password}
    with connect(url, local) as api:
        api.post("set-password", form=form)
    say(f"password of {organization}/{name} changed; their other sessions and tokens were ended")
    if generate:
        say(f"password: {password}")
        note("the password is shown only now")
