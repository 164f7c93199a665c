"""The `backprop` command: thin Typer commands over the logic modules.

Only this module imports typer and owns exit codes: 0 done, 1 a check disagreed,
2 bad input. Heavy modules (sympy, numpy, the engine) are imported inside the
commands, so `backprop --help` starts fast.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from backprop_cli import __version__
from backprop_cli.errors import BackpropError, InputError

if TYPE_CHECKING:
    from backprop_cli.problems import Problem

app = typer.Typer(
    name="backprop",
    help=(
        "A tutor for backpropagation: see the chain rule done gate by gate, "
        "with every number cross-checked by sympy and finite differences.\n\n"
        'Start here:  backprop trace "(x + y) * z" x=-2 y=5 z=-4'
    ),
    no_args_is_help=True,
    add_completion=False,
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
    typer.echo(f"error: {message}", err=True)


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
        if not path.is_file():
            raise InputError(f"no such file: {source}")
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
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{where} is not UTF-8 text (byte {exc.start} cannot be decoded); save it as UTF-8"
        ) from None


def example_command(text: str, inputs: list[str]) -> str:
    values = " ".join(f"{name}=1" for name in inputs)
    shown = shlex.quote(text.strip()) if "\n" not in text.strip() else "--file PROGRAM.txt"
    return f"backprop trace {shown} {values}".rstrip()


def stdout_console() -> object:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


@app.command()
def trace(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="EXPR [NAME=VALUE]...",
            help="An expression or a staged program ('-' reads standard input), then values.",
            show_default=False,
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="Read the expression or program from a file."),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Which assigned name of a program is the output."),
    ] = None,
    digits: Annotated[
        int, typer.Option("--digits", min=1, max=17, help="Significant digits to print.")
    ] = 4,
    check: Annotated[
        bool,
        typer.Option("--check/--no-check", help="Cross-check with sympy and finite differences."),
    ] = True,
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
) -> None:
    """Trace an expression gate by gate: forward values, local gradients, chain rule.

    Each operation becomes a staged gate, as in the lecture notes:
    mul, add, *-1, exp, +1, 1/x. Without values the trace is symbolic.

    [bold]Examples[/bold]

      backprop trace "(x + y) * z" x=-2 y=5 z=-4

      backprop trace "1/(1+exp(-(w0*x0+w1*x1+w2)))" w0=2 x0=-1 w1=-3 x1=-2 w2=-3

      backprop trace "1/(1+exp(-(w0*x0+w1*x1+w2)))"          (symbolic)

      backprop trace "q = x + y; f = q * z" x=-2 y=5 z=-4     (a staged program)

      backprop trace --file neuron.txt w0=2 x0=-1 --json

      backprop trace --problem sigmoid-neuron                 (a bundled problem)

    [bold]The language[/bold]: numbers, names, + - * / and ** or ^, unary minus,
    parentheses, and exp log sqrt sin cos tanh sigmoid relu abs max min.
    Programs: one [italic]name = expr[/italic] per line (or separated by ;),
    also += -= *= /=; the output is the last name assigned.

    [bold]Exit codes[/bold]: 0 done, 1 a cross-check disagreed, 2 bad input.
    """
    from backprop_cli.parse import parse_bindings
    from backprop_cli.tracer import trace_text

    with reported_errors():
        positional = list(args or [])
        problem = None
        if problem_id is not None:
            problem = problem_for_trace(problem_id, problem_paths, file, positional)
            text = problem.expression
        elif file is not None:
            text = read_text(str(file))
        elif positional:
            first = positional.pop(0)
            text = read_text("-") if first == "-" else first
        else:
            raise InputError(
                'give an expression, for example  backprop trace "x*y" x=2 y=3  '
                "(or --file PATH, or - for standard input)"
            )
        bindings = parse_bindings(positional)
        if problem is not None:
            bindings = problem_bindings(problem, bindings)
        result = trace_text(text, bindings, output=output, check=check)

    trace_result = result.trace
    if as_json:
        from backprop_cli.render.json import trace_dict

        typer.echo(json.dumps(trace_dict(trace_result, result.checks), indent=2))
    else:
        from backprop_cli.render.table import trace_view

        example = example_command(text, list(trace_result.graph.inputs))
        console = stdout_console()
        if problem is not None:
            console.print(problem_header(problem))  # type: ignore[attr-defined]
        console.print(trace_view(trace_result, result.checks, digits, example))  # type: ignore[attr-defined]
    if result.failed:
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
    from backprop_cli.problems import find_problem

    if file is not None:
        raise InputError("give either --problem or --file, not both")
    if positional and "=" not in positional[0]:
        raise InputError(
            f"with --problem, give only NAME=VALUE pairs after it, not {positional[0]!r}"
        )
    return find_problem(problem_id, paths or None)


def problem_bindings(problem: Problem, overrides: dict[str, float]) -> dict[str, float]:
    """The problem's values, overridden by any given; those the expression ignores dropped."""
    from backprop_cli.parse import parse_program

    variables = set(parse_program(problem.expression).inputs())
    merged = {k: v for k, v in problem.bindings.items() if k in variables}
    merged.update(overrides)
    return merged


