"""Quiz logic: questions from a trace, grading, feedback, hints, skip and quit.

Expected numbers come from the lecture notes ((x+y)z at x=-2, y=5, z=-4: q=3,
f=-12, ∂f/∂x = ∂f/∂y = -4, ∂f/∂z = 3; the sigmoid neuron: -1/1.37² = -0.53,
exp(-1)·(-0.53) = -0.2, dx0 = 0.4) or from a hand derivation in a comment.
"""

from __future__ import annotations

import math

import pytest

from backprop_cli.errors import InputError
from backprop_cli.quiz.questions import (
    MODES,
    Quiz,
    Tolerance,
    gate_kind,
    parse_tolerance,
    quiz_problem,
    start_quiz,
)

SUM_TIMES = quiz_problem(
    "sum-times",
    "(x + y) * z",
    {"x": -2, "y": 5, "z": -4},
    hint="The add gate hands its upstream gradient to both inputs.",
)
NEURON = quiz_problem(
    "neuron",
    "1/(1+exp(-(w0*x0+w1*x1+w2)))",
    {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3},
)


def answers(quiz: Quiz) -> list[tuple[str, str, float]]:
    return [(q.kind, q.step, q.answer) for q in quiz.questions]


def test_backward_questions_follow_the_notes() -> None:
    quiz = start_quiz(SUM_TIMES)
    # backward order: the mul gate f first (inputs s1=q and z), then the add gate s1
    assert answers(quiz) == [
        ("local", "f", -4.0),  # ∂f/∂q = z
        ("product", "f", -4.0),  # 1 × -4
        ("local", "f", 3.0),  # ∂f/∂z = q
        ("product", "f", 3.0),
        ("local", "s1", 1.0),  # add: 1 for each input
        ("product", "s1", -4.0),  # -4 × 1, the gradient on x
        ("local", "s1", 1.0),
        ("product", "s1", -4.0),  # the gradient on y
    ]


def test_every_mode() -> None:
    by_mode = {mode: start_quiz(SUM_TIMES, mode) for mode in MODES}
    assert [q.answer for q in by_mode["forward"].questions] == [3.0, -12.0]
    assert [q.answer for q in by_mode["local"].questions] == [-4.0, 3.0, 1.0, 1.0]
    assert {q.step: q.answer for q in by_mode["gradients"].questions} == {
        "x": -4.0,
        "y": -4.0,
        "z": 3.0,
    }
    full = by_mode["full"].questions
    assert [q.kind for q in full[:2]] == ["forward", "forward"]
    assert [q.answer for q in full[2:]] == [q.answer for q in by_mode["backward"].questions]


def test_forks_ask_for_the_sum() -> None:
    # f = x*y + x at x=2, y=3: ∂f/∂x = y + 1 = 4 (by hand), ∂f/∂y = x = 2
    fork = start_quiz(quiz_problem("fork", "x*y + x", {"x": 2, "y": 3}))
    last = fork.questions[-1]
    assert (last.kind, last.step, last.answer) == ("gradient", "x", 4.0)
    assert "add up" in last.rule and "= 4" in last.rule
    # s = x + y; f = s*s at x=1, y=2: s = 3, ∂f/∂s = 2s = 6, asked at the fork
    staged = start_quiz(quiz_problem("square", "s = x + y\nf = s * s", {"x": 1, "y": 2}))
    upstream = [q for q in staged.questions if q.kind == "upstream"]
    assert [(q.step, q.answer) for q in upstream] == [("s", 6.0)]


def test_constant_inputs_get_no_questions() -> None:
    quiz = start_quiz(quiz_problem("relu", "max(0, x)", {"x": 2}))
    assert [(q.kind, q.answer) for q in quiz.questions] == [("local", 1.0), ("product", 1.0)]


def test_neuron_answers_from_the_notes_are_right() -> None:
    quiz = start_quiz(NEURON)
    # the notes: 1/x gives -1/1.37² ≈ -0.53; +1 passes it on; exp gives exp(-1)·-0.53 ≈ -0.2
    for typed in ("-1/1.37**2", "-0.53", "1", "-0.53", "exp(-1)", "-0.2"):
        assert quiz.respond(typed).outcome == "right", typed
    assert [a.correct for a in quiz.attempts] == [True] * 6


def test_wrong_answer_shows_the_rule_and_the_quiz_goes_on() -> None:
    quiz = start_quiz(quiz_problem("mul", "x * y", {"x": 3, "y": -4}))
    response = quiz.respond("3")
    assert response.outcome == "wrong"
    assert response.question is not None
    assert response.question.rule == "mul switches: the local gradient on x is y = -4"
    assert quiz.current is not None and quiz.current.kind == "product"
    assert quiz.respond("-4").outcome == "right"  # the product uses the right local, -4


