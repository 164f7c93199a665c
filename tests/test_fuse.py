"""`--fuse`: 1/(1+exp(-z)) collapsed into one sigmoid gate, gradients unchanged.

The oracle is sympy, with each expression built by hand from constructors, and the
unfused trace of the same text: fusing changes the steps, never the gradients.
"""

from __future__ import annotations

import math

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from notes import NEURON, NEURON_VALUES, STAGED

from backprop_cli.core import gates as g
from backprop_cli.core.engine import run
from backprop_cli.core.fuse import find, fuse
from backprop_cli.core.graph import build_graph
from backprop_cli.core.language import parse_program
from backprop_cli.pipeline import trace_text


def graph_of(text: str):
    return build_graph(parse_program(text))


def sympy_gradients(expr, symbols: dict[str, sp.Symbol], values: dict[str, float]):
    at = {symbols[k]: v for k, v in values.items()}
    return {k: float(sp.diff(expr, s).subs(at)) for k, s in symbols.items()}


def test_the_neuron_fuses_into_one_sigmoid_gate() -> None:
    graph = fuse(graph_of(NEURON), "sigmoid")
    gates = [n.gate.name for n in graph.gate_nodes]
    assert gates == ["mul", "mul", "add", "add", "sigmoid"]
    # Step ids renumbered in forward order, the output keeps its name.
    assert [n.step for n in graph.gate_nodes] == ["s1", "s2", "s3", "s4", "f"]
    assert [n.ref for n in graph.gate_nodes] == ["s1", "s2", "s3", "s4", "f"]
    assert [n.index for n in graph.nodes] == list(range(len(graph.nodes)))
    sigmoid = graph.nodes[graph.output]
    assert isinstance(sigmoid.gate, g.Sigmoid)
    assert graph.nodes[sigmoid.inputs[0]].ref == "s4"  # the dot product w·x + b
    # Every node's inputs come before it: still in topological order.
    assert all(j < n.index for n in graph.nodes for j in n.inputs)


def test_fused_neuron_gradients_match_the_notes_and_sympy() -> None:
    unfused = trace_text(NEURON, NEURON_VALUES).trace
    fused_result = trace_text(NEURON, NEURON_VALUES, fuse="sigmoid")
    fused = fused_result.trace
    w0, x0, w1, x1, w2 = sp.symbols("w0 x0 w1 x1 w2", real=True)
    symbols = {"w0": w0, "x0": x0, "w1": w1, "x1": x1, "w2": w2}
    expr = 1 / (1 + sp.exp(-(w0 * x0 + w1 * x1 + w2)))
    oracle = sympy_gradients(expr, symbols, NEURON_VALUES)
    for name in symbols:
        assert fused.gradients[name] == pytest.approx(oracle[name], rel=1e-12)
        assert fused.gradients[name] == pytest.approx(unfused.gradients[name], rel=1e-12)
    # The notes: dx0 = 0.39, dx1 = -0.59, dw0 = -0.20, dw2 = 0.20; σ'(1) = 0.20.
    assert round(fused.gradients["x0"], 2) == 0.39
    assert round(fused.gradients["x1"], 2) == -0.59
    assert round(fused.locals[fused.graph.output][0], 2) == 0.20
    assert all(check.status == "agree" for check in fused_result.checks)


def test_staged_example_keeps_the_users_names() -> None:
    graph = fuse(graph_of(STAGED), "sigmoid")
    assert [(n.ref, n.gate.name) for n in graph.gate_nodes] == [
        ("sigy", "sigmoid"),
        ("num", "add"),
        ("sigx", "sigmoid"),
        ("xpy", "add"),
        ("xpysqr", "x^2"),
        ("den", "add"),
        ("invden", "1/x"),
        ("f", "mul"),
    ]
    x, y = sp.symbols("x y", real=True)
    sig = lambda z: 1 / (1 + sp.exp(-z))  # noqa: E731
    expr = (x + sig(y)) / (sig(x) + (x + y) ** 2)
    oracle = sympy_gradients(expr, {"x": x, "y": y}, {"x": 3, "y": -4})
    trace = run(graph, {"x": 3, "y": -4})
    assert trace.gradients["x"] == pytest.approx(oracle["x"], rel=1e-12)
    assert trace.gradients["y"] == pytest.approx(oracle["y"], rel=1e-12)
    assert round(trace.gradients["x"], 2) == 2.06


