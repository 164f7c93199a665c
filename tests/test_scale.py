"""Correctness at scale: random circuits of thousands of gates, deep chains, and the
budgets that keep sympy from running for minutes.

The oracles are independent of the engine: each random circuit carries its own
float evaluator and sympy builder (tests/circuits.py), and the deep chain's
derivative is derived by hand below.
"""

from __future__ import annotations

import io
import json
import math

import pytest
import sympy
from circuits import random_circuit, random_point
from rich.console import Console

from backprop_cli.checks import symbolic as verify
from backprop_cli.core import budget, engine
from backprop_cli.core.language import Limits, parse_program
from backprop_cli.errors import InputError
from backprop_cli.pipeline import trace_text
from backprop_cli.render.json import trace_dict
from backprop_cli.render.markdown import to_latex, to_markdown
from backprop_cli.render.table import trace_view

BIG = Limits(max_chars=2_000_000, max_gates=200_000)


def close(got: float, want: float, rtol: float = 1e-6) -> bool:
    return abs(got - want) <= rtol * max(1.0, abs(want))


@pytest.mark.parametrize(("seed", "stages"), [(1, 30), (2, 300), (3, 1_000), (4, 3_000)])
def test_random_circuits_agree_with_finite_differences(seed: int, stages: int) -> None:
    circuit = random_circuit(seed, stages, smooth=True)
    point = random_point(seed, circuit.inputs)
    result = trace_text(circuit.text, point, limits=BIG)
    assert len(result.trace.graph.gate_nodes) >= stages
    assert close(result.trace.value, circuit.evaluate(point), 1e-12)
    expected = circuit.finite_differences(point)
    for name, want in expected.items():
        assert close(result.trace.gradients[name], want), name
    numeric = result.checks[1]
    assert numeric.status == "agree", numeric.message


@pytest.mark.parametrize("seed", range(8))
def test_small_random_circuits_agree_with_sympy(seed: int) -> None:
    """Against sympy's derivative of the circuit, built by the test, not by verify."""
    circuit = random_circuit(seed, 4 + seed, inputs=3, smooth=True, recent=3)
    point = random_point(seed, circuit.inputs)
    result = trace_text(circuit.text, point, check=False)
    expr = circuit.sympy_output()
    at = {sympy.Symbol(k, real=True): sympy.Rational(repr(v)) for k, v in point.items()}
    assert close(result.trace.value, float(expr.xreplace(at).evalf(30)), 1e-12)
    for name in circuit.inputs:
        want = sympy.diff(expr, sympy.Symbol(name, real=True)).xreplace(at).evalf(30)
        assert close(result.trace.gradients[name], float(want), 1e-9), name


def test_kinked_random_circuits_trace_at_scale() -> None:
    circuit = random_circuit(7, 2_000)  # with max, relu and abs
    point = random_point(7, circuit.inputs)
    result = trace_text(circuit.text, point, limits=BIG)
    assert close(result.trace.value, circuit.evaluate(point), 1e-12)
    assert result.checks[1].status in {"agree", "not-differentiable", "skipped"}
    if result.checks[1].status == "agree":  # no kink met: the estimate must hold
        for name, want in circuit.finite_differences(point).items():
            assert close(result.trace.gradients[name], want), name


def deep_chain(stages: int) -> str:
    lines = ["s0 = x"] + [f"s{i} = tanh(s{i - 1}) * 0.5 + x" for i in range(1, stages)]
    return "\n".join(lines)


def deep_chain_by_hand(stages: int, x: float) -> tuple[float, float]:
    """s_i = tanh(s_{i-1})/2 + x, so ds_i/dx = (1 - tanh²(s_{i-1}))/2 · ds_{i-1}/dx + 1."""
    s, ds = x, 1.0
    for _ in range(1, stages):
        t = math.tanh(s)
        s, ds = t * 0.5 + x, (1 - t * t) * 0.5 * ds + 1
    return s, ds


def test_a_chain_twenty_thousand_gates_deep_never_recurses() -> None:
    """Parse, graph, engine, verify, table, JSON, Markdown and LaTeX, far past the
    recursion limit: a recursive walk anywhere would raise RecursionError."""
    stages = 7_000  # three gates each: tanh, *0.5, +x
    result = trace_text(deep_chain(stages), {"x": 0.3}, limits=BIG)
    assert len(result.trace.graph.gate_nodes) == 3 * (stages - 1)
    value, gradient = deep_chain_by_hand(stages, 0.3)
    assert close(result.trace.value, value, 1e-12)
    assert close(result.trace.gradients["x"], gradient, 1e-12)
    assert result.checks[0].status == "skipped"
    assert "too large for the symbolic check" in result.checks[0].message
    assert result.checks[1].status == "agree"
    data = json.loads(json.dumps(trace_dict(result.trace, result.checks)))
    assert len(data["steps"]) == 3 * (stages - 1)
    assert data["gradients"]["x"] == pytest.approx(gradient, rel=1e-12)


def test_renderers_walk_a_deep_chain_without_recursion() -> None:
    result = trace_text(deep_chain(400), {"x": 0.3}, limits=BIG)
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(trace_view(result.trace, result.checks, 4, "backprop trace …"))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "finite differences: agree" in text
    assert "s399" in to_markdown(result.trace, result.checks)
    assert "s399" in to_latex(result.trace, result.checks)


