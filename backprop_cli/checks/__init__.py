"""The two independent judges of a trace: sympy (`symbolic`) and finite differences
(`numeric`), one each for numbers and arrays alike; `verdict` holds what they say."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backprop_cli.checks.verdict import Check

if TYPE_CHECKING:
    from backprop_cli.core.engine import Trace

__all__ = ["Check", "run_checks"]


def run_checks(trace: Trace, *, symbolic: bool = True, numeric: bool = True) -> list[Check]:
    """Both judges' verdicts on `trace`; a judge turned off says "skipped (--no-check)"."""
    from backprop_cli.checks.numeric import numeric_check
    from backprop_cli.checks.symbolic import sympy_check

    return [
        sympy_check(trace) if symbolic else Check("sympy", "skipped", "skipped (--no-check)"),
        numeric_check(trace) if numeric else Check("numeric", "skipped", "skipped (--no-check)"),
    ]