def problem_header(problem: Problem) -> object:
    from rich.text import Text

    from backprop_cli.render.problems import shown_path

    text = Text()
    text.append(f"problem {problem.id}", style="bold cyan")
    text.append(f"  {problem.title}  ({shown_path(problem.file)}:{problem.line})")
    if problem.hint:
        text.append("\nhint: ", style="bold blue")
        text.append(problem.hint)
    return text


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
        typer.Option("--format", help="table, json, junit (JUnit XML) or github (annotations)."),
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
) -> None:
    """Check problem sets: trace every problem and prove its stated answers.

    For each \\[\\[problem]]: parse, trace, cross-check, and compare the
    claimed value and gradients: |got - want| <= tolerance × max(1, |want|).
    Warns about duplicate ids, unused bindings, names without values, kinks
    and values near overflow.

    [bold]Examples[/bold]

      backprop check problems/

      backprop check                               (the bundled sets)

      backprop check course/week1.toml --format github

      backprop check problems/ --format junit > report.xml

    [bold]Exit codes[/bold]: 0 all passed, 1 a claim (or a cross-check) failed,
    2 a file or a problem cannot be used.
    """
    import time

    from backprop_cli.problems import (
        ProblemFileError,
        bundled_path,
        check_problems,
        load_problems,
        summarize,
    )

    started = time.perf_counter()
    with reported_errors():
        paths = paths or [bundled_path()]
        try:
            problems = load_problems(paths)
        except ProblemFileError as exc:
            if output_format is CheckFormat.github:  # point at the line in the PR too
                from backprop_cli.render.problems import github_file_error

                typer.echo(github_file_error(exc.path, exc.line, exc.what))
            raise
        if not problems:
            raise InputError(
                f"found no problems in {', '.join(map(str, paths))} "
                "(looked for *.toml files with [[problem]] tables)"
            )
    results = check_problems(problems, symbolic=sympy)
    seconds = time.perf_counter() - started
    if output_format is CheckFormat.json:
        from backprop_cli.render.problems import check_dict

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
        console.print(check_view(results, quiet=quiet))  # type: ignore[attr-defined]
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
    tag: Annotated[str | None, typer.Option("--tag", help="Only problems with this tag.")] = None,
    level: Annotated[
        int | None,
        typer.Option("--difficulty", min=1, max=5, help="Only problems of this difficulty."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list instead.")] = False,
) -> None:
    """List problem sets and their problems, with difficulty and tags.

    [bold]Examples[/bold]

      backprop problems

      backprop problems --tag fork

      backprop problems course/ --difficulty 3
    """
    from backprop_cli.problems import bundled_path, load_problems

    with reported_errors():
        problems = load_problems(paths or [bundled_path()])
    if tag is not None:
        problems = [p for p in problems if tag in p.tags]
    if level is not None:
        problems = [p for p in problems if p.difficulty == level]
    if as_json:
        from backprop_cli.render.problems import problems_dicts

        typer.echo(json.dumps(problems_dicts(problems), indent=2))
        return
    from backprop_cli.render.problems import problems_view

    stdout_console().print(problems_view(problems))  # type: ignore[attr-defined]


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
    for message in messages:
        typer.echo(f"warning: {message}", err=True)


@app.command()
def quiz(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="EXPR [NAME=VALUE]",
            help="Quiz on your own expression instead of a problem set.",
            show_default=False,
        ),
    ] = None,
    problem: Annotated[
        str | None, typer.Option("--problem", "-p", help="The id of a problem to do.")
    ] = None,
    sets: Annotated[
        list[Path] | None,
        typer.Option("--set", help="A problem file or folder instead of the bundled sets."),
    ] = None,
    generate: Annotated[
        bool, typer.Option("--generate", help="A random circuit from the gate catalog.")
    ] = False,
    difficulty: Annotated[
        int | None,
        typer.Option("--difficulty", "-d", min=1, max=5, help="1 (one gate) to 5."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="With --generate: the same seed, the same circuit.")
    ] = None,
    mode: Annotated[
        QuizMode,
        typer.Option("--mode", "-m", help="What to work out (see below).", show_default=True),
    ] = QuizMode.backward,
    tolerance: Annotated[
        str | None,
        typer.Option(
            "--tolerance",
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
    Exit codes: 0 done, 2 bad input, 130 interrupted (answers so far are saved).
    """
    from backprop_cli import history, play
    from backprop_cli.parse import parse_bindings
    from backprop_cli.quiz import Mode, parse_tolerance, start_quiz

    quiz_mode = cast(Mode, mode.value)
    with reported_errors():
        limit = parse_tolerance(tolerance)
        positional = list(args or [])
        expression = positional.pop(0) if positional else None
        bindings = parse_bindings(positional)
        store = history.open_store()
        _notices(store.notices)
        choice = play.choose_problem(
            expression=expression,
            bindings=bindings,
            problem_id=problem,
            sets=sets or (),
            generate=generate,
            difficulty=difficulty,
            seed=seed,
            rows=store.rows(),
        )
        session = start_quiz(choice.problem, quiz_mode, limit)

    from backprop_cli.render.quiz import summary_view

    console = stdout_console()
    answers: play.AnswerSource = (
        play.TerminalAnswers(console)  # type: ignore[arg-type]
        if sys.stdin.isatty()
        else play.LineAnswers(console, sys.stdin)  # type: ignore[arg-type]
    )
    seen = len(store.notices)
    save = play.saver(store, history.new_session(), choice.problem.id, quiz_mode)
    outcome = play.run(session, console, answers, save, why=choice.why)  # type: ignore[arg-type]
    _notices(store.notices[seen:])
    console.print(  # type: ignore[attr-defined]
        summary_view(outcome.summary, interrupted=outcome.interrupted, saved=not store.in_memory)
    )
    store.close()
    if outcome.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)


@app.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead.")] = False,
) -> None:
    """Your quiz history: accuracy by gate and by mode, streaks, what to practise next."""
    from backprop_cli import history

    path = history.default_path()
    rows, notices = history.read_rows(path)
    _notices(notices)
    result = history.compute_stats(rows)
    where = str(path)
    if as_json:
        typer.echo(json.dumps({"database": where, **result.as_dict()}, indent=2))
        return
    from backprop_cli.render.quiz import stats_view

    stdout_console().print(stats_view(result, where))  # type: ignore[attr-defined]


def main() -> None:
    """Entry point: run the app; anything unexpected is reported without a traceback."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: say so plainly rather than dump a traceback
        typer.echo(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in backprop; please report it with the command you ran.",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
