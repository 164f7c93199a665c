"""How long the circuit picture (SVG) and the HTML page take, and how big they are
(run by hand; figures go in BENCHMARKS.md under "## Pictures and pages").

Three shapes of 200-300 gates, the most a picture is drawn for (render/svg.py
MAX_PICTURE_GATES): a chain that reads one input at every stage (long wires; past
MAX_BENDS they are drawn straight), a random bushy circuit, and a wide sum of
products. Best of `--repeat` runs, the trace itself not included.

    python bench/bench_html.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import time

from backprop_cli.core.language import Limits
from backprop_cli.pipeline import trace_text
from backprop_cli.render import html, svg


def circuits() -> dict[str, tuple[str, dict[str, float]]]:
    rng = random.Random(1)
    names = ["x", "y", "z", "w"]
    stages = []
    for i in range(150):
        a, b = rng.sample(names, 2)
        stages.append(f"v{i} = {a}*{b} + {rng.choice(names)}")
        names.append(f"v{i}")
    bushy = "; ".join(stages) + "; f = " + " + ".join(f"v{i}" for i in range(140, 150))
    wide_values = {f"x{i}": 1.0 for i in range(100)} | {f"w{i}": 2.0 for i in range(100)}
    return {
        "chain reading y at every stage (54 stages, 2,900 bends)": (
            "; ".join(["a = x"] + ["a = a * 1.01 + y"] * 54) + "; f = a",
            {"x": 1.0, "y": 0.5},
        ),
        "chain reading y at every stage (150 stages, straight wires)": (
            "; ".join(["a = x"] + ["a = a * 1.01 + y"] * 150) + "; f = a",
            {"x": 1.0, "y": 0.5},
        ),
        "random bushy circuit": (bushy, {"x": 0.1, "y": 0.2, "z": 0.3, "w": 0.4}),
        "wide sum of 100 products": (
            "f = " + " + ".join(f"x{i}*w{i}" for i in range(100)),
            wide_values,
        ),
    }


def best(repeat: int, work: object) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| circuit | gates | SVG | time | page | time |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (text, values) in circuits().items():
        trace = trace_text(text, values, check=False, limits=Limits()).trace
        picture = svg.to_svg(trace)
        page = html.page(trace, [])
        svg_s = best(args.repeat, lambda t=trace: svg.to_svg(t))
        page_s = best(args.repeat, lambda t=trace: html.page(t, []))
        print(
            f"| {name} | {len(trace.graph.gate_nodes)} | {len(picture) // 1024} kB | "
            f"{svg_s * 1000:.0f} ms | {len(page) // 1024} kB | {page_s * 1000:.0f} ms |"
        )


if __name__ == "__main__":
    main()
