"""The bundled vector problem set against a sympy oracle written by hand, and vector
claims in `backprop check`: arrays compared entry by entry, shapes, clear diagnoses.

The oracle gives every entry its own symbol, multiplies with sympy.Matrix and
differentiates entry by entry; it shares no code with backprop's gates or parser.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.problems.sets import ProblemFileError, bundled_path, check_problem, load_file

VECTORS = bundled_path() / "06-vectors.toml"


def _softmax(z: list[sp.Expr]) -> list[sp.Expr]:
    total = sp.Add(*[sp.exp(e) for e in z])
    return [sp.exp(e) / total for e in z]


def _square(v: sp.Matrix) -> sp.Expr:
    return sp.Add(*[e**2 for e in v])


# id -> f(symbols by name) as sympy; the symbols are matrices shaped like the bindings
ORACLE: dict[str, Callable[[dict[str, sp.Matrix]], sp.Expr]] = {
    "l2-norm-of-Wx": lambda s: _square(s["W"] * s["x"]),
    "matmul-sum": lambda s: sp.Add(*(s["W"] * s["x"])),
    "dot-plus-bias": lambda s: s["w"].dot(s["x"]) + s["b"][0],
    "relu-layer-sum": lambda s: sp.Add(*[sp.Max(0, e) for e in s["W"] * s["x"] + s["b"]]),
    "softmax-cross-entropy": lambda s: -sp.log(_softmax(list(s["W"] * s["x"]))[2]),
    "mean-squared-error": lambda s: _square(s["W"] * s["x"] - s["t"]) / 2,
    "max-of-a-vector": lambda s: 2 * sp.Max(*s["v"]),
    "transpose-then-norm": lambda s: _square(s["W"].T * s["y"]),
    "soft-label-cross-entropy": lambda s: (
        -sp.Add(*[t * sp.log(p) for t, p in zip(s["t"], _softmax(list(s["s"])), strict=True)])
    ),
    "column-sums": lambda s: _square(sp.ones(1, s["W"].rows) * s["W"]),
    "broadcast-scalar": lambda s: sp.Add(*[sp.tanh(s["c"][0] * e) for e in s["x"]]),
}


def _symbols(name: str, value: np.ndarray) -> sp.Matrix:
    rows, cols = {0: (1, 1), 1: (value.size, 1)}.get(value.ndim, value.shape)
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}_{j}", real=True))


def test_every_vector_problem_has_an_oracle() -> None:
    assert sorted(p.id for p in load_file(VECTORS)) == sorted(ORACLE)


@pytest.mark.parametrize("problem", load_file(VECTORS), ids=lambda p: p.id)
def test_vector_claims_agree_with_a_hand_written_sympy_oracle(problem) -> None:
    values = {k: np.asarray(v, dtype=float) for k, v in problem.bindings.items()}
    symbols = {k: _symbols(k, v) for k, v in values.items()}
    point = {}
    for name, matrix in symbols.items():
        flat = values[name].reshape(-1)
        for symbol, number in zip(matrix, flat, strict=True):
            point[symbol] = sp.Rational(repr(float(number)))
    f = ORACLE[problem.id](symbols)
    assert problem.expect is not None
    assert float(f.xreplace(point)) == pytest.approx(float(problem.expect.value), rel=1e-9)
    for name, claim in problem.expect.gradients.items():
        want = np.array([float(sp.diff(f, s).xreplace(point)) for s in symbols[name]])
        assert np.asarray(claim, dtype=float).reshape(-1) == pytest.approx(want, abs=1e-9)
        assert np.shape(claim) == values[name].shape  # a gradient has its variable's shape


def test_the_vector_set_passes_check(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", str(VECTORS)])
    assert result.exit_code == 0, result.output
    assert "11 problems: 11 passed" in result.output


PROBLEM = """
[[problem]]
id = "l2"
expression = "norm2(W @ x)"
bindings = {{ W = [[0.1, 0.5], [-0.3, 0.8]], x = [0.2, 0.4] }}

[problem.expect]
value = 0.116
gradients = {{ W = {w}, x = {x} }}
"""


def _write(tmp_path: Path, w: str, x: str = "[-0.112, 0.636]") -> Path:
    path = tmp_path / "set.toml"
    path.write_text(PROBLEM.format(w=w, x=x))
    return path


def test_a_right_vector_claim_passes_and_a_wrong_entry_fails(tmp_path: Path) -> None:
    right = load_file(_write(tmp_path, "[[0.088, 0.176], [0.104, 0.208]]"))[0]
    assert check_problem(right).status == "pass"
    wrong = load_file(_write(tmp_path, "[[0.088, 0.176], [0.104, 0.209]]"))[0]
    result = check_problem(wrong)
    assert result.status == "fail"
    assert [d.name for d in result.diffs] == ["W"]
    assert "matmul" in result.diffs[0].where  # which step sends W its gradient


def test_a_transposed_claim_is_diagnosed(tmp_path: Path) -> None:
    result = check_problem(load_file(_write(tmp_path, "[[0.088, 0.104], [0.176, 0.208]]"))[0])
    assert result.status == "fail"
    assert "transpose" in result.diffs[0].where


def test_a_claim_of_the_wrong_shape_is_diagnosed(tmp_path: Path) -> None:
    path = _write(tmp_path, "[[0.088, 0.176], [0.104, 0.208]]", x="[[-0.112], [0.636]]")
    result = check_problem(load_file(path)[0])
    assert result.status == "fail"
    assert "shape (2, 1)" in result.diffs[0].where and "(2,)" in result.diffs[0].where


def test_check_json_gives_arrays_as_lists(tmp_path: Path, runner: CliRunner) -> None:
    path = _write(tmp_path, "[[0.088, 0.176], [0.104, 0.209]]")
    result = runner.invoke(app, ["check", str(path), "--format", "json"])
    assert result.exit_code == 1
    diff = json.loads(result.stdout)["problems"][0]["diffs"][0]
    assert diff["want"] == [[0.088, 0.176], [0.104, 0.209]]
    assert np.array(diff["got"]) == pytest.approx(np.array([[0.088, 0.176], [0.104, 0.208]]))


@pytest.mark.parametrize(
    ("bindings", "words"),
    [
        ("{ x = [[1, 2], [3]] }", "different lengths"),
        ("{ x = [] }", "empty"),
        ('{ x = [1, "2"] }', "not a number"),
        ("{ x = [[[1]]] }", "only vectors and matrices"),
    ],
)
def test_bad_arrays_in_a_problem_file_name_the_line(
    tmp_path: Path, bindings: str, words: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'[[problem]]\nid = "p"\nexpression = "sum(x)"\nbindings = {bindings}\n')
    with pytest.raises(ProblemFileError) as info:
        load_file(path)
    assert info.value.line == 4 and words in str(info.value)


def test_an_array_claim_on_a_problem_of_numbers_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "mixed.toml"
    path.write_text(
        '[[problem]]\nid = "p"\nexpression = "x * y"\nbindings = { x = 2, y = 3 }\n\n'
        "[problem.expect]\ngradients = { x = [3, 3] }\n"
    )
    result = check_problem(load_file(path)[0])
    assert result.status == "error"
    assert "gradient on x as a vector" in result.message
