"""Vectors and matrices: bindings, the vector gates, shapes, broadcasting, cross-checks.

Expected numbers come from hand derivations (the notes' ‖W x‖² example), from numpy
used directly as an independent oracle (f computed by hand, finite differences in
the test), or from the closed forms of softmax written out with `math`.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from backprop_cli.checks import symbolic as verify_arrays
from backprop_cli.cli import app
from backprop_cli.core import vector_gates
from backprop_cli.core.language import parse_array, parse_bindings, parse_program
from backprop_cli.core.numbers import show, to_json
from backprop_cli.errors import InputError
from backprop_cli.pipeline import trace_text

L2 = "q = W @ x; f = norm2(q)"
L2_VALUES = ["W=[[0.1,0.5],[-0.3,0.8]]", "x=[0.2,0.4]"]


def run(text: str, *pairs: str, check: bool = True):
    return trace_text(text, parse_bindings(list(pairs)), check=check)


def node(trace, ref: str) -> int:
    return next(n.index for n in trace.graph.nodes if n.ref == ref)


# --------------------------------------------------------------------------- the notes


def test_the_notes_l2_example_to_the_digit() -> None:
    """f = ‖W x‖², by hand: q = W x, ∂f/∂q = 2q, ∂f/∂W = 2q xᵀ, ∂f/∂x = Wᵀ 2q."""
    result = run(L2, *L2_VALUES)
    trace = result.trace
    # q = [0.1·0.2 + 0.5·0.4, -0.3·0.2 + 0.8·0.4] = [0.22, 0.26]
    assert trace.values[node(trace, "q")] == pytest.approx([0.22, 0.26], abs=1e-15)
    # f = 0.22² + 0.26² = 0.0484 + 0.0676
    assert float(trace.value) == pytest.approx(0.116, abs=1e-15)
    # ∂f/∂q = 2q = [0.44, 0.52]
    assert trace.grads[node(trace, "q")] == pytest.approx([0.44, 0.52], abs=1e-15)
    # ∂f/∂W = 2q xᵀ = [[0.44·0.2, 0.44·0.4], [0.52·0.2, 0.52·0.4]]
    assert trace.gradients["W"] == pytest.approx(
        np.array([[0.088, 0.176], [0.104, 0.208]]), abs=1e-15
    )
    # ∂f/∂x = Wᵀ 2q = [0.1·0.44 - 0.3·0.52, 0.5·0.44 + 0.8·0.52]
    assert trace.gradients["x"] == pytest.approx([-0.112, 0.636], abs=1e-15)
    assert trace.gradients["W"].shape == (2, 2) and trace.gradients["x"].shape == (2,)
    matmul = trace.graph.nodes[node(trace, "q")].gate
    assert matmul.formulas(["W", "x"], "q") == ("dq @ xᵀ", "Wᵀ @ dq")
    assert [c.status for c in result.checks] == ["agree", "agree"]


def test_the_l2_example_in_one_expression_and_with_the_norm_written_out() -> None:
    by_gate = run("norm2(W @ x)", *L2_VALUES).trace
    by_hand = run("q = W @ x; f = sum(q * q)", *L2_VALUES).trace
    for name in ("W", "x"):
        assert by_gate.gradients[name] == pytest.approx(by_hand.gradients[name], abs=1e-15)


SHAPES = [
    ((5, 10), (10, 3)),  # the notes' W and X
    ((3, 4), (4,)),
    ((4,), (4, 2)),
    ((6,), (6,)),
    ((1, 7), (7, 1)),
]


@pytest.mark.parametrize(("a_shape", "b_shape"), SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_matmul_gradient_on_random_shapes_against_finite_differences(
    a_shape: tuple[int, ...], b_shape: tuple[int, ...], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    c = rng.standard_normal(np.shape(a @ b))  # a random upstream gradient, as in the notes
    bindings = {"A": a, "B": b, "C": c}
    trace = trace_text("sum(C * (A @ B))", bindings, check=False).trace

    def f(a_: np.ndarray, b_: np.ndarray) -> float:
        return float(np.sum(c * (a_ @ b_)))

    for name, value in (("A", a), ("B", b)):
        estimate = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[index] += 1e-6
            down[index] -= 1e-6
            args_up = (up, b) if name == "A" else (a, up)
            args_down = (down, b) if name == "A" else (a, down)
            estimate[index] = (f(*args_up) - f(*args_down)) / 2e-6
        assert trace.gradients[name].shape == value.shape
        assert trace.gradients[name] == pytest.approx(estimate, rel=1e-6, abs=1e-8)


def test_matmul_rule_is_the_notes_rule_for_matrices() -> None:
    rng = np.random.default_rng(3)
    w, x, d = (
        rng.standard_normal((5, 10)),
        rng.standard_normal((10, 3)),
        rng.standard_normal((5, 3)),
    )
    dw, dx = vector_gates.MatMul().chain(d, (), [w, x], w @ x)
    assert dw == pytest.approx(d @ x.T)
    assert dx == pytest.approx(w.T @ d)


# --------------------------------------------------------------------------- softmax


def _softmax(scores: list[float]) -> list[float]:
    exps = [math.exp(s) for s in scores]
    return [e / sum(exps) for e in exps]


def test_softmax_cross_entropy_by_hand() -> None:
    scores = [3.2, 5.1, -1.7]  # the cat/car/frog scores of CS231n
    result = run("cross_entropy(s, 0)", "s=[3.2,5.1,-1.7]")
    p = _softmax(scores)
    assert float(result.trace.value) == pytest.approx(-math.log(p[0]), rel=1e-12)
    assert result.trace.gradients["s"] == pytest.approx([p[0] - 1, p[1], p[2]], rel=1e-12)
    assert [c.status for c in result.checks] == ["agree", "agree"]


def test_log_softmax_and_softmax_gradients_by_hand() -> None:
    # f = log_softmax(s)[·] weighted by w: df/ds_j = w_j - p_j · Σ w
    s, w = [0.5, -1.0, 2.0], [1.0, 2.0, -0.5]
    p = _softmax(s)
    trace = run("sum(w * log_softmax(s))", "s=[0.5,-1,2]", "w=[1,2,-0.5]").trace
    assert trace.gradients["s"] == pytest.approx([w[j] - p[j] * sum(w) for j in range(3)])
    # f = Σ w ⊙ softmax(s): df/ds_j = p_j (w_j - Σ_k w_k p_k)
    mean_w = sum(wk * pk for wk, pk in zip(w, p, strict=True))
    trace = run("sum(w * softmax(s))", "s=[0.5,-1,2]", "w=[1,2,-0.5]").trace
    assert trace.gradients["s"] == pytest.approx([p[j] * (w[j] - mean_w) for j in range(3)])


def test_softmax_of_large_scores_does_not_overflow() -> None:
    result = run("cross_entropy(s, 1)", "s=[1000, 1001, 999]")
    p = _softmax([0.0, 1.0, -1.0])  # softmax is unchanged by a shift
    assert result.trace.gradients["s"] == pytest.approx([p[0], p[1] - 1, p[2]])


# --------------------------------------------------------------------------- broadcasting


def test_a_broadcast_input_gets_its_gradient_summed_back_to_its_shape() -> None:
    # f = Σ_ij (W_ij + b_j): each b_j is used once per row, 3 rows
    trace = run("sum(W + b)", "W=[[1,2],[3,4],[5,6]]", "b=[10,20]").trace
    assert trace.gradients["b"].shape == (2,)
    assert trace.gradients["b"] == pytest.approx([3, 3])
    assert trace.gradients["W"] == pytest.approx(np.ones((3, 2)))
    # a plain number times a matrix: df/dc = Σ W
    trace = run("sum(c * W)", "W=[[1,2],[3,4]]", "c=0.5").trace
    assert np.shape(trace.gradients["c"]) == ()
    assert float(trace.gradients["c"]) == pytest.approx(10)


def test_sum_mean_along_an_axis_and_transpose() -> None:
    w = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    trace = run("v = sum(W, axis=0); f = dot(v, v)", "W=[[1,2,3],[4,5,6]]").trace
    column_sums = w.sum(axis=0)  # f = Σ_j (Σ_i W_ij)², df/dW_ij = 2 Σ_i W_ij
    assert trace.gradients["W"] == pytest.approx(np.tile(2 * column_sums, (2, 1)))
    trace = run("norm2(mean(W, axis=1))", "W=[[1,2,3],[4,5,6]]").trace
    row_means = w.mean(axis=1)  # df/dW_ij = 2 m_i / 3
    assert trace.gradients["W"] == pytest.approx(np.repeat(2 * row_means[:, None] / 3, 3, axis=1))
    trace = run("sum(W.T @ x)", "W=[[1,2,3],[4,5,6]]", "x=[1,-1]").trace
    assert trace.gradients["W"] == pytest.approx(np.array([[1, 1, 1], [-1, -1, -1]]))


# --------------------------------------------------------------------------- max


def test_max_of_one_vector_routes_to_its_largest_entry() -> None:
    trace = run("max(v) * 3", "v=[1, 5, 2]").trace
    assert float(trace.value) == 15
    assert trace.gradients["v"] == pytest.approx([0, 3, 0])


def test_max_of_two_vectors_compares_entry_by_entry() -> None:
    trace = run("sum(max(a, b))", "a=[1, 5, 2]", "b=[3, 4, 0]").trace
    assert float(trace.value) == 3 + 5 + 2
    assert trace.gradients["a"] == pytest.approx([0, 1, 1])
    assert trace.gradients["b"] == pytest.approx([1, 0, 0])


def test_max_along_an_axis_and_a_tie_splits_the_gradient() -> None:
    trace = run("sum(max(W, axis=1))", "W=[[1,7],[4,2]]").trace
    assert trace.gradients["W"] == pytest.approx(np.array([[0, 1], [1, 0]]))
    result = run("max(v)", "v=[2, 2, 1]")
    assert result.trace.gradients["v"] == pytest.approx([0.5, 0.5, 0])
    assert result.trace.kinks and "tie" in result.trace.kinks[0]
    assert [c.status for c in result.checks] == ["not-differentiable", "not-differentiable"]


def test_relu_at_zero_in_a_vector_warns_which_entry() -> None:
    result = run("sum(relu(v))", "v=[1, 0, -1]")
    assert result.trace.gradients["v"] == pytest.approx([1, 0, 0])
    assert "entry [1]" in result.trace.kinks[0]


# --------------------------------------------------------------------------- checks


def test_checks_cover_every_entry_and_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(L2, *L2_VALUES)
    assert "6 entries" in result.checks[1].message
    assert result.checks[0].expected["W"] == pytest.approx(result.trace.gradients["W"])

    def wrong(self, upstream, local, xs, out):  # forgets the transpose on dX
        a, b = xs
        return (np.outer(upstream, b), a @ upstream)

    monkeypatch.setattr(vector_gates.MatMul, "chain", wrong)
    result = run(L2, *L2_VALUES)
    assert [c.status for c in result.checks] == ["disagree", "disagree"]
    assert "x[0]" in result.checks[1].message


def test_sympy_check_is_skipped_above_the_size_limit() -> None:
    rng = np.random.default_rng(0)
    side = math.isqrt(verify_arrays.SYMPY_SYMBOL_LIMIT) + 1
    bindings = {"A": rng.standard_normal((side, side))}
    result = trace_text("norm2(A)", bindings)
    sympy_check, numeric = result.checks
    assert sympy_check.status == "skipped" and "limit" in sympy_check.message
    assert numeric.status == "agree"


# --------------------------------------------------------------------------- input


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[[1,2],[3]]", "different lengths"),
        ("[]", "empty"),
        ("[[]]", "empty"),
        ("[1, 'a']", "not a number"),
        ("[1, x]", "not a number"),
        ("[[[1]]]", "only vectors and matrices"),
        ("[1, [2]]", "mixes numbers and lists"),
        ("[1, 2", "[0.2, 0.4]"),
        ("[1, True]", "not a number"),
        ("[1e999]", "too large"),
        ("[__import__('os')]", "not a number"),
        ("[" + "1," * 30_000 + "1]", "30,001 entries; the limit is 10,000"),
    ],
)
def test_bad_array_literals_are_refused_with_a_clear_message(text: str, words: str) -> None:
    with pytest.raises(InputError, match=None) as info:
        parse_bindings([f"x={text}"])
    assert words in str(info.value)
    assert "x" in str(info.value)


def test_array_literals_accept_small_calculations_and_loaded_lists() -> None:
    assert parse_array("[1/4, -2^2, 3]") == pytest.approx([0.25, -4, 3])
    assert parse_array([[1, 2.5], [3, 4]]).shape == (2, 2)
    with pytest.raises(InputError, match="not a number"):
        parse_array([1, "2"])


def test_vector_syntax_needs_vector_values() -> None:
    for text in ("W @ x", "W.T * x", "sum(x)", "q = x; q @= x"):
        with pytest.raises(InputError, match="vectors and matrices"):
            parse_program(text)
    with pytest.raises(InputError, match="only the transpose"):
        parse_program("W.shape * x", vectors=True)
    with pytest.raises(InputError, match="axis must be 0"):
        parse_program("sum(W, axis=2)", vectors=True)
    with pytest.raises(InputError, match="leave out axis"):
        parse_program("max(W, V, axis=1)", vectors=True)
    with pytest.raises(InputError, match="no keyword"):
        parse_program("softmax(W, axis=1)", vectors=True)
    with pytest.raises(InputError, match="class index"):
        run("cross_entropy(s, t)", "s=[1,2]", "t=1")
    with pytest.raises(InputError, match="from 0 to 1"):
        run("cross_entropy(s, 2)", "s=[1,2]")


def test_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(InputError) as info:
        run("W @ x", "W=[[1,2,3],[4,5,6]]", "x=[1,2]")
    assert "(2, 3)" in str(info.value) and "(2,)" in str(info.value)
    with pytest.raises(InputError, match=r"\(2,\) and .*\(3,\)"):
        run("a + b", "a=[1,2]", "b=[1,2,3]")


def test_a_vector_trace_needs_every_value() -> None:
    with pytest.raises(InputError, match="'b' has no value"):
        run("sum(a * b)", "a=[1,2]")


def test_a_vector_gate_with_no_array_value_is_refused_not_an_internal_error() -> None:
    # The vector at the top is unused, so no array reaches the trace and it would have
    # been symbolic: sum() on sympy symbols was "internal error: AttributeError".
    with pytest.raises(InputError, match="'q' has no value: sum at step f works on vectors"):
        trace_text("x = [1,2]\nf = sum(q)", {})
    result = CliRunner().invoke(app, ["trace", "x = [1,2]\nW = 2\nf = W @ q"])
    assert result.exit_code == 2
    assert "'q' has no value: matmul at step f" in result.output
    assert "internal error" not in result.output


# --------------------------------------------------------------------------- output


def test_vector_output_is_seeded_with_ones() -> None:
    trace = run("W @ x", *L2_VALUES).trace
    assert trace.gradients["x"] == pytest.approx([0.1 - 0.3, 0.5 + 0.8])


def test_show_arrays_compactly() -> None:
    assert show(np.array([0.22, 0.26])) == "[0.22, 0.26]"
    assert show(np.array([[0.1, 0.5], [-0.3, 0.8]])) == "[[0.1, 0.5],\n [-0.3, 0.8]]"
    assert show(np.arange(10.0)) == "[0, 1, 2, …, 7, 8, 9]"
    assert show(np.array(0.116)) == "0.116"
    assert to_json(np.array([[1.0, 2.0]])) == [[1.0, 2.0]]


def test_trace_table_has_a_shape_column() -> None:
    from backprop_cli.render.table import trace_view

    result = run(L2, *L2_VALUES)
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(trace_view(result.trace, result.checks, 4, ""))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "shape" in out and "(2, 2)" in out and "[0.22, 0.26]" in out
    # The matmul rows state their rule, not a false "upstream × local = product".
    assert "dW = upstream @ xᵀ" in out and "dx = Wᵀ @ upstream" in out


def test_matrices_read_well_at_80_columns() -> None:
    """No cell wraps an array one number per line: a wide one goes under the table."""
    from backprop_cli.render.table import backward_table

    w = "[[0.1,0.5,0.2],[-0.3,0.8,0.1],[1,2,3]]"
    result = run("f = sum(W @ x + b)", f"W={w}", "x=[0.2,0.4,0.5]", "b=[1,2,3]")
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(backward_table(result.trace, 4))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    out = "\n".join(line.rstrip() for line in text.splitlines()).rstrip()
    # dW = upstream @ xᵀ with upstream ones: every row of dW is x = [0.2, 0.4, 0.5];
    # dx = Wᵀ @ ones: the column sums of W, [0.8, 3.3, 3.3].
    assert out == (
        "Backward pass (output to inputs: upstream × local = product, or a matrix rule)\n"
        "\n"
        "  step   gate      upstream   input   shape    local gradient          product\n"
        " ──────────────────────────────────────────────────────────────────────────────\n"
        "  f      sum              1   s2      (3,)     1 (df copied to       [1, 1, 1]\n"
        "                                               every entry)\n"
        "  s2     add      [1, 1, 1]   s1      (3,)     1                     [1, 1, 1]\n"
        "                              b       (3,)     1                     [1, 1, 1]\n"
        "  s1     matmul   [1, 1, 1]   W       (3, 3)   dW = upstream @ xᵀ          (1)\n"
        "                              x       (3,)     dx = Wᵀ @ upstream          (2)\n"
        "\n"
        "  (1) dW from s1, shape (3, 3)\n"
        "      [[0.2, 0.4, 0.5],\n"
        "       [0.2, 0.4, 0.5],\n"
        "       [0.2, 0.4, 0.5]]\n"
        "  (2) dx from s1, shape (3,)\n"
        "      [0.8, 3.3, 3.3]"
    )


def test_cli_l2_example_and_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trace", L2, *L2_VALUES, "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["bindings"]["W"] == [[0.1, 0.5], [-0.3, 0.8]]
    assert np.array(data["gradients"]["W"]) == pytest.approx(
        np.array([[0.088, 0.176], [0.104, 0.208]])
    )
    assert data["gradients"]["x"] == pytest.approx([-0.112, 0.636])
    assert data["shapes"] == {"W": [2, 2], "x": [2]}
    assert [s["shape"] for s in data["steps"]] == [[2], []]
    assert data["checks"]["numeric"]["expected"]["x"] == pytest.approx([-0.112, 0.636])


def test_cli_shape_mismatch_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trace", "W @ x", "W=[[1,2,3],[4,5,6]]", "x=[1,2]"])
    assert result.exit_code == 2
    assert "(2, 3)" in result.stderr and "(2,)" in result.stderr
    assert "Traceback" not in result.stderr
    result = runner.invoke(app, ["trace", "sum(x)", "x=[[1,2],[3]]"])
    assert result.exit_code == 2 and "different lengths" in result.stderr


def test_explain_states_the_shape_rule_and_why_no_jacobian() -> None:
    from backprop_cli.render.explain import explain

    sentences = explain(run(L2, *L2_VALUES).trace)
    last = sentences[-1]
    assert last.kind == "shape"
    assert "∂f/∂W is (2, 2) like W" in last.text and "∂f/∂x is (2,) like x" in last.text
    assert "No Jacobian" in last.text and "diagonal" in last.text
    assert all("\n" not in s.text for s in sentences)  # matrices stay on one line
    scalar = explain(trace_text("x * y", {"x": 2.0, "y": 3.0}).trace)
    assert all(s.kind != "shape" for s in scalar)


def test_markdown_writes_the_matmul_rule_not_a_product() -> None:
    from backprop_cli.render.markdown import to_markdown

    result = run(L2, *L2_VALUES)
    text = to_markdown(result.trace, result.checks)
    assert "At W = [[0.1, 0.5], [-0.3, 0.8]], x = [0.2, 0.4]" in text
    dw = next(
        line for line in text.splitlines() if line.startswith("\\frac{\\partial f}{\\partial W}")
    )
    assert "@" in dw and "\\cdot" not in dw and "[[0.088, 0.176], [0.104, 0.208]]" in dw


def test_array_values_in_error_messages_are_readable() -> None:
    with pytest.raises(InputError, match=r"got \[1, -2\]: log needs a positive input"):
        run("sum(log(x))", "x=[1,-2]")
    with pytest.raises(InputError, match=r"got a \(2, 4\) array \[1, 2, 3, 4, 3, -4, …\]"):
        run("sum(log(W))", "W=[[1,2,3,4],[3,-4,5,6]]")


def test_sympy_check_is_skipped_when_the_expression_grows_too_large() -> None:
    rng = np.random.default_rng(1)
    bindings = {"W": rng.standard_normal((4, 4)), "V": rng.standard_normal((4, 8))}
    result = trace_text("sum(softmax(W @ V) * log_softmax(W @ V))", bindings)
    sympy_check, numeric = result.checks
    assert sympy_check.status == "skipped" and "symbols" in sympy_check.message
    assert numeric.status == "agree"