def test_rules_put_the_numbers_in() -> None:
    rules = [q.rule for q in start_quiz(NEURON).questions]
    assert rules[0] == "1/x: the local gradient on s7 is -1/s7² = -1/1.368² = -0.5344"
    assert rules[1] == "chain rule: upstream × local = 1 × (-0.5344) = -0.5344"
    assert "exp(s5) = exp(-1) = 0.3679" in rules[4]
    forward = [q.rule for q in start_quiz(SUM_TIMES, "forward").questions]
    assert forward == ["s1 = x + y = -2 + 5 = 3", "f = s1 * z = 3 * (-4) = -12"]


def test_hint_then_rule_without_the_answer() -> None:
    quiz = start_quiz(SUM_TIMES)
    first = quiz.respond("?")
    assert first.outcome == "hint" and first.message == SUM_TIMES.hint
    second = quiz.respond("hint")
    assert second.message.endswith("= ?") and "-4" not in second.message.split("=")[-1]
    assert quiz.attempts == []  # a hint is not an answer
    quiz.respond("-4")
    assert quiz.attempts[0].hints == 2


def test_skip_quit_and_unreadable_answers() -> None:
    quiz = start_quiz(SUM_TIMES)
    for bad in ("four", "__import__('os')", "x + 1", ""):
        response = quiz.respond(bad)
        assert response.outcome == "invalid", bad
        assert "?" in response.message or "number" in response.message
    assert quiz.attempts == []
    assert quiz.respond("skip").outcome == "skipped"
    assert quiz.attempts[0].skipped and not quiz.attempts[0].correct
    assert quiz.respond("-4").outcome == "right"
    assert quiz.respond("q").outcome == "quit"
    assert quiz.done
    summary = quiz.summary()
    # One right of one answered; the skip and the six not reached are counted apart.
    assert (summary.score, summary.total, summary.answered, summary.quit) == (1, 8, 1, True)
    assert (summary.skipped, summary.not_reached) == (1, 6)
    assert [a.question.step for a in summary.missed] == ["f"]


def test_a_whole_quiz_scores_every_question() -> None:
    quiz = start_quiz(SUM_TIMES)
    for typed in ("-4", "-4", "3", "3", "1", "-4", "1", "-4"):
        quiz.respond(typed, seconds=1.5)
    summary = quiz.summary()
    assert (summary.score, summary.total, summary.quit) == (8, 8, False)
    assert summary.seconds == pytest.approx(12.0)


@pytest.mark.parametrize(
    ("got", "want", "right"),
    [
        (-0.53, -1 / 1.3679**2, True),  # the notes' rounding of -0.5344
        (-0.534, -0.5344, True),
        (-0.54, -0.5344, False),
        (-0.52, -0.5344, False),
        (-0.2, -0.1966, True),  # -0.1966 is -0.20 to 2 significant digits
        (0.4, 0.3932, False),  # 0.39 to 2 digits; 0.4 is 1 digit
        (0.39, 0.3932, True),
        (-12, -12.0, True),
        (-12.4, -12.0, True),
        (-12.6, -12.0, False),
        (0, 0.0, True),
        (0.01, 0.0, False),
        (1.0, 0.996, True),  # 0.996 rounds to 1.0
    ],
)
def test_two_significant_digits(got: float, want: float, right: bool) -> None:
    assert Tolerance().accepts(got, want) is right


def test_relative_tolerance() -> None:
    tolerance = parse_tolerance("1/100")
    assert tolerance.relative == pytest.approx(0.01)
    assert tolerance.accepts(100.9, 100.0) and not tolerance.accepts(101.1, 100.0)
    assert tolerance.accepts(0.009, 0.0) and not tolerance.accepts(0.011, 0.0)
    with pytest.raises(InputError, match="between 0 and 1"):
        parse_tolerance("2")
    with pytest.raises(InputError, match="--tolerance"):
        parse_tolerance("abc")


def test_symbolic_problems_are_refused() -> None:
    with pytest.raises(InputError, match="value for every input"):
        start_quiz(quiz_problem("p", "x * y", {"x": 1}))


def test_gate_kinds_group_constants() -> None:
    from backprop_cli.core import gates as g

    # The names of the trace tables, one set everywhere: *2 and *-1 are two gates.
    assert (gate_kind(g.MulConst(2.0)), gate_kind(g.MulConst(-1.0))) == ("*2", "*-1")
    assert gate_kind(g.ConstDiv(1.0)) == "1/x"
    assert gate_kind(g.AddConst(1.0)) == "+1"
    assert gate_kind(g.Mul()) == "mul"


def test_answers_may_be_calculations() -> None:
    quiz = start_quiz(NEURON)
    response = quiz.respond("-1/1.37^2")
    assert response.outcome == "right"
    assert response.value == pytest.approx(-1 / 1.37**2)
    assert math.isclose(quiz.attempts[0].value or 0, -0.53282, rel_tol=1e-4)
