"""Choosing what to quiz on: problem sets, --set files, generated circuits, the history."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from backprop_cli.errors import InputError
from backprop_cli.play import choose_problem, gate_kinds
from backprop_cli.problems import sets as problems
from backprop_cli.quiz.history import Row
from backprop_cli.quiz.questions import MODES, start_quiz

SET = """
[set]
title = "Two circuits"

[[problem]]
id = "sum-times"
title = "(x + y) z"
expression = "(x + y) * z"
bindings = { x = -2, y = 5, z = -4, unused = 1 }
difficulty = 2
tags = ["add", "mul"]
hint = "The add gate hands its upstream gradient to both inputs."

[[problem]]
id = "one-mul"
title = "x y"
expression = "x * y"
bindings = { x = 3, y = -4 }
difficulty = 1
tags = ["mul"]
hint = "mul switches"
"""


@pytest.fixture
def problem_set(tmp_path: Path) -> Path:
    path = tmp_path / "course.toml"
    path.write_text(SET)
    return path


def miss(problem: str, gate: str, count: int = 1) -> list[Row]:
    return [
        Row(
            f"s{i}",
            problem,
            "f",
            gate,
            "local",
            "q",
            "0",
            1.0,
            False,
            False,
            0,
            1.0,
            "backward",
            datetime.now(UTC),
        )
        for i in range(count)
    ]


def test_every_bundled_problem_can_be_quizzed_in_every_mode() -> None:
    loaded = problems.load_problems([problems.bundled_path()])
    assert len(loaded) >= 40
    for problem in loaded:
        chosen = choose_problem(problem_id=problem.qualified_id).problem
        assert chosen.id == problem.qualified_id
        for mode in MODES:
            quiz = start_quiz(chosen, mode)
            assert all(q.answer == q.answer for q in quiz.questions)  # no NaN


def test_a_beginner_gets_an_easy_bundled_problem() -> None:
    choice = choose_problem()
    problem = problems.find_problem(choice.problem.id)
    assert problem.difficulty == 1
    assert "easiest first" in choice.why


def test_a_set_file_and_the_history(problem_set: Path) -> None:
    first = choose_problem(sets=[problem_set])
    assert first.problem.id == "course:one-mul"  # difficulty 1 first
    # one-mul missed (three wrong mul answers): it waits its ten minutes, and the
    # new problem is said to practise the weak gate, mul
    rows = miss("course:one-mul", "mul", 3)
    second = choose_problem(sets=[problem_set], rows=rows)
    assert second.problem.id == "course:sum-times"
    assert second.why == "new to you; it practises mul"
    # values for names the expression does not use are dropped
    assert second.problem.bindings == {"x": -2, "y": 5, "z": -4}
    assert choose_problem(sets=[problem_set], difficulty=2).problem.id == "course:sum-times"
    with pytest.raises(InputError, match="no problems at difficulty 5"):
        choose_problem(sets=[problem_set], difficulty=5)
    assert choose_problem(sets=[problem_set], problem_id="sum-times").why == "--problem"


def test_generated_and_own_expressions() -> None:
    generated = choose_problem(generate=True, difficulty=2, seed=9)
    assert generated.problem.id == "gen-2-9" and "--seed 9" in generated.why
    drawn = choose_problem(generate=True, rng=lambda: 77)
    assert drawn.problem.id == "gen-1-77"
    own = choose_problem(expression="x * y", bindings={"x": 1, "y": 2})
    assert own.problem.id == "expr:x * y"


def test_options_that_clash() -> None:
    with pytest.raises(InputError, match="give only one of an expression, --problem"):
        choose_problem(expression="x", problem_id="p")
    with pytest.raises(InputError, match="--seed goes with --generate"):
        choose_problem(seed=3)


def test_gate_kinds_of_a_problem() -> None:
    assert gate_kinds("1/(1+exp(-(w0*x0+w1*x1+w2)))") == ("mul", "add", "*-1", "exp", "+1", "1/x")
