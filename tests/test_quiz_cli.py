"""`backprop quiz` and `backprop stats` through typer's CliRunner, answers on stdin.

The answers to (x+y)z at x=-2, y=5, z=-4 come from the lecture notes: the mul gate
switches (∂f/∂q = z = -4, ∂f/∂z = q = 3), the add gate distributes (-4 to x and y).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app

SUM_TIMES = ["(x + y) * z", "x=-2", "y=5", "z=-4"]
# local on q, product, local on z, product, then the add gate: local, product for x and y
NOTES_ANSWERS = ["-4", "-4", "3", "3", "1", "-4", "1", "-4"]


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test gets its own history, never the user's."""
    monkeypatch.setenv("BACKPROP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def quiz(runner: CliRunner, *args: str, answers: list[str] | None = None):
    text = "".join(f"{a}\n" for a in answers or [])
    return runner.invoke(app, ["quiz", *args], input=text)


def stats_json(runner: CliRunner) -> dict:
    result = runner.invoke(app, ["stats", "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def last_line(text: str) -> str:
    return text.rstrip().splitlines()[-1]


def test_a_whole_quiz_with_the_notes_answers(runner: CliRunner, home: Path) -> None:
    result = quiz(runner, *SUM_TIMES, answers=NOTES_ANSWERS)
    assert result.exit_code == 0, result.stderr
    assert last_line(result.stdout) == "Score: 8/8"
    assert result.stdout.count("✓ right") == 8
    assert "f = s1 * z  [mul]   s1 = 3, z = -4, f = -12, upstream 1 (the output)" in result.stdout
    assert "local gradient ∂f/∂s1: -4" in result.stdout  # the prompt, and the answer echoed
    assert (home / "history.sqlite3").is_file()
    data = stats_json(runner)
    assert (data["attempts"], data["correct"], data["sessions"]) == (8, 8, 1)
    assert {t["name"]: t["attempts"] for t in data["by_gate"]} == {"mul": 4, "add": 4}
    assert data["by_mode"] == [
        {
            "name": "backward",
            "attempts": 8,
            "correct": 8,
            "accuracy": 1.0,
            "recent_accuracy": 1.0,
        }
    ]
    assert data["streaks"]["current"] == 8


def test_wrong_answers_get_the_rule_and_a_review(runner: CliRunner) -> None:
    answers = ["3", *NOTES_ANSWERS[1:4], "skip", *NOTES_ANSWERS[5:]]
    result = quiz(runner, *SUM_TIMES, answers=answers)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "✗ -4 (you gave 3)" in out
    assert "mul switches: the local gradient on s1 is z = -4" in out
    assert "→ skipped: 1" in out
    assert "Steps to look at again:" in out
    # 3 is s1's own value: mul switches, so the slip is named before the working.
    assert "mul-no-switch: That is s1's own value." in out
    assert "f  local gradient ∂f/∂s1\n      you gave 3 (mul-no-switch), the answer is -4" in out
    assert "Answered 7 of 8 questions in 0s (saved); 1 skipped" in out
    assert last_line(out) == "Score: 6/7"  # 6 right of 7 answered; the skip apart


def test_stats_count_skips_apart_as_the_quiz_does(runner: CliRunner) -> None:
    result = quiz(runner, *SUM_TIMES, answers=[*NOTES_ANSWERS[:2], "skip", "skip"])
    assert "Answered 2 of 8 questions in 0s (saved); 2 skipped, 4 not reached" in result.stdout
    assert last_line(result.stdout) == "Score: 2/2"
    data = stats_json(runner)
    assert (data["attempts"], data["correct"], data["skipped"]) == (2, 2, 2)
    assert data["streaks"]["current"] == 2  # a skip breaks no streak
    assert [(t["name"], t["attempts"]) for t in data["by_mode"]] == [("backward", 2)]
    out = runner.invoke(app, ["stats"]).stdout
    assert "2 answers, 2 right (100%), 2 skipped, 1 quiz on 1 problem" in out
    assert "Streaks: 2 right in a row now (best 2)" in out


def test_a_quiz_of_one_question_says_question(runner: CliRunner) -> None:
    # x*2 at x = 3 has one stage, so forward mode asks one question: 3*2 = 6.
    out = quiz(runner, "x*2", "x=3", "--mode", "forward", answers=["6"]).stdout
    assert "1 question on " in out and "1 questions" not in out
    assert "Answered 1 of 1 question in " in out
    assert last_line(out) == "Score: 1/1"


def test_end_of_input_ends_the_quiz_and_saves(runner: CliRunner) -> None:
    result = quiz(runner, *SUM_TIMES, answers=NOTES_ANSWERS[:3])
    assert result.exit_code == 0, result.stderr
    assert "Answered 3 of 8 questions" in result.stdout
    assert "5 not reached" in result.stdout
    assert last_line(result.stdout) == "Score: 3/3"
    assert stats_json(runner)["attempts"] == 3


def test_quit_hint_and_unreadable_answers(runner: CliRunner) -> None:
    answers = ["?", "seven", "-4", "q", "3"]
    result = quiz(runner, *SUM_TIMES, answers=answers)
    out = result.stdout
    assert result.exit_code == 0, result.stderr
    assert "hint: mul switches: the local gradient on s1 is z = ?" in out
    assert "? 'seven' is not a number" in out
    assert last_line(out) == "Score: 1/1"
    assert stats_json(runner)["attempts"] == 1  # the hint and the typo are not answers


def test_other_modes(runner: CliRunner) -> None:
    forward = quiz(runner, *SUM_TIMES, "--mode", "forward", answers=["3", "-12"])
    assert last_line(forward.stdout) == "Score: 2/2"
    assert "?" in forward.stdout.split("step s1")[0]  # values hidden in the circuit
    gradients = quiz(runner, *SUM_TIMES, "--mode", "gradients", answers=["-4", "-4", "3"])
    assert last_line(gradients.stdout) == "Score: 3/3"
    modes = {t["name"] for t in stats_json(runner)["by_mode"]}
    assert modes == {"forward", "gradients"}


def test_tolerance_option(runner: CliRunner) -> None:
    strict = quiz(runner, *SUM_TIMES, "--mode", "forward", answers=["3.1", "-12"])
    assert last_line(strict.stdout) == "Score: 1/2"  # 3.1 is not 3 to 2 digits
    loose = quiz(
        runner, *SUM_TIMES, "--mode", "forward", "--tolerance", "0.05", answers=["3.1", "-12"]
    )
    assert last_line(loose.stdout) == "Score: 2/2"


def test_generated_problem_answered_with_sympy(runner: CliRunner) -> None:
    """The right answer comes from sympy differentiating the generated expression."""
    import sympy

    from backprop_cli.checks.symbolic import sympy_expression
    from backprop_cli.core.language import parse_program
    from backprop_cli.quiz.generate import generate

    options = ["--generate", "-d", "3", "--seed", "11", "--mode", "gradients"]
    problem = generate(3, 11)
    expr = sympy_expression(parse_program(problem.expression))
    symbols = {s.name: s for s in expr.free_symbols}
    assert set(symbols) == set(problem.bindings)
    point = {symbols[k]: v for k, v in problem.bindings.items()}
    # Which input is asked first: read it from the prompt of a quiz with no answers.
    silent = quiz(runner, *options)
    assert "generated, difficulty 3, seed 11" in silent.stdout
    prompts = [line for line in silent.stdout.splitlines() if line.startswith("gradient ∂f/∂")]
    name = prompts[0].removeprefix("gradient ∂f/∂").split(":")[0]
    want = float(sympy.diff(expr, symbols[name]).subs(point))
    result = quiz(runner, *options, answers=[f"{want:.6g}"])
    assert "✓ right" in result.stdout, result.stdout
    wrong = quiz(runner, *options, answers=[f"{want + 1:.6g}"])
    assert "✗" in wrong.stdout


def test_bad_options_exit_2(runner: CliRunner) -> None:
    cases = [
        (["--mode", "sideways", *SUM_TIMES], "'sideways' is not one of"),
        (["--tolerance", "5", *SUM_TIMES], "between 0 and 1"),
        (["--generate", *SUM_TIMES], "give only one of"),
        (["--seed", "3", *SUM_TIMES], "--seed goes with --generate"),
        (["x * y", "x=1"], "value for every input"),
        (["x *", "x=1"], "error"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["quiz", *args], input="")
        assert result.exit_code == 2, args
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_a_corrupt_history_is_moved_aside_and_the_quiz_runs(runner: CliRunner, home: Path) -> None:
    home.mkdir(parents=True)
    (home / "history.sqlite3").write_text("not a database")
    result = quiz(runner, *SUM_TIMES, answers=NOTES_ANSWERS[:1])
    assert result.exit_code == 0
    assert "warning: the history database" in result.stderr and "moved to" in result.stderr
    assert last_line(result.stdout) == "Score: 1/1"
    moved = [p for p in home.iterdir() if ".corrupt-" in p.name]
    assert len(moved) == 1 and moved[0].read_text() == "not a database"
    assert stats_json(runner)["attempts"] == 1


def test_an_unusable_history_still_lets_you_practise(runner: CliRunner, home: Path) -> None:
    (home / "history.sqlite3").mkdir(parents=True)  # a directory where the file should be
    result = quiz(runner, *SUM_TIMES, answers=NOTES_ANSWERS[:2])
    assert result.exit_code == 0
    assert "is not saved" in result.stderr
    assert "(not saved)" in result.stdout
    assert last_line(result.stdout) == "Score: 2/2"


def test_stats_table_and_empty_history(runner: CliRunner) -> None:
    empty = runner.invoke(app, ["stats"])
    assert empty.exit_code == 0 and "No quiz answers saved yet" in empty.stdout
    quiz(runner, *SUM_TIMES, answers=["3", "-4", "3", "3", "1", "-4", "1", "-4"])
    table = runner.invoke(app, ["stats"])
    assert table.exit_code == 0, table.stderr
    out = table.stdout
    assert "8 answers, 7 right (88%), 1 quiz on 1 problem" in out
    assert "By gate (weakest first)" in out and "By mode" in out
    assert "Streaks: 7 right in a row now (best 7)" in out
    # mul: 3 of 4 right (75%) is below 90% over 3 or more answers: practise it
    assert "gates with the lowest recent accuracy (3 or more answers): mul (75%)" in out


def test_a_bundled_problem_by_id(runner: CliRunner) -> None:
    # x * y at x = 3, y = -4 (01-gates.toml): mul switches, so ∂f/∂x = y = -4, ∂f/∂y = x = 3
    result = quiz(runner, "--problem", "mul-gate", answers=["-4", "-4", "3", "3"])
    assert result.exit_code == 0, result.stderr
    assert "[01-gates:mul-gate]" in result.stdout
    assert last_line(result.stdout) == "Score: 4/4"
    assert stats_json(runner)["problems"] == 1


def test_a_set_file_without_a_problem_option(runner: CliRunner, tmp_path: Path) -> None:
    course = tmp_path / "course.toml"
    course.write_text(
        '[[problem]]\nid = "sum-times"\ntitle = "(x + y) z"\nexpression = "(x + y) * z"\n'
        'bindings = { x = -2, y = 5, z = -4 }\ndifficulty = 1\ntags = ["add"]\n'
        'hint = "add distributes"\n'
    )
    result = quiz(runner, "--set", str(course), answers=NOTES_ANSWERS)
    assert result.exit_code == 0, result.stderr
    assert "[course:sum-times]" in result.stdout and "(new to you; easiest first)" in result.stdout
    assert last_line(result.stdout) == "Score: 8/8"
    again = quiz(runner, "--set", str(course), "-m", "forward", answers=["3", "-12"])
    assert "(nothing is new or due; this one comes due soonest)" in again.stdout
    assert last_line(again.stdout) == "Score: 2/2"
    missing = quiz(runner, "--problem", "nope", answers=[])
    assert missing.exit_code == 2 and "no problem has the id 'nope'" in missing.stderr


def test_two_quizzes_at_once_on_one_history(runner: CliRunner, home: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "BACKPROP_HOME": str(home)}
    answers = "".join(f"{a}\n" for a in NOTES_ANSWERS)
    quizzes = [
        subprocess.Popen(
            [sys.executable, "-m", "backprop_cli", "quiz", *SUM_TIMES],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [q.communicate(answers, timeout=120) for q in quizzes]
    for (out, err), q in zip(outputs, quizzes, strict=True):
        assert q.returncode == 0, err
        assert last_line(out) == "Score: 8/8"
        assert "warning" not in err
    data = stats_json(runner)
    assert (data["attempts"], data["sessions"]) == (16, 2)
