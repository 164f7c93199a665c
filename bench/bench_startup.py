"""Start-up: what `backprop` adds on top of the imports it cannot avoid.

    python bench/bench_startup.py [--runs 15]

Each pair is measured side by side, alternating runs, in fresh processes:

- `backprop --help` against `python -c "import typer, rich"` (no sympy, no numpy);
- `backprop trace NEURON VALUES` (parse, trace, both checks, the Rich table) against
  a two-command Typer app whose command imports sympy (the aim: within 1.15x), and
  against `python -c "import sympy"`: the one import a checked trace cannot avoid.

Prints the median of each and the ratio. Run it from the repository root with the
project installed (`pip install -e .`); `backprop` is found next to the Python used.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

# The floor for any Typer CLI with Rich help: typer imports rich.markdown and
# markdown_it to format --help, which `import typer, rich` alone does not.
TINY_APP = """
import typer
app = typer.Typer(rich_markup_mode="rich")
@app.command()
def hello(name: str = "x") -> None:
    \"\"\"Say hello.\"\"\"
@app.command()
def bye() -> None:
    \"\"\"Say bye.\"\"\"
app()
"""
# The floor for a checked trace: the same tiny Typer app, whose command
# imports sympy (the one heavy import a checked trace cannot avoid) and prints.
SYMPY_APP = """
import typer
app = typer.Typer(rich_markup_mode="rich")
@app.command()
def hello(name: str = "x") -> None:
    \"\"\"Say hello.\"\"\"
    import sympy
    typer.echo(sympy.Symbol(name))
@app.command()
def bye() -> None:
    \"\"\"Say bye.\"\"\"
app()
"""
NEURON = ["1/(1+exp(-(w0*x0+w1*x1+w2)))", "w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"]


def command_path() -> str:
    path = Path(sys.executable).with_name("backprop")
    return str(path) if path.exists() else "backprop"


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def compare(label: str, ours: list[str], baseline: list[str], runs: int) -> None:
    timed(ours), timed(baseline)  # warm the file cache
    a, b = [], []
    for _ in range(runs):
        a.append(timed(ours))
        b.append(timed(baseline))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{label}: {ma * 1000:.0f} ms vs {mb * 1000:.0f} ms  ratio {ma / mb:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    backprop, python = command_path(), sys.executable
    # As an installed wheel would be: compiled once (PYTHONDONTWRITEBYTECODE=1 would
    # otherwise make every run compile the package from source).
    import backprop_cli

    package = str(Path(backprop_cli.__file__).parent)
    subprocess.run([python, "-m", "compileall", "-q", package], check=True)
    compare(
        "backprop --help vs import typer, rich",
        [backprop, "--help"],
        [python, "-c", "import typer, rich"],
        runs,
    )
    compare(
        "backprop --help vs a two-command Typer app's --help",
        [backprop, "--help"],
        [python, "-c", TINY_APP, "--help"],
        runs,
    )
    compare(
        "backprop trace (neuron) vs a two-command Typer app that imports sympy",
        [backprop, "trace", *NEURON],
        [python, "-c", SYMPY_APP, "hello"],
        runs,
    )
    compare(
        "backprop trace (neuron) vs import sympy",
        [backprop, "trace", *NEURON],
        [python, "-c", "import sympy"],
        runs,
    )
    compare(
        "backprop trace --no-check (neuron) vs import sympy",
        [backprop, "trace", "--no-check", *NEURON],
        [python, "-c", "import sympy"],
        runs,
    )


if __name__ == "__main__":
    main()
