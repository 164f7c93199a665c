"""The figures behind issue 15's budgets (BENCHMARKS.md, "Budgets on hostile input").

    python bench/bench_hostile.py            # everything (about a minute; dot needed)
    python bench/bench_hostile.py dot code   # some sections

Each section prints what it measured; nothing here is a test.
"""

from __future__ import annotations

import io
import multiprocessing
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


def seconds(run: object) -> float:
    start = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - start


def section_dot() -> None:
    from backprop_cli.pipeline import trace_text
    from backprop_cli.render.dot import to_dot

    if shutil.which("dot") is None:
        print("dot: Graphviz is not installed")
        return
    shapes = {
        "chain a = a*1.01": lambda n: ("\n".join(["a = x"] + ["a = a*1.01"] * n), {"x": 1.0}),
        "sum of n products": lambda n: (
            "f = " + " + ".join(f"w{i}*x{i}" for i in range(n)),
            {**{f"w{i}": 1.0 for i in range(n)}, **{f"x{i}": 1.0 for i in range(n)}},
        ),
        "forks a = a*x + y": lambda n: (
            "\n".join(["a = x"] + ["a = a*x + y"] * n),
            {"x": 1.01, "y": 0.5},
        ),
    }
    sizes = {
        "chain a = a*1.01": (100, 400, 800),
        "sum of n products": (100, 200, 400),
        "forks a = a*x + y": (15, 20, 25),
    }
    for name, build in shapes.items():
        for n in sizes[name]:
            text, values = build(n)
            trace = trace_text(text, values, check=False).trace
            source = to_dot(trace).encode()
            try:
                took = seconds(
                    lambda s=source: subprocess.run(
                        ["dot", "-Tsvg"], input=s, capture_output=True, timeout=60, check=False
                    )
                )
                said = f"{took:.2f} s"
            except subprocess.TimeoutExpired:
                said = "> 60 s"
            print(f"dot  {name:20} n={n:4}  {len(trace.graph.gate_nodes):5} gates  {said}")


def section_code() -> None:
    for n in (3_000, 9_000):
        with tempfile.TemporaryDirectory() as folder:
            program = Path(folder) / "wide.txt"
            program.write_text("max(" + ", ".join(f"x{i}" for i in range(n)) + ")")
            values = [f"x{i}={i % 7}" for i in range(n)]
            command = [sys.executable, "-m", "backprop_cli", "code", "--file", str(program)]
            start = time.perf_counter()
            done = subprocess.run(
                [*command, "--no-check", *values], capture_output=True, check=False
            )
            took = time.perf_counter() - start
        print(f"code max of {n:,} inputs: {took:.1f} s, {len(done.stdout) / 1e6:.2f} MB of Python")


def section_views() -> None:
    from rich.console import Console

    from backprop_cli.pipeline import trace_text
    from backprop_cli.render.explain import explain_view
    from backprop_cli.render.tree import tree_view

    trace = trace_text("\n".join(["a = x"] + ["a = a*1"] * 10_000), {"x": 1.0}, check=False).trace
    for name, view in (("--graph (tree)", tree_view), ("--explain", explain_view)):
        buffer = io.StringIO()
        took = seconds(lambda v=view, b=buffer: Console(file=b, width=120).print(v(trace)))
        lines = buffer.getvalue().count("\n")
        print(f"{name} of a 10,000-gate chain: {took:.2f} s, {lines} lines")


def section_answers() -> None:
    from rich.console import Console

    from backprop_cli.play import LineAnswers
    from backprop_cli.quiz.questions import read_shape

    hostile = "1   " * 18 + "!"
    print(f"read_shape of the 18-group answer: {seconds(lambda: read_shape(hostile)) * 1e6:.0f} µs")
    long = "1 x " * 20_000 + "!"
    print(f"read_shape of an 80,000-character answer: {seconds(lambda: read_shape(long)):.4f} s")
    line = "1" * 5_000_000 + "\n"
    console = Console(file=io.StringIO(), width=80)
    answers = LineAnswers(console, io.StringIO(line))
    from rich.text import Text

    print(f"echo of a 5 MB answer line: {seconds(lambda: answers.ask(Text('?'))):.3f} s")


def _row() -> object:
    from backprop_cli.quiz.history import Row

    return Row("s", "p", "f", "mul", "local", "q", "1", 1.0, True, False, 0, 1.0, "backward",
               datetime.now(UTC))  # fmt: skip


def _quiz(path: str, barrier: object) -> None:
    from backprop_cli.quiz.history import open_store

    barrier.wait()  # type: ignore[attr-defined]
    store = open_store(Path(path))
    for _ in range(8):
        store.record(_row())  # type: ignore[arg-type]
    store.close()


def section_history() -> None:
    from backprop_cli.quiz.history import open_store, read_rows

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.sqlite3"
        store = open_store(path)
        row = _row()
        values = [
            ("s", "p", "f", "mul", "local", "q", "1", 1.0, 1, 0, 0, 1.0, "backward",
             row.timestamp.isoformat(), "")  # type: ignore[attr-defined]
        ] * 100_000  # fmt: skip
        with store.conn:
            store.conn.executemany(
                "INSERT INTO attempts (session, problem, step, gate, kind, asked, answer, "
                "expected, correct, skipped, hints, seconds, mode, timestamp, slip) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
        store.close()
        took = seconds(lambda: read_rows(path))
        print(f"read 100,000 saved answers (stats): {took:.2f} s")
        conn = sqlite3.connect(path)
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        conn.set_progress_handler(count, 1)
        conn.execute("SELECT * FROM attempts ORDER BY timestamp, id").fetchall()
        print(f"  SQLite steps for that read: {steps[0]:,}")
    context = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "new" / "history.sqlite3"
        barrier = context.Barrier(8)
        workers = [context.Process(target=_quiz, args=(str(path), barrier)) for _ in range(8)]
        start = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        took = time.perf_counter() - start
        rows, notices = read_rows(path)
        kept = f"{len(rows)} of 64 answers kept, {len(notices)} warnings"
        print(f"8 quizzes at once on a new folder: {kept}, {took:.2f} s")


SECTIONS = {
    "dot": section_dot,
    "code": section_code,
    "views": section_views,
    "answers": section_answers,
    "history": section_history,
}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(SECTIONS):
        SECTIONS[name]()
