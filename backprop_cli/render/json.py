"""Every `--json` output, in one place: an interface that scripts and later commands read.

`trace --json` (`trace_dict`), `check --format json` (`check_dict`), `problems --json`
(`problems_dicts`) and `stats --json` (`stats_dict`). Changed only on purpose, by
adding keys; the README documents every key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backprop_cli.checks import Check
from backprop_cli.core.advice import advise
from backprop_cli.core.engine import Trace, kink_at
from backprop_cli.core.numbers import to_json
from backprop_cli.problems.sets import Problem, ProblemResult, shown_path, summarize
from backprop_cli.quiz.history import SCHEMA_VERSION as HISTORY_SCHEMA_VERSION
from backprop_cli.quiz.history import Review, Stats, Tally

SCHEMA_VERSION = 1


def trace_dict(trace: Trace, checks: Sequence[Check]) -> dict[str, Any]:
    graph = trace.graph
    nodes = graph.nodes
    advice = advise(trace)
    steps = []
    for node in graph.gate_nodes:
        assert node.gate is not None
        refs = [nodes[j].ref for j in node.inputs]
        steps.append(
            {
                "id": node.step,
                "name": node.ref,
                "label": node.label,
                "gate": node.gate.name,
                "inputs": refs,
                "computes": node.gate.computes(refs),
                "value": to_json(trace.values[node.index]),
                "upstream": to_json(trace.grads[node.index]),
                "local": [to_json(v) for v in trace.locals[node.index]],
                "local_formulas": list(node.gate.formulas(refs, node.ref)),
                "products": [to_json(v) for v in trace.products[node.index]],
                "pattern": node.gate.pattern_at(kink_at(trace, node)) or None,
            }
        )
        if trace.kind == "arrays":  # vectors and matrices: numpy shapes as lists
            steps[-1]["shape"] = list(trace.shape(node.index))
    forks = {
        nodes[index].ref: {
            "from": [
                {"step": nodes[c.consumer].ref, "amount": to_json(c.amount)}
                for c in trace.contributions[index]
            ],
            "sum": to_json(trace.grads[index]),
        }
        for index in graph.forks()
    }
    result = {
        "schema": SCHEMA_VERSION,
        "expression": graph.program.source,
        "mode": trace.mode,
        "output": trace.output.ref,
        "value": to_json(trace.value),
        "bindings": {k: to_json(v) for k, v in trace.bindings.items()},
        "inputs": list(graph.inputs),
        "gradients": {k: to_json(v) for k, v in trace.gradients.items()},
        "steps": steps,
        "forks": forks,
        "warnings": [
            *graph.warnings,
            *trace.kinks,
            *(loss.message for loss in trace.float_losses),
            *(a.message for a in advice),
        ],
        "advice": [a.as_dict() for a in advice],
        "checks": {check.name: check.as_dict() for check in checks},
    }
    if trace.kind == "arrays":
        result["shapes"] = {name: list(trace.shape(i)) for name, i in graph.inputs.items()}
    return result


# --------------------------------------------------------------------------- check, problems


def diff_dict(result: ProblemResult) -> list[dict[str, Any]]:
    return [
        {
            "name": d.name,
            "kind": d.kind,
            "want": to_json(d.want),  # arrays as nested lists
            "got": to_json(d.got),
            "where": d.where,
        }
        for d in result.diffs
    ]


def check_dict(results: Sequence[ProblemResult]) -> dict[str, Any]:
    summary = summarize(results)
    return {
        "summary": {
            "passed": summary.passed,
            "failed": summary.failed,
            "errors": summary.errors,
            "warnings": summary.warnings,
            "unreadable_files": summary.unreadable,
        },
        "problems": [
            {
                "file": shown_path(r.problem.file),
                # a file that cannot be loaded: id and title null, the reason in message
                "id": None if r.unreadable else r.problem.id,
                "line": r.problem.line,
                "title": None if r.unreadable else r.problem.title,
                "status": r.status,
                "diffs": diff_dict(r),
                "diverges_at": r.diverges_at or None,
                "message": r.message,
                "warnings": list(r.warnings),
            }
            for r in results
        ],
    }


def problems_dicts(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    return [
        {
            "id": p.id,
            "title": p.title,
            "set": p.set_title,
            "file": shown_path(p.file),
            "line": p.line,
            "difficulty": p.difficulty,
            "tags": list(p.tags),
            "expression": p.expression,
            "bindings": {k: to_json(v) for k, v in p.bindings.items()},  # arrays: lists
            "hint": p.hint,
        }
        for p in problems
    ]


# --------------------------------------------------------------------------- stats


def stats_dict(stats: Stats, database: str) -> dict[str, Any]:
    return {
        "database": database,
        "schema": HISTORY_SCHEMA_VERSION,
        "attempts": stats.attempts,
        "correct": stats.correct,
        "skipped": stats.skipped,
        "accuracy": round(stats.accuracy, 4),
        "sessions": stats.sessions,
        "problems": stats.problems,
        "seconds": round(stats.seconds, 1),
        "by_gate": [tally_dict(t) for t in stats.by_gate],
        "by_mode": [tally_dict(t) for t in stats.by_mode],
        "by_kind": [tally_dict(t) for t in stats.by_kind],
        "streaks": {
            "current": stats.streak,
            "best": stats.best_streak,
            "days": stats.day_streak,
        },
        "practise_next": {
            "gates": [t.name for t in stats.weak_gates],
            "problems": [r.problem for r in stats.due],
        },
        "due": [review_dict(r) for r in stats.due],
        "gates_due": [review_dict(r, "gate") for r in stats.gates_due],
        "upcoming": [review_dict(r, None) for r in stats.upcoming],
        "slips": dict(stats.slips),
    }


def tally_dict(tally: Tally) -> dict[str, Any]:
    return {
        "name": tally.name,
        "attempts": tally.attempts,
        "correct": tally.correct,
        "accuracy": round(tally.accuracy, 4),
        "recent_accuracy": round(tally.recent, 4),
    }


def review_dict(review: Review, key: str | None = "problem") -> dict[str, Any]:
    """One FSRS review; `key` names what is reviewed (None: `name`, for mixed lists)."""
    return {
        key or "name": review.problem,
        "sessions": review.sessions,
        "last_seen": review.last_seen.isoformat(),
        "missed_last_time": review.missed_last,
        "box": review.box,
        "due": review.due.isoformat(),
        "rating": review.rating,
        "stability": round(review.stability, 4),
        "difficulty": round(review.difficulty, 4),
        "state": review.state,
    }
