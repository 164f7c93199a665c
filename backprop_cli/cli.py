"""The `backprop` command: thin Typer commands over the logic modules.

Only this module imports typer and owns exit codes: 0 done, 1 a check disagreed,
2 bad input. Heavy modules (sympy, numpy, the engine) are imported inside the
commands, so `backprop --help` starts fast.
"""

from __future__ import annotations

import gc
import io
import json
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, cast

import typer

from backprop_cli import __version__
from backprop_cli.cli_help import (
    BackpropTyper,
    Command,
    Group,
    choice,
    choices,
    complete,
    whole_number,
)
from backprop_cli.errors import BackpropError, InputError
from backprop_cli.outputs import write_output

if TYPE_CHECKING:  # types only: these modules load when a command runs
    from rich.console import Console

    from backprop_cli.checks import Check
    from backprop_cli.core.engine import Trace
    from backprop_cli.pipeline import CheckedTrace
    from backprop_cli.problems.sets import Problem

app = BackpropTyper(
    name="backprop",
    cls=Group,
    help=(
        "A tutor for backpropagation: see the chain rule done gate by gate, "
        "with every number cross-checked by sympy and finite differences.\n\n"
        'Start here:  backprop trace "(x + y) * z" x=-2 y=5 z=-4'
    ),
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish)
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
MAX_FILE_BYTES = 1_000_000


