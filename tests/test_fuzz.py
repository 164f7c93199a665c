"""Fuzzing: random text and random mutations of valid input thrown at the parser and
at `trace`, `check` and `quiz`; and a property test on random expression trees.

What must hold for any input: no traceback (CliRunner's `result.exception` is None or
the SystemExit of a clean exit), an exit code in {0, 1, 2}, a message on stderr when
it is not 0, and nothing that hangs. Hypothesis runs derandomized, so CI is
reproducible, with deadline=None since sympy's first call is slow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from notes import NEURON, STAGED
from typer.testing import CliRunner, Result

from backprop_cli.cli import app
from backprop_cli.core.language import evaluate_number, parse_bindings, parse_program
from backprop_cli.errors import InputError
from backprop_cli.pipeline import trace_text

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SLOW_FUZZ = settings(FUZZ, max_examples=40)

# The characters the language is made of, plus some it is not.
ALPHABET = "xyzw012 .+-*/^()=,;\n_eE" + "abcdefghijklmnopqrstuvwxyz" + "[]{}'\"#@%!<>&|~\\\t\x00λ−·"

SEEDS = [
    "(x + y) * z",
    NEURON,
    STAGED,
    "max(x, y) + relu(z) - abs(x)",
    "q = x + y; f = q * z",
    "a = x\na *= 2\na += y\nf = a ** 2",
    "sqrt(x*x + 1) / sigmoid(y) + tanh(z)",
    "log(1 + x^2) * sin(y) + cos(z) ** 3",
    "min(x, y, z) ** 2 + 2 ** x",
    "1/(1+exp(-x))",
]
SEED_BINDINGS = ["x=-2", "y=5", "z=-4", "w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"]


def check_clean_exit(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in {0, 1, 2}, (result.exit_code, result.stderr[-500:])
    text = result.stdout + result.stderr
    assert "Traceback" not in text and "internal error" not in text
    if result.exit_code != 0:
        assert result.stderr.strip(), "a non-zero exit must say why on stderr"


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str]) -> str:
    """A valid input with a few random edits: delete, insert, replace, duplicate, swap."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        n = len(text)
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, min(n, i + 8)))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "duplicate", "swap"]))
        piece = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=4))
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + piece + text[i:]
        elif kind == "replace":
            text = text[:i] + piece + text[j:]
        elif kind == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[i:] + text[:i]
    return text


# --------------------------------------------------------------------------- parser


@FUZZ
@given(st.text(max_size=200) | st.text(alphabet=ALPHABET, max_size=200))
def test_random_text_never_escapes_the_parser(text: str) -> None:
    try:
        program = parse_program(text)
    except InputError as exc:
        assert str(exc).strip()
    else:
        assert program.statements


@FUZZ
@given(mutated(SEEDS))
def test_mutated_programs_parse_or_are_refused(text: str) -> None:
    try:
        parse_program(text)
    except InputError as exc:
        assert str(exc).strip()


@FUZZ
@given(st.lists(st.text(max_size=30) | mutated(SEED_BINDINGS), max_size=5))
def test_random_bindings_are_numbers_or_refused(pairs: list[str]) -> None:
    try:
        bindings = parse_bindings(pairs)
    except InputError as exc:
        assert str(exc).strip()
    else:
        for value in bindings.values():
            assert not isinstance(value, float) or math.isfinite(value)


@FUZZ
@given(st.text(alphabet="0123456789.eE+-*/^() x", max_size=40))
def test_evaluate_number_is_finite_or_refused(text: str) -> None:
    try:
        value = evaluate_number(text)
    except InputError:
        return
    assert math.isfinite(value)


# --------------------------------------------------------------------------- commands


OUTPUTS = [
    [],
    ["--json"],
    ["--graph", "--explain"],
    ["--format", "markdown"],
    ["--format", "latex"],
]


@SLOW_FUZZ
@given(
    mutated(SEEDS),
    st.lists(mutated(SEED_BINDINGS) | st.sampled_from(SEED_BINDINGS), max_size=6),
    st.sampled_from(OUTPUTS),
)
def test_trace_on_mutated_input_exits_cleanly(
    text: str, bindings: list[str], output: list[str]
) -> None:
    check_clean_exit(CliRunner().invoke(app, ["trace", *output, "--", text, *bindings]))


