"""``hookdoor events list``: the catalog of event types webhooks subscribe to."""

from __future__ import annotations

from typing import Annotated

import typer

from hookdoor.cli.common import Json, Local, Url, connect
from hookdoor.cli.errors import USAGE, CliError
from hookdoor.cli.output import note, print_json, table

events = typer.Typer(help="The event types webhooks can subscribe to.", no_args_is_help=True)


def _initials(category: str) -> str:
    return "".join(word[0] for word in category.replace("-", " ").split() if word[0].isalpha()).lower()


def match_category(given: str, categories: list[str]) -> str:
    """Exact; else, ignoring case: the name, its initials (mfa), a prefix (auth), a part (token)."""
    if given in categories:
        return given
    lowered = given.lower()
    for rule in (lambda c: c.lower() == lowered, lambda c: _initials(c) == lowered,
                 lambda c: c.lower().startswith(lowered), lambda c: lowered in c.lower()):
        found = [c for c in categories if rule(c)]
        if len(found) == 1:
            return found[0]
        if found:
            raise CliError(f"{given!r} matches several categories: {', '.join(found)}", USAGE)
    raise CliError(f"no category matches {given!r}; categories: {', '.join(categories)}", USAGE)


@events.command("list")
def list_events(
    category: Annotated[str, typer.Option("--category", "-c", help="Only this category (a unique part of "
                                                                    "its name is enough: auth, mfa).")] = "",
    from_server: Annotated[bool, typer.Option("--from-server", help="Ask the server (--url) for its catalog "
                                              "instead of this installation's (they differ across versions).")] = False,
    url: Url = None, local: Local = False, as_json: Json = False,
) -> None:
    """Every event type, with its category and description (from the built-in catalog: no server needed)."""
    if from_server and not local:
        with connect(url, local) as api:
            types, categories = api.get("get-event-types")
    else:
        from hookdoor.events.catalog import CATEGORIES, catalog_as_json

        types, categories = catalog_as_json(), list(CATEGORIES)
    if category:
        chosen = match_category(category, list(categories or []))
        types = [t for t in types if t["category"] == chosen]
    if as_json:
        print_json([{k: t[k] for k in ("name", "category", "description")} for t in types])
        return
    table(["EVENT", "CATEGORY", "DESCRIPTION"], [(t["name"], t["category"], t["description"]) for t in types])
    note(f"{len(types)} event type{'' if len(types) == 1 else 's'}" + (f" in {chosen}" if category else ""))
