"""A budget on every expensive step (issue 15, part 2): hostile answers, big circuits
drawn or generated as code. Bounded by budgets (core/budget.py, or a count of what is
produced), never by a wall-clock assertion.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.core.budget import time_budget
from backprop_cli.core.language import evaluate_number, parse_bindings
from backprop_cli.errors import InputError
from backprop_cli.quiz.questions import read_shape

HOSTILE_ANSWERS = [
    "1   " * 18 + "!",  # 18 groups: the old shape pattern backtracked for over 20 s
    "1 " * 40_000 + "x",
    "1," * 40_000 + "a",
    "1x" * 40_000,
    "(" * 50_000 + "2!",
    "1" * 5_000,  # int() of 5,000 digits raises ValueError: it ended the quiz, exit 3
    " " * 90_000 + "1!",
    "1 x " * 20_000 + "!",
]


@pytest.mark.parametrize("answer", HOSTILE_ANSWERS, ids=lambda a: f"{a[:12]!r}x{len(a)}")
def test_answer_readers_are_linear(answer: str) -> None:
    # A budget, not a stopwatch: a backtracking reader takes exponential time and
    # blows through it (the 18-group answer alone ran for over 20 s), a linear one
    # takes milliseconds, with room for a machine shared by many test runs.
    with time_budget(20.0) as budget:
        assert read_shape(answer) is None
        with pytest.raises(InputError):
            evaluate_number(answer)
        with pytest.raises(InputError):
            parse_bindings([f"x={answer}"])
    assert not budget.expired


def test_shapes_still_read_as_learners_type_them() -> None:
    assert read_shape("(2, 3)") == (2, 3)
    assert read_shape(" 2 x 3 ") == (2, 3)
    assert read_shape("2×3") == (2, 3)
    assert read_shape("(2,)") == (2,)
    assert read_shape("[2, 3]") == (2, 3)
    assert read_shape("2 3") == (2, 3)
    assert read_shape("2x") is None
    assert read_shape("2,,3") is None


def test_quiz_shape_answer_of_5000_digits_is_refused_not_a_crash(
    runner: CliRunner, tmp_path: Path
) -> None:
    runner.env = {"BACKPROP_HOME": str(tmp_path)}
    answers = "1" * 5_000 + "\n" + "1   " * 18 + "!\n" + "q\n"
    result = runner.invoke(app, ["quiz", "--problem", "l2-norm-of-Wx"], input=answers)
    assert result.exit_code == 0, (result.exit_code, result.output[-300:])
    assert result.output.count("type a shape such as (2, 3)") == 2


# --------------------------------------------------------------------------- pictures


def chain(gates: int) -> str:
    return "\n".join(["a = x"] + ["a = a*1"] * gates)


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_graphviz_is_not_given_a_circuit_too_large_to_lay_out(
    runner: CliRunner, tmp_path: Path, fmt: str
) -> None:
    from backprop_cli.render.dot import MAX_DOT_GATES

    program = tmp_path / "chain.txt"
    program.write_text(chain(MAX_DOT_GATES + 1))
    result = runner.invoke(
        app, ["graph", "--file", str(program), "x=1", "-o", str(tmp_path / f"c.{fmt}")]
    )
    assert result.exit_code == 2
    assert f"has {MAX_DOT_GATES + 1} gates" in result.stderr
    assert "--format mermaid" in result.stderr and "(the tree)" in result.stderr
    # DOT and Mermaid are text, linear in the circuit: any size.
    for text_format in ("dot", "mermaid"):
        result = runner.invoke(
            app, ["graph", "--file", str(program), "x=1", "--format", text_format]
        )
        assert result.exit_code == 0


def test_graphviz_gets_a_time_budget(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from backprop_cli.render import dot

    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (CI installs it)")
    # 30 forks used by every gate: under the gate limit, and over 30 s for dot.
    program = tmp_path / "forks.txt"
    program.write_text("\n".join(["a = x"] + ["a = a*x + y"] * 30))
    monkeypatch.setattr(dot, "DOT_TIMEOUT_SECONDS", 0.5)
    with time_budget(30) as budget:
        result = runner.invoke(
            app, ["graph", "--file", str(program), "x=1.01", "y=0.5", "-o", str(tmp_path / "c.svg")]
        )
    assert not budget.expired
    assert result.exit_code == 2
    assert "took more than 0.5 s to lay out" in result.stderr
    assert "--format mermaid" in result.stderr


def test_tree_and_explanation_of_a_long_chain_are_cut_and_say_so() -> None:
    import io

    from rich.console import Console

    from backprop_cli.pipeline import trace_text
    from backprop_cli.render.explain import explain_view
    from backprop_cli.render.tree import tree_view

    trace = trace_text(chain(10_000), {"x": 1.0}, check=False).trace
    for view, said in ((tree_view, "more wires"), (explain_view, "more sentences")):
        buffer = io.StringIO()
        Console(file=buffer, width=120, color_system=None).print(view(trace))
        lines = buffer.getvalue().splitlines()
        assert len(lines) < 400  # 10,000 wires drawn took 10 s; 20,000 lines of sentences 7 s
        assert any(said in line for line in lines)


# --------------------------------------------------------------------------- code


def test_code_for_a_wide_max_is_linear_in_the_circuit(runner: CliRunner, tmp_path: Path) -> None:
    sizes = []
    for n in (1_000, 2_000):
        program = tmp_path / f"max{n}.txt"
        program.write_text("max(" + ", ".join(f"x{i}" for i in range(n)) + ")")
        values = [f"x{i}={i % 5}" for i in range(n)]
        result = runner.invoke(app, ["code", "--file", str(program), "--no-check", *values])
        assert result.exit_code == 0
        sizes.append(len(result.stdout))
    # The routing once wrote the whole argument list into every input's share:
    # quadratic (3,000 inputs: 179 MB). Now twice the inputs is about twice the code.
    assert sizes[1] < 2.3 * sizes[0]


def test_code_for_a_tied_max_splits_the_gradient(runner: CliRunner, tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "tie.py"
    result = runner.invoke(app, ["code", "max(x, y, z)", "x=1", "y=3", "z=3", "-o", str(out)])
    assert result.exit_code == 0
    printed = subprocess.run([sys.executable, str(out)], capture_output=True, text=True).stdout
    # The tie at 3 splits the gradient evenly (the PyTorch convention): 0, 1/2, 1/2.
    assert printed.splitlines() == ["f = 3.0", "df/dx = 0.0", "df/dy = 0.5", "df/dz = 0.5"]
