"""Help that reads as Click and Rich normally show it: ``--limit -n INTEGER``, a flag without a type,
arguments as ``NAME`` (not ``<str>``, ``<bool>``, ``<list[str]>`` or ``{name}``, the placeholders the
Typer in use derives from Python annotations).

Applied once to the whole command tree, by the root group before it parses anything, so no command
has to remember it: a parameter given its own ``metavar`` keeps it.
"""

from __future__ import annotations

from typing import Any, get_args, get_origin

from typer.core import TyperArgument, TyperOption

TYPE_NAMES = {str: "TEXT", int: "INTEGER", float: "FLOAT"}


class PlainArgument(TyperArgument):
    """An argument shown as NAME in the usage line (optional ones as [NAME])."""

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = self.metavar or self.name.upper()
        shown = name if self.required else f"[{name}]"
        return [shown + ("..." if self.nargs != 1 else "")]

    def display_type_rich(self, ctx: Any) -> str | None:
        return type_name(self.type_descriptor.annotation)


class PlainOption(TyperOption):
    """An option whose allowed range is said in its help ("1 to 1000"), not in the type column: that
    column's width is taken from the help's, where long words (env-var names, URLs) were cut with "…"."""

    def _get_number_range_help_str(self) -> str | None:
        return None


def range_words(option: TyperOption) -> str:
    low, high = getattr(option, "min", None), getattr(option, "max", None)
    if low is not None and high is not None:
        return f"{low:g} to {high:g}."
    if low is not None:
        return f"At least {low:g}."
    return f"At most {high:g}." if high is not None else ""


def type_name(annotation: Any) -> str:
    """TEXT, INTEGER, FLOAT (a list: its items' type, the option being repeatable)."""
    if get_origin(annotation) is list:
        annotation = get_args(annotation)[0]
    return TYPE_NAMES.get(annotation, "VALUE")


def _is_flag(option: TyperOption) -> bool:
    return bool(option.is_flag or option.count)


def tidy_option(option: TyperOption) -> None:
    if option.metavar is None:
        option.metavar = "" if _is_flag(option) else type_name(option.type_descriptor.annotation)
    if not _is_flag(option) and (words := range_words(option)) and type(option) is TyperOption:
        option.help = f"{option.help or ''} {words}".strip()
        option.__class__ = PlainOption


def tidy_argument(argument: TyperArgument) -> None:
    if argument.metavar is None:
        argument.metavar = (argument.name or "value").upper()
    argument.__class__ = PlainArgument  # same object, its usage line without braces


def tidy(command: Any, context_class: Any, help_names: list[str]) -> None:
    """Every parameter of ``command`` and its subcommands, and each one's --help."""
    for param in command.params:
        if isinstance(param, TyperArgument):
            tidy_argument(param)
        elif isinstance(param, TyperOption):
            tidy_option(param)
    help_option = command.get_help_option(context_class(command, help_option_names=help_names))
    if help_option is not None:
        help_option.metavar = ""
    for child in getattr(command, "commands", {}).values():
        tidy(child, context_class, help_names)