def _version(value: bool) -> None:
    if value:
        typer.echo(f"backprop {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """A tutor for backpropagation."""


def error(message: str) -> None:
    from backprop_cli.core.text import shown

    # Messages quote the user's text (a title, a file name): never raw to a terminal.
    typer.echo(f"error: {shown(message, lines=True)}", err=True)


@contextmanager
def reported_errors() -> Iterator[None]:
    """The one place where our exceptions become a message on stderr and an exit code."""
    try:
        yield
    except BackpropError as exc:
        error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except (RecursionError, MemoryError):
        error("the input is too large or too deeply nested to work with; trace a smaller one")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def read_text(source: str) -> str:
    """Text from a file path, or standard input for '-'."""
    if source == "-":
        data = (
            sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
            if hasattr(sys.stdin, "buffer")
            else (sys.stdin.read(MAX_FILE_BYTES + 1).encode())
        )
        where = "standard input"
    else:
        path = Path(source)
        if path.is_dir():
            raise InputError(f"{source} is a folder; give the file with the expression in it")
        if not path.exists():
            raise InputError(f"no such file: {source}")
        # Not only regular files: a pipe (--file <(…)) is read too, at most
        # MAX_FILE_BYTES + 1 bytes, so /dev/zero is "larger than", not "no such file".
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read {source}: {exc.strerror}") from None
        where = source
    if len(data) > MAX_FILE_BYTES:
        raise InputError(
            f"{where} is larger than {MAX_FILE_BYTES:,} bytes; trace a smaller circuit"
        )
    try:
        # One leading byte-order mark is dropped: Windows editors (Notepad) save UTF-8 so
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{where} is not UTF-8 text (byte {exc.start} cannot be decoded); save it as UTF-8"
        ) from None


def example_command(text: str, inputs: list[str]) -> str:
    values = " ".join(f"{name}=1" for name in inputs)
    shown = shlex.quote(text.strip()) if "\n" not in text.strip() else "--file PROGRAM.txt"
    from backprop_cli.core.text import shown as safe

    return safe(f"backprop trace {shown} {values}".rstrip())


def stdout_console(record: bool = False, file: IO[str] | None = None) -> Console:
    """Rich on standard output (or `file`). Piped or to a file: no trailing spaces on
    table lines, and a line that must not break (a path) runs past the width instead
    of being cut (the views mark such lines no_wrap, overflow="ignore")."""
    from rich.console import Console

    if file is None and sys.stdout.isatty():
        return Console(highlight=False, soft_wrap=False, record=record)

    class Uncropped(Console):
        def print(self, *objects: Any, **options: Any) -> None:
            options.setdefault("crop", False)
            super().print(*objects, **options)

    return Uncropped(
        file=cast(IO[str], TrimmedLines(file or sys.stdout)),
        highlight=False,
        soft_wrap=False,
        record=record,
    )


class TrimmedLines:
    """A text stream that drops the spaces Rich pads table lines with, line by line."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.pending = stream, ""

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        if lines:
            self.stream.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.stream.write(self.pending)
            self.pending = ""
        self.stream.flush()

    def isatty(self) -> bool:
        return False


# --------------------------------------------------------------------------- issue 5:
# pictures, explanations, fused gates, exports and generated code. The choices are
# shared by `trace`, `graph` and `code`; the helpers and commands are further down.


class Fuse(StrEnum):
    sigmoid = "sigmoid"
    all = "all"


class TraceFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    latex = "latex"
    html = "html"


class GraphFormat(StrEnum):
    tree = "tree"
    dot = "dot"
    mermaid = "mermaid"
    svg = "svg"
    png = "png"
    html = "html"


FuseOption = Annotated[
    Fuse | None,
    typer.Option(
        "--fuse",
        parser=choice(Fuse),
        metavar=choices(Fuse, "WHICH"),
        autocompletion=complete(Fuse),
        help="Collapse 1/(1+exp(-z)) into one sigmoid gate (all: also x*x into x^2).",
    ),
]
DecimalsOption = Annotated[
    int,
    typer.Option(
        "--decimals",
        parser=whole_number(0, 10),
        metavar="N",
        help="Decimals in pictures and explanations, 0 to 10 (the notes': 2).",
    ),
]

# --------------------------------------------------------------------------- end of issue 5 choices


class ExpressionCommand(Command):
    """A command whose first argument is an expression, which may start with a minus.

    Click reads `-x^2` as options -x, -^ and -2 ("No such option: -x"). Any argument
    that starts with one minus and is not an option of the command is an expression
    or a value, so it is passed on as an argument (with a leading space, removed by
    `expression_text`).
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        options: dict[str, bool] = {}  # option name -> takes a value
        for param in self.get_params(ctx):  # with -h and --help
            if getattr(param, "param_type_name", "") == "option":
                takes_value = not getattr(param, "is_flag", False) and not getattr(
                    param, "count", False
                )
                for name in (*param.opts, *param.secondary_opts):
                    options[name] = takes_value
        protected: list[str] = []
        skip_value = False
        for token in args:
            if skip_value:
                protected.append(token)
                skip_value = False
                continue
            if token == "--":
                protected.extend(args[len(protected) :])
                break
            if token in options:
                skip_value = options[token]
            elif (
                token.startswith("-")
                and not token.startswith("--")
                and len(token) > 1
                and not options.get(token[:2], False)  # -fFILE, -oNAME: click's own
            ):
                token = " " + token
            protected.append(token)
        return super().parse_args(ctx, protected)


def expression_text(text: str) -> str:
    """An expression argument as typed (ExpressionCommand protects a leading minus)."""
    return text[1:] if text.startswith(" -") else text


# quiz and step: a generated circuit, the same one for the same seed.
GenerateOption = Annotated[
    bool, typer.Option("--generate", help="A random circuit from the gate catalog.")
]
SeedOption = Annotated[
    int | None,
    typer.Option(
        "--seed",
        parser=whole_number(0),
        metavar="S",
        help="With --generate: the same seed, the same circuit.",
    ),
]
ExpressionArgs = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="EXPR [NAME=VALUE]...",
        help="An expression or a staged program ('-' reads standard input), then values.",
        show_default=False,
    ),
]
FileOption = Annotated[
    Path | None,
    typer.Option("--file", "-f", metavar="FILE", help="Read the expression or program from FILE."),
]
# -o is the output FILE in every command; the output's NAME in a program is --result.
ResultOption = Annotated[
    str | None,
    typer.Option(
        "--result",
        metavar="NAME",
        help="Which assigned name of a program is the output (default: the last).",
    ),
]
CheckOption = Annotated[
    bool, typer.Option("--check/--no-check", help="Cross-check with sympy and finite differences.")
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force", help="Replace an output file backprop did not write (or a symbolic link)."
    ),
]


@app.command(cls=ExpressionCommand)
def trace(
    args: ExpressionArgs = None,
    file: FileOption = None,
    output: ResultOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="FILE", help="Write the trace to FILE instead of the screen."
        ),
    ] = None,
    digits: Annotated[
        int,
        typer.Option(
            "--digits",
            parser=whole_number(1, 17),
            metavar="N",
            help="Significant digits to print, 1 to 17.",
        ),
    ] = 4,
    check: CheckOption = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead.")] = False,
    problem_id: Annotated[
        str | None,
        typer.Option(
            "--problem",
            "-p",
            metavar="ID",
            help="Trace a problem from a set (see backprop problems); values given override.",
        ),
    ] = None,
    problem_paths: Annotated[
        list[Path] | None,
        typer.Option("--from", metavar="PATH", help="Look for --problem here, not the bundle."),
    ] = None,
    draw: Annotated[
        bool, typer.Option("--graph", help="Also draw the circuit, wires labelled.")
    ] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Also tell the backward pass in sentences.")
    ] = False,
    fuse: FuseOption = None,
    trace_format: Annotated[
        TraceFormat,
        typer.Option(
            "--format",
            parser=choice(TraceFormat),
            metavar=choices(TraceFormat, "FORMAT"),
            autocompletion=complete(TraceFormat),
            help="table; markdown or latex for homework; html for a page to share "
            "(default: from -o's suffix, .html .md .tex, else table).",
        ),
    ] = TraceFormat.table,
    export_svg: Annotated[
        Path | None,
        typer.Option("--export-svg", metavar="FILE", help="Also save the terminal output as SVG."),
    ] = None,
    decimals: DecimalsOption = 2,
    force: ForceOption = False,
) -> None:
    """Trace an expression gate by gate: forward values, local gradients, chain rule.

    Each operation becomes a staged gate, as in the lecture notes:
    mul, add, *-1, exp, +1, 1/x. Without values the trace is symbolic.

    [bold]Examples[/bold]

      backprop trace "(x + y) * z" x=-2 y=5 z=-4

      backprop trace "1/(1+exp(-(w0*x0+w1*x1+w2)))" w0=2 x0=-1 w1=-3 x1=-2 w2=-3

      backprop trace "1/(1+exp(-(w0*x0+w1*x1+w2)))"           # symbolic

      backprop trace "q = x + y; f = q * z" x=-2 y=5 z=-4     # a staged program

      backprop trace "q = x*2; f = q + 1" x=3 --result q      # the output: q

      backprop trace "(x + y) * z" x=-2 y=5 z=-4 --json -o trace.json

      backprop trace --problem sigmoid-neuron                 # a bundled problem

      backprop trace "(x + y) * z" x=-2 y=5 z=-4 --format html --out page.html

    [bold]The language[/bold]: numbers, names, + - * / and ** or ^, unary minus,
    parentheses, and exp log sqrt sin cos tanh sigmoid relu abs max min.
    Programs: one [italic]name = expr[/italic] per line (or separated by ;),
    also += -= *= /=; the output is the last name assigned.

    [bold]Vectors and matrices[/bold]: give values such as W=[[0.1,0.5],[-0.3,0.8]]
    x=[0.2,0.4] and also use @, W.T, sum mean dot norm2 softmax log_softmax,
    cross_entropy(s, k), and max(v) / min(v) of one vector (axis=0 or 1 for a
    matrix); + - * / and the functions work entry by entry, with broadcasting.

      backprop trace "norm2(W @ x)" "W=[[0.1,0.5],[-0.3,0.8]]" "x=[0.2,0.4]"

    [bold]Exit codes[/bold]: 0 done, 1 a cross-check disagreed, 2 bad input.
    """
    from backprop_cli.core.language import parse_bindings
    from backprop_cli.pipeline import trace_text

    with reported_errors():
        problem = None
        if problem_id is not None:
            positional = list(args or [])
            problem = problem_for_trace(problem_id, problem_paths, file, positional)
            text = problem.expression
            bindings = problem_bindings(problem, parse_bindings(positional))
        else:
            text, bindings = expression_and_bindings(args, file, "trace")
        if out is not None and trace_format is TraceFormat.table and not as_json:
            # as graph: -o page.html writes the page, -o notes.md Markdown, else the tables
            trace_format = DOCUMENT_SUFFIXES.get(out.suffix.lower(), TraceFormat.table)
        refuse_mixed_outputs(as_json, trace_format, draw, explain, export_svg)
        text = without_backward_part(text, file)
        result = trace_text(
            text, bindings, output=output, check=check, fuse=fuse.value if fuse else None
        )
    # Files this command read: never written over (problem sets, --file).
    read_from = (*([file] if file else []), *(problem_paths or []))

    trace_result = result.trace
    sink = io.StringIO()  # with -o FILE: what would have gone to standard output
    if as_json:
        from backprop_cli.render.json import trace_dict

        with reported_errors():
            text = json.dumps(trace_dict(trace_result, result.checks), indent=2) + "\n"
            emit_document(text, out, "the JSON", force=force, inputs=read_from)
    elif trace_format is TraceFormat.html:
        from backprop_cli.render import html

        heading = None
        if problem is not None:
            heading = html.Heading(f"problem {problem.id}: {problem.title}", problem.hint or "")
        page = html.page(
            trace_result,
            result.checks,
            digits=digits,
            decimals=decimals,
            explain=explain,
            example=example_command(text, list(trace_result.graph.inputs)),
            heading=heading,
        )
        with reported_errors():
            emit_document(page, out, "an HTML page", force=force, inputs=read_from)
    elif trace_format is not TraceFormat.table:
        with reported_errors():
            document = trace_document(
                trace_result, result.checks, trace_format, digits, draw, explain, decimals
            )
            emit_document(document, out, trace_format.value, force=force, inputs=read_from)
    else:
        from backprop_cli.render.table import trace_view

        example = example_command(text, list(trace_result.graph.inputs))
        console = stdout_console(record=export_svg is not None, file=sink if out else None)
        if problem is not None:
            console.print(problem_header(problem))
        console.print(trace_view(trace_result, result.checks, digits, example))
        print_extras(console, trace_result, draw=draw, explain=explain, decimals=decimals)
        if export_svg is not None:
            with reported_errors():
                save_svg(console, export_svg, force=force, inputs=read_from)
        if out is not None:
            with reported_errors():
                write_output(out, sink.getvalue(), force=force, inputs=read_from)
            stderr_note(f"wrote the trace to {out}")
    if result.failed:
        if any(not loss.unsure for loss in trace_result.float_losses):  # float range, said
            error(
                "a cross-check disagreed with the backward pass: float64's range, not the "
                "rule (see the warnings and the checks above)"
            )
        else:
            error("a cross-check disagreed with the backward pass (see the checks above)")
        raise typer.Exit(EXIT_CHECK_FAILED)


# --------------------------------------------------------------------------- problem sets
# `backprop check`, `backprop problems`, and the helpers behind `trace --problem`.


class CheckFormat(StrEnum):
    table = "table"
    json = "json"
    junit = "junit"
    github = "github"


def problem_for_trace(
    problem_id: str, paths: list[Path] | None, file: Path | None, positional: list[str]
) -> Problem:
    from backprop_cli.problems.sets import find_problem

    if file is not None:
        raise InputError("give either --problem or --file, not both")
    if positional and "=" not in positional[0]:
        raise InputError(
            f"with --problem, give only NAME=VALUE pairs after it, not {positional[0]!r}"
        )
    return find_problem(problem_id, paths or None)


def problem_bindings(problem: Problem, overrides: dict[str, float]) -> dict[str, float]:
    """The problem's values, overridden by any given; those the expression ignores dropped."""
    from backprop_cli.pipeline import variables

    used = set(variables(problem.expression, problem.bindings))
    merged = {k: v for k, v in problem.bindings.items() if k in used}
    merged.update(overrides)
    return merged


def problem_header(problem: Problem) -> object:
    from rich.console import Group
    from rich.text import Text

    from backprop_cli.core.text import shown
    from backprop_cli.problems.sets import shown_path

    text = Text()
    text.append(f"problem {shown(problem.id)}", style="bold cyan")
    text.append(f"  {shown(problem.title)}")
    # The file on a line of its own, never broken: an installed bundle's path
    # (…/site-packages/backprop_cli/problem_sets/02-worked-examples.toml:113, 90
    # characters) was cut at 80 columns in the middle of the file's name. Past the
    # width it runs on (a terminal wraps it softly; a copy of it stays whole).
    where = Text(
        f"from {shown(shown_path(problem.file))}:{problem.line}",
        style="dim",
        no_wrap=True,
        overflow="ignore",
    )
    parts: list[Text] = [text, where]
    if problem.hint:
        hint = Text("hint: ", style="bold blue")
        hint.append(shown(problem.hint, lines=True))
        parts.append(hint)
    return Group(*parts)


@app.command()
def check(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="PATH...",
            help="Problem files, or folders searched for *.toml files with \\[\\[problem]] "
            "tables (default: the bundled sets).",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        CheckFormat,
        typer.Option(
            "--format",
            parser=choice(CheckFormat),
            metavar=choices(CheckFormat, "FORMAT"),
            autocompletion=complete(CheckFormat),
            help="table, json, junit (JUnit XML) or github (annotations).",
        ),
    ] = CheckFormat.table,
    sympy: Annotated[
        bool,
        typer.Option(
            "--sympy/--no-sympy",
            help="Also cross-check every trace with sympy (finite differences always run).",
        ),
    ] = True,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Show only problems that did not pass cleanly.")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            parser=whole_number(1),
            metavar="N",
            help="Check in N processes at once (default: one per core; -j 1 for one).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check problem sets: trace every problem and prove its stated answers.

    For each \\[\\[problem]]: parse, trace, cross-check, and compare the
    claimed value and gradients: |got - want| <= tolerance × max(1, |want|).
    Warns about duplicate ids, unused bindings, names without values, kinks
    and values near overflow.

    [bold]Examples[/bold]

      backprop check problems/

      backprop check                               # the bundled sets

      backprop check examples/wrong-claim.toml --format github

      backprop check problems/ --format junit > report.xml

      backprop check problems/ -j 1                # in one process

    [bold]Exit codes[/bold]: 0 all passed, 1 a claim (or a cross-check) failed,
    2 a file or a problem cannot be used (an error row; the other files are still
    checked).
    """
    import time

    from backprop_cli.problems.sets import (
        available_cores,
        bundled_path,
        check_each,
        load_each,
        shown_path,
        summarize,
    )

    started = time.perf_counter()
    with reported_errors():
        paths = paths or [bundled_path()]
        # A file that cannot be loaded is an error row in its place, not the end of the
        # run: every other file is still checked, and the exit code is 2 at the end.
        loaded = load_each(paths)
        if not loaded:
            raise InputError(
                f"found no problems in {', '.join(map(str, paths))} "
                "(looked for *.toml files with [[problem]] tables)"
            )
    results = check_each(
        loaded, symbolic=sympy, jobs=jobs if jobs is not None else available_cores()
    )
    seconds = time.perf_counter() - started
    if output_format is CheckFormat.json:
        from backprop_cli.render.json import check_dict

        typer.echo(json.dumps(check_dict(results), indent=2))
    elif output_format is CheckFormat.junit:
        from backprop_cli.render.problems import junit_xml

        typer.echo(junit_xml(results, seconds))
    elif output_format is CheckFormat.github:
        from backprop_cli.render.problems import github_annotations

        typer.echo(github_annotations(results))
    else:
        from backprop_cli.render.problems import check_view

        console = stdout_console()
        console.print(check_view(results, quiet=quiet))
    # stdout may be a report file (--format junit > report.xml): stderr still says, as
    # before, which file cannot be loaded and why, after the other files were checked.
    for result in results:
        if result.unreadable:
            error(f"{shown_path(result.problem.file)}:{result.problem.line}: {result.message}")
    status = summarize(results).exit_status
    if status != "ok":
        raise typer.Exit(EXIT_BAD_INPUT if status == "error" else EXIT_CHECK_FAILED)


@app.command("problems")
def list_problems(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="PATH...", help="Problem files or folders (default: the bundled sets)."
        ),
    ] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", metavar="TAG", help="Only problems with this tag.")
    ] = None,
    level: Annotated[
        int | None,
        typer.Option(
            "--difficulty",
            "-d",
            parser=whole_number(1, 5),
            metavar="N",
            help="Only problems of difficulty N, 1 to 5.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list instead.")] = False,
) -> None:
    """List problem sets and their problems, with difficulty and tags.

    [bold]Examples[/bold]

      backprop problems

      backprop problems --tag fork

      backprop problems problems/ --difficulty 3

    The table shows each problem's id, difficulty (1 to 5, what --difficulty
    selects), tags and title; --json prints the same as a list.
    """
    from backprop_cli.problems.sets import bundled_path, load_problems

    with reported_errors():
        problems = load_problems(paths or [bundled_path()])
    if tag is not None:
        problems = [p for p in problems if tag in p.tags]
    if level is not None:
        problems = [p for p in problems if p.difficulty == level]
    if as_json:
        from backprop_cli.render.json import problems_dicts

        typer.echo(json.dumps(problems_dicts(problems), indent=2))
        return
    from backprop_cli.render.problems import problems_view

    stdout_console().print(problems_view(problems))


# --------------------------------------------------------------------------- quiz, stats
# `backprop quiz` and `backprop stats` (issue 4): the logic is in quiz.py (questions,
# grading), play.py (choosing a problem, the prompt loop), history.py (SQLite).

EXIT_INTERRUPTED = 130


class QuizMode(StrEnum):  # quiz.MODES, as choices typer can check and list
    backward = "backward"
    forward = "forward"
    local = "local"
    gradients = "gradients"
    full = "full"


def _notices(messages: list[str]) -> None:
    from backprop_cli.core.text import shown

    for message in messages:
        typer.echo(f"warning: {shown(message, lines=True)}", err=True)


@app.command(cls=ExpressionCommand)
def quiz(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="EXPR [NAME=VALUE]...",
            help="Quiz on your own expression instead of a problem set.",
            show_default=False,
        ),
    ] = None,
    problem: Annotated[
        str | None,
        typer.Option("--problem", "-p", metavar="ID", help="The id of a problem to do."),
    ] = None,
    sets: Annotated[
        list[Path] | None,
        typer.Option(
            "--set", metavar="PATH", help="A problem file or folder instead of the bundled sets."
        ),
    ] = None,
    generate: GenerateOption = False,
    difficulty: Annotated[
        int | None,
        typer.Option(
            "--difficulty",
            "-d",
            parser=whole_number(1, 5),
            metavar="N",
            help="1 (one gate) to 5.",
        ),
    ] = None,
    seed: SeedOption = None,
    mode: Annotated[
        QuizMode,
        typer.Option(
            "--mode",
            "-m",
            parser=choice(QuizMode),
            metavar=choices(QuizMode, "MODE"),
            autocompletion=complete(QuizMode),
            help="What to work out: backward, forward, local, gradients or full (the modes above).",
            show_default=True,
        ),
    ] = QuizMode.backward,
    tolerance: Annotated[
        str | None,
        typer.Option(
            "--tolerance",
            metavar="REL",
            help="Relative tolerance, e.g. 0.01 (default: right to 2 significant digits).",
        ),
    ] = None,
) -> None:
    """Work out a backward pass yourself, step by step, with feedback on every answer.

    Without a problem option it picks for you: problems you missed come back, then
    the gates you are weakest at. Type a number or a small calculation
    (-1/1.37**2), [bold]?[/bold] for a hint, [bold]skip[/bold], or [bold]q[/bold] to quit.
    Every answer is saved (see backprop stats); BACKPROP_HOME sets where.

    [bold]Examples[/bold]

      backprop quiz

      backprop quiz --problem sum-times --mode full

      backprop quiz --generate --difficulty 3 --seed 7

      backprop quiz "(x + y) * z" x=-2 y=5 z=-4

    Modes: [bold]backward[/bold] (local gradients and the products upstream × local, in
    backward order), [bold]forward[/bold] (every step's value), [bold]local[/bold] (local
    gradients), [bold]gradients[/bold] (the gradient on each input), [bold]full[/bold]
    (forward, then backward).

    On a terminal it asks at a prompt; otherwise it reads one answer per line, and
    the end of input ends the quiz. The last line is [italic]Score: K/N[/italic].

    [bold]Exit codes[/bold]: 0 done, 2 bad input, 130 interrupted (answers so far are
    saved).
    """
    from backprop_cli import play
    from backprop_cli.core.language import parse_bindings
    from backprop_cli.quiz import history
    from backprop_cli.quiz.questions import Mode, parse_tolerance, start_quiz

    quiz_mode: Mode = mode.value
    with reported_errors():
        limit = parse_tolerance(tolerance)
        positional = list(args or [])
        expression = expression_text(positional.pop(0)) if positional else None
        bindings = parse_bindings(positional)
        store = history.open_store()
        rows = store.rows()  # may add a notice (bad rows skipped): say it with the others
        _notices(store.notices)
        choice = play.choose_problem(
            expression=expression,
            bindings=bindings,
            problem_id=problem,
            sets=sets or (),
            generate=generate,
            difficulty=difficulty,
            seed=seed,
            rows=rows,
        )
        session = start_quiz(choice.problem, quiz_mode, limit)

    from backprop_cli.render.quiz import summary_view

    console = stdout_console()
    answers: play.AnswerSource = (
        play.TerminalAnswers(console)
        if sys.stdin.isatty()
        else play.LineAnswers(console, sys.stdin)
    )
    seen = len(store.notices)
    save = play.saver(store, history.new_session(), choice.problem.id, quiz_mode)
    outcome = play.run(session, console, answers, save, why=choice.why, saved=not store.in_memory)
    _notices(store.notices[seen:])
    console.print(
        summary_view(outcome.summary, interrupted=outcome.interrupted, saved=not store.in_memory)
    )
    store.close()
    if outcome.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)


@app.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead.")] = False,
) -> None:
    """Your quiz history: accuracy by gate and by mode, streaks, what is due and when.

    Reviews are scheduled by FSRS for each problem and each gate skill, rated from
    each quiz run's answers (right, hints, time): the problems and gate skills due
    now, and the next to come due.

    [bold]Examples[/bold]

      backprop stats

      backprop stats --json

      BACKPROP_HOME=/tmp/class backprop stats      # another history

    Every quiz answer is kept in a SQLite database: on Linux
    ~/.local/share/backprop/history.sqlite3 (the data directory of your system,
    from platformdirs), or in $BACKPROP_HOME when that is set. The first line of
    the output names the file.
    """
    from backprop_cli.quiz import history

    path = history.default_path()
    rows, notices = history.read_rows(path)
    _notices(notices)
    if notices and not rows:
        # Not "no answers saved yet": there may be many, in a file we could not read.
        error(f"no statistics: the history database {path} could not be read (see above)")
        raise typer.Exit(EXIT_BAD_INPUT)
    result = history.compute_stats(rows)
    if as_json:  # the whole path, for programs
        from backprop_cli.render.json import stats_dict

        typer.echo(json.dumps(stats_dict(result, str(path)), indent=2))
        return
    from backprop_cli.render.quiz import stats_view

    stdout_console().print(stats_view(result, history.shown_path(path)))


# --------------------------------------------------------------------------- issue 5:
# pictures, explanations, exports and generated code (commands `graph` and `code`,
# and the helpers behind `trace --graph/--explain/--format/--export-svg`).

DOCUMENT_SUFFIXES = {
    ".html": TraceFormat.html,
    ".htm": TraceFormat.html,
    ".md": TraceFormat.markdown,
    ".tex": TraceFormat.latex,
}
PICTURE_SUFFIXES = {
    ".dot": GraphFormat.dot,
    ".gv": GraphFormat.dot,
    ".mmd": GraphFormat.mermaid,
    ".svg": GraphFormat.svg,
    ".png": GraphFormat.png,
    ".html": GraphFormat.html,
    ".htm": GraphFormat.html,
}


def refuse_mixed_outputs(
    as_json: bool, trace_format: TraceFormat, draw: bool, explain: bool, export_svg: Path | None
) -> None:
    """Say at once when two options ask for different kinds of output."""
    if as_json and trace_format is not TraceFormat.table:
        raise InputError(f"--json and --format {trace_format.value} are two outputs: choose one")
    if as_json and (draw or explain or export_svg is not None):
        raise InputError(
            "--graph, --explain and --export-svg add to the terminal output; "
            "leave out --json (the JSON has the numbers they show)"
        )
    if trace_format is not TraceFormat.table and export_svg is not None:
        raise InputError("--export-svg saves the terminal output; leave out --format")
    if trace_format is TraceFormat.latex and draw:
        raise InputError(
            "--format latex has no picture of the circuit: draw it with  "
            "backprop graph EXPR … --format svg -o circuit.svg  and include the file"
        )


def trace_document(
    trace: Trace,
    checks: list[Check],
    trace_format: TraceFormat,
    digits: int,
    draw: bool,
    explain: bool,
    decimals: int,
) -> str:
    """The trace as Markdown or LaTeX, with the picture and the sentences if asked."""
    from backprop_cli.render import markdown

    if trace_format is TraceFormat.markdown:
        text = markdown.to_markdown(trace, checks, digits)
    else:
        text = markdown.to_latex(trace, checks, digits)
    if explain:
        from backprop_cli.render.explain import explain as sentences

        said = sentences(trace, decimals)
        text += (
            markdown.explain_markdown(said)
            if trace_format is TraceFormat.markdown
            else markdown.explain_latex(said)
        )
    if draw:
        from backprop_cli.render.dot import to_mermaid

        text += "### The circuit\n\n```mermaid\n" + to_mermaid(trace, decimals) + "```\n"
    return text


def print_extras(
    console: Console, trace: Trace, *, draw: bool, explain: bool, decimals: int
) -> None:
    """The circuit tree and the sentences, after the trace's tables."""
    if draw:
        from backprop_cli.render.tree import tree_view

        console.print(tree_view(trace, decimals))
    if explain:
        from backprop_cli.render.explain import explain_view

        console.print(explain_view(trace, decimals))