def test_the_second_sigmoid_form_fuses_too() -> None:
    graph = fuse(graph_of("exp(z)/(1+exp(z)) * w"), "sigmoid")
    assert [n.gate.name for n in graph.gate_nodes] == ["sigmoid", "mul"]
    z, w = sp.symbols("z w", real=True)
    oracle = sympy_gradients(sp.exp(z) / (1 + sp.exp(z)) * w, {"z": z, "w": w}, {"z": 0.3, "w": 2})
    trace = run(graph, {"z": 0.3, "w": 2})
    assert trace.gradients == pytest.approx(oracle, rel=1e-12)


def test_no_fusion_where_an_inner_value_is_used_elsewhere() -> None:
    # e = exp(-x) is read again outside the sigmoid: fusing would lose it.
    text = "e = exp(-x); f = 1/(1+e) + e"
    assert find(graph_of(text), "sigmoid") == []
    # The user named the inner stage: keep their structure.
    assert find(graph_of("e = exp(-x); f = 1/(1+e)"), "sigmoid") == []
    # Not a sigmoid: 2/(1+exp(-x)), 1/(2+exp(-x)), 1/(1+exp(x)).
    for other in ["2/(1+exp(-x))", "1/(2+exp(-x))", "1/(1+exp(x))", "1/(1+exp(-2*x))"]:
        assert find(graph_of(other), "sigmoid") == [], other


def test_a_forked_sigmoid_output_still_fuses() -> None:
    text = "s = 1/(1+exp(-x)); f = s*s"
    graph = fuse(graph_of(text), "sigmoid")
    assert [n.gate.name for n in graph.gate_nodes] == ["sigmoid", "mul"]
    x = sp.Symbol("x", real=True)
    oracle = float(sp.diff((1 / (1 + sp.exp(-x))) ** 2, x).subs(x, 0.7))
    assert run(graph, {"x": 0.7}).gradients["x"] == pytest.approx(oracle, rel=1e-12)


def test_fuse_all_also_writes_x_times_x_as_a_square() -> None:
    graph = fuse(graph_of("x*x + 1/(1+exp(-x))"), "all")
    assert [n.gate.name for n in graph.gate_nodes] == ["x^2", "sigmoid", "add"]
    only_sigmoid = fuse(graph_of("x*x + 1/(1+exp(-x))"), "sigmoid")
    assert [n.gate.name for n in only_sigmoid.gate_nodes] == ["mul", "sigmoid", "add"]
    x = sp.Symbol("x", real=True)
    oracle = float(sp.diff(x * x + 1 / (1 + sp.exp(-x)), x).subs(x, -1.5))
    assert run(graph, {"x": -1.5}).gradients["x"] == pytest.approx(oracle, rel=1e-12)


def test_nothing_to_fuse_gives_the_same_graph() -> None:
    graph = graph_of("x*y + z")
    assert fuse(graph, "all") is graph


def test_unused_stage_warnings_survive_fusion() -> None:
    graph = graph_of("u = x*3; f = 1/(1+exp(-x))")
    fused = fuse(graph, "sigmoid")
    assert fused.warnings == graph.warnings and fused.warnings


def test_symbolic_fused_trace_simplifies_to_the_same_gradient() -> None:
    fused = trace_text(NEURON, {}, fuse="sigmoid").trace
    unfused = trace_text(NEURON, {}).trace
    for name in fused.gradients:
        assert sp.simplify(fused.gradients[name] - unfused.gradients[name]) == 0


finite = st.floats(min_value=-6, max_value=6, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(finite, finite, finite, finite, finite)
def test_fused_equals_unfused_everywhere(
    w0: float, x0: float, w1: float, x1: float, w2: float
) -> None:
    values = {"w0": w0, "x0": x0, "w1": w1, "x1": x1, "w2": w2}
    graph = graph_of(NEURON)
    plain, fused = run(graph, values), run(fuse(graph, "all"), values)
    assert fused.value == pytest.approx(plain.value, rel=1e-12, abs=1e-15)
    for name in values:
        assert fused.gradients[name] == pytest.approx(plain.gradients[name], rel=1e-9, abs=1e-15)
    # And against the sigmoid's derivative written out: σ(z)(1 − σ(z)) · ∂z/∂input.
    z = w0 * x0 + w1 * x1 + w2
    s = 1 / (1 + math.exp(-z))
    assert fused.gradients["x0"] == pytest.approx(s * (1 - s) * w0, rel=1e-9, abs=1e-15)


def test_the_second_form_in_other_words() -> None:
    # exp(z) + 1 folds to the same +1 gate as 1 + exp(z).
    graph = fuse(graph_of("exp(z)/(exp(z)+1)"), "sigmoid")
    assert [n.gate.name for n in graph.gate_nodes] == ["sigmoid"]
    # Different z on the two sides: not a sigmoid.
    assert find(graph_of("exp(z)/(1+exp(y))"), "sigmoid") == []
