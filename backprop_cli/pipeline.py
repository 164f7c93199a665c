"""From text to a checked trace in one call: what `trace`, `check` and `quiz` share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from backprop_cli.checks import Check, run_checks
from backprop_cli.core import engine
from backprop_cli.core.graph import build_graph
from backprop_cli.core.language import DEFAULT_LIMITS, Limits, is_array, parse_program


@dataclass
class CheckedTrace:
    trace: engine.Trace
    checks: list[Check]

    @property
    def failed(self) -> bool:
        return any(check.failed for check in self.checks)


def trace_text(
    text: str,
    bindings: Mapping[str, float],
    *,
    output: str | None = None,
    check: bool = True,
    limits: Limits = DEFAULT_LIMITS,
    fuse: str | None = None,
) -> CheckedTrace:
    """Parse, stage, run and (unless `check` is False) cross-check an expression.

    `fuse` ("sigmoid" or "all") collapses known sub-circuits into one gate first.
    """
    # Vector syntax (@, W.T, sum, softmax, …) is read only when some value is an array.
    vectors = any(is_array(v) for v in bindings.values())
    program = parse_program(text, output=output, limits=limits, vectors=vectors)
    graph = build_graph(program, limits=limits)
    if fuse is not None:
        from backprop_cli.core.fuse import fuse as fuse_graph

        graph = fuse_graph(graph, fuse)  # type: ignore[arg-type]
    trace = engine.run(graph, bindings)
    checks = run_checks(trace, symbolic=check, numeric=check)
    return CheckedTrace(trace, checks)