def save_svg(
    console: Console, path: Path, *, force: bool = False, inputs: tuple[Path, ...] = ()
) -> None:
    """What the console printed, as an SVG picture of the terminal (Rich records it)."""
    svg = console.export_svg(title="backprop trace")
    write_output(path, svg, force=force, inputs=inputs)
    stderr_note(f"saved the terminal output to {path}")


def emit_document(
    text: str, out: Path | None, what: str, *, force: bool = False, inputs: tuple[Path, ...] = ()
) -> None:
    """A document to `out`, with a note on stderr, or to standard output."""
    if out is None:
        typer.echo(text, nl=False)
        return
    write_output(out, text, force=force, inputs=inputs)
    stderr_note(f"wrote {what} to {out}")


def stderr_note(message: str) -> None:
    """A note on stderr, so stdout stays exactly the output asked for."""
    typer.echo(message, err=True)


def expression_and_bindings(
    args: list[str] | None, file: Path | None, command: str
) -> tuple[str, dict[str, float]]:
    """The expression (argument, --file or '-') and the NAME=VALUE pairs after it."""
    from backprop_cli.core.language import parse_bindings

    positional = list(args or [])
    if file is not None:
        text = read_text(str(file))
    elif positional:
        first = expression_text(positional.pop(0))
        text = read_text("-") if first == "-" else first
    else:
        raise InputError(
            f'give an expression, for example  backprop {command} "x*y" x=2 y=3  '
            "(or --file PATH, or - for standard input)"
        )
    return text, parse_bindings(positional)


