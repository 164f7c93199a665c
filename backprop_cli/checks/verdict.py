"""What a judge says about a trace: a `Check`, with a status and a message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from backprop_cli.core.numbers import to_json

if TYPE_CHECKING:
    from backprop_cli.core.engine import Trace

Status = Literal["agree", "disagree", "not-differentiable", "skipped"]


@dataclass
class Check:
    name: Literal["sympy", "numeric"]
    status: Status
    message: str
    max_error: float | None = None
    # the oracle's gradients: numbers, arrays (None where an entry was not sampled),
    # or sympy expressions
    expected: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "disagree"

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "max_error": self.max_error,
            "message": self.message,
            "expected": {k: to_json(v) for k, v in self.expected.items()},
        }


def skipped(name: Literal["sympy", "numeric"], why: str) -> Check:
    return Check(name, "skipped", f"skipped: {why}")


def not_differentiable(name: Literal["sympy", "numeric"], kinks: list[str], **extra: Any) -> Check:
    return Check(
        name, "not-differentiable", "not differentiable here: " + "; ".join(kinks), **extra
    )


def float_range_note(trace: Trace) -> str:
    """What a disagreeing judge adds when float64 lost a gradient in the backward pass
    (the engine's `float_losses`): the rule is right, the float is not enough."""
    lost = [loss for loss in trace.float_losses if not loss.unsure]
    if not lost:
        return ""
    steps = list(dict.fromkeys(loss.step for loss in lost))
    where = ", ".join(steps[:3]) + (", …" if len(steps) > 3 else "")
    if any(loss.beyond_range for loss in lost):
        what = "went below the smallest float"
    else:
        what = "was lost to float rounding"
    return (
        f". A number {what} at step {where} (see the warning): the chain rule is right, "
        "float64 is not enough for these numbers"
    )
