"""The public Python API: the README's session runs as written, and the numbers are
the lecture notes' (the neuron) or sympy's, never the program's own output."""

from __future__ import annotations

import doctest
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from notes import NEURON, NEURON_VALUES
from typer.testing import CliRunner

import backprop_cli as bp
from backprop_cli.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_python_session_runs_as_written() -> None:
    section = README.read_text(encoding="utf-8").split("## Python API", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None
    parser = doctest.DocTestParser()
    test = parser.get_doctest(block.group(1), {}, "README Python API", str(README), 0)
    assert len(test.examples) >= 8
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0


def test_the_neuron_matches_the_notes() -> None:
    # The notes: f = 0.73, dw = [-0.20, -0.39, 0.20], dx = [0.39, -0.59].
    t = bp.trace(NEURON, **NEURON_VALUES)
    assert t.value == pytest.approx(0.7311, abs=1e-4)
    g = t.gradients
    assert [round(g[n], 2) for n in ("w0", "w1", "w2")] == [-0.20, -0.39, 0.20]
    assert [round(g[n], 2) for n in ("x0", "x1")] == [0.39, -0.59]
    assert t.kind == "numbers" and not t.failed
    assert {c.status for c in t.checks} == {"agree"}


def test_as_dict_is_exactly_what_the_cli_prints() -> None:
    t = bp.trace(NEURON, **NEURON_VALUES)
    args = ["trace", NEURON, *(f"{k}={v}" for k, v in NEURON_VALUES.items()), "--json"]
    printed = json.loads(CliRunner().invoke(app, args).stdout)
    assert json.loads(json.dumps(t.as_dict())) == printed


def test_arrays_are_numpy_and_match_the_rule() -> None:
    W = np.array([[0.1, 0.5], [-0.3, 0.8]])
    x = np.array([0.2, 0.4])
    t = bp.trace("norm2(W @ x)", W=W, x=x)
    q = W @ x  # the notes: d/dW ||Wx||² = 2 q xᵀ, d/dx = 2 Wᵀ q
    np.testing.assert_allclose(t.gradients["W"], 2 * np.outer(q, x))
    np.testing.assert_allclose(t.gradients["x"], 2 * W.T @ q)
    assert t.kind == "arrays"


def test_values_as_a_mapping_and_as_text() -> None:
    t = bp.trace("check * y", {"check": "1/4"}, y=2)
    assert t.gradients == {"check": 2.0, "y": 0.25}


def test_symbolic_traces_give_sympy_expressions() -> None:
    import sympy

    x, y, z = sympy.symbols("x y z", real=True)
    t = bp.trace("q = x + y; f = q * z")
    assert t.kind == "symbols"
    assert sympy.simplify(t.value - (x + y) * z) == 0
    assert sympy.simplify(t.gradients["x"] - z) == 0


@pytest.mark.parametrize(
    ("text", "values", "says"),
    [
        ("x*2", {"x": True}, "must be a number"),
        ("x*2", {"x": None}, "must be a number"),
        ("x*2", {"x": "abc"}, "must be a number"),
        ("x*2", {"x": float("nan")}, "finite"),
        ("x*2", {"x": [1, [2]]}, "cannot be read"),
        ("x*2", {"x": object()}, "must be a number"),
        ("x*2", {"y": 1}, "not a variable"),
        ("x*", {"x": 1}, "column"),
        ("log(x)", {"x": -1}, "positive"),
        ("x*2", {"__class__": 1}, "cannot"),
    ],
)
def test_bad_input_raises_the_one_documented_error(text: str, values: dict, says: str) -> None:
    with pytest.raises(bp.InputError, match=says):
        bp.trace(text, values)


def test_bad_arguments_are_input_errors_too() -> None:
    with pytest.raises(bp.InputError, match="fuse"):
        bp.trace("x*2", x=1, fuse="everything")
    with pytest.raises(bp.InputError, match="text"):
        bp.trace(42)  # type: ignore[arg-type]
    with pytest.raises(bp.InputError, match="twice"):
        bp.trace("x*2", {"x": 1}, x=2)


def test_check_proves_the_bundled_problems() -> None:
    results = bp.check()
    assert len(results) > 50
    assert {r.status for r in results} == {"pass"}


def test_check_reports_an_unreadable_file_in_its_place_and_checks_the_others(
    tmp_path: Path,
) -> None:
    # (x + y)·z at x = -2, y = 5, z = -4: the notes' ∂f/∂x = ∂f/∂y = z = -4, ∂f/∂z = 3.
    good = tmp_path / "a.toml"
    good.write_text(
        '[set]\ntitle = "good"\n[[problem]]\nid = "notes"\nexpression = "(x + y) * z"\n'
        "bindings = { x = -2, y = 5, z = -4 }\n"
        "[problem.expect]\ngradients = { x = -4, y = -4, z = 3 }\n",
        encoding="utf-8",
    )
    broken = '[set]\ntitle = "broken"\n[[problem]]\nid = "unclosed\n'  # line 4
    (tmp_path / "b.toml").write_text(broken, encoding="utf-8")
    results = bp.check(tmp_path)
    assert [(r.status, r.unreadable) for r in results] == [("pass", False), ("error", True)]
    assert results[1].problem.file.name == "b.toml" and results[1].problem.line == 4


def test_importing_the_package_loads_no_core() -> None:
    code = (
        "import sys, backprop_cli; "
        "print(any(m.startswith(('backprop_cli.core', 'sympy', 'numpy')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