def without_backward_part(text: str, file: Path | None) -> str:
    """The forward part of a program that also has the learner's backward pass (the
    notes' `ddot = …`, `dx = …` lines): traced on its own, with a pointer to the check."""
    from backprop_cli.core.language import split_backward

    forward, lines = split_backward(text)
    if lines:
        where = str(file) if file is not None else "FILE"
        stderr_note(
            f"note: lines {lines[0].line}–{lines[-1].line} are a backward pass ("
            f"{lines[0].target} …); traced the forward pass. Check yours with  "
            f"backprop check-backward {where}"
        )
        return forward
    return text


def report_failed_checks(result: CheckedTrace) -> None:
    if result.failed:
        error("a cross-check disagreed with the backward pass (run backprop trace to see it)")
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command(cls=ExpressionCommand)
def graph(
    args: ExpressionArgs = None,
    file: FileOption = None,
    output: ResultOption = None,
    graph_format: Annotated[
        GraphFormat | None,
        typer.Option(
            "--format",
            parser=choice(GraphFormat),
            metavar=choices(GraphFormat, "FORMAT"),
            autocompletion=complete(GraphFormat),
            help="tree (the terminal), dot, mermaid, svg, png or html (a page that steps "
            "through it); default: from -o's suffix.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", metavar="FILE", help="Write the picture to FILE."),
    ] = None,
    fuse: FuseOption = None,
    decimals: DecimalsOption = 2,
    check: CheckOption = True,
    force: ForceOption = False,
) -> None:
    """Draw the circuit: gates with their values, wires with value and gradient.

    Forward values are green, gradients red, as in the notes' figures. DOT, Mermaid
    and HTML need nothing; SVG and PNG use Graphviz's [italic]dot[/italic] program.
    HTML is one self-contained page that steps through the forward and backward pass.

    [bold]Examples[/bold]

      backprop graph "1/(1+exp(-(w0*x0+w1*x1+w2)))" w0=2 x0=-1 w1=-3 x1=-2 w2=-3

      backprop graph "(x + y) * z" x=-2 y=5 z=-4 --format mermaid

      backprop graph "1/(1+exp(-(w*x+b)))" w=2 x=-1 b=-3 -o neuron.svg

      backprop graph "(x + y) * z" x=-2 y=5 z=-4 -o circuit.html

    [bold]Exit codes[/bold]: 0 done, 1 a cross-check disagreed, 2 bad input
    (also when Graphviz is needed and not installed).
    """
    from backprop_cli.pipeline import trace_text

    with reported_errors():
        text, bindings = expression_and_bindings(args, file, "graph")
        text = without_backward_part(text, file)
        read_from = (file,) if file else ()
        fmt = graph_format
        if fmt is None:
            fmt = (
                PICTURE_SUFFIXES.get(out.suffix.lower(), GraphFormat.tree)
                if out
                else GraphFormat.tree
            )
        if fmt is GraphFormat.png and out is None:
            raise InputError("--format png writes a binary picture: give a file with -o FILE.png")
        result = trace_text(
            text, bindings, output=output, check=check, fuse=fuse.value if fuse else None
        )
        if fmt is GraphFormat.html:  # the page to share: picture, steps, tables, checks
            from backprop_cli.render import html

            page = html.page(
                result.trace,
                result.checks,
                decimals=decimals,
                example=example_command(text, list(result.trace.graph.inputs)),
            )
            emit_document(page, out, "an HTML page", force=force, inputs=read_from)
        elif out is not None:
            picture = draw_picture(result.trace, fmt, decimals)
            write_output(out, picture, force=force, inputs=read_from)
            stderr_note(f"wrote {fmt.value} to {out}")
        elif fmt is GraphFormat.tree:  # the terminal: in colour, at the terminal's width
            from backprop_cli.render.tree import tree_view

            stdout_console().print(tree_view(result.trace, decimals))
        else:
            typer.echo(draw_picture(result.trace, fmt, decimals), nl=False)
    report_failed_checks(result)


