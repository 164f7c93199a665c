"""The two independent judges of a trace: sympy and finite differences."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backprop_cli.checks.scalar import Check

if TYPE_CHECKING:
    from backprop_cli.core.engine import Trace

__all__ = ["Check", "run_checks"]


def run_checks(trace: Trace, *, symbolic: bool = True, numeric: bool = True) -> list[Check]:
    """Both judges' verdicts on `trace`; a judge turned off says "skipped (--no-check)"."""
    if trace.shapes is not None:  # vectors and matrices: checked entry by entry
        from backprop_cli.checks import arrays as judge
    else:
        from backprop_cli.checks import scalar as judge  # type: ignore[no-redef]
    return [
        judge.sympy_check(trace) if symbolic else Check("sympy", "skipped", "skipped (--no-check)"),
        judge.numeric_check(trace)
        if numeric
        else Check("numeric", "skipped", "skipped (--no-check)"),
    ]
