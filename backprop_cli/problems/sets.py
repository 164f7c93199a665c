"""Problem sets: TOML files of expressions, values and claimed answers.

Load them (with file:line on every mistake), find one by id, and check one: parse,
trace, cross-check, and compare what the author claims with what the trace computes.
No I/O beyond reading the files and no rendering: `cli.py`, `render/problems.py`
and `pytest_plugin.py` show the results.

The files are untrusted (they arrive in pull requests): expressions go through
`parse.parse_program` only, and every value is checked for its type here.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from backprop_cli.core.text import did_you_mean
from backprop_cli.errors import InputError

DEFAULT_TOLERANCE = 1e-6
CLAIM_SLIP_TOLERANCE = 0.01  # how near a wrong claim must be to a slip's number to name it
MAX_FILE_BYTES = 2_000_000
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")

# A file holds problems when a line opens a [[problem]] table; others are left alone.
_PROBLEM_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*problem[ \t]*\]\]", re.MULTILINE)
_PROBLEM_HEADER_BYTES = re.compile(_PROBLEM_HEADER.pattern.encode(), re.MULTILINE)
BOM = b"\xef\xbb\xbf"  # UTF-8's byte-order mark: a header on line 1 follows it, not ^
_SET_HEADER_BYTES = re.compile(rb"^[ \t]*\[[ \t]*set[ \t]*\]", re.MULTILINE)
_EXPECT_HEADER = re.compile(r"^[ \t]*\[[ \t]*problem[ \t]*\.[ \t]*expect[ \t]*\]", re.MULTILINE)
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")

SET_KEYS = ("title", "tolerance")
PROBLEM_KEYS = ("id", "title", "expression", "bindings", "difficulty", "tags", "hint", "expect")
EXPECT_KEYS = ("value", "gradients", "tolerance")
TOP_KEYS = ("set", "problem")

Status = Literal["pass", "fail", "error"]


class ProblemFileError(InputError):
    """A problem file cannot be used; knows where, so CI annotations can point there."""

    def __init__(self, path: Path, line: int, what: str) -> None:
        super().__init__(f"{path}:{line}: {what}")
        self.path, self.line, self.what = path, line, what


@dataclass(frozen=True)
class Expect:
    """What the author claims. `tolerance` is already resolved: problem, set, default."""

    value: Any  # a number, a numpy array (vector problems), or None
    gradients: dict[str, Any]
    tolerance: float


@dataclass(frozen=True)
class Problem:
    id: str
    title: str
    expression: str
    bindings: dict[str, Any]  # numbers, or numpy arrays for vector problems
    difficulty: int
    tags: tuple[str, ...]
    hint: str
    expect: Expect | None
    file: Path
    line: int  # the line of its [[problem]] header
    set_title: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def qualified_id(self) -> str:
        """`file-stem:id`, unique across files."""
        return f"{self.file.stem}:{self.id}"


@dataclass(frozen=True)
class Diff:
    """One claim that the trace does not bear out."""

    name: str  # "value" for the output's value, else the input's name
    kind: Literal["value", "gradient"]
    want: Any  # a number, or a numpy array for vector problems
    got: Any
    where: str = ""  # where the trace and the claim part ways, in words


@dataclass
class ProblemResult:
    problem: Problem
    status: Status
    diffs: list[Diff] = field(default_factory=list)
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    diverges_at: str = ""  # with claims on stages: the first wrong one from the output back
    trace: Any = None  # engine.Trace when the expression could be traced
    checks: list[Any] = field(default_factory=list)  # verify.Check
    # A file that cannot be loaded, as one result in its place (`problem` is a stand-in
    # with no id, at the line that is wrong): the other files' results still show.
    unreadable: bool = False


def file_error_result(error: ProblemFileError) -> ProblemResult:
    """A file that cannot be loaded, as an error result at the line that is wrong."""
    stand_in = Problem(
        id="",
        title="",
        expression="",
        bindings={},
        difficulty=1,
        tags=(),
        hint="",
        expect=None,
        file=error.path,
        line=error.line,
        set_title="cannot be loaded",
    )
    return ProblemResult(stand_in, "error", message=error.what, unreadable=True)


# --------------------------------------------------------------------------- finding files


def bundled_path() -> Path:
    """The bundled problems: inside the installed package, or at the checkout's root."""
    here = Path(__file__).resolve().parent.parent  # backprop_cli/
    # A wheel carries them as backprop_cli/problem_sets (see pyproject.toml); an
    # editable install or a checkout reads the repository's problems/ folder.
    for candidate in (here / "problem_sets", here.parent / "problems"):
        if candidate.is_dir():
            return candidate
    raise InputError(
        f"the bundled problems are missing (looked in {here / 'problem_sets'} and "
        f"{here.parent / 'problems'}); reinstall backprop-cli"
    )