def draw_picture(trace: Trace, fmt: GraphFormat, decimals: int) -> str | bytes:
    """Text (the tree as plain text, DOT, Mermaid, SVG) or bytes (PNG), for a file."""
    from backprop_cli.render import dot

    if fmt is GraphFormat.tree:
        import io

        from rich.console import Console

        from backprop_cli.render.tree import tree_view

        buffer = io.StringIO()
        Console(file=buffer, width=200, color_system=None).print(tree_view(trace, decimals))
        return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
    if fmt is GraphFormat.mermaid:
        return dot.to_mermaid(trace, decimals)
    text = dot.to_dot(trace, decimals)
    if fmt is GraphFormat.dot:
        return text
    dot.refuse_large_picture(trace, fmt.value)
    picture = dot.render_picture(text, fmt.value)
    return picture.decode("utf-8") if fmt is GraphFormat.svg else picture


@app.command("check-backward")
def check_backward(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="A program: the forward pass, then your backward pass ('-' reads stdin).",
            show_default=False,
        ),
    ],
    values: Annotated[
        list[str] | None,
        typer.Argument(metavar="NAME=VALUE...", help="Values (override the file's)."),
    ] = None,
    output: ResultOption = None,
    check: CheckOption = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead.")] = False,
) -> None:
    """Check your own backward pass, line by line, against the traced gradients.

    The file is the notes' kind of code: the forward pass (values at the top, or
    NAME=VALUE after the file), then one [italic]dNAME[/italic] line per gradient
    (∂f/∂NAME), with [italic]+=[/italic] where a value is used more than once. Each
    d-line is reported right, or wrong with the slip that explains it and the
    gradient it should be.

    [bold]Examples[/bold]

      backprop check-backward examples/notes-neuron-backward.py

      backprop check-backward examples/notes-staged-broken.py

    [bold]Exit codes[/bold]: 0 every line right, 1 a line or a gradient is wrong
    (or a cross-check disagreed), 2 bad input.
    """
    from backprop_cli.core.language import parse_bindings
    from backprop_cli.pipeline import check_backward_text

    with reported_errors():
        text = read_text(source)
        checked = check_backward_text(
            text, parse_bindings(list(values or [])), output=output, check=check
        )
    trace = checked.result.trace
    if as_json:
        from backprop_cli.render.backward import backward_dict

        typer.echo(json.dumps(backward_dict(trace, checked.report), indent=2))
    else:
        from backprop_cli.render.backward import backward_view

        where = "standard input" if source == "-" else source
        stdout_console().print(backward_view(trace, checked.report, where))
    if checked.result.failed:
        error("a cross-check disagreed with the traced gradients (run backprop trace to see it)")
    if checked.failed:
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command(cls=ExpressionCommand)
def code(
    args: ExpressionArgs = None,
    file: FileOption = None,
    output: ResultOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", metavar="FILE", help="Write the Python to FILE."),
    ] = None,
    fuse: FuseOption = None,
    check: CheckOption = True,
    force: ForceOption = False,
) -> None:
    """Write the staged forward and backward pass as plain Python, as the notes do.

    Forward values are cached in variables, gradients flow back gate by gate, and
    [italic]+=[/italic] adds them up at forks. Run the file: it prints the value and the
    gradients, the same numbers [italic]backprop trace[/italic] shows.

    [bold]Examples[/bold]

      backprop code "(x + y) * z" x=-2 y=5 z=-4

      backprop code -f examples/notes-neuron.py -o neuron.py && python neuron.py
    """
    from backprop_cli.pipeline import trace_text
    from backprop_cli.render.code import to_python

    with reported_errors():
        text, bindings = expression_and_bindings(args, file, "code")
        text = without_backward_part(text, file)
        result = trace_text(
            text, bindings, output=output, check=check, fuse=fuse.value if fuse else None
        )
        source = to_python(result.trace)
        if out is not None:
            write_output(out, source, force=force, inputs=(file,) if file else ())
            stderr_note(f"wrote Python to {out}")
    if out is None:
        typer.echo(source, nl=False)
    report_failed_checks(result)


