"""The quiz on vector problems: it asks for shapes and single entries, never whole arrays.

Right answers are the notes' L2 example worked by hand: q = W x = [0.22, 0.26],
∂f/∂q = 2q = [0.44, 0.52], ∂f/∂W = 2q xᵀ = [[0.088, 0.176], [0.104, 0.208]],
∂f/∂x = Wᵀ 2q = [-0.112, 0.636].
"""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli.quiz.questions import quiz_problem, read_shape, start_quiz

L2 = quiz_problem(
    "l2",
    "q = W @ x; f = norm2(q)",
    {"W": np.array([[0.1, 0.5], [-0.3, 0.8]]), "x": np.array([0.2, 0.4])},
)


def asked(mode: str) -> list[tuple[str, str, object]]:
    quiz = start_quiz(L2, mode)  # type: ignore[arg-type]
    return [(q.kind, q.asked, q.shape if q.shape is not None else q.answer) for q in quiz.questions]


def test_backward_asks_shapes_and_the_largest_entry() -> None:
    questions = asked("backward")
    assert [(k, a) for k, a, _ in questions] == [
        ("shape", "shape of the gradient f sends to q"),
        ("product", "entry [1] of the gradient f sends to q (entries count from 0)"),
        ("shape", "shape of the gradient q sends to W"),
        ("product", "entry [1, 1] of the gradient q sends to W (entries count from 0)"),
        ("shape", "shape of the gradient q sends to x"),
        ("product", "entry [1] of the gradient q sends to x (entries count from 0)"),
    ]
    answers = [a for _, _, a in questions]
    assert answers[0] == (2,) and answers[2] == (2, 2) and answers[4] == (2,)
    assert answers[1] == pytest.approx(0.52)  # 2 q[1]
    assert answers[3] == pytest.approx(0.208)  # 2 q[1] x[1]
    assert answers[5] == pytest.approx(0.636)  # 0.5·0.44 + 0.8·0.52


def test_forward_and_gradient_modes() -> None:
    forward = asked("forward")
    assert forward[0][2] == (2,) and forward[1][2] == pytest.approx(0.26)
    assert forward[2][1] == "value of f" and forward[2][2] == pytest.approx(0.116)
    gradients = asked("gradients")
    assert [a for _, _, a in gradients][::2] == [(2, 2), (2,)]
    assert gradients[3][2] == pytest.approx(0.636)


def test_a_matmul_entry_is_explained_as_a_sum_of_products() -> None:
    quiz = start_quiz(L2, "backward")
    entry_x = quiz.questions[5]
    assert "Wᵀ @ dq" in entry_x.rule and "0.5 × 0.44 + 0.8 × 0.52" in entry_x.rule


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("(2, 3)", (2, 3)),
        ("2x3", (2, 3)),
        ("2 × 3", (2, 3)),
        ("[2, 3]", (2, 3)),
        ("(2,)", (2,)),
        ("2", (2,)),
        ("()", ()),
        ("scalar", ()),
        ("two", None),
        ("(2, -3)", None),
        ("2.5", None),
    ],
)
def test_shapes_as_learners_type_them(text: str, shape: tuple[int, ...] | None) -> None:
    assert read_shape(text) == shape


def test_grading_a_shape() -> None:
    quiz = start_quiz(L2, "backward")
    assert quiz.respond("(2,)").outcome == "right"
    quiz.respond("0.52")
    wrong = quiz.respond("(2,)")  # the gradient on W is a matrix
    assert wrong.outcome == "wrong" and wrong.message == "(2,)"
    assert "variable's shape" in wrong.question.rule  # type: ignore[union-attr]
    assert quiz.respond("not a shape").outcome == "invalid"
    hint = quiz.respond("?")
    assert hint.outcome == "hint"