@SLOW_FUZZ
@given(
    mutated(SEEDS),
    st.lists(st.sampled_from(SEED_BINDINGS), max_size=8),
    st.sampled_from(
        [["graph"], ["graph", "--format", "dot"], ["graph", "--format", "mermaid"], ["code"]]
    ),
)
def test_graph_and_code_on_mutated_input_exit_cleanly(
    text: str, bindings: list[str], command: list[str]
) -> None:
    check_clean_exit(CliRunner().invoke(app, [*command, "--no-check", "--", text, *bindings]))


@SLOW_FUZZ
@given(st.sampled_from(SEEDS), st.lists(st.sampled_from(SEED_BINDINGS), max_size=8))
def test_trace_on_valid_input_with_random_bindings_exits_cleanly(
    text: str, bindings: list[str]
) -> None:
    """Mostly whole programs: symbolic, numeric, missing and unused values."""
    check_clean_exit(CliRunner().invoke(app, ["trace", "--", text, *bindings]))


@SLOW_FUZZ
@given(st.text(max_size=300), st.sampled_from([[], ["x=1"], ["x=1", "y=2"]]))
def test_trace_on_random_text_exits_cleanly(text: str, bindings: list[str]) -> None:
    check_clean_exit(CliRunner().invoke(app, ["trace", "--no-check", "--", text, *bindings]))


PROBLEM = """\
[set]
title = "fuzz"
tolerance = 1e-6

[[problem]]
id = "sum-times"
expression = "(x + y) * z"
bindings = { x = -2, y = 5, z = -4 }

[problem.expect]
value = -12
gradients = { x = -4, y = -4, z = 3 }
"""


@SLOW_FUZZ
@given(mutated([PROBLEM]))
def test_check_on_mutated_problem_files_exits_cleanly(tmp_path_factory, text: str) -> None:
    path: Path = tmp_path_factory.mktemp("set") / "set.toml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    check_clean_exit(CliRunner().invoke(app, ["check", "--no-sympy", str(path)]))