# --------------------------------------------------------------------------- end of issue 5

# --------------------------------------------------------------------------- issue 12:
# `backprop step`, the full-screen stepper (backprop_cli/step, Textual, loaded lazily).


@app.command()
def step(
    args: ExpressionArgs = None,
    file: FileOption = None,
    problem_id: Annotated[
        str | None,
        typer.Option("--problem", "-p", metavar="ID", help="Step through a problem from a set."),
    ] = None,
    problem_paths: Annotated[
        list[Path] | None,
        typer.Option("--from", metavar="PATH", help="Look for --problem here, not the bundle."),
    ] = None,
    generate: GenerateOption = False,
    difficulty: Annotated[
        int | None,
        typer.Option(
            "--difficulty",
            "-d",
            parser=whole_number(1, 5),
            metavar="N",
            help="With --generate: 1 (one gate) to 5.",
        ),
    ] = None,
    seed: SeedOption = None,
    fuse: FuseOption = None,
    predict: Annotated[
        bool, typer.Option("--predict", help="Start in predict mode (p switches it).")
    ] = False,
    tolerance: Annotated[
        str | None,
        typer.Option(
            "--tolerance",
            metavar="REL",
            help="Relative tolerance for predictions (default: right to 2 significant digits).",
        ),
    ] = None,
    decimals: DecimalsOption = 2,
    serve: Annotated[
        bool, typer.Option("--serve", help="Serve the app to a browser on 127.0.0.1.")
    ] = False,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            parser=whole_number(1, 65535),
            metavar="PORT",
            help="With --serve: the port (default: a free one).",
        ),
    ] = None,
) -> None:
    """Step through a trace full screen: forward gate by gate, then backward.

    One screen: the circuit with the current gate highlighted and its wires filling
    in (values green, gradients red), the trace table row by row, the step in the
    notes' words, and a status line. Keys: [bold]→[/bold]/space next, [bold]←[/bold] back,
    Home/End, [bold]p[/bold] predict mode (type each number before it is shown: a wrong
    one is named, try again or Esc to reveal), [bold]?[/bold] hint, [bold]q[/bold] quit.
    Every prediction is saved to the quiz history (see backprop stats).

    [bold]Examples[/bold]

      backprop step "1/(1+exp(-(w0*x0+w1*x1+w2)))" w0=2 x0=-1 w1=-3 x1=-2 w2=-3

      backprop step --problem sum-times --predict

      backprop step --generate --difficulty 2 --seed 7

      backprop step "(x + y) * z" x=-2 y=5 z=-4 --serve      # in a browser

    Needs a terminal of at least 80×24; without one (piped, CI) it says so and
    exits 2: use backprop trace --explain or backprop quiz there.
    """
    from backprop_cli import play
    from backprop_cli import step as stepper
    from backprop_cli.core.language import parse_bindings
    from backprop_cli.quiz.questions import parse_tolerance

    with reported_errors():
        limit = parse_tolerance(tolerance) if tolerance is not None else None
        positional = list(args or [])
        read_stdin = bool(positional) and positional[0] == "-" and file is None
        expression: str | None = None
        bindings: dict[str, float] = {}
        if problem_id is not None:
            problem_for_trace(problem_id, problem_paths, file, positional)  # refuses mixes
            bindings = parse_bindings(positional)
        elif positional or file is not None:
            expression, bindings = expression_and_bindings(args, file, "step")
        elif not generate:
            raise InputError(
                'give an expression, for example  backprop step "x*y" x=2 y=3  '
                "(or --problem ID, --generate, --file PATH, or - for standard input)"
            )
        choice = play.choose_problem(
            expression=expression,
            bindings=bindings,
            problem_id=problem_id,
            sets=problem_paths or (),
            generate=generate,
            difficulty=difficulty,
            seed=seed,
        )
        problem = choice.problem
        if problem_id is not None and bindings:  # values given override the problem's
            problem = replace(problem, bindings={**problem.bindings, **bindings})
        if serve:
            stepper.build_model(problem, fuse.value if fuse else None, decimals)  # bad input now
            # Each browser tab runs `backprop step` on the same circuit, without --serve.
            source = [expression] if expression is not None else []
            if problem_id is not None:
                source = ["--problem", problem.id]
                for path in problem_paths or []:
                    source += ["--from", str(path.resolve())]
            elif generate:
                source = ["--generate", "--seed", problem.id.rsplit("-", 1)[-1]]
                source += ["--difficulty", str(difficulty or 1)]
            values = positional[1:] if expression is not None and file is None else positional
            options = ["--decimals", str(decimals)] + ["--predict"] * predict
            options += ["--fuse", fuse.value] if fuse else []
            options += ["--tolerance", tolerance] if tolerance else []
            stepper.serve(
                [*source, *values, *options], port, title=f"backprop step: {problem.title}"
            )
            return
        notices = stepper.run(
            problem,
            fuse=fuse.value if fuse else None,
            decimals=decimals,
            predict=predict,
            tolerance=limit,
            read_stdin=read_stdin,
            instead=step_instead(positional, expression, file, problem_id, problem.id),
        )
    _notices(notices)


