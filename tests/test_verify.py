"""The cross-checks: they agree on right answers and, crucially, can disagree."""

from __future__ import annotations

import pytest
import sympy

from backprop_cli.checks import symbolic as verify
from backprop_cli.core import gates
from backprop_cli.pipeline import trace_text

NEURON = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
NEURON_AT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}


def statuses(text: str, bindings: dict[str, float]) -> dict[str, str]:
    result = trace_text(text, bindings)
    return {c.name: c.status for c in result.checks}


def test_both_checks_agree_on_the_neuron() -> None:
    result = trace_text(NEURON, NEURON_AT)
    assert {c.name: c.status for c in result.checks} == {"sympy": "agree", "numeric": "agree"}
    sympy_check = result.checks[0]
    assert sympy_check.max_error is not None and sympy_check.max_error < 1e-12
    assert sympy_check.expected["x1"] == pytest.approx(-0.5898357997, abs=1e-9)
    assert not result.failed


def test_sympy_expression_is_rebuilt_from_the_program() -> None:
    from backprop_cli.core.language import parse_program

    program = parse_program("a = x*y\na += 0.1\nf = a^2 - max(x, y)")
    x, y = sympy.Symbol("x", real=True), sympy.Symbol("y", real=True)
    want = (x * y + sympy.Rational(1, 10)) ** 2 - sympy.Max(x, y)
    assert sympy.simplify(verify.sympy_expression(program) - want) == 0


def test_a_wrong_local_gradient_is_caught_by_both_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    # break mul: "switches" the wrong way round
    monkeypatch.setattr(gates.Mul, "local", lambda self, k, xs, out: (xs[0], xs[1]))
    result = trace_text("(x + y) * z", {"x": -2.0, "y": 5.0, "z": -4.0})
    assert {c.name: c.status for c in result.checks} == {
        "sympy": "disagree",
        "numeric": "disagree",
    }
    assert result.failed
    numeric = result.checks[1]
    assert "finite differences" in numeric.message


def test_a_wrong_symbolic_gradient_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gates.Exp, "local", lambda self, k, xs, out: (2 * out,))
    result = trace_text("exp(x) * y", {})
    assert result.checks[0].status == "disagree"


def test_kinks_are_not_differentiable_rather_than_disagreeing() -> None:
    assert statuses("relu(x) * y", {"x": 0.0, "y": 2.0}) == {
        "sympy": "not-differentiable",
        "numeric": "not-differentiable",
    }
    assert statuses("max(x, y)", {"x": 1.0, "y": 1.0}) == {
        "sympy": "not-differentiable",
        "numeric": "not-differentiable",
    }


def test_finite_differences_step_over_a_nearby_kink_is_skipped() -> None:
    result = trace_text("max(x, y)", {"x": 1.0, "y": 1.0000001})
    assert result.checks[0].status == "agree"
    assert result.checks[1].status == "skipped"
    assert "kink" in result.checks[1].message


def test_symbolic_traces_are_checked_symbolically() -> None:
    result = trace_text(NEURON, {})
    assert result.checks[0].status == "agree"
    assert result.checks[1].status == "skipped"


def test_large_circuits_skip_the_symbolic_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "SYMBOLIC_GATE_LIMIT", 3)
    result = trace_text(NEURON, NEURON_AT)
    assert result.checks[0].status == "skipped"
    assert "too large for the symbolic check" in result.checks[0].message
    assert result.checks[1].status == "agree"


def test_no_check_skips_both() -> None:
    result = trace_text(NEURON, NEURON_AT, check=False)
    assert [c.status for c in result.checks] == ["skipped", "skipped"]


# --------------------------------------------------------------------------- rounding
# Cases from review: correct gradients where floats cancel or vary fast must never be
# called wrong, and wrong gradients at small magnitudes must not be called right.


@pytest.mark.parametrize(
    ("text", "bindings"),
    [
        ("x + 1e8 - 1e8", {"x": 0.1}),
        ("(x + 1e8 - 1e8)^2", {"x": 0.1}),
        ("(x + 1e16) - 1e16", {"x": 1.0}),
        ("sin(x)", {"x": 1e10}),
        ("cos(x)", {"x": 1e6}),
        ("sin(3000*x)", {"x": 1.0}),
        ("sin(x*x)", {"x": 300.0}),
        ("exp(x*x)", {"x": 26.5}),
        ("(x + 1e10) * y", {"x": 1.0, "y": 1.0}),
        ("(x - 1)^2", {"x": 1.0}),
        ("x + 0*y", {"x": 1.0, "y": 2.0}),
        ("((x**100)**100)**100", {"x": 1.0000001}),
    ],
)
def test_correct_gradients_are_never_called_wrong(text: str, bindings: dict) -> None:
    result = trace_text(text, bindings)
    assert not result.failed, [c.message for c in result.checks]


def test_a_wrong_gradient_at_a_small_scale_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # 3 times sigmoid's true local gradient, on an output of size 1e-10
    monkeypatch.setattr(gates.Sigmoid, "local", lambda self, k, xs, out: (3 * out * (1 - out),))
    result = trace_text("1e-10*sigmoid(x)", {"x": 0.3})
    assert [c.status for c in result.checks] == ["disagree", "disagree"]


def test_a_noisy_estimate_is_not_taken_as_agreement(monkeypatch: pytest.MonkeyPatch) -> None:
    # adding 1e10 swamps x's step in rounding: finite differences cannot judge x here
    monkeypatch.setattr(gates.AddConst, "local", lambda self, k, xs, out: (3,))
    result = trace_text("(x + 1e10) * y", {"x": 1.0, "y": 1.0})
    assert result.checks[0].status == "disagree"
    assert result.checks[1].status != "agree"
