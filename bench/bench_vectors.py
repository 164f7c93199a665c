"""Time vector traces with their cross-checks, by size: `python bench/bench_vectors.py`.

Finite differences nudge every entry (two forward passes each), and the sympy check
gives every entry a symbol (up to checks.symbolic.SYMPY_SYMBOL_LIMIT symbols), so both
grow with the number of entries. Results go in BENCHMARKS.md.
"""

from __future__ import annotations

import time

import numpy as np

from backprop_cli.pipeline import trace_text

CASES = [
    ("norm2(W @ x)", {"W": (2, 2), "x": (2,)}),  # the notes' L2 example: 6 entries
    ("cross_entropy(W @ x + b, 1)", {"W": (4, 8), "x": (8,), "b": (4,)}),  # 44 entries
    ("sum(relu(W @ x + b))", {"W": (10, 10), "x": (10,), "b": (10,)}),  # 120 entries
    ("sum(relu(W))", {"W": (100, 100)}),  # 10,000 entries: the largest literal
    ("norm2(A @ B)", {"A": (50, 100), "B": (100, 50)}),  # 10,000 entries, two matrices
]


def main() -> None:
    rng = np.random.default_rng(0)
    print("| expression | entries | sympy | finite differences | first run | best of 3 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for text, shapes in CASES:
        bindings = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
        entries = sum(v.size for v in bindings.values())
        times = []
        for _ in range(3):  # sympy caches: the later runs skip most of its work
            start = time.perf_counter()
            result = trace_text(text, bindings)
            times.append(time.perf_counter() - start)
        sympy_check, numeric = (c.status for c in result.checks)
        print(
            f"| `{text}` | {entries:,} | {sympy_check} | {numeric} | {times[0]:.2f} s "
            f"| {min(times):.2f} s |"
        )


if __name__ == "__main__":
    main()