def holds_problems(path: Path) -> bool:
    """Whether a file has a line that opens a `[[problem]]` table (read as bytes, so
    a stray binary or non-UTF-8 *.toml elsewhere in a folder is simply not ours)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError:
        return False
    return _PROBLEM_HEADER_BYTES.search(data.removeprefix(BOM)) is not None


def is_problem_set(path: Path) -> bool:
    """Whether a file also has a `[set]` table line: what marks a problem set for the
    pytest plugin, which must leave other projects' `[[problem]]` TOML alone."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError:
        return False
    return _SET_HEADER_BYTES.search(data.removeprefix(BOM)) is not None


def problem_files(paths: Sequence[Path]) -> list[Path]:
    """Every problem file under `paths`: files as given, folders searched recursively.

    In a folder only `*.toml` files with a `[[problem]]` table count, so a
    pyproject.toml beside the problems is ignored; hidden folders (.venv, .git) are
    skipped. A file named on its own must hold problems.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for candidate in sorted(path.rglob("*.toml")):
                relative = candidate.relative_to(path).parts[:-1]
                if any(part.startswith(".") or part == "__pycache__" for part in relative):
                    continue
                if candidate.is_file() and holds_problems(candidate):
                    found.append(candidate)
        elif path.is_file():
            found.append(path)
        elif path.exists():  # /dev/zero, a FIFO, a socket: there, but not a file to read
            raise InputError(
                f"{path} is not a regular file (a device, FIFO or socket); "
                "give a .toml problem file or a folder of them"
            )
        else:
            raise InputError(f"no such file or folder: {path}")
    return list(dict.fromkeys(found))  # a file reached twice is loaded once


def _read(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ProblemFileError(path, 1, f"cannot be read: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ProblemFileError(
            path, 1, f"the file is larger than {MAX_FILE_BYTES:,} bytes; split it into sets"
        )
    try:
        # One leading byte-order mark is dropped (Windows editors save UTF-8 so); tomllib
        # refuses it as "Invalid statement" at line 1
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ProblemFileError(path, line, "not UTF-8 text; save the file as UTF-8") from None


# --------------------------------------------------------------------------- loading


def load_problems(paths: Sequence[Path]) -> list[Problem]:
    """Problems from files or folders, in file order; InputError (file:line) on mistakes."""
    problems: list[Problem] = []
    for path in problem_files([Path(p) for p in paths]):
        problems.extend(load_file(path))
    return problems


def load_file(path: Path) -> list[Problem]:
    return _FileLoader(path, _read(path)).load()


def load_each(paths: Sequence[Path]) -> list[list[Problem] | ProblemFileError]:
    """Each problem file's problems, or why it cannot be used, in file order: one bad
    file does not hide the others (`backprop check` reports it and goes on). A path
    that does not exist is still an InputError at once: nothing under it can be read."""
    loaded: list[list[Problem] | ProblemFileError] = []
    for path in problem_files([Path(p) for p in paths]):
        try:
            loaded.append(load_file(path))
        except ProblemFileError as exc:
            loaded.append(exc)
    return loaded


def check_each(
    loaded: Sequence[list[Problem] | ProblemFileError], *, symbolic: bool = True, jobs: int = 1
) -> list[ProblemResult]:
    """`check_problems` on every loaded file's problems at once (one pool of workers),
    with each unloadable file's error result in its place, in file order."""
    problems = [p for item in loaded if not isinstance(item, ProblemFileError) for p in item]
    checked = iter(check_problems(problems, symbolic=symbolic, jobs=jobs) if problems else [])
    results: list[ProblemResult] = []
    for item in loaded:
        if isinstance(item, ProblemFileError):
            results.append(file_error_result(item))
        else:
            results.extend(next(checked) for _ in item)
    return results


