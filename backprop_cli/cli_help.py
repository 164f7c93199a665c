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

Typer lays an options panel out in six columns (long name, short name, the `--no-`
name, its short form, metavar, description); at 80 columns `trace --help` kept 21 of
them for the description and folded `backward|forward|local|gradients|full` mid-word.
`Command` and `Group` print their help through `_help_tables()`, which gives each
options table two columns instead: the names as one unbroken cell (`--file, -f FILE`,
`--check / --no-check`) and the description taking the rest, wrapped at spaces.

In Typer's rich markup mode a docstring's single line breaks are kept, so at 80
columns a sentence broke twice: once where Rich wrapped it and once where the source
line ended ("DOT, Mermaid" alone on a line). `Command` joins each paragraph's prose
lines (`_reflow`) and Rich wraps the paragraph once; an indented line (an example)
stays a line of its own. Examples are kept short enough (78 characters) to fit 80
columns unwrapped, so the line a user pastes is the whole command.

tests/test_help.py fails if any command's help shows a type name, breaks a word,
squeezes a description, wraps an example or breaks a sentence early.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
        if getattr(param, "default", 0) is None and getattr(param, "show_default", 0) is True:
            # Typer < 0.27 under click 8.3+ printed "[default: None]" for an option
            # with no default; newer Typers show nothing for it.
            param.show_default = False
        if param.param_type_name == "argument" and hasattr(param, "display_type_rich"):
            # Typer 0.27+ prints the annotation (<list[str]>) beside an argument's name,
            # whatever its metavar; the metavar already says what to type.
            param.display_type_rich = lambda ctx: None


def _argument_help(command: Any) -> None:
    """Give back the help of arguments that lost it.

    Typer < 0.27 sets an argument's help before calling click's constructor, and click
    8.3+ (whose Argument takes a help of its own) sets it back to None: on Typer 0.16
    the Arguments panel showed `EXPR [NAME=VALUE]...` with no description. The help is
    read again from the command's function, as Typer declared it.
    """
    lost = [p for p in command.params if p.param_type_name == "argument" and not p.help]
    function = getattr(command.callback, "__wrapped__", None)
    if not lost or function is None:
        return
    from typer.utils import get_params_from_function

    declared = get_params_from_function(function)
    for param in lost:
        info = declared.get(param.name)
        said = getattr(getattr(info, "default", None), "help", None)
        if said:
            param.help = said


def _reflow(text: str) -> str:
    """Each paragraph's prose lines joined into one; indented lines (examples) kept."""
    paragraphs = []
    for paragraph in text.split("\n\n"):
        lines: list[str] = []
        for line in paragraph.split("\n"):
            if lines and line[:1] not in ("", " ") and lines[-1][:1] not in ("", " "):
                lines[-1] += " " + line
            else:
                lines.append(line)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


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


def _options_table() -> type[Any]:
    """rich's Table, laying an options panel out as names | description (see above)."""
    from rich.table import Table
    from rich.text import Text

    class OptionsTable(Table):
        # Typer adds an options row as [required,] long, short, --no-long, --no-short,
        # metavar, description, with no columns declared; the commands table declares
        # its own columns first and is left as Typer made it.
        def add_row(self, *cells: Any, **kwargs: Any) -> None:
            if len(cells) < 6 or (self.columns and len(self.columns) not in (2, 3)):
                super().add_row(*cells, **kwargs)
                return
            *required, long, short, no_long, no_short, metavar, description = cells
            if not self.columns:
                for _ in required:
                    self.add_column(no_wrap=True)
                self.add_column(no_wrap=True)  # an option's name is never broken
                self.add_column(ratio=1)  # the description takes what is left
            if not str(long) and str(metavar):
                short = ""  # an argument on Typer < 0.27: its name (args), then its metavar
            names = Text()
            for part, before in (
                (long, ""),
                (short, ", " if str(long) else ""),
                (no_long, " / "),
                (no_short, ", "),
                (metavar, " "),
            ):
                if str(part):
                    names.append(before if str(names) else "")
                    names.append(part if isinstance(part, Text) else Text(str(part)))
            super().add_row(*required, names, description, **kwargs)

    return OptionsTable


@contextmanager
def _help_tables() -> Iterator[None]:
    """While help prints, Typer's options panels are `_options_table()`s."""
    try:
        from typer import rich_utils
    except ImportError:  # Typer without rich prints click's plain help
        yield
        return
    table = getattr(rich_utils, "Table", None)
    if table is None:
        yield
        return
    # Typer builds its tables by the name Table in rich_utils, on every version in range.
    setattr(rich_utils, "Table", _options_table())  # noqa: B010 (not an exported name)
    try:
        yield
    finally:
        setattr(rich_utils, "Table", table)  # noqa: B010


class Command(TyperCommand):
    """A command whose help shows no type names (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _clean(self.params)
        _argument_help(self)
        if self.help:
            self.help = _reflow(self.help)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _help_tables():
            super().format_help(ctx, formatter)

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

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _help_tables():
            super().format_help(ctx, formatter)

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


def choices(enum: type[Enum], name: str) -> str:
    """The metavar of a choice: its values when short (sigmoid|all), else `name`.

    An option's names are one unbroken cell of the help (see `_help_tables`), so a long
    list of values takes its width from the description: `--mode, -m
    backward|forward|local|gradients|full` left the description 25 of 80 columns. Past
    12 characters the metavar is `name` (FORMAT) and the option's help lists the values.
    """
    values = "|".join(member.value for member in enum)
    return values if len(values) <= 12 else name


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
