"""The notebook front end: `%load_ext backprop_cli`, then `%backprop` and `%%backprop`.

    %backprop (x + y) * z  x=-2 y=5 z=-4
    %backprop "1/(1+exp(-(w0*x0+w1*x1+w2)))" w0=2 x0=-1 w1=-3 x1=-2 w2=-3 --explain

    %%backprop x=3 y=-4 --fuse sigmoid
    sigy = 1/(1+exp(-y))
    num = x + sigy
    ...

Both return the `TraceResult` (so `t = %backprop …` keeps it), which shows itself
as the circuit, the tables and the checks. `--explain`, `--fuse`, `--digits`,
`--decimals`, `--result` and `--no-check` work as on the command line.

A cell is untrusted text like any other input: the line is split with shlex (quotes
as in a shell), values are read by the command line's own reader
(`core.language.parse_bindings`) and the program by the parser; nothing reaches
eval. A bad input prints one line, `error: …`, in the cell's output (stderr), and no
traceback. IPython is not imported here at all: the shell hands itself to
`load_ipython_extension`.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass, field
from typing import Any, Literal

from backprop_cli.api import TraceResult, trace
from backprop_cli.errors import InputError

OPTIONS = (
    "the options are --explain, --fuse sigmoid|all, --digits N (1-17), --decimals N (0-10), "
    "--result NAME and --no-check"
)
USAGE = f"""\
%backprop EXPR NAME=VALUE … [options]     trace an expression
%%backprop NAME=VALUE … [options]         trace the staged program in the cell below
{OPTIONS}
example: %backprop "(x + y) * z" x=-2 y=5 z=-4 --explain"""

# `name=value` (not `==`): a value. A name is what Python calls an identifier.
BINDING = re.compile(r"^[^\W\d]\w*=(?!=)")
FLAGS = ("--explain", "--no-check", "--check", "--help", "-h")
# --output: the command line's old name for --result, still read here (no file to clash with)
VALUED = ("--fuse", "--digits", "--decimals", "--result", "--output")
FUSES: dict[str, Literal["sigmoid", "all"]] = {"sigmoid": "sigmoid", "all": "all"}


@dataclass
class Request:
    """What one magic line asks for."""

    expression: list[str] = field(default_factory=list)
    pairs: list[str] = field(default_factory=list)
    explain: bool = False
    check: bool = True
    fuse: Literal["sigmoid", "all"] | None = None
    digits: int = 4
    decimals: int = 2
    output: str | None = None
    help: bool = False


def _whole(option: str, text: str, low: int, high: int) -> int:
    try:
        number = int(text)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise InputError(f"{option} takes a whole number from {low} to {high}, not {text!r}")
    return number


def parse_line(line: str, *, cell: bool) -> Request:
    """The magic's line: the expression (line magic only), NAME=VALUE pairs, options."""
    try:
        tokens = shlex.split(line, posix=True)
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise InputError(f"cannot read the magic's line: {str(exc).lower()}") from None
    request = Request()
    position = 0
    while position < len(tokens):
        token = tokens[position]
        position += 1
        name, sep, inline = token.partition("=")
        if token.startswith("-") and name in FLAGS and not sep:
            if name == "--explain":
                request.explain = True
            elif name in ("--help", "-h"):
                request.help = True
            else:
                request.check = name == "--check"
            continue
        if token.startswith("-") and name in VALUED:
            if sep:
                value = inline
            elif position < len(tokens):
                value = tokens[position]
                position += 1
            else:
                raise InputError(f"{name} needs a value (see %backprop --help)")
            if name == "--fuse":
                if value.lower() not in FUSES:
                    raise InputError(f"--fuse takes sigmoid or all, not {value!r}")
                request.fuse = FUSES[value.lower()]
            elif name == "--digits":
                request.digits = _whole(name, value, 1, 17)
            elif name == "--decimals":
                request.decimals = _whole(name, value, 0, 10)
            else:
                request.output = value
            continue
        if token.startswith("--"):
            raise InputError(f"unknown option {name!r}: {OPTIONS}")
        # The first token of a line magic is always the expression (a program such as
        # "q = x + y; f = q * z" looks like a value); later ones until the first value too.
        if not cell and not request.pairs and (not request.expression or not BINDING.match(token)):
            request.expression.append(token)
        elif BINDING.match(token):
            request.pairs.append(token)
        elif cell:
            raise InputError(
                f"the first line of %%backprop takes NAME=VALUE pairs and options, not "
                f"{token!r}: the program goes in the cell below it"
            )
        else:
            raise InputError(
                f"{token!r} is neither NAME=VALUE nor an option; an expression with spaces "
                'goes first, in quotes: %backprop "(x + y) * z" x=-2 y=5 z=-4'
            )
    return request


def run(line: str, cell: str | None = None) -> TraceResult | None:
    """`%backprop` and `%%backprop`: the result, or None after printing what was wrong."""
    from backprop_cli.core.language import parse_bindings

    try:
        request = parse_line(line, cell=cell is not None)
        if request.help:
            print(USAGE)
            return None
        if cell is not None:
            text = cell
            if not text.strip():
                raise InputError("the cell is empty: write the staged program below %%backprop")
        else:
            text = " ".join(request.expression)
            if not text.strip():
                raise InputError(f"give an expression and its values\n{USAGE}")
        bindings = parse_bindings(request.pairs)
        result = trace(
            text, bindings, output=request.output, check=request.check, fuse=request.fuse
        )
        return result.view(
            digits=request.digits, decimals=request.decimals, explain=request.explain
        )
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    except (RecursionError, MemoryError):
        print(
            "error: the input is too large or too deeply nested to work with; trace a smaller one",
            file=sys.stderr,
        )
        return None


def backprop_magic(line: str, cell: str | None = None) -> TraceResult | None:
    """Trace an expression (%backprop EXPR NAME=VALUE …) or a staged program (%%backprop).

    %backprop "(x + y) * z" x=-2 y=5 z=-4 --explain
    Options: --explain, --fuse sigmoid|all, --digits N, --decimals N, --result NAME,
    --no-check. %backprop --help says more.
    """
    return run(line, cell)


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext backprop_cli`: register `%backprop` and `%%backprop`."""
    ipython.register_magic_function(backprop_magic, magic_kind="line_cell", magic_name="backprop")


__all__ = ["load_ipython_extension", "parse_line", "run"]
