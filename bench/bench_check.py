"""How long `backprop check` takes on 1,000 problems (run by hand; figures go in
BENCHMARKS.md under "## backprop check").

The 1,000 problems are the 50 bundled ones, each copied 20 times with its variables
renamed (x -> x_7), so every copy is a new expression to sympy (no cache hits) while
the independently derived claims stay valid. Each run is a fresh `backprop check`
process, so the figures include start-up and imports, as a CI job sees them.

    python bench/bench_check.py [--copies 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_copies(folder: Path, copies: int) -> int:
    count = 0
    for source in sorted((ROOT / "problems").glob("*.toml")):
        data = tomllib.loads(source.read_text(encoding="utf-8"))
        lines = [f"[set]\ntitle = {toml_string(data['set']['title'] + ' (bench)')}\n"]
        for copy in range(copies):
            for problem in data["problem"]:
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


def timed(command: list[str]) -> tuple[float, str, int]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout.strip().splitlines()[-1], done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        count = write_copies(folder, args.copies)
        print(f"{count} problems in {folder}")
        base = [sys.executable, "-m", "backprop_cli", "check", str(folder), "-q"]
        for label, extra in (("with sympy", []), ("--no-sympy", ["--no-sympy"])):
            runs = [timed(base + extra) for _ in range(args.repeat)]
            best = min(r[0] for r in runs)
            print(
                f"backprop check {label:>11}: best {best:6.2f}s of {args.repeat} "
                f"({1000 * best / count:.1f} ms a problem)  exit {runs[0][2]}  | {runs[0][1]}"
            )
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "backprop_cli", "--help"], capture_output=True)
        print(f"start-up alone (backprop --help): {time.perf_counter() - started:.2f}s")


if __name__ == "__main__":
    main()