def step_instead(
    positional: list[str],
    expression: str | None,
    file: Path | None,
    problem_id: str | None,
    chosen: str,
) -> tuple[str, str]:
    """The same circuit as arguments of `backprop trace` and of `backprop quiz`."""
    if problem_id is not None:
        same = shlex.join(["--problem", problem_id, *positional])
        return same, same
    if expression is None:  # generated: "gen-LEVEL-SEED"
        _, level, seed = chosen.split("-")
        return "EXPR …", f"--generate --difficulty {level} --seed {seed}"
    if file is not None:
        return shlex.join(["--file", str(file), *positional]), "EXPR …"
    if positional and positional[0] == "-":
        return shlex.join(positional), "EXPR …"
    same = shlex.join(positional)
    return same, same


class QuietWhenClosed:
    """Standard output that goes quiet when the reader has gone (`backprop problems |
    head -1`): the rest is dropped and the command ends with the status it would have
    had anyway, not 1 ("a check disagreed", which is what Rich and click turn a broken
    pipe into) and not a BrokenPipeError at exit."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return int(self._stream.write(text))
            except BrokenPipeError:
                self._go_quiet()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._go_quiet()

    def _go_quiet(self) -> None:
        self.gone = True
        # Later flushes of the real stdout (at exit) go nowhere instead of failing.
        with suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main() -> None:
    """Entry point: run the app; anything unexpected is reported without a traceback."""
    if not isinstance(sys.stdout, QuietWhenClosed) and sys.stdout is not None:
        sys.stdout = QuietWhenClosed(sys.stdout)
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: say so plainly rather than dump a traceback
        from backprop_cli.core.text import shown

        typer.echo(
            f"internal error: {type(exc).__name__}: {shown(str(exc), lines=True)}\n"
            "This is a bug in backprop; please report it with the command you ran.",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    finally:
        # The process ends here. While tearing the modules down CPython runs several
        # full garbage collections over every object still tracked: after a checked
        # trace that is about 74,000 objects (sympy's import most of them), 20 ms a
        # collection, and exiting took about 110 ms of the neuron trace's 480 ms of
        # CPU. Frozen objects are left out of those collections; they are still freed
        # by reference counting, files still close and atexit handlers still run.
        gc.freeze()
