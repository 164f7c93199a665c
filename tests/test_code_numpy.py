"""`backprop code` on vectors and matrices: numpy in the notes' style (issue 11, 5).

The generated program is run in a fresh interpreter (our own output, never user
text) and its gradients are compared with central finite differences of the same
function written here by hand in numpy, and with the notes' matrix rule worked by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import backprop_cli as bp
from backprop_cli.cli import app
from backprop_cli.render.code import to_python


def generated(text: str, values: dict[str, Any]) -> str:
    return to_python(bp.trace(text, **values).circuit)


def run_code(source: str, names: list[str]) -> dict[str, Any]:
    """Run generated code; read the named variables back as JSON (appended here)."""
    probe = (
        "\nimport json as _j\nprint('@@' + _j.dumps("
        f"{{n: np.asarray(globals()[n]).tolist() for n in {names!r}}}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", source + probe], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("@@"))
    return {k: np.asarray(v) for k, v in json.loads(line[2:]).items()}


def central(f: Callable[..., float], values: dict[str, Any], name: str, h: float = 1e-6) -> Any:
    base = {k: np.asarray(v, dtype=float) for k, v in values.items()}
    grad = np.zeros_like(base[name])
    for index in np.ndindex(grad.shape):
        up = {k: v.copy() for k, v in base.items()}
        down = {k: v.copy() for k, v in base.items()}
        up[name][index] += h
        down[name][index] -= h
        grad[index] = (f(**up) - f(**down)) / (2 * h)
    return grad


def softmax(s: Any) -> Any:
    e = np.exp(s - np.max(s, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


CASES: list[tuple[str, dict[str, Any], Callable[..., float]]] = [
    (
        "D = W.dot(X); f = sum(D)",
        {"W": [[1.0, 2.0, -1.0], [0.5, -3.0, 2.0]], "X": [[0.5, -1.0], [2.0, 0.1], [1.5, 1.0]]},
        lambda W, X: float(np.sum(W @ X)),
    ),
    (
        "q = W @ x; f = norm2(q)",
        {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]},
        lambda W, x: float(np.sum((W @ x) ** 2)),
    ),
    (
        "L = cross_entropy(W @ x + b, 1)",
        {"W": [[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], "x": [0.3, -0.2], "b": [0.1, 0.05, -0.1]},
        lambda W, x, b: float(-np.log(softmax(W @ x + b)[1])),
    ),
    (
        "dot = w[0]*x[0] + w[1]*x[1] + w[2]\nf = 1.0 / (1 + math.exp(-dot))",
        {"w": [2.0, -3.0, -3.0], "x": [-1.0, -2.0]},
        lambda w, x: float(1 / (1 + np.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))),
    ),
    (
        "f = sum(M * v) + min(M, axis=1)[0] + sum(x @ M) + sum(sigmoid(M) / (1 + abs(M)))",
        {"M": [[1.0, 2.0], [3.0, -4.0]], "v": [0.5, -1.0], "x": [0.2, 0.7]},
        lambda M, v, x: float(
            np.sum(M * v)
            + np.min(M, axis=1)[0]
            + np.sum(x @ M)
            + np.sum(1 / (1 + np.exp(-M)) / (1 + np.abs(M)))
        ),
    ),
    (
        "f = sum(relu(W @ x + b) * softmax(v)) + max(v) + mean(M, axis=0)[1] "
        "+ log_softmax(v)[0] + tanh(dot(v, v) / 10) + mean(M.T)",
        {
            "W": [[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]],
            "x": [0.3, -0.2],
            "b": [0.15, 0.05, -0.1],  # W[0]·x = -0.1: b0 = 0.1 would sit on relu's kink
            "v": [1.0, 2.0, 0.5],
            "M": [[1.0, 2.0], [3.0, 4.0]],
        },
        lambda W, x, b, v, M: float(
            np.sum(np.maximum(W @ x + b, 0) * softmax(v))
            + np.max(v)
            + np.mean(M, axis=0)[1]
            + np.log(softmax(v))[0]
            + np.tanh(np.dot(v, v) / 10)
            + np.mean(M)
        ),
    ),
]


@pytest.mark.parametrize(("text", "values", "by_hand"), CASES)
def test_generated_numpy_code_agrees_with_finite_differences(
    text: str, values: dict[str, Any], by_hand: Callable[..., float]
) -> None:
    source = generated(text, values)
    assert "import numpy as np" in source and "math" not in source.split("# inputs")[1]
    output = bp.trace(text, **values).output
    got = run_code(source, [output, *(f"d{name}" for name in values)])
    arrays = {k: np.asarray(v, dtype=float) for k, v in values.items()}
    assert float(got[output]) == pytest.approx(by_hand(**arrays), rel=1e-12)
    for name in values:
        want = central(by_hand, values, name)
        np.testing.assert_allclose(got[f"d{name}"], want, rtol=1e-6, atol=1e-8)


def test_the_notes_matrix_multiply_reads_as_the_notes() -> None:
    # The notes: D = W.dot(X); dW = dD.dot(X.T); dX = W.T.dot(dD)
    W = np.array([[1.0, 2.0, -1.0], [0.5, -3.0, 2.0]])
    X = np.array([[0.5, -1.0], [2.0, 0.1], [1.5, 1.0]])
    source = generated("D = W.dot(X)", {"W": W.tolist(), "X": X.tolist()})
    assert "D = W.dot(X)" in source
    assert "dD = np.ones_like(D)" in source
    assert "dW = dD.dot(X.T)" in source and "dX = W.T.dot(dD)" in source
    got = run_code(source, ["dW", "dX"])
    dD = np.ones((2, 2))  # a matrix output: the gradients of the sum of its entries
    np.testing.assert_allclose(got["dW"], dD @ X.T)
    np.testing.assert_allclose(got["dX"], W.T @ dD)


def test_forks_add_up_with_plus_equals() -> None:
    source = generated("f = sum(x * x) + dot(x, y)", {"x": [1.0, 2.0], "y": [3.0, -1.0]})
    assert "dx += " in source
    got = run_code(source, ["dx", "dy"])
    np.testing.assert_allclose(got["dx"], [2 * 1 + 3, 2 * 2 - 1])  # 2x + y
    np.testing.assert_allclose(got["dy"], [1.0, 2.0])


def test_code_command_writes_numpy_for_vectors(runner: CliRunner) -> None:
    result = runner.invoke(app, ["code", "f = sum(W @ x)", "W=[[1,2],[3,4]]", "x=[1,1]"])
    assert result.exit_code == 0, result.output
    assert "import numpy as np" in result.stdout
    assert "dW = np.outer(" in result.stdout
