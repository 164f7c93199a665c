"""Scaling: time per gate for forward + backward, against micrograd on the same circuits.

    pip install micrograd          # bench-only, not a project dependency
    python bench/bench_scaling.py [--sizes 100 1000 10000 100000] [--memory]

The circuit: 16 inputs in [-1, 1] and random gates, each taking its operands from
earlier nodes (mostly recent ones, so it is deep): mul, add then *0.5, sub then
*0.5, and +0.3 then relu then *0.5. Every value stays in [-1, 1]. Unused nodes
are summed pairwise at the end (add, *0.5) so every gate is live. The same gate
list is written as a staged program for backprop and run as `micrograd.engine.Value`
operations.

Rows (best of --repeat runs, time divided by the number of gates):
- engine: `engine.run` on an already built graph (forward + backward);
- trace: `trace_text(..., check=False)`: parse + stage + forward + backward;
- trace+checks: `trace_text(...)`: also finite differences (2 forward passes per
  input) and sympy (skipped above checks.symbolic.SYMBOLIC_GATE_LIMIT gates);
- micrograd: building the Values (its forward) + `.backward()`. micrograd's
  topological sort is recursive, so the recursion limit is raised for it.

--memory measures peak memory (tracemalloc) of one run of each instead.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from backprop_cli.core import engine
from backprop_cli.core.graph import build_graph
from backprop_cli.core.language import Limits, parse_program
from backprop_cli.pipeline import trace_text

INPUTS = 16
LIMITS = Limits(max_chars=50_000_000, max_depth=1_000, max_gates=10_000_000)


def circuit(gates: int, seed: int = 0) -> tuple[list[tuple[str, int, int]], dict[str, float]]:
    """A list of (op, a, b) over node numbers; nodes 0..INPUTS-1 are the inputs."""
    rng = random.Random(seed)
    ops: list[tuple[str, int, int]] = []
    used: set[int] = set()
    count = INPUTS
    costs = {"mul": 1, "add": 2, "sub": 2, "relu": 3}  # see program_text
    total = 0
    while total < gates:
        op = rng.choice(["mul", "add", "sub", "relu"])

        def pick(n: int = count) -> int:
            return rng.randrange(max(0, n - 32), n) if rng.random() < 0.9 else rng.randrange(n)

        a, b = pick(), pick()
        ops.append((op, a, b))
        used.update((a, b) if op != "relu" else (a,))
        total += costs[op]
        count += 1
    loose = [i for i in range(count) if i not in used]
    while len(loose) > 1:
        a, b = loose.pop(0), loose.pop(0)
        ops.append(("add", a, b))
        loose.append(count)
        count += 1
    rng2 = random.Random(seed + 1)
    values = {f"n{i}": round(rng2.uniform(-1, 1), 6) for i in range(INPUTS)}
    return ops, values


def program_text(ops: list[tuple[str, int, int]]) -> str:
    lines = []
    for k, (op, a, b) in enumerate(ops):
        x, y = f"n{a}", f"n{b}"
        expr = {
            "mul": f"{x} * {y}",
            "add": f"({x} + {y}) * 0.5",
            "sub": f"({x} - {y}) * 0.5",
            "relu": f"relu({x} + 0.3) * 0.5",  # + 0.3: a relu of an exact 0 is a kink
        }[op]
        lines.append(f"n{INPUTS + k} = {expr}")
    return "\n".join(lines)


def run_micrograd(ops: list[tuple[str, int, int]], values: dict[str, float]) -> Any:
    from micrograd.engine import Value

    nodes: list[Any] = [Value(values[f"n{i}"]) for i in range(INPUTS)]
    for op, a, b in ops:
        x, y = nodes[a], nodes[b]
        if op == "mul":
            nodes.append(x * y)
        elif op == "add":
            nodes.append((x + y) * 0.5)
        elif op == "sub":
            nodes.append((x - y) * 0.5)
        else:
            nodes.append((x + 0.3).relu() * 0.5)
    nodes[-1].backward()
    return nodes


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak(fn: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    result = fn()
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return top / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()
    sys.setrecursionlimit(1_000_000)  # for micrograd's recursive topological sort
    import threading

    threading.stack_size(512 * 1024 * 1024)  # and the C stack that recursion needs

    def body() -> None:
        for size in args.sizes:
            ops, values = circuit(size)
            text = program_text(ops)
            graph = build_graph(parse_program(text, limits=LIMITS), limits=LIMITS)
            gates = len(graph.gate_nodes)
            runs: dict[str, Callable[[], Any]] = {
                "engine": lambda g=graph, v=values: engine.run(g, v),
                "trace": lambda t=text, v=values: trace_text(t, v, check=False, limits=LIMITS),
                "trace+checks": lambda t=text, v=values: trace_text(t, v, limits=LIMITS),
                "micrograd": lambda o=ops, v=values: run_micrograd(o, v),
            }
            checks = trace_text(text, values, limits=LIMITS).checks
            print(f"{gates:>8} gates  checks: " + "; ".join(c.message[:60] for c in checks))
            for name, fn in runs.items():
                if args.memory:
                    print(f"{gates:>8} gates  {name:<13} peak {peak(fn):9.1f} MB", flush=True)
                else:
                    seconds = best(fn, args.repeat)
                    per_gate = seconds / gates * 1e6
                    print(
                        f"{gates:>8} gates  {name:<13} {seconds:9.3f} s  {per_gate:7.2f} µs/gate",
                        flush=True,
                    )

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()


if __name__ == "__main__":
    main()
