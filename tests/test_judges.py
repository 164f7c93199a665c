"""One finite-difference judge and one sympy judge for numbers and arrays alike.

A number is the one-entry case of an array: the same care (Richardson estimates,
retries, the rounding allowance under cancellation), the same budgets, the same
messages. Expected numbers come from numpy used by hand in the test, or from the
closed form of the expression.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy
from typer.testing import CliRunner

from backprop_cli.checks import numeric, symbolic
from backprop_cli.cli import app
from backprop_cli.core import engine, gates
from backprop_cli.core.language import parse_bindings
from backprop_cli.pipeline import trace_text

W = [[0.5, -0.3], [0.2, 0.4]]
X = [0.1, 0.2]


def recurrent(steps: int) -> str:
    return "h = x; " + "h = tanh(W @ h) + h; " * steps + "f = sum(h)"


def recurrent_by_hand(steps: int) -> tuple[float, np.ndarray, np.ndarray]:
    """f = sum(h) after `steps` of h = tanh(W h) + h, and df/dW, df/dx, in numpy by hand."""
    w, h = np.array(W), np.array(X)
    hs = [h]
    for _ in range(steps):
        h = np.tanh(w @ h) + h
        hs.append(h)
    dh = np.ones(2)
    dw = np.zeros((2, 2))
    for h_in in reversed(hs[:-1]):
        dz = dh * (1 - np.tanh(w @ h_in) ** 2)
        dw += np.outer(dz, h_in)
        dh = w.T @ dz + dh
    return float(np.sum(hs[-1])), dw, dh


# --------------------------------------------------------------------------- cancellation


def test_a_vector_under_cancellation_agrees_as_a_number_does(runner: CliRunner) -> None:
    # (x + 1e8) - 1e8 loses 8 digits of x; the gradient [1, 1] is still right.
    result = runner.invoke(app, ["trace", "sum((x + 1e8) - 1e8)", "x=[0.1,0.2]"])
    assert result.exit_code == 0, result.output
    assert "sympy: agree" in result.output
    assert "finite differences: agree on all 2 entries" in result.output
    scalar = runner.invoke(app, ["trace", "(x + 1e8) - 1e8", "x=0.1"])
    assert scalar.exit_code == 0, scalar.output


def test_the_array_judges_still_catch_a_wrong_elementwise_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # tanh's local gradient doubled: 2(1 - tanh²) on every entry
    monkeypatch.setattr(gates.Tanh, "local", lambda self, k, xs, out: (2 * (1 - out * out),))
    result = trace_text("sum(tanh(x) * 3)", parse_bindings(["x=[0.1,-0.4,0.7]"]))
    assert [c.status for c in result.checks] == ["disagree", "disagree"]
    assert "x[0]" in result.checks[1].message
    assert result.failed


def test_the_array_judges_still_catch_a_wrong_rule_under_cancellation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the rounding allowance must not swallow a real mistake: +c passes 3 back, not 1
    monkeypatch.setattr(gates.AddConst, "local", lambda self, k, xs, out: (3,))
    result = trace_text("sum((x + 1e8) - 1e8)", parse_bindings(["x=[0.1,0.2]"]))
    assert result.checks[0].status == "disagree"
    assert result.checks[1].status != "agree"


def test_expected_gradients_are_the_oracles_own() -> None:
    result = trace_text("sum(x * x)", parse_bindings(["x=[0.5,-2]"]))
    for check in result.checks:
        assert check.status == "agree"
        assert np.allclose(check.expected["x"], [1.0, -4.0], atol=1e-8)  # 2x by hand


# --------------------------------------------------------------------------- budgets


@pytest.mark.parametrize("steps", [13, 30])
def test_a_recurrent_program_checks_within_the_budget(steps: int) -> None:
    bindings = parse_bindings([f"W={W}".replace(" ", ""), f"x={X}".replace(" ", "")])
    result = trace_text(recurrent(steps), bindings)
    sympy_check, finite = result.checks
    assert sympy_check.status == "skipped"
    assert sympy_check.message.startswith("skipped: too large for the symbolic check")
    assert finite.status == "agree", finite.message
    value, dw, dx = recurrent_by_hand(steps)
    assert result.trace.value == pytest.approx(value, rel=1e-12)
    assert np.allclose(result.trace.gradients["W"], dw, rtol=1e-10)
    assert np.allclose(result.trace.gradients["x"], dx, rtol=1e-10)


def test_the_recurrent_program_from_the_command_line(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trace", recurrent(13), "W=[[0.5,-0.3],[0.2,0.4]]", "x=[0.1,0.2]"])
    assert result.exit_code == 0, result.output
    assert "skipped: too large for the symbolic check" in result.output


def test_array_finite_differences_sample_entries_past_the_work_budget() -> None:
    # issue 15: 101 scaling stages on a 100×100 matrix nudged all 10,000 entries (128 s)
    text = "a = W\n" + "a = a * 1.01\n" * 100 + "f = sum(a)"
    w = np.linspace(-1, 1, 10_000).reshape(100, 100)
    result = trace_text(text, {"W": w})
    sympy_check, finite = result.checks
    assert sympy_check.status == "skipped"
    assert finite.status == "agree", finite.message
    checked = numeric.sample(numeric.all_entries(result.trace), numeric.probe_work(result.trace))
    assert 0 < len(checked) < 10_000
    assert f"{len(checked):,} of 10,000 entries checked, evenly spread" in finite.message
    assert np.allclose(result.trace.gradients["W"], 1.01**100)  # d/dW of sum(1.01^100 W)
    estimates = finite.expected["W"]
    sampled = [v for v in estimates.flat if v is not None]
    assert len(sampled) == len(checked)
    assert np.allclose(sampled, 1.01**100, rtol=1e-6)
    # in --json the entries not sampled are null, never NaN (which is not JSON)
    listed = json.loads(json.dumps(finite.as_dict(), allow_nan=False))["expected"]["W"]
    assert sum(v is not None for row in listed for v in row) == len(checked)


def test_the_sample_is_spread_over_every_input() -> None:
    entries = [("a", (i,)) for i in range(10)] + [("b", (i,)) for i in range(10)]
    chosen = numeric.sample(entries, numeric.NUMERIC_WORK_BUDGET // 16)  # room for 4
    assert chosen == [("a", (0,)), ("a", (5,)), ("b", (0,)), ("b", (5,))]


def test_the_sympy_budget_is_the_same_for_numbers_and_arrays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(symbolic, "SYMPY_SYMBOL_LIMIT", 2)
    numbers = trace_text("x * y * z", {"x": 1.0, "y": 2.0, "z": 3.0})
    arrays = trace_text("sum(x * x)", parse_bindings(["x=[1,2,3]"]))
    for result, what in ((numbers, "3 inputs"), (arrays, "3 entries")):
        sympy_check, finite = result.checks
        assert sympy_check.message == (
            f"skipped: too large for the symbolic check ({what}, a symbol each; the limit "
            "is 2); finite differences still run"
        )
        assert finite.status == "agree"


def test_slow_array_sympy_work_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    # the array judge had no time budget; now it has the scalar one
    monkeypatch.setattr(symbolic, "SYMPY_SECONDS", 0.01)

    def slow(program: object, inputs: object = None) -> object:
        while True:  # stands in for sympy grinding on a big expression
            pass

    monkeypatch.setattr(symbolic, "sympy_expression", slow)
    result = trace_text("sum(tanh(x))", parse_bindings(["x=[0.1,0.2]"]))
    assert result.checks[0].message == (
        "skipped: too large for the symbolic check (sympy needed more than 0.01 s)"
    )
    assert result.checks[1].status == "agree"


def test_symbolic_simplification_has_one_budget_per_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # issue 15: 90 inputs with no values, a 2 s simplify budget each, took 187 s
    monkeypatch.setattr(engine, "SIMPLIFY_SECONDS", 0.05)
    calls: list[object] = []

    def slow_simplify(expr: object, *args: object, **kwargs: object) -> object:
        calls.append(expr)
        while True:  # stands in for simplify grinding
            pass

    monkeypatch.setattr(sympy, "simplify", slow_simplify)
    names = [f"x{i}" for i in range(90)]
    result = trace_text(" + ".join(f"sin({n})*{n}" for n in names), {}, check=False)
    gradients = result.trace.gradients
    assert len(calls) == 1  # the budget ran out once, for the whole trace
    x5 = sympy.Symbol("x5", real=True)
    want = sympy.sin(x5) + x5 * sympy.cos(x5)
    assert (gradients["x5"] - want).expand() == 0


# --------------------------------------------------------------------------- kinks in floats


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("relu(a*x + b*y + c)", ["a=1", "x=0.3", "b=2", "y=-0.2", "c=0.1"]),
        ("max(a*x + b*y, -c)", ["a=1", "x=0.3", "b=2", "y=-0.2", "c=0.1"]),
        ("sum(relu(W @ x + b))", ["W=[[1,2],[0.5,0.5]]", "x=[0.3,-0.2]", "b=[0.1,0.2]"]),
        ("max(W @ x + b)", ["W=[[1,2],[0,0]]", "x=[0.3,-0.2]", "b=[0.1,0]"]),
    ],
)
def test_a_kink_hidden_by_float_rounding_is_not_a_disagreement(
    text: str, values: list[str]
) -> None:
    # 0.3 - 2·0.2 + 0.1 is exactly 0, so each kinked gate sits on its kink; in floats it
    # is 5.6e-17 on one side, in the oracle's 30 digits -2.8e-17 on the other. Neither
    # gradient is wrong: the verdict is "not differentiable here", and nothing fails.
    from fractions import Fraction

    assert Fraction(3, 10) - 2 * Fraction(2, 10) + Fraction(1, 10) == 0
    result = trace_text(text, parse_bindings(values))
    assert result.checks[0].status == "not-differentiable", result.checks[0].message
    assert "kink up to float rounding" in result.checks[0].message
    assert not result.failed


def test_a_wrong_rule_away_from_any_kink_still_disagrees(monkeypatch: pytest.MonkeyPatch) -> None:
    # relu's local gradient halved: far from 0, near_kinks must not excuse it
    monkeypatch.setattr(gates.Relu, "local", lambda self, k, xs, out: (0.5,))
    result = trace_text("relu(a*x + b)", parse_bindings(["a=1", "x=0.3", "b=0.4"]))
    assert result.checks[0].status == "disagree"
    assert result.failed


@pytest.mark.parametrize("args", [["x+y", "x=[1e308, 1]", "y=[1,2]"], ["x*1", "x=[1e308, -1e308]"]])
def test_overflow_in_the_finite_difference_judge_is_said_not_warned(
    runner: CliRunner, args: list[str]
) -> None:
    """1e308·1 + 1·1 passes the float range (≈1.8e308): numpy warned on stderr."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would now fail the trace
        result = runner.invoke(app, ["trace", *args])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert "finite differences: skipped" in result.stdout and "float range" in result.stdout
