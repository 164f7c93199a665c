"""Generated problems: reproducible, friendly numbers, clear of kinks and domain errors.

Each generated circuit is re-checked independently: sympy differentiates the
expression and finite differences estimate every gradient (verify.run_checks).
"""

from __future__ import annotations

import pytest

from backprop_cli.checks import symbolic as verify
from backprop_cli.errors import InputError
from backprop_cli.pipeline import trace_text
from backprop_cli.quiz.generate import LEVELS, generate

SEEDS = range(8)


def test_the_same_seed_gives_the_same_problem() -> None:
    for difficulty in LEVELS:
        assert generate(difficulty, 42) == generate(difficulty, 42)


def test_seeds_give_different_problems() -> None:
    for difficulty in LEVELS:
        problems = [generate(difficulty, seed) for seed in range(10)]
        drawn = {(p.expression, tuple(p.bindings.items())) for p in problems}
        assert len(drawn) >= 5, difficulty


@pytest.mark.parametrize("difficulty", sorted(LEVELS))
def test_generated_problems_are_workable(difficulty: int) -> None:
    level = LEVELS[difficulty]
    for seed in SEEDS:
        problem = generate(difficulty, seed)
        assert problem.id == f"gen-{difficulty}-{seed}"
        for value in problem.bindings.values():
            assert value != 0 and abs(value) <= 5
            assert round(value * 10) == pytest.approx(value * 10)  # at most one decimal
            if not level.decimals:
                assert value == int(value)
        checked = trace_text(problem.expression, problem.bindings)
        trace = checked.trace
        gates = len(trace.graph.gate_nodes)
        assert level.gates[0] <= gates <= level.gates[1], problem.expression
        assert trace.kinks == []
        # sympy and finite differences agree: differentiable here, and no domain trouble
        assert [c.status for c in checks_of(checked)] == ["agree", "agree"], problem.expression
        # a variable used twice matters: its uses do not cancel, as in (y + x) - y
        expr = verify.sympy_expression(trace.graph.program)
        symbols = {s.name: s for s in expr.free_symbols}
        point = {symbols[k]: v for k, v in problem.bindings.items() if k in symbols}
        for name, index in trace.graph.inputs.items():
            if index in trace.graph.forks():
                assert name in symbols, problem.expression
                assert float(expr.diff(symbols[name]).subs(point)) != 0, problem.expression
        if level.forks or level.staged:
            assert trace.graph.forks(), problem.expression


def checks_of(checked):  # type: ignore[no-untyped-def]
    return sorted(checked.checks, key=lambda c: c.name)


def test_staged_level_shares_a_stage() -> None:
    problem = generate(5, 1)
    assert problem.expression.startswith("q = ") and "\nf = " in problem.expression
    trace = trace_text(problem.expression, problem.bindings, check=False).trace
    shared = [trace.graph.nodes[i].ref for i in trace.graph.forks()]
    assert "q" in shared


def test_difficulty_out_of_range() -> None:
    with pytest.raises(InputError, match="1 to 5"):
        generate(6, 1)
