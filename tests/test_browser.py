"""The page to share, in a real browser: headless chromium steps through the notes'
neuron with the arrow keys and the buttons, and what it reveals at each step is
compared with the step model (render/steps.py, which `backprop step` walks) and the
numbers with the trace; without JavaScript everything shows; on a phone-sized
screen nothing sticks out sideways. Skipped where no chromium is installed (CI
installs Debian's, .ci/run).

Set BACKPROP_SCREENSHOTS=DIR to keep the screenshots (desktop and phone) there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import Browser, find_browser
from notes import NEURON, NEURON_VALUES
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.core.numbers import show
from backprop_cli.pipeline import trace_text
from backprop_cli.render.steps import build_steps

BROWSER = find_browser()
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="no chromium on PATH (apt-get install -y chromium; CI installs it in .ci/run)",
)

# What the page shows, read in the browser: each number with whether it is visible
# now (computed style, so what a person sees).
READ = """(() => {
  const shown = el => {
    const s = getComputedStyle(el);
    return s.visibility !== "hidden" && s.display !== "none" && el.getClientRects().length > 0;
  };
  const rows = title => {
    const h = [...document.querySelectorAll("h2")].find(h => h.textContent.startsWith(title));
    const table = h.nextElementSibling.querySelector("table");
    const head = [...table.querySelectorAll("thead th")].map(th => th.textContent);
    return [...table.querySelectorAll("tbody tr")].map(tr => {
      const row = {shown: shown(tr), now: tr.classList.contains("bp-now")};
      [...tr.children].forEach((td, i) => {
        row[head[i]] = td.textContent;
        // A cell's own number may show later than its row (a product after its local).
        row[head[i] + " shown"] = shown(tr) && [...td.querySelectorAll("[data-at]")].every(shown);
      });
      return row;
    });
  };
  const boxes = [...document.querySelectorAll("g.bp-node")].map(g => ({
    lines: [...g.querySelectorAll("text")].map(t =>
      [...t.querySelectorAll("tspan")].filter(shown).map(s => s.textContent).join("")),
    now: g.classList.contains("bp-now"),
  }));
  const wires = [...document.querySelectorAll("svg.bp-circuit > text")].filter(shown)
    .map(t => t.textContent);
  return {
    step: document.documentElement.getAttribute("data-step"),
    js: document.documentElement.classList.contains("bp-js"),
    stepper: shown(document.getElementById("bp-stepper")),
    status: document.getElementById("bp-status").textContent,
    forward: rows("Forward pass"),
    backward: rows("Backward pass"),
    gradients: rows("Gradients"),
    checks: shown(document.querySelector(".bp-checks")),
    boxes: boxes,
    wires: wires,
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  };
})()"""


@pytest.fixture(scope="module")
def neuron_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("page") / "neuron.html"
    values = [f"{k}={v}" for k, v in NEURON_VALUES.items()]
    done = CliRunner().invoke(
        app, ["trace", NEURON, *values, "--format", "html", "--out", str(out), "--explain"]
    )
    assert done.exit_code == 0, done.output
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert BROWSER is not None
    with Browser(BROWSER) as b:
        yield b


def keep(browser: Browser, name: str) -> None:
    where = os.environ.get("BACKPROP_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        browser.screenshot(Path(where) / name)


def test_stepping_shows_what_the_step_model_says(browser: Browser, neuron_page: Path) -> None:
    """Every step, in the browser, against the step model (render/steps.py) and the
    trace: which rows and numbers show, which box is at work, and the numbers."""
    trace = trace_text(NEURON, NEURON_VALUES).trace
    model = build_steps(trace)
    nodes = trace.graph.nodes
    gates = trace.graph.gate_nodes
    slots = [(n.index, p) for n in reversed(gates) for p in range(len(n.inputs))]
    inputs = list(trace.graph.inputs.values())
    browser.resize(1280, 900)
    browser.open(neuron_page.as_uri())
    last = len(model) - 1
    for i, step in enumerate(model.steps):
        if i:  # the arrow key, and every third step the Next button, as a person would
            browser.click("#bp-next") if i % 3 == 0 else browser.key("ArrowRight", 39)
        seen = browser.evaluate(READ)
        known = model.known(i)
        assert seen["js"] and seen["stepper"] and seen["step"] == str(i)
        assert seen["status"].startswith(f"Step {i} of {last}. ")
        assert [row["shown"] for row in seen["forward"]] == [n.index in known.values for n in gates]
        assert [row["shown"] for row in seen["backward"]] == [s in known.locals for s in slots]
        assert [row["product shown"] for row in seen["backward"]] == [
            s in known.products for s in slots
        ]
        assert [row["gradient shown"] for row in seen["gradients"]] == [
            j in known.grads for j in inputs
        ]
        assert seen["checks"] == (i == last)
        # The numbers that show are the trace's.
        for row, node in zip(seen["forward"], gates, strict=True):
            if row["shown"]:
                assert row["value"] == show(trace.values[node.index])
        for row, (gate, p) in zip(seen["backward"], slots, strict=True):
            if row["product shown"]:
                assert row["product"] == show(trace.products[gate][p])
        # The box at work: the step's gate (or a forked value), and only it.
        lit = [box for box in seen["boxes"] if box["now"]]
        if step.node is None:
            assert lit == []
        else:
            node = nodes[step.node]
            assert len(lit) == 1
            first = lit[0]["lines"][0]
            assert first == node.gate.name if node.gate else first.startswith(f"{node.ref} = ")
    assert "f = 0.73" in [line for box in seen["boxes"] for line in box["lines"]]
    grads = {row["input"]: round(float(row["gradient"]), 2) for row in seen["gradients"]}
    assert grads == {"w0": -0.20, "x0": 0.39, "w1": -0.39, "x1": -0.59, "w2": 0.20}  # the notes
    assert "-0.53" in seen["wires"]  # the gradient into +1 and into exp, on their wires
    assert browser.errors() == []  # the script ran under the page's policy, quietly
    keep(browser, "page-desktop.png")


def test_keys_and_buttons_go_back_and_to_either_end(browser: Browser, neuron_page: Path) -> None:
    browser.open(neuron_page.as_uri())
    last = str(len(build_steps(trace_text(NEURON, NEURON_VALUES).trace)) - 1)
    browser.key("End", 35)
    assert browser.evaluate(READ)["step"] == last
    browser.key("ArrowRight", 39)  # past the end: stays
    assert browser.evaluate(READ)["step"] == last
    browser.key("ArrowLeft", 37)
    assert browser.evaluate(READ)["step"] == str(int(last) - 1)
    browser.click("#bp-first")
    seen = browser.evaluate(READ)
    assert seen["step"] == "0" and not seen["forward"][0]["shown"]
    browser.click("#bp-end")
    assert all(row["product shown"] for row in browser.evaluate(READ)["backward"])
    browser.open(neuron_page.as_uri() + "#step=9")  # a link to one step: the seed
    seen = browser.evaluate(READ)
    assert seen["step"] == "9" and seen["status"].startswith(f"Step 9 of {last}. ∂f/∂f = 1.00 — ")


def test_without_javascript_everything_is_shown(browser: Browser, neuron_page: Path) -> None:
    browser.open(neuron_page.as_uri(), javascript=False)
    seen = browser.evaluate(READ)  # evaluated by the test, not the page
    assert not seen["js"] and not seen["stepper"]
    assert all(row["shown"] for row in seen["forward"] + seen["backward"])
    assert all(row["gradient shown"] for row in seen["gradients"]) and seen["checks"]
    browser.open("about:blank")


def test_a_phone_sized_screen(browser: Browser, neuron_page: Path) -> None:
    browser.resize(390, 844, mobile=True)
    try:
        browser.open(neuron_page.as_uri() + "#step=12")
        seen = browser.evaluate(READ)
        # The page itself never scrolls sideways: the picture and the wide tables
        # scroll inside their own boxes.
        assert seen["overflow"] <= 0
        assert seen["stepper"] and seen["step"] == "12"
        width = browser.evaluate("document.getElementById('bp-next').getBoundingClientRect().width")
        assert width >= 44  # a finger-sized button
        keep(browser, "page-phone.png")
    finally:
        browser.resize(1280, 900)
