"""The catalog of slips: each rule reproduces a learner's wrong number, and names it.

Every right and wrong number here is worked out by hand from the notes or with
numpy/math (the oracle), never read back from the tool: (x+y)z at x=-2, y=5, z=-4
has q = 3, ∂f/∂z = q = 3, ∂f/∂q = z = -4, ∂f/∂x = ∂f/∂y = -4 (the notes).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from backprop_cli.checks.slips import CATALOG, SLIPS, Ask, candidates, diagnose, right_value
from backprop_cli.core.language import parse_array
from backprop_cli.pipeline import trace_text

TOL = 0.01


def trace(text: str, **values: object):  # type: ignore[no-untyped-def]
    bindings = {k: parse_array(v) if isinstance(v, list) else v for k, v in values.items()}
    return trace_text(text, bindings, check=False).trace


def slip(t, ask: Ask, answer: object) -> str | None:  # type: ignore[no-untyped-def]
    found = diagnose(t, ask, answer, TOL)
    return None if found is None else found.slip


@pytest.fixture
def notes():  # type: ignore[no-untyped-def]
    return trace("(x + y) * z", x=-2, y=5, z=-4)


def test_the_catalog_has_the_issues_ids_once_each() -> None:
    ids = [s.id for s in CATALOG]
    assert len(ids) == len(set(ids)) == len(SLIPS)
    for required in (
        "sign",
        "mul-no-switch",
        "no-upstream",
        "value-not-gradient",
        "sigmoid-not-derivative",
        "fork-one-branch",
        "power-rule",
        "max-not-routed",
        "transpose",
        "one-based-index",
        "softmax-no-onehot",
    ):
        assert required in SLIPS, required


def test_mul_no_switch_in_the_learners_names(notes) -> None:  # type: ignore[no-untyped-def]
    f = notes.graph.output
    found = diagnose(notes, Ask.local(f, 1), -4, TOL)  # z's own value; the answer is q = 3
    assert found is not None and found.slip == "mul-no-switch"
    assert found.message == (
        "That is z's own value. Mul switches: ∂f/∂z is the other input, s1 = 3."
    )
    assert slip(notes, Ask.local(f, 0), 3) == "mul-no-switch"  # ∂f/∂q is z = -4, not q = 3
    assert slip(notes, Ask.product(f, 1), -4) == "mul-no-switch"


def test_a_right_answer_is_no_slip(notes) -> None:  # type: ignore[no-untyped-def]
    f = notes.graph.output
    assert right_value(notes, Ask.local(f, 1)) == 3
    assert diagnose(notes, Ask.local(f, 1), 3, TOL) is None
    assert diagnose(notes, Ask.of_name(notes, "x"), -4, TOL) is None


def test_sign_no_upstream_no_local_value(notes) -> None:  # type: ignore[no-untyped-def]
    x = Ask.of_name(notes, "x")
    assert slip(notes, x, 4) == "sign"
    assert slip(notes, x, 1) == "no-upstream"  # add's local gradient 1 alone
    assert slip(notes, x, -2) == "value-not-gradient"  # x's own value
    assert slip(notes, x, 17) is None  # nothing known gives 17
    s1 = notes.graph.nodes[notes.graph.output].inputs[0]
    # The gradient s1 sends to x is upstream -4 × local 1; -4 alone would be right,
    # so no-local is ruled out here; the product at f for s1 is 1 × z = -4.
    assert slip(notes, Ask.product(s1, 0), 1) == "no-upstream"


def test_no_local() -> None:
    t = trace("2 * x * y", x=3, y=5)  # s1 = 2x = 6, f = s1*y; ∂f/∂x = 2y = 10
    s1 = t.graph.nodes[t.graph.output].inputs[0]
    assert slip(t, Ask.product(s1, 0), 5) == "no-local"  # the upstream y = 5 passed on


def test_fork_one_branch() -> None:
    t = trace("x*y + x", x=2, y=3)  # ∂f/∂x = y + 1 = 4
    found = diagnose(t, Ask.of_name(t, "x"), 3, TOL)
    assert found is not None and found.slip == "fork-one-branch"
    assert "x is used 2 times, so its gradients add up" in found.message
    assert slip(t, Ask.of_name(t, "x"), 1) == "fork-one-branch"


@pytest.mark.parametrize(
    ("text", "x", "answer", "expected"),
    [
        ("sigmoid(x)", 0.0, 0.5, "sigmoid-not-derivative"),  # σ(0) = 1/2; σ' = 1/4
        ("tanh(x)", 1.0, math.tanh(1.0), "sigmoid-not-derivative"),
        ("x^3", 2.0, 24.0, "power-rule"),  # 3·2³; right 3·2² = 12
        ("x^3", 2.0, 4.0, "power-rule"),  # 2²
        ("1/x", 2.0, -0.5, "power-rule"),  # -1/x; right -1/x² = -0.25
        ("1/x", 2.0, 0.25, "sign"),  # 1/x²
        ("sqrt(x)", 4.0, 1.0, "power-rule"),  # ½·√4; right 1/(2·2) = 0.25
    ],
)
def test_one_gate_slips(text: str, x: float, answer: float, expected: str) -> None:
    t = trace(text, x=x)
    assert slip(t, Ask.local(t.graph.output, 0), answer) == expected


def test_max_not_routed() -> None:
    t = trace("max(x, y)", x=3, y=1)  # x wins: ∂/∂x = 1, ∂/∂y = 0
    f = t.graph.output
    assert slip(t, Ask.local(f, 1), 1) == "max-not-routed"
    assert slip(t, Ask.local(f, 1), 0.5) == "max-not-routed"
    assert slip(t, Ask.local(f, 0), 0.5) == "max-not-routed"


def test_vector_slips_against_numpy_by_hand() -> None:
    w = np.array([[0.1, 0.5, 0.2], [-0.3, 0.8, 0.4]])
    x = np.array([0.2, 0.4, -1.0])
    t = trace("q = W @ x; f = norm2(q)", W=w.tolist(), x=x.tolist())
    dq = 2 * (w @ x)
    dw, dx = np.outer(dq, x), w.T @ dq
    assert slip(t, Ask.of_name(t, "W"), dw.T) == "transpose"
    assert slip(t, Ask.of_name(t, "W"), dw) is None
    assert slip(t, Ask.of_name(t, "x", (1,)), dx[2]) == "one-based-index"
    assert slip(t, Ask.of_name(t, "x", (1,)), dx[1]) is None


def test_transpose_row_of_w() -> None:
    w = np.array([[1.0, 2.0], [3.0, 5.0]])
    t = trace("f = sum(W @ x)", W=w.tolist(), x=[1.0, -1.0])
    # dx = Wᵀ @ ones = [4, 7]; W @ ones = [3, 8] uses rows of W
    assert slip(t, Ask.of_name(t, "x"), w @ np.ones(2)) == "transpose"


def test_softmax_no_onehot() -> None:
    s = np.array([1.0, 2.0, 3.0])
    softmax = np.exp(s) / np.exp(s).sum()
    t = trace("cross_entropy(s, 1)", s=s.tolist())
    assert slip(t, Ask.of_name(t, "s"), softmax) == "softmax-no-onehot"
    assert slip(t, Ask.of_name(t, "s", (1,)), softmax[1]) == "softmax-no-onehot"
    assert slip(t, Ask.of_name(t, "s"), softmax - np.eye(3)[1]) is None


def test_every_candidate_is_a_catalog_slip(notes) -> None:  # type: ignore[no-untyped-def]
    f = notes.graph.output
    for ask in (Ask.local(f, 0), Ask.product(f, 1), Ask.of_name(notes, "x"), Ask.forward(f)):
        for candidate in candidates(notes, ask):
            assert candidate.slip in SLIPS


def test_symbolic_traces_have_no_diagnosis() -> None:
    t = trace("x * y")
    assert diagnose(t, Ask.local(t.graph.output, 0), 1.0, TOL) is None


def test_every_bundled_question_diagnoses_its_own_candidates() -> None:
    """On every question of every bundled problem: no rule raises, a right answer is no
    slip, and each candidate's number is diagnosed as a slip giving that number."""
    from backprop_cli.play import _from_set
    from backprop_cli.problems.sets import bundled_path, load_problems
    from backprop_cli.quiz.questions import Tolerance, start_quiz

    accepts = Tolerance().accepts
    checked = 0
    for problem in load_problems([bundled_path()]):
        quiz = start_quiz(_from_set(problem), "full")
        for question in quiz.questions:
            if question.ask is None:
                continue
            assert diagnose(quiz.trace, question.ask, question.answer, accepts) is None
            for candidate in candidates(quiz.trace, question.ask):
                if np.ndim(candidate.value) != 0:
                    continue  # a whole array (a value of another shape): not a number
                if accepts(candidate.value, question.answer):
                    continue  # the same number as the right answer: never a slip
                found = diagnose(quiz.trace, question.ask, candidate.value, accepts)
                assert found is not None, (problem.id, question.asked, candidate)
                assert accepts(candidate.value, found.value) or accepts(
                    found.value, candidate.value
                )
                checked += 1
    assert checked > 200  # the bundled sets give many (not a test that cannot fail)
