"""`backprop code`: the generated Python runs, and prints the right gradients.

The generated program is run in a subprocess (our own output, never user text), and
what it prints is compared with sympy (each expression built by hand from
constructors) and with central finite differences of a hand-written function.
"""

from __future__ import annotations

import io
import keyword
import math
import subprocess
import sys
import tokenize

import pytest
import sympy as sp
from notes import STAGED

from backprop_cli.cli import app
from backprop_cli.errors import InputError
from backprop_cli.pipeline import trace_text
from backprop_cli.render.code import RESERVED, to_python


def run_code(source: str) -> dict[str, float]:
    """Run generated code in a fresh interpreter; read `name = value` lines back."""
    done = subprocess.run(
        [sys.executable, "-I", "-c", source], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    printed = {}
    for line in done.stdout.splitlines():
        name, _, value = line.partition(" = ")
        printed[name] = float(value)
    return printed


def generated(text: str, values: dict[str, float], **kw: object) -> str:
    return to_python(trace_text(text, values, check=False, **kw).trace)  # type: ignore[arg-type]


def central(f, values: dict[str, float], name: str, h: float = 1e-6) -> float:
    up, down = dict(values), dict(values)
    up[name] += h
    down[name] -= h
    return (f(**up) - f(**down)) / (2 * h)


def test_the_staged_example_runs_and_matches_sympy() -> None:
    printed = run_code(generated(STAGED, {"x": 3, "y": -4}))
    x, y = sp.symbols("x y", real=True)
    sig = lambda z: 1 / (1 + sp.exp(-z))  # noqa: E731
    expr = (x + sig(y)) / (sig(x) + (x + y) ** 2)
    at = {x: 3, y: -4}
    assert printed["f"] == pytest.approx(float(expr.subs(at)), rel=1e-12)
    assert printed["df/dx"] == pytest.approx(float(sp.diff(expr, x).subs(at)), rel=1e-12)
    assert printed["df/dy"] == pytest.approx(float(sp.diff(expr, y).subs(at)), rel=1e-12)
    assert round(printed["df/dx"], 2) == 2.06  # the notes' fork: 1.58 - 0.04 + 0.51


def test_the_staged_code_reads_like_the_notes() -> None:
    source = generated(STAGED, {"x": 3, "y": -4})
    lines = source.splitlines()
    # Cached forward variables, in the user's names.
    for stage in ["sigy", "num", "sigx", "xpy", "xpysqr", "den", "invden", "f"]:
        assert any(line.startswith(f"{stage} = ") for line in lines)
    # The backward pass in the notes' order and words.
    assert "dnum = invden * df" in lines
    assert "dinvden = num * df" in lines
    assert "dden = (-1.0 / den / den) * dinvden" in lines  # -1/den², as the notes
    assert "dxpy = (2.0 * xpy) * dxpysqr" in lines
    # x is used three times: = once, then += (the notes: "Notice += !!").
    x_lines = [line for line in lines if line.startswith("dx ")]
    assert [line.split()[1] for line in x_lines] == ["=", "+=", "+="]
    assert [line.split()[1] for line in lines if line.startswith("dy ")] == ["=", "+="]


def test_fused_code_matches_too() -> None:
    printed = run_code(generated(STAGED, {"x": 3, "y": -4}, fuse="sigmoid"))
    source = generated(STAGED, {"x": 3, "y": -4}, fuse="sigmoid")
    assert "dx += (sigx * (1.0 - sigx)) * dsigx" in source  # the notes' (1 - sigx) * sigx
    assert round(printed["df/dx"], 2) == 2.06


@pytest.mark.parametrize(
    ("text", "values", "by_hand"),
    [
        (
            "(x + y) * z",
            {"x": -2, "y": 5, "z": -4},
            lambda x, y, z: (x + y) * z,
        ),
        (
            "max(x, y, 0) * relu(x) + tanh(y)^2 - sqrt(z)/x + abs(y)**1.5 + log(z)*sin(x)*cos(y)",
            {"x": 1.3, "y": -0.7, "z": 2.2},
            lambda x, y, z: (
                max(x, y, 0) * max(x, 0)
                + math.tanh(y) ** 2
                - math.sqrt(z) / x
                + abs(y) ** 1.5
                + math.log(z) * math.sin(x) * math.cos(y)
            ),
        ),
        (
            "2^x * x^y - 3/(x - y) + min(x, z) + sigmoid(z*y)",
            {"x": 0.8, "y": 1.7, "z": -0.4},
            lambda x, y, z: 2**x * x**y - 3 / (x - y) + min(x, z) + 1 / (1 + math.exp(-z * y)),
        ),
    ],
)
def test_generated_code_agrees_with_finite_differences(text, values, by_hand) -> None:
    printed = run_code(generated(text, values))
    assert printed["f"] == pytest.approx(by_hand(**values), rel=1e-12)
    for name in values:
        assert printed[f"df/d{name}"] == pytest.approx(central(by_hand, values, name), rel=1e-6)


def test_generated_code_prints_what_the_engine_computes_bit_for_bit() -> None:
    text = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
    values = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
    trace = trace_text(text, values, check=False).trace
    printed = run_code(to_python(trace))
    for name, gradient in trace.gradients.items():
        assert printed[f"df/d{name}"] == gradient  # the same operations, in the same order


def test_names_that_clash_with_the_codes_own_words_are_renamed() -> None:
    # Variables called math, print and dx (beside x), all allowed by the parser.
    source = generated("math * print + x * dx", {"math": 2, "print": 3, "x": 5, "dx": 7})
    printed = run_code(source)
    assert printed["df/dmath_"] == 3 and printed["df/dprint_"] == 2
    assert printed["df/dx"] == 7 and printed["df/ddx"] == 5
    assert "import math" in source


def test_only_allowed_words_reach_the_generated_code() -> None:
    values = {"x": 1.5, "y": -0.5, "abc_1": 2.0}
    source = generated("q = x*abc_1; r = relu(q) + max(y, q); f = r / exp(y)", values)
    words = {
        tok.string
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.NAME
    }
    ours = {"import", "math", "exp", "log", "sqrt", "sin", "cos", "tanh", "pow", "print"}
    ours |= {"if", "else", "max", "min", "abs", "count", "_best", "_ties"}
    circuit = {"x", "y", "abc_1", "q", "r", "f", "s1", "s2", "s3", "s4", "s5"}
    gradients = {f"d{name}" for name in circuit}
    assert words <= ours | circuit | gradients, words - (ours | circuit | gradients)
    assert not any(keyword.iskeyword(w) for w in circuit)
    assert "math" in RESERVED and "print" in RESERVED


def test_code_needs_numbers() -> None:
    trace = trace_text("x * y", {"x": 2}, check=False).trace
    with pytest.raises(InputError, match="give a value for y"):
        to_python(trace)


def test_code_command(runner, tmp_path) -> None:
    result = runner.invoke(app, ["code", "(x + y) * z", "x=-2", "y=5", "z=-4"])
    assert result.exit_code == 0, result.stderr
    printed = run_code(result.stdout)
    # The notes: f = -12, df/dx = df/dy = -4, df/dz = 3.
    assert printed == {"f": -12.0, "df/dx": -4.0, "df/dy": -4.0, "df/dz": 3.0}
    target = tmp_path / "staged.py"
    program = tmp_path / "staged.txt"
    program.write_text(STAGED)
    result = runner.invoke(app, ["code", "--file", str(program), "x=3", "y=-4", "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    assert f"wrote Python to {target}" in result.stderr
    assert round(run_code(target.read_text())["df/dx"], 2) == 2.06


def test_code_command_errors(runner) -> None:
    result = runner.invoke(app, ["code", "x * y", "x=1"])
    assert result.exit_code == 2
    assert "give a value for y" in result.stderr
    result = runner.invoke(app, ["code"])
    assert result.exit_code == 2 and "backprop code" in result.stderr