# --------------------------------------------------------------------------- budgets


def fork_chain(stages: int) -> str:
    """a_i = a_{i-1}·sin(a_{i-1}): small in memory, 2^stages nodes written out."""
    lines = ["a0 = x"] + [f"a{i} = a{i - 1} * sin(a{i - 1})" for i in range(1, stages)]
    return "\n".join(lines)


def test_a_doubling_circuit_skips_sympy_and_still_checks_numerically() -> None:
    result = trace_text(fork_chain(25), {"x": 0.7})
    sympy_check, numeric = result.checks
    assert sympy_check.status == "skipped"
    assert sympy_check.message.startswith("skipped: too large for the symbolic check")
    assert numeric.status == "agree"
    # Independent: the same recurrence differentiated by hand.
    a, da = 0.7, 1.0
    for _ in range(24):
        a, da = a * math.sin(a), da * (math.sin(a) + a * math.cos(a))
    assert close(result.trace.gradients["x"], da, 1e-12)


def test_written_size_counts_shared_stages_each_time() -> None:
    program = parse_program("a = x * x\nb = a * a\nc = b * b")
    # x*x has 3 nodes; a*a has 1 + 3 + 3 = 7; b*b has 1 + 7 + 7 = 15.
    assert verify.written_size(program, 1_000) == 15
    assert verify.written_size(parse_program(fork_chain(60)), 1_000) == 1_001


def test_tree_size_counts_shared_subexpressions_each_time() -> None:
    x = sympy.Symbol("x")
    a = sympy.sin(x) * sympy.cos(x)  # Mul(sin(x), cos(x)): 5 nodes
    b = sympy.exp(a) + sympy.log(a)  # Add(exp(a), log(a)): 1 + 6 + 6 = 13
    assert engine.tree_size([a], 100) == 5
    assert engine.tree_size([b], 100) == 13
    assert engine.tree_size([b], 10) == 11  # stops early, past the limit
    deep = x
    for _ in range(5_000):  # deeper than the recursion limit: the walk is iterative
        deep = sympy.sin(deep, evaluate=False)  # evaluating would recurse in sympy
    assert engine.tree_size([deep], 10**6) == 5_001


def test_a_symbolic_trace_too_big_to_write_out_is_refused() -> None:
    with pytest.raises(InputError, match="too large to trace in symbols") as info:
        trace_text(fork_chain(20), {})
    assert "x=1" in str(info.value)  # says how to get a numeric trace instead


def test_a_symbolic_trace_over_the_gate_limit_is_refused() -> None:
    text = "\n".join(["s0 = x"] + [f"s{i} = s{i - 1} + y" for i in range(1, 1_200)])
    with pytest.raises(InputError, match=r"1,199 gates \(the limit is 1,000\)"):
        trace_text(text, {})


def test_a_moderate_symbolic_trace_finishes() -> None:
    result = trace_text(deep_chain(4), {})
    assert result.trace.kind == "symbols"
    assert result.checks[0].status == "agree"
    value, gradient = deep_chain_by_hand(4, 0.4)
    at = {sympy.Symbol("x", real=True): sympy.Rational(2, 5)}
    assert close(float(result.trace.value.xreplace(at)), value, 1e-12)
    assert close(float(result.trace.gradients["x"].xreplace(at)), gradient, 1e-12)


def test_a_longer_symbolic_chain_is_refused_quickly() -> None:
    with pytest.raises(InputError, match="too large to trace in symbols"):
        trace_text(deep_chain(60), {})


def test_slow_sympy_work_is_cut_off_and_the_numeric_check_still_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(verify, "SYMPY_SECONDS", 0.01)
    calls = []

    def slow(program: object) -> object:
        calls.append(program)
        while True:  # stands in for sympy grinding on a big expression
            pass

    monkeypatch.setattr(verify, "sympy_expression", slow)
    result = trace_text("x * sin(x)", {"x": 0.5})
    assert calls
    assert result.checks[0].status == "skipped"
    assert result.checks[0].message == (
        "skipped: too large for the symbolic check (sympy needed more than 0.01 s)"
    )
    assert result.checks[1].status == "agree"


def test_budgets_nest_and_leave_no_alarm_behind() -> None:
    import signal

    with budget.time_budget(5) as outer:
        with budget.time_budget(0.01) as inner:
            while True:
                pass
        assert inner.expired and not outer.expired
    assert not outer.expired
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    with budget.time_budget(0.02) as outer, budget.time_budget(5) as inner:
        while True:
            pass
    assert outer.expired and not inner.expired


def test_the_circuit_tree_of_a_deep_chain_keeps_its_rows_narrow() -> None:
    from backprop_cli.render.tree import MAX_GUIDE_LEVELS, tree_rows

    result = trace_text(deep_chain(400), {"x": 0.3}, check=False)
    rows = tree_rows(result.trace)
    widest = max(len(row.guide) for row in rows)
    assert widest <= 4 * MAX_GUIDE_LEVELS
    assert any(row.guide.startswith("⋮") for row in rows)  # says levels were left out
    # Every gate is still drawn once, the deepest too.
    drawn = {row.node for row in rows}
    assert all(node.index in drawn for node in result.trace.graph.gate_nodes)
