"""What a judge says about a trace: a `Check`, with a status and a message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from backprop_cli.core.numbers import to_json

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
