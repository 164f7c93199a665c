"""Random staged programs with an independent oracle, for the scale and property tests.

Each circuit comes with its own Python evaluator (plain `math`, written here, sharing
nothing with the engine) and its own sympy builder, so backprop can be checked
against finite differences of that evaluator and against sympy's derivative.
Every operation keeps values in [-2, 2] when its operands are, so circuits of any
depth stay finite and away from domain edges.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# (template, float rule, sympy rule): "{a}" and "{b}" are earlier names.
OPS: list[tuple[str, Callable[..., float], Callable[..., Any]]] = [
    ("tanh({a} + {b})", lambda a, b: math.tanh(a + b), lambda sp, a, b: sp.tanh(a + b)),
    ("{a} * {b} * 0.5", lambda a, b: a * b * 0.5, lambda sp, a, b: a * b / 2),
    ("({a} - {b}) / 2", lambda a, b: (a - b) / 2, lambda sp, a, b: (a - b) / 2),
    ("sin({a} * {b})", lambda a, b: math.sin(a * b), lambda sp, a, b: sp.sin(a * b)),
    (
        "sigmoid({a} - {b})",
        lambda a, b: 1 / (1 + math.exp(b - a)),
        lambda sp, a, b: 1 / (1 + sp.exp(b - a)),
    ),
    ("exp(-{a}^2)", lambda a, b: math.exp(-(a**2)), lambda sp, a, b: sp.exp(-(a**2))),
    ("log(1 + {a}*{a})", lambda a, b: math.log(1 + a * a), lambda sp, a, b: sp.log(1 + a * a)),
    (
        "sqrt(1 + {b}**2) - 1",
        lambda a, b: math.sqrt(1 + b**2) - 1,
        lambda sp, a, b: sp.sqrt(1 + b**2) - 1,
    ),
    ("{a} / (1 + {b}*{b})", lambda a, b: a / (1 + b * b), lambda sp, a, b: a / (1 + b * b)),
    ("cos({a}) * {b} / 2", lambda a, b: math.cos(a) * b / 2, lambda sp, a, b: sp.cos(a) * b / 2),
    ("max({a}, {b}, -1)", lambda a, b: max(a, b, -1), lambda sp, a, b: sp.Max(a, b, -1)),
    (
        "relu({a}) - abs({b}) / 2",
        lambda a, b: max(a, 0.0) - abs(b) / 2,
        lambda sp, a, b: sp.Max(a, 0) - sp.Abs(b) / 2,
    ),
]

# Operations with a kink (max, relu, abs): finite differences can straddle one.
KINKED = {"max({a}, {b}, -1)", "relu({a}) - abs({b}) / 2"}


@dataclass
class Circuit:
    text: str
    inputs: list[str]
    steps: list[tuple[int, str, str]]  # (op index, a, b) per stage, named s0, s1, …

    def evaluate(self, point: dict[str, float]) -> float:
        """The output at `point`, in plain floats, without the engine."""
        env = dict(point)
        for i, (op, a, b) in enumerate(self.steps):
            env[f"s{i}"] = OPS[op][1](env[a], env[b])
        return env[f"s{len(self.steps) - 1}"]

    def sympy_output(self) -> Any:
        import sympy

        env: dict[str, Any] = {name: sympy.Symbol(name, real=True) for name in self.inputs}
        for i, (op, a, b) in enumerate(self.steps):
            env[f"s{i}"] = OPS[op][2](sympy, env[a], env[b])
        return env[f"s{len(self.steps) - 1}"]

    def finite_differences(self, point: dict[str, float], h: float = 1e-6) -> dict[str, float]:
        out = {}
        for name in self.inputs:
            up, down = dict(point), dict(point)
            up[name] += h
            down[name] -= h
            out[name] = (self.evaluate(up) - self.evaluate(down)) / (2 * h)
        return out


def random_circuit(
    seed: int, gates: int, inputs: int = 6, *, smooth: bool = False, recent: int = 6
) -> Circuit:
    """About `gates` stages (each 1 to 4 gates), operands mostly among the last few names.

    The last stage sums what nothing else used, so (almost) every stage is live.
    """
    rng = random.Random(seed)
    names = [f"x{i}" for i in range(inputs)]
    choices = [i for i, op in enumerate(OPS) if not (smooth and op[0] in KINKED)]
    steps: list[tuple[int, str, str]] = []
    used: set[str] = set()
    pool = list(names)
    for i in range(gates):

        def pick() -> str:
            if rng.random() < 0.8:
                return rng.choice(pool[-recent:])
            return rng.choice(pool)

        a, b, op = pick(), pick(), rng.choice(choices)
        used.update(n for n, field in ((a, "{a}"), (b, "{b}")) if field in OPS[op][0])
        steps.append((op, a, b))
        pool.append(f"s{i}")
    # Join the unused stages (and inputs) pairwise with a bounded op until one is left.
    loose = [n for n in pool if n not in used]
    mean = next(i for i, op in enumerate(OPS) if op[0] == "({a} - {b}) / 2")
    while len(loose) > 1:
        a, b = loose.pop(0), loose.pop(0)
        steps.append((mean, a, b))
        loose.append(f"s{len(steps) - 1}")
    lines = [f"s{i} = " + OPS[op][0].format(a=a, b=b) for i, (op, a, b) in enumerate(steps)]
    return Circuit("\n".join(lines), names, steps)


def random_point(seed: int, inputs: list[str]) -> dict[str, float]:
    rng = random.Random(seed + 1_000_003)
    return {name: round(rng.uniform(-1.5, 1.5), 6) for name in inputs}
