"""Opening `backprop step` against a trace: time to the first screen a learner sees.

    python bench/bench_step.py [--runs 10]

`backprop step NEURON` runs in a pseudo-terminal of 80×24 (pexpect); the clock stops
when the status line "step 0 of 35" has been drawn, then `q` quits it. Beside it, in
fresh processes, alternating run by run: `backprop trace NEURON` (parse, trace, both
cross-checks, the tables) and `backprop trace --no-check NEURON` (what the stepper
computes: it shows the trace's own numbers and runs no sympy). Prints the medians.
Run from the repository root with the project installed (`pip install -e ".[test]"`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect

NEURON = ["1/(1+exp(-(w0*x0+w1*x1+w2)))", "w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"]
READY = "step 0 of 35"


def command_path() -> str:
    path = Path(sys.executable).with_name("backprop")
    return str(path) if path.exists() else "backprop"


def open_step(backprop: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    child = pexpect.spawn(
        backprop, ["step", *NEURON], env=env, dimensions=(24, 80), encoding="utf-8"
    )
    child.expect_exact(READY, timeout=60)
    seconds = time.perf_counter() - start
    child.send("q")
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    return seconds


def run_trace(backprop: str, extra: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [backprop, "trace", *extra, *NEURON],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    backprop = command_path()
    import backprop_cli

    # As an installed wheel would be: compiled once (see bench_startup.py).
    package = str(Path(backprop_cli.__file__).parent)
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True)
    home = tempfile.mkdtemp(prefix="bench-step-")
    env = {**os.environ, "BACKPROP_HOME": home, "TERM": "xterm-256color"}
    open_step(backprop, env), run_trace(backprop, [], env)  # warm the file cache
    step, trace, plain = [], [], []
    for _ in range(runs):
        step.append(open_step(backprop, env))
        trace.append(run_trace(backprop, [], env))
        plain.append(run_trace(backprop, ["--no-check"], env))
    ms = {
        name: statistics.median(v) * 1000
        for name, v in (("step", step), ("trace", trace), ("plain", plain))
    }
    print(f"backprop step NEURON, to the first screen: {ms['step']:.0f} ms")
    print(f"backprop trace NEURON:                     {ms['trace']:.0f} ms")
    print(f"backprop trace --no-check NEURON:          {ms['plain']:.0f} ms")
    print(f"step / trace: {ms['step'] / ms['trace']:.2f}x")


if __name__ == "__main__":
    main()