@SLOW_FUZZ
@given(
    st.lists(st.text(max_size=40).filter(lambda t: "\n" not in t and "\r" not in t), max_size=10)
)
def test_quiz_on_random_answers_exits_cleanly(
    tmp_path_factory, monkeypatch_session, answers: list[str]
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch_session.setenv("BACKPROP_HOME", str(home))
    text = "".join(f"{a}\n" for a in answers).encode("utf-8", "surrogateescape")
    result = CliRunner().invoke(app, ["quiz", "(x + y) * z", "x=-2", "y=5", "z=-4"], input=text)
    check_clean_exit(result)
    assert result.exit_code == 0
    assert "Score: " in result.stdout


@pytest.fixture(scope="module")
def monkeypatch_session():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


# --------------------------------------------------------------------------- property


@dataclass(frozen=True)
class Tree:
    """An expression as text, with its own float rule and sympy rule (not the engine's)."""

    text: str
    value: Callable[[dict[str, float], list[float]], float]  # appends kink margins
    symbolic: Callable[[dict[str, Any]], Any]


def leaf_variable(name: str) -> Tree:
    return Tree(name, lambda env, m: env[name], lambda env: env[name])


def leaf_constant(c: int) -> Tree:
    return Tree(f"({c})", lambda env, m: float(c), lambda env: sympy.Integer(c))


def unary(name: str, rule: Callable[[float], float], sym: Callable[[Any], Any], kink: bool = False):
    def build(a: Tree) -> Tree:
        def value(env: dict[str, float], margins: list[float]) -> float:
            x = a.value(env, margins)
            if kink:
                margins.append(abs(x))
            return rule(x)

        return Tree(f"{name}({a.text})", value, lambda env: sym(a.symbolic(env)))

    return build


def binary(template: str, rule: Callable[[float, float], float], sym: Callable[[Any, Any], Any]):
    def build(a: Tree, b: Tree) -> Tree:
        def value(env: dict[str, float], margins: list[float]) -> float:
            return rule(a.value(env, margins), b.value(env, margins))

        text = template.format(a=a.text, b=b.text)
        return Tree(text, value, lambda env: sym(a.symbolic(env), b.symbolic(env)))

    return build


def extreme(name: str) -> Callable[[Tree, Tree], Tree]:
    pick = max if name == "max" else min
    sym = sympy.Max if name == "max" else sympy.Min

    def build(a: Tree, b: Tree) -> Tree:
        def value(env: dict[str, float], margins: list[float]) -> float:
            x, y = a.value(env, margins), b.value(env, margins)
            margins.append(abs(x - y))
            return pick(x, y)

        text = f"{name}({a.text}, {b.text})"
        return Tree(text, value, lambda env: sym(a.symbolic(env), b.symbolic(env)))

    return build


# Every rule keeps its gate inside its domain: log and sqrt see 1 + a², exp sees tanh(a).
UNARY = [
    unary("sin", math.sin, sympy.sin),
    unary("cos", math.cos, sympy.cos),
    unary("tanh", math.tanh, sympy.tanh),
    unary("sigmoid", lambda x: 1 / (1 + math.exp(-x)), lambda x: 1 / (1 + sympy.exp(-x))),
    unary("relu", lambda x: max(x, 0.0), lambda x: sympy.Max(x, 0), kink=True),
    unary("abs", abs, sympy.Abs, kink=True),
    lambda a: Tree(
        f"exp(tanh({a.text}))",
        lambda env, m: math.exp(math.tanh(a.value(env, m))),
        lambda env: sympy.exp(sympy.tanh(a.symbolic(env))),
    ),
    lambda a: Tree(
        f"log(1 + ({a.text})^2)",
        lambda env, m: math.log(1 + a.value(env, m) ** 2),
        lambda env: sympy.log(1 + a.symbolic(env) ** 2),
    ),
    lambda a: Tree(
        f"sqrt(1 + ({a.text})**2)",
        lambda env, m: math.sqrt(1 + a.value(env, m) ** 2),
        lambda env: sympy.sqrt(1 + a.symbolic(env) ** 2),
    ),
    lambda a: Tree(
        f"({a.text})^3", lambda env, m: a.value(env, m) ** 3, lambda env: a.symbolic(env) ** 3
    ),
    lambda a: Tree(f"-({a.text})", lambda env, m: -a.value(env, m), lambda env: -a.symbolic(env)),
    lambda a: Tree(
        f"2 ** tanh({a.text})",
        lambda env, m: 2 ** math.tanh(a.value(env, m)),
        lambda env: sympy.Integer(2) ** sympy.tanh(a.symbolic(env)),
    ),
]  # fmt: skip
BINARY = [
    binary("({a}) + ({b})", lambda a, b: a + b, lambda a, b: a + b),
    binary("({a}) - ({b})", lambda a, b: a - b, lambda a, b: a - b),
    binary("({a}) * ({b})", lambda a, b: a * b, lambda a, b: a * b),
    binary("({a}) / (1 + ({b})^2)", lambda a, b: a / (1 + b * b), lambda a, b: a / (1 + b**2)),
    extreme("max"),
    extreme("min"),
]

VARIABLES = ["x", "y", "z"]
leaves = st.sampled_from(VARIABLES).map(leaf_variable) | st.integers(-3, 3).map(leaf_constant)
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(UNARY), inner).map(lambda p: p[0](p[1])),
        st.tuples(st.sampled_from(BINARY), inner, inner).map(lambda p: p[0](p[1], p[2])),
    ),
    max_leaves=10,
)
points = st.fixed_dictionaries(
    {name: st.floats(-2, 2).map(lambda v: round(v, 3)) for name in VARIABLES}
)


@settings(FUZZ, max_examples=80)
@given(trees, points)
def test_backprop_equals_sympy_equals_finite_differences(
    tree: Tree, point: dict[str, float]
) -> None:
    text = tree.text
    assume(text.strip("()") not in VARIABLES)  # a variable alone has no gate: refused
    try:
        program = parse_program(text)
    except InputError:
        assume(False)  # e.g. a tree without variables: nothing to differentiate
        raise
    names = program.inputs()
    margins: list[float] = []
    value = tree.value(point, margins)
    assume(all(m > 1e-3 for m in margins))  # away from every kink
    assume(abs(value) < 1e6)
    result = trace_text(text, {n: point[n] for n in names}, check=False)
    assert math.isclose(result.trace.value, value, rel_tol=1e-9, abs_tol=1e-12)

    symbols = {n: sympy.Symbol(n, real=True) for n in VARIABLES}
    expr = tree.symbolic(symbols)
    at = {symbols[n]: sympy.Rational(repr(point[n])) for n in VARIABLES}
    for name in names:
        got = result.trace.gradients[name]
        want = float(sympy.diff(expr, symbols[name]).xreplace(at).evalf(30))
        assert math.isclose(got, want, rel_tol=1e-8, abs_tol=1e-10), (name, got, want)
        h = 1e-6
        up, down = dict(point), dict(point)
        up[name] += h
        down[name] -= h
        estimate = (tree.value(up, []) - tree.value(down, [])) / (2 * h)
        tolerance = 1e-4 * max(1.0, abs(want)) + 1e-9 * max(1.0, abs(value)) / h
        assert abs(got - estimate) <= tolerance, (name, got, estimate)
