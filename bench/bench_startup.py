"""Start-up: what `backprop` adds on top of the imports it cannot avoid.

    python bench/bench_startup.py [--runs 15]

Each pair is measured side by side, alternating runs, in fresh processes:

- `backprop --help` against `python -c "import typer, rich"` (no sympy, no numpy);
- `backprop trace NEURON VALUES` (parse, trace, both checks, the Rich table) against
  a two-command Typer app whose command imports sympy (the aim: within 1.15x), and
  against `python -c "import sympy"`: the one import a checked trace cannot avoid.

Prints the median of each and the ratio. `--breakdown` then times, in fresh processes
(medians of --runs), the phases of a checked neuron trace one after the other, beside
the baseline app's own phases: where the gap between the two goes.

Run it from the repository root with the project installed (`pip install -e .`);
`backprop` is found next to the Python used.
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


# The phases of `backprop trace NEURON`, in the order the command runs them, each
# timed with perf_counter in one fresh process; printed as "phase seconds" lines.
LAPS = """
import time, io
t = time.perf_counter()
def lap(label):
    global t
    now = time.perf_counter(); print(label, now - t); t = now
"""
BREAKDOWN = (
    LAPS
    + """
import typer
lap("import typer")
from backprop_cli import cli
typer.main.get_command(cli.app)
lap("our modules, and Typer building our commands")
import sympy
lap("import sympy")
from backprop_cli import pipeline
from backprop_cli.checks.numeric import numeric_check
from backprop_cli.checks.symbolic import sympy_check
result = pipeline.trace_text(%r, %r, check=False)
lap("parse and trace")
checks = [sympy_check(result.trace)]
lap("the sympy judge, cold caches")
checks.append(numeric_check(result.trace))
lap("finite differences")
from rich.console import Console
from backprop_cli.render.table import trace_view
lap("import rich.console and our tables")
Console(file=io.StringIO(), width=80).print(trace_view(result.trace, checks, 4, ""))
lap("draw the tables")
"""
)
BASELINE_BREAKDOWN = (
    LAPS
    + """
import typer
lap("import typer")
app = typer.Typer(rich_markup_mode="rich")
@app.command()
def hello(name: str = "x") -> None:
    import sympy
    lap("import sympy")
    typer.echo(sympy.Symbol(name))
@app.command()
def bye() -> None:
    pass
typer.main.get_command(app)
lap("our modules, and Typer building our commands")
app(["hello"], standalone_mode=False)
"""
)


def breakdown(runs: int) -> None:
    """Median seconds of each phase, ours beside the baseline app's."""
    python = sys.executable
    names = NEURON[1:]
    bindings = {k: float(v) for k, v in (n.split("=") for n in names)}
    scripts = {"ours": BREAKDOWN % (NEURON[0], bindings), "baseline": BASELINE_BREAKDOWN}
    laps: dict[str, dict[str, list[float]]] = {"ours": {}, "baseline": {}}
    for _ in range(runs):
        for who, script in scripts.items():
            out = subprocess.run([python, "-c", script], capture_output=True, text=True, check=True)
            for line in out.stdout.splitlines():
                label, _, seconds = line.rpartition(" ")
                if label and seconds.replace(".", "").replace("e-", "").isdigit():
                    laps[who].setdefault(label, []).append(float(seconds))
    print(f"{'phase':>46}  {'ours':>7}  {'baseline':>8}")
    totals = {"ours": 0.0, "baseline": 0.0}
    for label in laps["ours"]:
        row = {}
        for who in ("ours", "baseline"):
            got = laps[who].get(label)
            row[who] = statistics.median(got) * 1000 if got else 0.0
            totals[who] += row[who]
        print(f"{label:>46}  {row['ours']:5.1f} ms  {row['baseline']:6.1f} ms")
    print(
        f"{'total after the interpreter starts':>46}  {totals['ours']:5.1f} ms  "
        f"{totals['baseline']:6.1f} ms"
    )


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
    parser.add_argument("--breakdown", action="store_true", help="time the phases as well")
    args = parser.parse_args()
    runs = args.runs
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
    if args.breakdown:
        breakdown(runs)


if __name__ == "__main__":
    main()
