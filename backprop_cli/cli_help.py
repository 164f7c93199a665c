"""Typer glue shared by every command: help without type names, plain error messages.

Typer changes how it shows help between releases: 0.16 to 0.26 print `PATH...` and
nothing for flags; 0.27 (which carries its own copy of click) prints `<path>`, and 0.29
(which validates with pydantic) prints `<bool>` after every flag, `<list[str]>` after
arguments, `[EXPR ...]...` in the usage line, and answers `--format html` with
"Value error, 'html' is not one of …". pyproject.toml pins the range tested in CI
(`typer>=0.16,<0.30`); this module makes both ends print the same clean help:

- `BackpropTyper.command()` gives every command `Command`, whose parameters show their
  metavar (`N`, `FILE`, `NAME`) and no type name, flags show nothing, and whose usage
  line prints an argument's metavar as written.
- `choice()` and `whole_number()` parse option values themselves and fail with one
  plain sentence (`'html' is not one of table, markdown, latex`), the same on every
  Typer, instead of Typer's or pydantic's wording.

tests/test_help.py fails if any command's help shows a type name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

E = TypeVar("E", bound=Enum)
F = TypeVar("F", bound=Callable[..., Any])


def _clean(params: Sequence[Any]) -> None:
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""  # a flag takes no value: nothing to show after it
        if param.param_type_name == "argument" and hasattr(param, "display_type_rich"):
            # Typer 0.27+ prints the annotation (<list[str]>) beside an argument's name,
            # whatever its metavar; the metavar already says what to type.
            param.display_type_rich = lambda ctx: None


def _usage(command: Any, ctx: Any) -> list[str]:
    """The usage line with each argument's metavar as written ([EXPR [NAME=VALUE]...])."""
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if param.param_type_name == "argument" and param.metavar:
            pieces.append(param.metavar if param.required else f"[{param.metavar}]")
        else:
            pieces.extend(param.get_usage_pieces(ctx))
    return pieces


def _help_option(option: Any) -> Any:
    if option is not None and option.metavar is None:
        option.metavar = ""
    return option


class Command(TyperCommand):
    """A command whose help shows no type names (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _clean(self.params)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage(self, ctx)

    def get_help_option(self, ctx: Any) -> Any:
        return _help_option(super().get_help_option(ctx))


class Group(TyperGroup):
    """The `backprop` group: its own options (--version, completion) shown the same way."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # completion options are added late
        _clean(params)
        return params

    def get_help_option(self, ctx: Any) -> Any:
        return _help_option(super().get_help_option(ctx))


class BackpropTyper(typer.Typer):
    """typer.Typer whose commands are all `Command`s, so a new command is clean too."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        kwargs.setdefault("cls", Command)
        decorator: Callable[[F], F] = super().command(*args, **kwargs)
        return decorator


def choice(enum: type[E]) -> Callable[[str | E], E]:
    """A parser for an option whose value is one of `enum`'s (any case)."""
    names = {member.value.lower(): member for member in enum}

    def parse(value: str | E) -> E:
        if isinstance(value, enum):
            return value
        found = names.get(str(value).lower())
        if found is None:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(names)}")
        return found

    return parse


def choices(enum: type[Enum]) -> str:
    """The metavar of a choice: its values, as the help shows them (table|json)."""
    return "|".join(member.value for member in enum)


def complete(enum: type[Enum]) -> Callable[[str], list[str]]:
    """Shell completion of a choice's values."""

    def values(incomplete: str) -> list[str]:
        return [m.value for m in enum if m.value.startswith(incomplete.lower())]

    return values


def whole_number(low: int, high: int | None = None) -> Callable[[str | int], int]:
    """A parser for a whole number from `low` to `high` (or up), said plainly when not."""

    def parse(value: str | int) -> int:
        try:
            number = int(value)
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not a whole number") from None
        if number < low or (high is not None and number > high):
            span = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise typer.BadParameter(f"{number} is out of range: give a number {span}")
        return number

    return parse
