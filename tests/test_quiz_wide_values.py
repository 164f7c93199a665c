"""Quiz screens with vectors and matrices at 80 columns: never one number per line."""

from __future__ import annotations

import io

from rich.console import Console

from backprop_cli.core.language import parse_array
from backprop_cli.quiz.questions import quiz_problem, start_quiz
from backprop_cli.render.quiz import intro


def test_a_matrix_stage_is_a_block_under_the_circuit() -> None:
    w = parse_array([[1, 2, -1], [0.5, -2, 3], [1, 1, 1]])
    x = parse_array([0.5, -1, 2])
    quiz = start_quiz(quiz_problem("expr:t", "sum(W * x)", {"W": w, "x": x}))
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(intro(quiz))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    lines = [line.rstrip() for line in text.splitlines()]
    # W * x scales each column j of W by x[j]: rows [0.5, -2, -2], [0.25, 2, 6],
    # [0.5, -1, 2]; their sum is 6.25.
    start = lines.index("Circuit")
    assert lines[start : start + 12] == [
        "Circuit",
        "",
        "  step   gate   computes   value",
        " ────────────────────────────────",
        "  s1     mul    W * x        (1)",
        "  f      sum    sum(s1)     6.25",
        "",
        "  (1) s1, shape (3, 3)",
        "      [[0.5, -2, -2],",
        "       [0.25, 2, 6],",
        "       [0.5, -1, 2]]",
        "",
    ]
    assert "Entries of vectors and matrices count from 0" in text


def test_the_values_break_between_values_never_inside_a_row() -> None:
    # At 80 columns the heading was cut inside W's last row: `[1, 2, 3, 4,` / `5]], x = …`.
    w = parse_array([[0.5, -1.25, 2, 3.5, 4], [4, 5, 6, 7, 8], [7, 8, 9, 1, 2], [1, 2, 3, 4, 5]])
    x = parse_array([1, 0.5, -1, 2, 1])
    quiz = start_quiz(quiz_problem("expr:t", "W @ x", {"W": w, "x": x}))
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(intro(quiz))
    lines = [line.rstrip() for line in console.file.getvalue().splitlines()]  # type: ignore[attr-defined]
    assert lines[:6] == [
        "backprop quiz  W @ x",
        "at W = [[0.5, -1.25, 2, 3.5, 4],",
        "        [4, 5, 6, 7, 8],",
        "        [7, 8, 9, 1, 2],",
        "        [1, 2, 3, 4, 5]],",
        "   x = [1, 0.5, -1, 2, 1]",
    ]