class _FileLoader:
    """Validates one file's tables, finding line numbers by scanning the text.

    tomllib gives no positions, so the line of each `[[problem]]` header is found
    with a regex (the n-th header opens the n-th table), and a key's line by
    searching that problem's lines for the key.
    """

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        self.lines = text.splitlines()
        starts = [text.count("\n", 0, m.start()) + 1 for m in _PROBLEM_HEADER.finditer(text)]
        self.starts = starts  # 1-based header lines

    def fail(self, line: int, what: str) -> ProblemFileError:
        return ProblemFileError(self.path, line, what)

    def load(self) -> list[Problem]:
        try:
            data = tomllib.loads(self.text)
        except RecursionError:  # 20,000 nested [ in a file: tomllib recurses per level
            raise self.fail(1, "not valid TOML: nested too deeply to read") from None
        except tomllib.TOMLDecodeError as exc:
            found = _TOML_POSITION.search(str(exc))
            line = int(found.group(1)) if found else 1
            reason = _TOML_POSITION.sub("", str(exc)).strip()
            raise self.fail(line, f"not valid TOML: {reason}") from None
        self.unknown_keys(data, TOP_KEYS, "at the top of the file", (1, len(self.lines)))
        set_table = data.get("set", {})
        if not isinstance(set_table, dict):
            raise self.fail(self.key_line("set"), "'set' must be a table: [set]")
        self.unknown_keys(set_table, SET_KEYS, "in [set]", (1, len(self.lines)))
        set_title = self.string(set_table, "title", self.path.stem, (1, len(self.lines)))
        set_tolerance = DEFAULT_TOLERANCE
        if "tolerance" in set_table:
            set_tolerance = self.tolerance(set_table["tolerance"], self.key_line("tolerance"))

        tables = data.get("problem")
        if tables is None:
            raise self.fail(
                1, "holds no [[problem]] tables; start each problem with a [[problem]] line"
            )
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise self.fail(self.key_line("problem"), "'problem' must be [[problem]] tables")
        problems = []
        for index, table in enumerate(tables):
            start = self.starts[index] if index < len(self.starts) else 1
            end = self.starts[index + 1] - 1 if index + 1 < len(self.starts) else len(self.lines)
            problems.append(self.problem(table, (start, end), set_title, set_tolerance))
        return problems

    # ----------------------------------------------------------------- one problem

    def problem(
        self, table: dict[str, Any], span: tuple[int, int], set_title: str, set_tolerance: float
    ) -> Problem:
        start = span[0]
        self.unknown_keys(table, PROBLEM_KEYS, "in [[problem]]", span)
        for key in ("id", "expression"):
            if key not in table:
                raise self.fail(start, f'this problem has no {key!r}; add  {key} = "…"')
        problem_id = self.string(table, "id", "", span)
        if not ID_PATTERN.fullmatch(problem_id):
            raise self.fail(
                self.key_line("id", span),
                f"the id {problem_id!r} is not usable: use letters, digits, '-', '_' and '.' "
                '(up to 100, starting with a letter or digit), for example  id = "sum-times"',
            )
        expression = self.string(table, "expression", "", span)
        if not expression.strip():
            raise self.fail(self.key_line("expression", span), "the expression is empty")
        title = self.string(table, "title", problem_id, span)
        hint = self.string(table, "hint", "", span)
        bindings = self.bindings(table.get("bindings", {}), span)
        difficulty = table.get("difficulty", 1)
        if (
            not isinstance(difficulty, int)
            or isinstance(difficulty, bool)
            or not 1 <= difficulty <= 5
        ):
            raise self.fail(
                self.key_line("difficulty", span),
                f"difficulty must be a whole number from 1 to 5, got {difficulty!r}",
            )
        tags = table.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise self.fail(
                self.key_line("tags", span),
                'tags must be a list of strings, for example  tags = ["add", "fork"]',
            )
        expect = None
        if "expect" in table:
            expect = self.expect(table["expect"], span, set_tolerance)
        return Problem(
            id=problem_id,
            title=title,
            expression=expression,
            bindings=bindings,
            difficulty=difficulty,
            tags=tuple(tags),
            hint=hint,
            expect=expect,
            file=self.path,
            line=start,
            set_title=set_title,
        )

    def bindings(self, table: Any, span: tuple[int, int]) -> dict[str, Any]:
        """The one place binding values are read: numbers, or vectors and matrices."""
        line = self.key_line("bindings", span)
        if not isinstance(table, dict):
            raise self.fail(line, "bindings must be a table, for example  bindings = { x = 2 }")
        from backprop_cli.core.language import FUNCTIONS

        bindings: dict[str, Any] = {}
        for key, value in table.items():
            where = self.key_line(key, (line, span[1]))
            name = same_name(key)
            if not name.isidentifier() or name.startswith("_") or name in FUNCTIONS:
                raise self.fail(where, f"{key!r} cannot be a variable name")
            if name in bindings:
                raise self.fail(where, f"{key!r} is the same name as {name!r}, given twice")
            bindings[name] = self.value(value, where, f"the binding {name}")
        return bindings

    def value(self, value: Any, line: int, what: str) -> Any:
        """A number, or a vector or matrix written as a TOML array (a numpy array)."""
        if not isinstance(value, list):
            return self.number(value, line, what)
        from backprop_cli.core.language import parse_array

        try:
            return parse_array(value)
        except InputError as exc:
            raise self.fail(line, f"{what} cannot be read: {exc}") from None

    def expect(self, table: Any, span: tuple[int, int], set_tolerance: float) -> Expect:
        if not isinstance(table, dict):
            raise self.fail(self.key_line("expect", span), "expect must be a table")
        header = _EXPECT_HEADER.search(self.span_text(span))
        expect_span = span
        if header:
            expect_span = (span[0] + self.span_text(span).count("\n", 0, header.start()), span[1])
        self.unknown_keys(table, EXPECT_KEYS, "in [problem.expect]", expect_span)
        value = None
        if "value" in table:
            line = self.key_line("value", expect_span)
            value = self.value(table["value"], line, "the expected value")
        gradients_table = table.get("gradients", {})
        line = self.key_line("gradients", expect_span)
        if not isinstance(gradients_table, dict):
            raise self.fail(line, "gradients must be a table, for example  gradients = { x = 1 }")
        gradients = {
            same_name(name): self.value(
                g, self.key_line(name, (line, span[1])), f"the gradient on {name}"
            )
            for name, g in gradients_table.items()
        }
        tolerance = set_tolerance
        if "tolerance" in table:
            tolerance = self.tolerance(table["tolerance"], self.key_line("tolerance", expect_span))
        return Expect(value, gradients, tolerance)

    # ----------------------------------------------------------------- values

    def number(self, value: Any, line: int, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(
                line, f"{what} must be a number, got {_toml_kind(value)} {_short(value)}"
            )
        try:
            number = float(value)
        except OverflowError:
            raise self.fail(line, f"{what} is too large for a float: {_short(value)}") from None
        if not math.isfinite(number):
            raise self.fail(line, f"{what} must be a finite number, got {value}")
        return number

    def tolerance(self, value: Any, line: int) -> float:
        tolerance = self.number(value, line, "tolerance")
        if tolerance <= 0:
            raise self.fail(line, f"tolerance must be positive, for example 1e-6; got {value}")
        return tolerance

    def string(self, table: dict[str, Any], key: str, default: str, span: tuple[int, int]) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            raise self.fail(
                self.key_line(key, span),
                f"{key} must be a string, got {_toml_kind(value)} {_short(value)}",
            )
        return value

    def unknown_keys(
        self, table: Mapping[str, Any], known: Sequence[str], where: str, span: tuple[int, int]
    ) -> None:
        for key in table:
            if key not in known:
                hint = did_you_mean(key, known, quote=True)
                raise self.fail(
                    self.key_line(key, span),
                    f"unknown key {key!r} {where}.{hint} Known keys: {', '.join(known)}",
                )

    # ----------------------------------------------------------------- positions

    def span_text(self, span: tuple[int, int]) -> str:
        return "\n".join(self.lines[span[0] - 1 : span[1]])

    def key_line(self, key: str, span: tuple[int, int] | None = None) -> int:
        """The first line in `span` where `key` stands as a key (`key =`, `[a.key]`)."""
        start, end = span or (1, len(self.lines))
        pattern = re.compile(rf"(?<![\w-])[\"']?{re.escape(key)}[\"']?[ \t]*[=\].]")
        for number in range(start, min(end, len(self.lines)) + 1):
            code = self.lines[number - 1].split("#", 1)[0] if "'" not in key else ""
            if pattern.search(code or self.lines[number - 1]):
                return number
        return start


def same_name(key: str) -> str:
    """A name as the expression's parser reads it: NFKC-normalised, as Python does for
    identifiers, so `"ｘ" = 2` (a full-width x) is the value of x, not an unused name."""
    return unicodedata.normalize("NFKC", key)


def _toml_kind(value: Any) -> str:
    kinds = {bool: "a boolean", str: "a string", list: "an array", dict: "a table"}
    return kinds.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------- finding one


def find_problem(problem_id: str, paths: Sequence[Path] | None = None) -> Problem:
    """One problem by id (or `file-stem:id` when ids clash), from `paths` or the bundle."""
    problems = load_problems(list(paths) if paths is not None else [bundled_path()])
    stem, sep, bare = problem_id.rpartition(":")
    if sep:
        matches = [p for p in problems if p.id == bare and p.file.stem == stem]
    else:
        matches = [p for p in problems if p.id == problem_id]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        options = ", ".join(p.qualified_id for p in matches)
        raise InputError(f"the id {problem_id!r} is in more than one file; name one of: {options}")
    known = [p.id for p in problems] + [p.qualified_id for p in problems]
    hint = did_you_mean(problem_id, known, most=3)
    raise InputError(
        f"no problem has the id {problem_id!r}.{hint} See them all with  backprop problems"
    )


# --------------------------------------------------------------------------- checking


def within(got: float, want: float, tolerance: float) -> bool:
    """The issue's rule: |got - want| <= tolerance * max(1, |want|)."""
    return abs(got - want) <= tolerance * max(1.0, abs(want))


def check_problem(problem: Problem, *, symbolic: bool = True) -> ProblemResult:
    """Parse, trace, cross-check, and compare the claims. Never raises.

    A failure of any kind is this problem's own error row: one problem that trips a
    bug (sympy raising on `max(x, 1/min(0, y))`, say) used to end the whole `check`
    run with exit 3 and print nothing for the others.
    """
    try:
        return _check_problem(problem, symbolic=symbolic)
    except (RecursionError, MemoryError):
        return _error(ProblemResult(problem, "pass"), "the expression is too large to check")
    except InputError as exc:
        return _error(ProblemResult(problem, "pass"), str(exc))
    except Exception as exc:  # a bug: say so in this row, and let the others report
        return _error(
            ProblemResult(problem, "pass"),
            f"internal error while checking this problem ({type(exc).__name__}: {exc}); "
            "this is a bug in backprop, please report it with the problem",
        )


def _check_problem(problem: Problem, *, symbolic: bool = True) -> ProblemResult:
    """check_problem's work; may raise on a bug.

    `symbolic=False` skips the sympy cross-check (finite differences still run): the
    claim is compared with the trace either way, and sympy costs most of the time.
    """
    from backprop_cli import pipeline
    from backprop_cli.checks import Check, run_checks
    from backprop_cli.core import engine
    from backprop_cli.core.graph import build_graph

    result = ProblemResult(problem, "pass")
    try:
        program = pipeline.read(problem.expression, problem.bindings)
    except InputError as exc:
        return _error(result, f"the expression cannot be read: {exc}")
    except (RecursionError, MemoryError):
        return _error(result, "the expression is too large or too deeply nested")
    variables = program.inputs()
    unused = [name for name in problem.bindings if name not in variables]
    if unused:
        result.warnings.append(
            f"{_names(unused)} {'is' if len(unused) == 1 else 'are'} given a value "
            "but not used by the expression"
        )
    try:
        graph = build_graph(program)
        used = {k: v for k, v in problem.bindings.items() if k in variables}
        missing = [name for name in graph.inputs if name not in used]
        if missing:
            result.warnings.append(
                f"{_names(missing)} {'has' if len(missing) == 1 else 'have'} "
                "no value in bindings, so the trace is symbolic"
            )
            if problem.expect is not None:
                return _error(
                    result,
                    f"no value for {_names(missing)}, so the claims cannot be checked; "
                    f"add it to bindings, for example  bindings = {{ {missing[0]} = 1 }}",
                )
        trace = engine.run(graph, used)
    except InputError as exc:
        return _error(result, str(exc))
    except (RecursionError, MemoryError):
        return _error(result, "the expression is too large or too deeply nested")
    result.trace = trace
    result.warnings.extend(graph.warnings)
    result.warnings.extend(f"not differentiable here: {kink}" for kink in trace.kinks)
    result.warnings.extend(loss.message for loss in trace.float_losses)
    if trace.kind != "symbols":
        magnitudes = [_largest(v) for v in (*trace.values, *trace.grads) if v is not None]
        if magnitudes and max(magnitudes) > 1e150:
            result.warnings.append(
                f"values reach {max(magnitudes):.1e}: close to overflowing a float"
            )
    result.checks = run_checks(trace, symbolic=symbolic, numeric=True)
    if not symbolic:
        result.checks[0] = Check("sympy", "skipped", "skipped (--no-sympy)")

    failed = [c for c in result.checks if c.failed]
    if failed:
        result.status = "fail"
        result.message = "; ".join(
            f"the backward pass disagrees with {c.name}: {c.message}" for c in failed
        )
    if problem.expect is not None:
        _compare(result, problem.expect, trace, variables)
    return result


def claim_targets(trace: Any) -> dict[str, int]:
    """Names a gradient may be claimed for, with their node: every input, and every
    stage by the name the program gives it (a reassigned name: its last value)."""
    graph = trace.graph
    targets = {n.label: n.index for n in graph.nodes if n.kind == "gate" and n.label}
    targets.update(graph.inputs)  # a name read before it is reassigned is an input
    return targets


def _backward_rank(trace: Any, index: int) -> float:
    """Where a node's gradient is settled in the backward pass: a stage at its own
    step, an input at its last consumer (higher: nearer the output)."""
    node = trace.graph.nodes[index]
    if node.kind == "gate":
        return index
    consumers = [c for c, _ in trace.graph.consumers[index]]
    return max(consumers, default=-1) - 0.5


def _compare(result: ProblemResult, expect: Expect, trace: Any, variables: list[str]) -> None:
    tolerance = expect.tolerance
    if trace.kind == "arrays":
        _compare_arrays(result, expect, trace, variables)
        return
    from backprop_cli.core.language import is_array

    arrays = [name for name, v in expect.gradients.items() if is_array(v)]
    if is_array(expect.value) or arrays:
        what = f"the gradient on {arrays[0]}" if arrays else "the value"
        _error(
            result,
            f"expect gives {what} as a vector or matrix, but every binding is a plain number, "
            "so every value and gradient is a number",
        )
        return
    if expect.value is not None:
        got = float(trace.value)
        if not within(got, expect.value, tolerance):
            result.diffs.append(
                Diff(trace.output.ref, "value", expect.value, got, explain_value(trace))
            )
    targets = claim_targets(trace)
    strangers = [name for name in expect.gradients if name not in {*variables, *targets}]
    if strangers:
        known = list(dict.fromkeys([*variables, *targets]))
        _error(
            result,
            f"expect.gradients names {_names(strangers)}, which "
            f"{'is' if len(strangers) == 1 else 'are'} neither a variable nor a stage of "
            f"the expression (its names: {', '.join(known)})",
        )
        return
    wrong: list[tuple[float, Diff]] = []
    for name, want in expect.gradients.items():
        # A variable read only by a stage the output ignores has gradient 0.
        index = targets.get(name)
        got = float(trace.grads[index]) if index is not None else 0.0
        if not within(got, want, tolerance):
            diff = Diff(name, "gradient", want, got, explain_gradient(trace, name, want, tolerance))
            rank = _backward_rank(trace, index) if index is not None else -1.0
            wrong.append((rank, diff))
    # From the output back, so the first gradient listed is where the claims leave the trace.
    wrong.sort(key=lambda pair: -pair[0])
    result.diffs.extend(diff for _, diff in wrong)
    if result.diffs:
        result.status = "fail"
        names = ", ".join(d.name if d.kind == "gradient" else "the value" for d in result.diffs)
        claims = "claim differs" if len(result.diffs) == 1 else "claims differ"
        message = f"{len(result.diffs)} {claims} from the trace: {names}"
        stages = [name for name in expect.gradients if name in targets and name not in variables]
        if stages and wrong:
            result.diverges_at = wrong[0][1].name
            message += f"; from the output back, the claims part ways at {result.diverges_at}"
        result.message = f"{result.message}; {message}" if result.message else message


def _largest(value: Any) -> float:
    """The largest magnitude in a number or an array."""
    import numpy as np

    return float(np.max(np.abs(value))) if np.size(value) else 0.0


def within_array(got: Any, want: Any, tolerance: float) -> bool:
    """`within` on every entry; shapes must match exactly (a gradient has its input's shape)."""
    import numpy as np

    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape:
        return False
    return bool(np.all(np.abs(got - want) <= tolerance * np.maximum(1.0, np.abs(want))))


def _compare_arrays(
    result: ProblemResult, expect: Expect, trace: Any, variables: list[str]
) -> None:
    """Claims about a vector problem: each entry within the tolerance, and the right shape."""
    import numpy as np

    from backprop_cli.core.numbers import shape_text

    def where(want: Any, got: Any, text: str, index: int | None = None) -> str:
        slip = "" if index is None else claim_slip(trace, index, want, expect.tolerance)
        if np.shape(want) != np.shape(got):
            return (
                f"the claim has shape {shape_text(np.asarray(want))} but the trace's has "
                f"{shape_text(np.asarray(got))}; a gradient has its variable's shape{slip}"
            )
        if slip:
            return text + slip
        if within_array(-np.asarray(got), want, expect.tolerance):
            return "the claim has the sign flipped"  # the output's value
        return text

    if expect.value is not None and not within_array(trace.value, expect.value, expect.tolerance):
        result.diffs.append(
            Diff(
                trace.output.ref,
                "value",
                expect.value,
                trace.value,
                where(expect.value, trace.value, explain_value(trace)),
            )
        )
    strangers = [name for name in expect.gradients if name not in variables]
    if strangers:
        _error(result, f"expect.gradients names {_names(strangers)}, not a variable")
        return
    for name, want in expect.gradients.items():
        got = trace.gradients.get(name, np.zeros_like(want))
        if not within_array(got, want, expect.tolerance):
            result.diffs.append(
                Diff(
                    name,
                    "gradient",
                    want,
                    got,
                    where(want, got, _array_route(trace, name), trace.graph.inputs.get(name)),
                )
            )
    if result.diffs:
        result.status = "fail"
        names = ", ".join(d.name if d.kind == "gradient" else "the value" for d in result.diffs)
        claims = "claim differs" if len(result.diffs) == 1 else "claims differ"
        message = f"{len(result.diffs)} {claims} from the trace: {names}"
        result.message = f"{result.message}; {message}" if result.message else message


def _array_route(trace: Any, name: str) -> str:
    """Which steps send `name` its gradient, with each step's backward rule."""
    from backprop_cli.core.numbers import show

    graph = trace.graph
    if name not in graph.inputs:
        return f"{name} does not reach the output, so its gradient is 0"
    nodes = graph.nodes
    parts = []
    for c in trace.contributions[graph.inputs[name]]:
        step = nodes[c.consumer]
        refs = [nodes[j].ref for j in step.inputs]
        rule = step.gate.formulas(refs, step.ref)[c.position]
        parts.append(f"{show(c.amount, 6)} from step {step.ref} ({step.gate.name}: {rule})")
    return f"{name} receives " + " + ".join(parts).replace("\n", "")


def _error(result: ProblemResult, message: str) -> ProblemResult:
    result.status = "error"
    result.message = message
    return result


def _names(names: Iterable[str]) -> str:
    return ", ".join(names)


def explain_value(trace: Any) -> str:
    """The forward pass in one line, so the author can see where their value came from."""
    from backprop_cli.core.numbers import show

    nodes = trace.graph.nodes
    steps = trace.graph.gate_nodes
    shown = steps[-6:]
    parts = [
        f"{n.ref} = {n.gate.computes([nodes[j].ref for j in n.inputs])} = "
        f"{show(trace.values[n.index], 6)}"
        for n in shown
    ]
    prefix = "… ; " if len(steps) > len(shown) else ""
    return "forward pass: " + prefix + "; ".join(parts)


def explain_gradient(trace: Any, name: str, want: float, tolerance: float) -> str:
    """Where the gradient on `name` comes from, and what the claim most likely missed.

    The claim is one number, so what it most likely missed is found by trying the
    catalog of slips on it (checks/slips.py): a sign flip, only some of the steps
    that use `name` (a forgotten fork), an upstream or local gradient alone, ...
    """
    from backprop_cli.core.numbers import show

    graph = trace.graph
    targets = claim_targets(trace)
    if name not in targets:
        return f"{name} does not reach the output, so its gradient is 0"
    index = targets[name]
    if index == graph.output:
        return f"{name} is the output: its gradient on itself is 1"
    nodes = graph.nodes
    got = float(trace.grads[index])
    # What each step that reads `name` sends back (a step may read it twice: x * x).
    by_step: dict[int, float] = {}
    for c in trace.contributions[index]:
        by_step[c.consumer] = by_step.get(c.consumer, 0.0) + float(c.amount)
    parts = []
    for consumer, amount in by_step.items():
        step = nodes[consumer]
        locals_ = [
            show(trace.locals[consumer][p], 6) for p, j in enumerate(step.inputs) if j == index
        ]
        parts.append(
            f"{show(amount, 6)} from step {step.ref} ({step.gate.name}: upstream "
            f"{show(trace.grads[consumer], 6)} × local {' + '.join(locals_)})"
        )
    text = f"{name} receives " + " + ".join(parts)
    if len(parts) > 1:
        text += f" = {show(got, 6)}"

    return text + claim_slip(trace, index, want, tolerance)


def claim_slip(trace: Any, index: int, want: Any, tolerance: float) -> str:
    """`; the claim looks like the slip …` when a slip of the catalog gives the claimed
    number (checks/slips.py, the quiz's catalog), else ""."""
    from backprop_cli.checks.slips import Ask, diagnose

    # A claim is judged at the file's tolerance (1e-6 by default), but a slip is named
    # within 1%: a claim of 0.73 for σ(1) = 0.7311 is σ without its derivative, and a
    # claim within 1% of the right gradient is never called a slip.
    found = diagnose(trace, Ask.gradient(index), want, max(tolerance, CLAIM_SLIP_TOLERANCE))
    if found is None:
        return ""
    # The first sentence alone: the text before it already shows the working.
    return f"; the claim looks like the slip {found.slip}: {found.what}"


def duplicate_warnings(problems: Sequence[Problem]) -> dict[int, str]:
    """Problem position -> a warning, for ids used twice in one file."""
    counts = Counter((p.file, p.id) for p in problems)
    out: dict[int, str] = {}
    for position, p in enumerate(problems):
        if counts[(p.file, p.id)] > 1:
            lines = [str(q.line) for q in problems if (q.file, q.id) == (p.file, p.id)]
            out[position] = f"the id {p.id!r} is used more than once in this file (lines " + (
                ", ".join(lines) + ")"
            )
    return out


def available_cores() -> int:
    """The cores this process may run on (a container or `taskset` may allow fewer)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


# Below this many problems per worker a pool costs more than it saves: forking and
# collecting results is about 20 ms a worker, and a problem with the sympy check takes
# 5 to 40 ms (the 61 bundled ones: 1.4 s in one process, 0.9 s on two cores).
MIN_PROBLEMS_PER_JOB = 8


# One sympy allowance for a whole `check` run, on top of each problem's own budget
# (5 s, checks/symbolic.py): without it a pull request multiplies the per-problem
# budget by adding problems. Past it the remaining problems are checked by finite
# differences alone, each saying so. 1,000 problems take about 7 s of sympy on this
# project's 2-core machine; 120 s leaves room for a course 17 times that size.
RUN_SYMPY_SECONDS = 120.0


@dataclass
class _Allowance:
    left: float = RUN_SYMPY_SECONDS


_sympy_allowance = _Allowance()


def _check_within_allowance(problem: Problem, symbolic: bool) -> ProblemResult:
    """check_problem, with sympy only while this run's allowance lasts."""
    import time

    from backprop_cli.checks import Check

    if symbolic and _sympy_allowance.left <= 0:
        result = check_problem(problem, symbolic=False)
        if result.checks:
            result.checks[0] = Check(
                "sympy",
                "skipped",
                f"skipped: this check run's sympy allowance ({RUN_SYMPY_SECONDS:g} s in all) "
                "is used up; finite differences still ran",
            )
        return result
    start = time.monotonic()
    result = check_problem(problem, symbolic=symbolic)
    if symbolic:
        _sympy_allowance.left -= time.monotonic() - start
    return result


def check_problems(
    problems: Sequence[Problem], *, symbolic: bool = True, jobs: int = 1
) -> list[ProblemResult]:
    """Check every problem, adding the warnings that need the whole list.

    `jobs` > 1 checks them in that many worker processes (each problem is independent;
    the results come back in order, the same as in one process). A result checked in
    a worker has `trace = None`: the trace stays in the worker, only the verdicts,
    diffs and warnings come back.
    """
    duplicates = duplicate_warnings(problems)
    jobs = max(1, min(jobs, len(problems) // MIN_PROBLEMS_PER_JOB))
    # Each worker gets its share of the run's sympy allowance (they run side by side,
    # so the run's wall time stays within the allowance); forked workers inherit it.
    _sympy_allowance.left = RUN_SYMPY_SECONDS / jobs
    if jobs > 1:
        results = _check_in_workers(problems, symbolic, jobs)
    else:
        results = [_check_within_allowance(problem, symbolic) for problem in problems]
    for position, result in enumerate(results):
        if position in duplicates:
            result.warnings.insert(0, duplicates[position])
    return results


def _check_in_workers(
    problems: Sequence[Problem], symbolic: bool, jobs: int
) -> list[ProblemResult]:
    import functools
    import gc
    import multiprocessing

    # The first problem is checked here, before the fork: it loads sympy, numpy and the
    # judges (0.4 s of imports) once, and every worker inherits them.
    first = _check_in_worker(problems[0], symbolic=symbolic)
    # What is loaded now lives as long as the workers: frozen before the fork, it is
    # left out of their garbage collections (and their pages stay shared), as
    # Python's gc documentation advises for fork without exec.
    gc.freeze()
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    # Small chunks keep every core busy to the end (a vector problem costs up to 8
    # times a scalar one): 4 chunks a worker at the least, 16 problems at the most.
    rest = problems[1:]
    chunk = max(1, min(16, len(rest) // (jobs * 4)))
    work = functools.partial(_check_in_worker, symbolic=symbolic)
    pool = context.Pool(jobs, initializer=_ignore_interrupts)
    try:
        results = [first, *pool.imap(work, rest, chunksize=chunk)]
        pool.close()
    finally:
        pool.terminate()  # also on Ctrl-C: the workers stop at once, the parent reports
    return results


def _ignore_interrupts() -> None:
    """Ctrl-C goes to the whole process group: only the parent answers it."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _check_in_worker(problem: Problem, *, symbolic: bool) -> ProblemResult:
    result = _check_within_allowance(problem, symbolic)
    result.trace = None  # only what the report needs crosses back to the parent
    return result


@dataclass(frozen=True)
class Summary:
    passed: int
    failed: int
    errors: int
    warnings: int
    unreadable: int = 0  # files that cannot be loaded (their problems are not counted)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors

    @property
    def exit_status(self) -> Literal["ok", "failed", "error"]:
        """Errors (input that cannot be used) outrank failures (a wrong claim)."""
        if self.errors or self.unreadable:
            return "error"
        return "failed" if self.failed else "ok"


def summarize(results: Sequence[ProblemResult]) -> Summary:
    counts = Counter(r.status for r in results if not r.unreadable)
    return Summary(
        counts["pass"],
        counts["fail"],
        counts["error"],
        sum(len(r.warnings) for r in results),
        sum(1 for r in results if r.unreadable),
    )


# --------------------------------------------------------------------------- plain text


def failure_text(result: ProblemResult) -> str:
    """A failure in plain text, for pytest and for annotations: want vs got, then why."""
    problem = result.problem
    lines = [f"{result.message} ({shown_path(problem.file)}:{problem.line})"]
    for diff in result.diffs:
        what = "value" if diff.kind == "value" else f"∂/∂{diff.name}"
        lines.append(f"  {what}: want {pair(diff.want, diff.got)}")
        if diff.where:
            lines.append(f"    {diff.where}")
    lines.extend(f"  warning: {w}" for w in result.warnings)
    return "\n".join(lines)


def shown_path(path: Path) -> str:
    """A path relative to the working folder when it lies below it (shorter, and what
    GitHub annotations need), else as it is."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative


def pair(want: Any, got: Any) -> str:
    """`want W, got G` with enough digits that W and G differ on the page."""
    from backprop_cli.core.numbers import show

    if got is None:
        return f"{show(want, 6)}, got nothing"

    def flat(value: Any, digits: int) -> str:  # a matrix on one line
        return show(value, digits).replace("\n", "")

    w, g = flat(want, 6), flat(got, 6)
    for digits in (10, 17):
        if w != g:
            break
        w, g = flat(want, digits), flat(got, digits)
    return f"{w}, got {g}"
