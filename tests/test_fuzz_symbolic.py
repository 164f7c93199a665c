"""Fuzzing in symbolic mode (issue 15): the fuzzers of test_fuzz.py give every input a
value, which is why `max(x, 1/min(0, y))`, `min(y, log(log(z)))` and friends could
still end a symbolic trace with exit 3 (sympy raising inside the check or the
simplification). Here random circuits over every scalar gate, with no domain guards
(log of anything, 1/anything, nested exp), are traced with no values, or with only
some of them, through `trace` and `check`: each must end with exit 0, 1 or 2 and
never an internal error. Derandomized, as test_fuzz.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from backprop_cli.cli import app

SYMBOLIC_FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

UNARY = ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "-", "1/"]
BINARY = ["+", "-", "*", "/", "^", "max", "min"]

leaves = st.sampled_from(["x", "y", "z", "0", "1", "2", "0.8", "-1"])


def _unary(pair: tuple[str, str]) -> str:
    name, a = pair
    if name == "-":
        return f"-({a})"
    if name == "1/":
        return f"1/({a})"
    return f"{name}({a})"


def _binary(triple: tuple[str, str, str]) -> str:
    op, a, b = triple
    if op in ("max", "min"):
        return f"{op}({a}, {b})"
    return f"({a}) {op} ({b})"


expressions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(UNARY), inner).map(_unary),
        st.tuples(st.sampled_from(BINARY), inner, inner).map(_binary),
    ),
    max_leaves=6,
)
some_values = st.lists(st.sampled_from(["x=-1", "x=0", "y=2", "z=0.5"]), max_size=2, unique=True)

# The traces of the issue that ended with exit 3, and the value that made one do so.
REPORTED = [
    ("max(x, 1/min(0, y))", []),
    ("min(y, log(log(z)))", []),
    ("min(2, relu(sigmoid(1/z)))", []),
    ("min(1/relu(y), 0.8)", []),
    ("exp(exp(exp(exp(exp(x)))))", []),
    ("max(z, sqrt(x))", ["x=-1"]),
    ("(7^100*x)^100", []),
]


def clean(result: Result, *, report: bool = False) -> None:
    """A clean exit; `report`: the reasons are in the report on stdout (check)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in {0, 1, 2}, (result.exit_code, result.stderr[-500:])
    text = result.stdout + result.stderr
    assert "Traceback" not in text and "internal error" not in text, text[-800:]
    if result.exit_code != 0 and not report:
        assert result.stderr.strip()


@pytest.mark.parametrize(("expression", "values"), REPORTED)
def test_reported_symbolic_traces_exit_cleanly(expression: str, values: list[str]) -> None:
    result = CliRunner().invoke(app, ["trace", expression, *values])
    clean(result)


def test_sqrt_of_a_negative_given_value_names_the_step() -> None:
    result = CliRunner().invoke(app, ["trace", "max(z, sqrt(x))", "x=-1"])
    assert result.exit_code == 2
    assert "sqrt at step s1 got -1: sqrt needs an input ≥ 0" in result.stderr


def test_huge_exact_constant_is_shown_rounded() -> None:
    result = CliRunner().invoke(app, ["trace", "(7^100*x)^100", "--json"])
    clean(result)
    # 7^10000 has 8,451 digits, past Python's limit on int-to-text; shown as a float.
    assert "e+8450" in result.stdout


def test_check_reports_every_problem_when_one_breaks(tmp_path: Path) -> None:
    """Each reported trace is its own row; a good problem after them still passes."""
    parts = []
    for number, (expression, values) in enumerate(REPORTED):
        bindings = ", ".join(v.replace("=", " = ") for v in values)
        parts.append(
            f'[[problem]]\nid = "p{number}"\nexpression = "{expression}"\n'
            f"bindings = {{ {bindings} }}\n"
        )
    parts.append(
        '[[problem]]\nid = "good"\nexpression = "x*y"\nbindings = { x = 2, y = 3 }\n'
        "[problem.expect]\ngradients = { x = 3, y = 2 }\n"
    )
    path = tmp_path / "set.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    for extra in ([], ["--no-sympy"]):
        result = CliRunner().invoke(app, ["check", str(path), "--format", "json", *extra])
        clean(result, report=True)

        rows = {p["id"]: p for p in json.loads(result.stdout)["problems"]}
        assert len(rows) == len(REPORTED) + 1
        assert rows["good"]["status"] == "pass"
        assert rows["p5"]["status"] == "error"  # sqrt(-1): the step is named
        assert "sqrt at step s1" in rows["p5"]["message"]
        assert result.exit_code == 2


@SYMBOLIC_FUZZ
@given(expressions, some_values)
def test_symbolic_trace_of_random_circuits_exits_cleanly(
    expression: str, values: list[str]
) -> None:
    result = CliRunner().invoke(app, ["trace", expression, *values])
    clean(result)


@settings(SYMBOLIC_FUZZ, max_examples=10)
@given(st.lists(expressions, min_size=1, max_size=4))
def test_symbolic_check_of_random_circuits_exits_cleanly(
    tmp_path_factory: pytest.TempPathFactory, batch: list[str]
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    tables = [f'[[problem]]\nid = "p{i}"\nexpression = "{e}"\n' for i, e in enumerate(batch)]
    (folder / "set.toml").write_text("\n".join(tables), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(folder), "--format", "json"])
    clean(result, report=True)

    assert len(json.loads(result.stdout)["problems"]) == len(batch)
