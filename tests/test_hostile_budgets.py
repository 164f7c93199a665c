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
    # A budget, not a stopwatch: a backtracking reader would blow through it (and
    # the alarm ends the block), a linear one takes milliseconds.
    with time_budget(2.0) as budget:
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
