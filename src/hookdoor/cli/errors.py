"""Expected failures end as one line on stderr and a non-zero exit code, never a traceback."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

# Exit codes: 1 = the operation failed (server said no, not found...), 2 = wrong usage,
# 3 = cannot reach the server or the database, 4 = not signed in / not allowed.
FAILED, USAGE, UNREACHABLE, UNAUTHORIZED = 1, 2, 3, 4


class CliError(Exception):
    def __init__(self, message: str, exit_code: int = FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def _click_classes() -> tuple[tuple[type, ...], tuple[type, ...], tuple[type, ...], tuple[type, ...]]:
    """Usage errors, other Click errors, "no arguments: show help", aborts: from the Click that Typer
    uses (recent Typer vendors it as ``typer._click``; older ones use the ``click`` package)."""
    usage: list[type] = []
    other: list[type] = []
    no_args: list[type] = []
    aborts: list[type] = [typer.Abort]
    modules = []
    try:
        from typer._click import exceptions as vendored

        modules.append(vendored)
    except ImportError:  # pragma: no cover - older Typer
        pass
    try:
        import click.exceptions as package

        modules.append(package)
    except ImportError:  # pragma: no cover - newer Typer without click installed
        pass
    for module in modules:
        usage.append(module.UsageError)
        other.append(module.ClickException)
        if hasattr(module, "Abort"):
            aborts.append(module.Abort)
        if hasattr(module, "NoArgsIsHelpError"):
            no_args.append(module.NoArgsIsHelpError)
    return tuple(usage), tuple(other), tuple(no_args), tuple(aborts)


USAGE_ERRORS, CLICK_ERRORS, NO_ARGS_ERRORS, ABORTS = _click_classes()


def _show_help(exc: Exception) -> None:
    try:
        from typer import rich_utils

        rich_utils.rich_format_error(exc)  # type: ignore[arg-type]
    except Exception:  # pragma: no cover - formatting differs between Typer versions
        exc.show()  # type: ignore[attr-defined]


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())


class HookdoorGroup(TyperGroup):
    """The root command: turns expected errors into ``error: ...`` and an exit code."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        from hookdoor.cli.help import tidy

        tidy(self, self.context_class, list(self.context_settings.get("help_option_names") or ["--help"]))
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except CliError as exc:
            fail(exc.message)
            code = exc.exit_code
        except NO_ARGS_ERRORS as exc:
            _show_help(exc)
            code = USAGE
        except USAGE_ERRORS as exc:
            context = getattr(exc, "ctx", None)
            hint = f" (see '{context.command_path} --help')" if context is not None else ""
            fail(_one_line(exc.format_message()) + hint)
            code = USAGE
        except CLICK_ERRORS as exc:
            fail(_one_line(exc.format_message()))
            code = getattr(exc, "exit_code", FAILED)
        except ABORTS:
            fail("aborted")
            code = FAILED
        except KeyboardInterrupt:
            print(file=sys.stderr)
            code = 130
        else:
            code = result if isinstance(result, int) else 0
        if not standalone_mode:
            return code
        sys.exit(code)


def exit_with(code: int) -> None:
    raise typer.Exit(code)
