"""Broadcasting, property-tested: the gradient of an input numpy stretched is summed back
to its own shape. The oracle is numpy itself: the same f written out in the test, and
central finite differences on every entry (no backprop code involved)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_cli.pipeline import trace_text

OPS = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
}
FUNCTIONS = {
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "sin": np.sin,
}


@st.composite
def circuits(draw: st.DrawFn) -> tuple[str, dict[str, np.ndarray], object]:
    m, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    b_shape = draw(st.sampled_from([(), (n,), (1, n), (m, 1), (m, n)]))
    op = draw(st.sampled_from(sorted(OPS)))
    func = draw(st.sampled_from(sorted(FUNCTIONS)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = rng.uniform(-2, 2, (m, n))
    b = rng.uniform(0.5, 2, b_shape) * rng.choice([-1.0, 1.0], b_shape)  # |b| ≥ 0.5 for /
    c = rng.uniform(-2, 2, (m, n))
    text = f"sum(C * {func}(A {op} b))"

    def f(values: dict[str, np.ndarray]) -> float:
        inner = OPS[op](values["A"], values["b"])
        return float(np.sum(values["C"] * FUNCTIONS[func](inner)))

    return text, {"A": a, "b": np.asarray(b), "C": c}, f


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(circuits())
def test_broadcast_gradients_match_numpy_finite_differences(circuit) -> None:
    text, bindings, f = circuit
    trace = trace_text(text, bindings, check=False).trace
    assert float(trace.value) == pytest.approx(f(bindings), rel=1e-12, abs=1e-12)
    for name, value in bindings.items():
        gradient = np.asarray(trace.gradients[name])
        assert gradient.shape == value.shape  # a gradient has its variable's shape
        estimate = np.zeros_like(value, dtype=float)
        for index in np.ndindex(value.shape):
            up, down = dict(bindings), dict(bindings)
            up[name], down[name] = value.copy(), value.copy()
            up[name][index] += 1e-6
            down[name][index] -= 1e-6
            estimate[index] = (f(up) - f(down)) / 2e-6
        assert gradient == pytest.approx(estimate, rel=1e-5, abs=1e-6)
