"""How long `backprop check` takes on 1,000 problems (run by hand; figures go in
BENCHMARKS.md under "## backprop check").

The 1,000 problems are the bundled ones (61: scalars and vectors), copied in turn
with their variables renamed (x -> x_7) until there are 1,000, so every copy is a new
expression to sympy (no cache hits) while the independently derived claims stay
valid. Each run is a fresh `backprop check` process, so the figures include start-up
and imports, as a CI job sees them. The runs are interleaved (one of each, then the
next round), so a busy moment on a shared machine falls on all of them alike; wall
time and CPU time (the process and its workers) are both printed. Last, the JSON
reports of `-j 1` and of the default (one worker per core) are compared: the same
verdicts on every problem.

    python bench/bench_check.py [--count 1000] [--repeat 3] [--generated] [--parts]

`--generated` times 1,000 distinct problems drawn by the quiz's generator instead
(difficulty 2 to 5, 250 each, every expression different, the generator's own
variable names x, y, z, w…; no claims, so only the two judges and the trace are
timed): a check that the renamed copies are not an unusually slow or fast set.
`--parts` also times, in this process, the sympy judge's three steps on every
problem (building the expression, `sympy.diff` by each input, evaluating at the
point): where the CPU goes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_copies(folder: Path, copies: int, limit: int | None = None) -> int:
    """`copies` renamed copies of every bundled problem (at most `limit` in all)."""
    count = 0
    for source in sorted((ROOT / "problems").glob("*.toml")):
        data = tomllib.loads(source.read_text(encoding="utf-8"))
        lines = [f"[set]\ntitle = {toml_string(data['set']['title'] + ' (bench)')}\n"]
        for copy in range(copies):
            for problem in data["problem"]:
                if limit is not None and count >= limit:
                    break
                names = list(problem["bindings"])
                rename = {name: f"{name}_{copy}" for name in names}
                pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
                expression = pattern.sub(lambda m, r=rename: r[m.group(1)], problem["expression"])
                bindings = ", ".join(f"{rename[k]} = {v!r}" for k, v in problem["bindings"].items())
                expect = problem["expect"]
                gradients = ", ".join(
                    f"{rename[k]} = {v!r}" for k, v in expect["gradients"].items()
                )
                lines.append(
                    f"[[problem]]\nid = {toml_string(problem['id'] + f'-{copy}')}\n"
                    f"expression = {toml_string(expression)}\nbindings = {{ {bindings} }}\n"
                    f"[problem.expect]\ngradients = {{ {gradients} }}\n"
                    + (f"value = {expect['value']!r}\n" if "value" in expect else "")
                )
                count += 1
        (folder / source.name).write_text("\n".join(lines), encoding="utf-8")
    return count


def write_generated(folder: Path, count: int) -> int:
    """`count` distinct generated problems (difficulty 2 to 5 in equal shares)."""
    from backprop_cli.quiz.generate import generate

    seen: set[str] = set()
    lines = ['[set]\ntitle = "generated (bench)"\n']
    levels = (2, 3, 4, 5)
    for level in levels:
        seed = 0
        while len(seen) < count * (levels.index(level) + 1) // len(levels):
            problem = generate(level, seed)
            seed += 1
            if problem.expression in seen:
                continue
            seen.add(problem.expression)
            bindings = ", ".join(f"{k} = {v!r}" for k, v in problem.bindings.items())
            lines.append(
                f"[[problem]]\nid = {toml_string(problem.id)}\n"
                f"expression = {toml_string(problem.expression)}\nbindings = {{ {bindings} }}\n"
            )
    (folder / "generated.toml").write_text("\n".join(lines), encoding="utf-8")
    return len(seen)


def sympy_parts(folder: Path) -> None:
    """CPU seconds of the sympy judge's steps, in this process, over every problem."""
    import sympy

    from backprop_cli import pipeline
    from backprop_cli.checks import symbolic
    from backprop_cli.problems import sets

    traces = [
        pipeline.trace_text(problem.expression, problem.bindings, check=False).trace
        for path in sorted(folder.glob("*.toml"))
        for problem in sets.load_file(path)
    ]
    spent = {"build the expression": 0.0, "sympy.diff by each input": 0.0, "evaluate": 0.0}

    def timing(label: str, f: Any) -> Any:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return f(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - started

        return timed_call

    build, diff, evaluate = symbolic.sympy_expression, sympy.diff, symbolic._evaluate
    symbolic.sympy_expression = timing("build the expression", build)
    sympy.diff = timing("sympy.diff by each input", diff)
    symbolic._evaluate = timing("evaluate", evaluate)
    started = time.process_time()
    try:
        verdicts = Counter(symbolic.sympy_check(trace).status for trace in traces)
    finally:
        symbolic.sympy_expression, sympy.diff, symbolic._evaluate = build, diff, evaluate
    total = time.process_time() - started
    print(
        f"sympy judge in one process: {total:.2f}s CPU for {len(traces)} problems {dict(verdicts)}"
    )
    for label, seconds in spent.items():
        print(f"  {label:>26}: {seconds:5.2f}s ({100 * seconds / total:.0f}%)")


def timed(command: list[str]) -> tuple[float, float, str, int]:
    """Wall seconds, CPU seconds (user + system of the process and its workers), the
    last line of output, the exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout.strip().splitlines()[-1], done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--generated", action="store_true", help="distinct generated problems")
    parser.add_argument("--parts", action="store_true", help="time the sympy judge's steps")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()}")
    bundled = sum(
        len(tomllib.loads(p.read_text(encoding="utf-8"))["problem"])
        for p in (ROOT / "problems").glob("*.toml")
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.generated:
            count = write_generated(folder, args.count)
        else:
            count = write_copies(folder, -(-args.count // bundled), args.count)
        print(f"{count} problems in {folder}")
        base = [sys.executable, "-m", "backprop_cli", "check", str(folder), "-q"]
        runs = {
            "with sympy, -j 1": ["-j", "1"],
            "with sympy (default: a worker per core)": [],
            "--no-sympy, -j 1": ["--no-sympy", "-j", "1"],
            "--no-sympy (default)": ["--no-sympy"],
        }
        results: dict[str, list[tuple[float, float, str, int]]] = {k: [] for k in runs}
        for _ in range(args.repeat):  # interleaved rounds
            for label, extra in runs.items():
                results[label].append(timed([*base, *extra]))
        for label, got in results.items():
            best = min(got)
            print(
                f"backprop check {label:>40}: best {best[0]:6.2f}s wall of {args.repeat}, "
                f"CPU {best[1]:6.2f}s ({1000 * best[0] / count:.1f} ms a problem)  "
                f"exit {best[3]}  | {best[2]}"
            )
        one = subprocess.run([*base[:-1], "--format", "json", "-j", "1"], capture_output=True)
        many = subprocess.run([*base[:-1], "--format", "json"], capture_output=True)
        same = json.loads(one.stdout) == json.loads(many.stdout)
        print(f"same report from -j 1 and the default: {'yes' if same else 'NO'}")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "backprop_cli", "--help"], capture_output=True)
        print(f"start-up alone (backprop --help): {time.perf_counter() - started:.2f}s")
        if args.parts:
            sympy_parts(folder)


if __name__ == "__main__":
    main()
