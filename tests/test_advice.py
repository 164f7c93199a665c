"""Learner warnings: saturated sigmoid/tanh, dead relu, exploding products, scaled inputs.

Each case's numbers come from a hand derivation: σ(10)(1 − σ(10)) = 4.54e-05,
1 − tanh(5)² = 1.8e-04, relu at -1 passes nothing, and w·(1000x) gives w's gradient
1000·x.
"""

from __future__ import annotations

import json
import math

import pytest

from backprop_cli.cli import app
from backprop_cli.core.advice import EXPLODES_ABOVE, SATURATED_BELOW, advise
from backprop_cli.pipeline import trace_text


def advice_for(text: str, values: dict[str, float], fuse: str | None = None):
    return advise(trace_text(text, values, check=False, fuse=fuse).trace)


def kinds(text: str, values: dict[str, float]) -> list[str]:
    return [a.kind for a in advice_for(text, values)]


def test_the_notes_neuron_is_healthy() -> None:
    assert advice_for("1/(1+exp(-(w0*x0+w1*x1+w2)))", dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3)) == []


def test_saturated_sigmoid_gate() -> None:
    local = 1 / (1 + math.exp(-10)) * (1 - 1 / (1 + math.exp(-10)))
    assert local < SATURATED_BELOW  # the hand numbers: 4.54e-05
    [advice] = advice_for("sigmoid(x) * w", {"x": 10, "w": 2})
    assert advice.kind == "saturated" and advice.step == "s1"
    assert "sigmoid at step s1 (σ(1−σ)) is saturated: its input is 10" in advice.message
    assert f"{local:.3g}" in advice.message and "vanishes" in advice.message


def test_saturation_boundary() -> None:
    # σ(z)(1 − σ(z)) = 1e-3 near z = 6.9: 6.5 is still fine, 7.5 is saturated.
    assert kinds("sigmoid(x)", {"x": 6.5}) == []
    assert kinds("sigmoid(x)", {"x": 7.5}) == ["saturated"]
    assert kinds("sigmoid(x)", {"x": -7.5}) == ["saturated"]


def test_saturated_tanh() -> None:
    [advice] = advice_for("tanh(x)", {"x": 5})
    assert advice.kind == "saturated"
    assert f"{1 - math.tanh(5) ** 2:.3g}" in advice.message


def test_a_written_out_sigmoid_is_recognised_unfused() -> None:
    [advice] = advice_for("1/(1+exp(-(w*x)))", {"w": 4, "x": 3})
    assert advice.kind == "saturated" and advice.step == "f"
    assert "1/(1+exp(-z))" in advice.message and "its input is 12" in advice.message
    # And the same once fused: one sigmoid gate, the same warning, told once.
    fused = advice_for("1/(1+exp(-(w*x)))", {"w": 4, "x": 3}, fuse="sigmoid")
    assert [a.kind for a in fused] == ["saturated"]


def test_dead_relu() -> None:
    [advice] = advice_for("relu(x) * w", {"x": -1, "w": 3})
    assert advice.kind == "dead-relu"
    assert "-1 ≤ 0" in advice.message and "no gradient flows back" in advice.message
    assert kinds("relu(x) * w", {"x": 0.5, "w": 3}) == []
    # At exactly 0 the relu is dead too (relu'(0) = 0).
    assert "dead-relu" in kinds("relu(x) * w", {"x": 0, "w": 3})


def test_exploding_product_reported_where_it_starts() -> None:
    # exp(x)·w with x = 10, w = 2: the mul sends e^10 = 22026 to w (it explodes
    # there), and the exp gate's local gradient e^10 makes x's 2e^10 = 44053.
    advice = [a for a in advice_for("exp(x) * w", {"x": 10, "w": 2}) if a.kind == "exploding"]
    assert [a.step for a in advice] == ["f", "s1"]
    assert f"{math.exp(10):.2f}" in advice[0].message
    assert f"{2 * math.exp(10):.2f}" in advice[1].message
    # Once a gradient has exploded, the steps behind it are not reported again.
    # exp(exp(x)) at x = 3: the outer exp f has local gradient e^(e^3) = 5.3e8, so the
    # product explodes at f; the inner exp s1 only passes the exploded gradient on.
    chain = [a.step for a in advice_for("exp(exp(x))", {"x": 3}) if a.kind == "exploding"]
    assert chain == ["f"]
    # Below the limit: nothing.
    assert kinds("exp(x) * w", {"x": 5, "w": 2}) == []  # 2e^5 = 297 < 1000
    assert 2 * math.exp(5) < EXPLODES_ABOVE


def test_inputs_scaled_by_n_scale_the_weight_gradient() -> None:
    text = "w * (100 * x) + b"
    advice = [a for a in advice_for(text, {"w": 0.5, "x": 2, "b": 1}) if a.kind == "scaled-input"]
    assert len(advice) == 1
    assert "x is scaled by 100" in advice[0].message and "gradient on w is 100 times" in (
        advice[0].message
    )
    # The hand derivation: ∂/∂w of w·(100x) is 100x = 200, 100 times the unscaled x.
    trace = trace_text(text, {"w": 0.5, "x": 2, "b": 1}, check=False).trace
    assert trace.gradients["w"] == pytest.approx(100 * 2)


def test_a_large_input_value_scales_its_weight() -> None:
    [advice] = advice_for("w * x", {"w": 0.1, "x": 500})
    assert advice.kind == "scaled-input"
    assert "x = 500 multiplies w" in advice.message
    assert kinds("w * x", {"w": 0.1, "x": 5}) == []


def test_symbolic_traces_get_no_advice() -> None:
    assert advice_for("sigmoid(x) * w", {}) == []


def test_advice_in_the_table_and_json(runner) -> None:
    result = runner.invoke(app, ["trace", "relu(x) * w", "x=-1", "w=3"])
    assert result.exit_code == 0
    assert "warning: relu at step s1 is dead" in result.stdout
    result = runner.invoke(app, ["trace", "relu(x) * w", "x=-1", "w=3", "--json"])
    data = json.loads(result.stdout)
    assert data["advice"] == [
        {"kind": "dead-relu", "step": "s1", "message": data["warnings"][0]},
    ]
    assert "dead" in data["warnings"][0]


def test_vectors_are_checked_entry_by_entry() -> None:
    import numpy as np

    # q = W @ x = [-0.18, 0.38]: the relu is dead in one entry of two.
    values = {"W": np.array([[0.1, 0.5], [-0.3, 0.8]]), "x": np.array([0.2, 0.4])}
    values["W"][0] = [-1.9, 0.5]  # q[0] = -0.38 + 0.2 = -0.18
    advice = advise(trace_text("q = W @ x; f = sum(relu(q))", values, check=False).trace)
    assert [a.kind for a in advice] == ["dead-relu"]
    assert "dead in 1 of its 2 entries" in advice[0].message
    # sigmoid of [10, 0]: one saturated entry (σ'(10) = 4.5e-05), one healthy (0.25).
    advice = advise(trace_text("f = sum(sigmoid(v))", {"v": np.array([10.0, 0.0])}).trace)
    assert [a.kind for a in advice] == ["saturated"]
    assert "1 of its 2 entries are, the worst at input 10" in advice[0].message
