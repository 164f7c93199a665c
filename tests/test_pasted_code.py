"""The notes' code, pasted as written (issue 11, section 3).

Expected numbers are worked out by hand in each test from the notes' own formulas
(the sigmoid neuron: f = σ(w·x + w2), ∂f/∂dot = f(1 − f), then mul switches), or
with numpy and `math` directly, never taken from the program's output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

import backprop_cli as bp
from backprop_cli.cli import app
from backprop_cli.core.language import parse_program
from backprop_cli.errors import InputError

# The notes' staged neuron, character for character (comments, blank line and all).
NOTES_NEURON = """\
w = [2,-3,-3] # assume some random weights and data
x = [-1, -2]

# forward pass
dot = w[0]*x[0] + w[1]*x[1] + w[2]
f = 1.0 / (1 + math.exp(-dot)) # sigmoid function
"""


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def neuron_by_hand(w: list[float], x: list[float]) -> tuple[float, list[float], list[float]]:
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = sigmoid(dot)
    ddot = (1 - f) * f  # the notes' sigmoid gradient
    return f, [x[0] * ddot, x[1] * ddot, ddot], [w[0] * ddot, w[1] * ddot]


def test_the_notes_neuron_traces_as_pasted() -> None:
    result = bp.trace(NOTES_NEURON)
    f, dw, dx = neuron_by_hand([2, -3, -3], [-1, -2])
    assert round(float(result.value), 2) == 0.73  # the notes' 0.73
    assert result.value == pytest.approx(f)
    np.testing.assert_allclose(result.gradients["w"], dw)
    np.testing.assert_allclose(result.gradients["x"], dx)
    # ... and to the notes' two decimals: dw = [-0.20, -0.39, 0.20], dx = [0.39, -0.59]
    assert np.round(result.gradients["w"], 2).tolist() == [-0.2, -0.39, 0.2]
    assert np.round(result.gradients["x"], 2).tolist() == [0.39, -0.59]
    assert not result.failed  # sympy and finite differences agree


def test_values_given_override_the_programs_own() -> None:
    result = bp.trace(NOTES_NEURON, x=[1.0, 0.5])
    f, dw, dx = neuron_by_hand([2, -3, -3], [1.0, 0.5])
    assert result.value == pytest.approx(f)
    np.testing.assert_allclose(result.gradients["w"], dw)
    np.testing.assert_allclose(result.gradients["x"], dx)


def test_top_constants_are_bindings_and_unused_ones_are_dropped() -> None:
    program = parse_program("a = 2\nunused = 5\nb = -1/4\nf = a*x + b")
    assert program.bindings == {"a": 2.0, "b": -0.25}
    assert program.inputs() == ["a", "x", "b"]
    result = bp.trace("a = 2\nb = -1/4\nf = a*x + b", x=3)
    assert result.value == pytest.approx(2 * 3 - 0.25)
    assert result.gradients == {"a": 3.0, "x": 2.0, "b": 1.0}


def test_a_constant_after_the_first_stage_is_still_folded() -> None:
    program = parse_program("q = x + 1\nc = 2\nf = q*c")
    assert program.bindings == {}
    assert bp.trace("q = x + 1\nc = 2\nf = q*c", x=1).gradients == {"x": 2.0}


@pytest.mark.parametrize(
    "text",
    [
        "f = math.exp(x) * np.tanh(x)",
        "f = numpy.exp(x) * math.tanh(x)",
        "f = exp(x) * tanh(x)",
    ],
)
def test_module_prefixes_on_known_functions(text: str) -> None:
    x = 0.3
    result = bp.trace(text, x=x)
    assert result.value == pytest.approx(math.exp(x) * math.tanh(x))
    want = math.exp(x) * math.tanh(x) + math.exp(x) * (1 - math.tanh(x) ** 2)
    assert result.gradients["x"] == pytest.approx(want)


def test_np_maximum_is_max() -> None:
    result = bp.trace("f = np.maximum(0, x) * y", x=2, y=3)
    assert result.value == 6 and result.gradients == {"x": 3.0, "y": 2.0}


def test_method_dot_is_the_matrix_product() -> None:
    # The notes' D = W.dot(X): dW = dD @ Xᵀ with dD all ones (the sum of D's entries).
    W = [[1.0, 2.0], [3.0, -1.0]]
    X = [[0.5, -1.0, 2.0], [1.5, 0.0, -2.0]]
    for text in ("D = W.dot(X)", "D = np.dot(W, X)", "D = W @ X"):
        result = bp.trace(text, W=W, X=X)
        np.testing.assert_allclose(result.value, np.array(W) @ np.array(X))
        ones = np.ones((2, 3))
        np.testing.assert_allclose(result.gradients["W"], ones @ np.array(X).T)
        np.testing.assert_allclose(result.gradients["X"], np.array(W).T @ ones)


def test_transpose_then_dot_as_in_the_notes() -> None:
    W = np.array([[1.0, 2.0], [3.0, -1.0]])
    d = np.array([0.5, -2.0])
    result = bp.trace("f = sum(W.T.dot(d))", W=W.tolist(), d=d.tolist())
    assert result.value == pytest.approx(float(np.sum(W.T @ d)))


def test_index_gate_routes_the_gradient_to_one_entry() -> None:
    result = bp.trace("f = 3*v[1] + v[1]*v[2]", v=[5.0, 2.0, -1.0])
    assert result.value == pytest.approx(3 * 2 + 2 * -1)
    # ∂/∂v0 = 0, ∂/∂v1 = 3 + v2 = 2, ∂/∂v2 = v1 = 2
    np.testing.assert_allclose(result.gradients["v"], [0.0, 2.0, 2.0])
    matrix = bp.trace("f = M[1, 0] * M[0][1]", M=[[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(matrix.gradients["M"], [[0.0, 3.0], [2.0, 0.0]])
    last = bp.trace("f = v[-1]", v=[1.0, 2.0])
    np.testing.assert_allclose(last.gradients["v"], [0.0, 1.0])


def test_index_out_of_range_says_entries_count_from_zero() -> None:
    with pytest.raises(InputError, match=r"w has 2 entries, numbered 0 to 1 \(entries count"):
        bp.trace("f = w[2]", w=[1, 2])


def test_indexing_a_plain_number() -> None:
    with pytest.raises(InputError, match="y\\[0\\] indexes a vector: give y a vector value"):
        parse_program("x + y[0]")
    with pytest.raises(InputError, match="y\\[0\\] indexes a vector, but y is a plain number"):
        bp.trace("x + y[0]", x=1, y=2)
    with pytest.raises(InputError, match="p is a plain number here"):
        parse_program("p = x*2\nf = p[1]")
    with pytest.raises(InputError, match="is a plain number, so it has 0 axes"):
        bp.trace("f = (w[0]*2)[0]", w=[1, 2])


def test_a_functions_name_is_a_stage_name() -> None:
    result = bp.trace("dot = w0*x0 + w1\nf = sigmoid(dot)", w0=2, x0=-1, w1=3)
    assert result.value == pytest.approx(sigmoid(1.0))
    assert result.circuit.graph.nodes[result.circuit.graph.output - 1].ref == "dot"


def test_e_and_pi_are_constants() -> None:
    result = bp.trace("e**x", x=0.5)
    assert result.value == pytest.approx(math.sqrt(math.e))  # a number, not sqrt(e)
    assert result.gradients == {"x": pytest.approx(math.sqrt(math.e))}
    assert [n.gate.name for n in result.circuit.graph.gate_nodes if n.gate] == ["exp"]
    symbolic = bp.trace("e**x")
    assert list(symbolic.gradients) == ["x"] and str(symbolic.gradients["x"]) == "exp(x)"
    circle = bp.trace("2*pi*r", r=2)
    assert circle.value == pytest.approx(4 * math.pi) and list(circle.gradients) == ["r"]
    assert bp.trace("math.pi * r", r=1).value == pytest.approx(math.pi)


def test_e_given_a_value_is_a_variable() -> None:
    assert bp.trace("e*x", e=2, x=3).gradients == {"e": 3.0, "x": 2.0}
    assert bp.trace("e = 2\nf = e*x", x=3).gradients == {"e": 3.0, "x": 2.0}


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("(x+y)z", "write (x+y)*z", 6),
        ("2x + 3y", "write 2*x + 3*y", 2),
        ("3(x+1)", "write 3*(x+1)", 1),
        ("x(y+1)", "write x*(y+1)", 1),
        ("q = x + y\nf = q z", "write f = q*z", 6),
        ("ln(x)", "there is no ln(); write log(…)", 1),
        ("np.log10(x)", "write log(…), not np.log10()", 1),
        ("lambda*x", "lambda is a Python keyword: rename it", 1),
        ("x = 1\nf = lambda * x", "lambda is a Python keyword: rename it", 5),
        (
            "w = [1, 2]\nf = w[0:1]",
            "w[0:1] is a slice, and slices are not supported: write its entries one by one, w[0]",
            5,
        ),
        (
            "w = [1, 2, 3]\nf = sum(w[:2])",
            "w[:2] is a slice, and slices are not supported: write its entries one by one, "
            "w[0], w[1] (in a backward line, a list of them: [w[0], w[1]])",
            9,
        ),
        (
            "w = [1, 2, 3]\nf = sum(w[1:])",
            "w[1:] is a slice, and slices are not supported: write its entries one by one, "
            "w[1], w[2], … up to the last",
            9,
        ),
        ("w = [1, 2, 3]\nf = w[i]", "slices (w[0:2]) and computed indices are not supported", 5),
        (
            "w = [1, 2]\nf = sum(np.zeros(2) * w)",
            "np.zeros(…) can only start a gradient, on a line of its own after the forward "
            "pass: dx = np.zeros_like(x), then dx += … for each use",
            9,
        ),
        (
            "w = [1, 2]\nf = sum(np.array([1, 2]) * w)",
            "np.array([…]) can only be a value of its own: put it at the top of the program",
            9,
        ),
        ("f = x + [1, 2]", "a list can only be a value", 9),
    ],
)
def test_unreadable_lines_say_what_to_write(text: str, message: str, column: int) -> None:
    with pytest.raises(InputError) as info:
        parse_program(text)
    said = str(info.value)
    assert message in said
    assert f"column {column})" in said
    # the caret sits under that column of the line shown
    shown, caret = said.splitlines()[1:3]
    assert caret.index("^") - 2 == column - 1 and shown.startswith("  ")


def test_allowed_list_includes_the_vector_functions() -> None:
    with pytest.raises(InputError) as info:
        parse_program("{x}")
    said = str(info.value)
    assert "Allowed:" in said
    for name in ("sum", "mean", "dot", "norm2", "softmax", "cross_entropy", "w[0]", "@"):
        assert name in said


def test_an_expression_starting_with_a_minus(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trace", "-x^2", "x=3", "--json"])
    assert result.exit_code == 0, result.output
    assert '"value": -9.0' in result.stdout
    assert '"x": -6.0' in result.stdout  # d(-x²)/dx = -2x
    # options still work before and after it, -h is still help
    result = runner.invoke(app, ["trace", "--no-check", "-x", "x=3", "--result", "f", "--json"])
    assert result.exit_code == 0 and '"value": -3.0' in result.stdout
    assert "Usage" in runner.invoke(app, ["trace", "-h"]).stdout
    assert runner.invoke(app, ["code", "-x*y", "x=1", "y=2"]).exit_code == 0


def test_the_notes_neuron_from_a_file(runner: CliRunner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "neuron.py"
    path.write_text(NOTES_NEURON)
    result = runner.invoke(app, ["trace", "--file", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert '"w": [\n      2.0,\n      -3.0,\n      -3.0\n    ]' in result.stdout


def test_the_readme_section_runs_as_written() -> None:
    import doctest
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("### Code pasted from the notes", 1)[1].split("\n### ", 1)[0]
    blocks = [b for b in section.split("```python\n")[1:] if b.startswith(">>>")]
    assert len(blocks) == 1
    test = doctest.DocTestParser().get_doctest(blocks[0].split("```")[0], {}, "README", "", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0 and len(test.examples) >= 3
    # the file the README shows is the one the tests trace
    shown = section.split("```text\n")[1].split("```")[0]
    assert shown == NOTES_NEURON
    assert (
        Path(__file__).resolve().parent.parent / "examples" / "notes-neuron.py"
    ).read_text() == (NOTES_NEURON)
