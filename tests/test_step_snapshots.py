"""Screens of `backprop step` pinned as SVG pictures that Textual saves, at fixed sizes.

Why not pytest-textual-snapshot: it keeps a session-wide temporary folder in an
environment variable and deletes it when any pytest session ends, and this suite runs
in-process pytest sessions (pytester, tests/test_pytest_plugin.py), so the outer
session's folder was gone when it finished and the run crashed. The comparison is
small enough to do here: `App.export_screenshot()` (what `save_screenshot` writes)
against the file in tests/snapshots/. To accept a change, run
`BACKPROP_UPDATE_SNAPSHOTS=1 pytest tests/test_step_snapshots.py` and look at the
pictures (they open in a browser) before committing them. A screen that differs is
written beside its snapshot as NAME.actual.svg.

Each screen is also checked in plain text for the things that matter, so a failure
says what changed in words.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest

from backprop_cli.quiz.questions import quiz_problem
from backprop_cli.step import build_model
from backprop_cli.step.app import StepApp
from tests.notes import NEURON, NEURON_VALUES, STAGED

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = "BACKPROP_UPDATE_SNAPSHOTS"


def screen(app: StepApp, keys: list[str], size: tuple[int, int]) -> tuple[str, str]:
    """(the SVG, the screen as plain text) after pressing `keys`."""

    async def go() -> tuple[str, str]:
        async with app.run_test(size=size) as pilot:
            await pilot.press(*keys)
            await pilot.pause()
            svg = app.export_screenshot(title="backprop step")
            lines = [strip.text for strip in app.screen._compositor.render_strips()]
            return svg, "\n".join(line.rstrip() for line in lines)

    return asyncio.run(go())


def matches_snapshot(name: str, svg: str) -> bool:
    # Rich gives every export a random id in its CSS class names.
    svg = re.sub(r"\bterminal-\d+-", "terminal-", svg)
    path = SNAPSHOTS / f"{name}.svg"
    actual = path.with_suffix(".actual.svg")
    if os.environ.get(UPDATE):
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(svg, encoding="utf-8")
        actual.unlink(missing_ok=True)
        return True
    if not path.exists():
        pytest.fail(f"no snapshot {path.name}: run with {UPDATE}=1 and look at it")
    if path.read_text(encoding="utf-8") == svg:
        actual.unlink(missing_ok=True)
        return True
    actual.write_text(svg, encoding="utf-8")
    return False


def neuron(**options: object) -> StepApp:
    problem = quiz_problem("expr:neuron", NEURON, NEURON_VALUES)
    return StepApp(build_model(problem), **options)  # type: ignore[arg-type]


def test_the_neuron_at_80x24_forward() -> None:
    svg, text = screen(neuron(), ["right"] * 4, (80, 24))
    assert " step 4 of 35  forward " in text
    # s3 = s1 + s2 = -2 + 6 = 4, just filled in; s4 not yet.
    assert re.search(r"▶\s+s3\s+add\s+s1 \+ s2\s+4\b", text)
    assert re.search(r"\n\s+s4\s+add\s+s3 \+ w2\s*\n", text)
    assert "The add gate computes s3 = s1 + s2 = -2 + 6 = 4." in text
    assert matches_snapshot("neuron-80x24-forward", svg)


def test_the_neuron_at_80x24_predicting_a_product_after_a_slip() -> None:
    keys = [*["right"] * 27, "p", "0", ".", "3", "9", "enter"]
    svg, text = screen(neuron(), keys, (80, 24))
    assert " step 27 of 35  backward  predict " in text
    assert "✗ Not 0.39. That looks like the slip sign: right size, wrong sign" in text
    assert "Predict gradient s2 sends to w1" in text
    assert matches_snapshot("neuron-80x24-predict-slip", svg)


def test_the_staged_example_at_120x40_at_a_fork() -> None:
    problem = quiz_problem("expr:staged", STAGED, {"x": 3, "y": -4})
    model = build_model(problem)
    fork = next(s for s in model.steps if s.reveal == "sum")
    svg, text = screen(StepApp(model), ["right"] * (fork.index + 1), (120, 40))
    assert f" step {fork.index + 1} of {len(model)}  backward " in text
    assert "add up" in text
    assert matches_snapshot("staged-120x40-fork", svg)


def test_a_vector_at_80x24() -> None:
    from backprop_cli.core.language import read_values

    values = read_values({"W": "[[0.1,0.5],[-0.3,0.8]]", "x": "[0.2,0.4]"})
    app = StepApp(build_model(quiz_problem("expr:v", "norm2(W @ x)", values)), predict=True)
    svg, text = screen(app, ["right"], (80, 24))
    assert "Predict shape of s1 (a shape such as (2, 3))" in text
    assert matches_snapshot("vector-80x24-shape", svg)


def test_too_small() -> None:
    svg, text = screen(neuron(), [], (70, 20))
    said = " ".join(text.split())
    assert said == (
        "backprop step needs a terminal of at least 80×24; this one is 70×20. "
        "Make the window larger, or press q to quit."
    )
    assert matches_snapshot("too-small-70x20", svg)


def test_the_neuron_at_160x40_side_by_side_at_the_end() -> None:
    svg, text = screen(neuron(), ["end"], (160, 40))
    lines = text.splitlines()
    assert lines[0].startswith("─circuit") and "─trace─" in lines[0]  # one row, two panels
    # The notes' gradients, in the tree (2 decimals) and the table (4 digits) side by side.
    row = r"│   │   ├── w0\s+input\s+2\.00\s+-0\.20\s+s6\s+exp\s+exp\(s5\)\s+0\.3679"
    assert re.search(row, text)
    assert "So ∂f/∂w0 = -0.20, ∂f/∂x0 = 0.39, ∂f/∂w1 = -0.39, ∂f/∂x1 = -0.59" in text
    assert matches_snapshot("neuron-160x40-end", svg)
