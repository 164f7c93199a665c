"""The page to share, in a real browser: headless chromium steps through the notes'
neuron with the arrow keys and the buttons, and what it reveals at each step is
compared with the trace; without JavaScript everything shows; on a phone-sized
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
      const row = {shown: shown(tr)};
      [...tr.children].forEach((td, i) => { row[head[i]] = td.textContent; });
      const grad = tr.querySelector("[data-at]");
      if (grad && grad !== tr) { row.gradient_shown = shown(grad); }
      return row;
    });
  };
  const boxes = [...document.querySelectorAll("g.bp-node")].map(g => ({
    lines: [...g.querySelectorAll("text")].map(t =>
      [...t.querySelectorAll("tspan")].filter(shown).map(s => s.textContent).join("")),
    now: g.classList.contains("bp-now"),
  }));
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


def test_stepping_reveals_the_trace_gate_by_gate(browser: Browser, neuron_page: Path) -> None:
    trace = trace_text(NEURON, NEURON_VALUES).trace
    gates = trace.graph.gate_nodes
    n = len(gates)
    browser.resize(1280, 900)
    browser.open(neuron_page.as_uri())
    seen = browser.evaluate(READ)
    assert seen["js"] and seen["stepper"] and seen["step"] == "0"
    assert seen["status"].startswith(f"Step 0 of {2 * n}. The inputs: w0 = 2, x0 = -1")
    assert not any(row["shown"] for row in seen["forward"])
    assert not any(row["gradient_shown"] for row in seen["gradients"])
    # The forward pass, one gate per → key: its row appears with its value, the
    # rows after it stay hidden, and its box in the picture is the one lit.
    for k, node in enumerate(gates, start=1):
        browser.key("ArrowRight", 39)
        seen = browser.evaluate(READ)
        assert seen["step"] == str(k)
        assert [row["shown"] for row in seen["forward"]] == [i < k for i in range(n)]
        row = seen["forward"][k - 1]
        assert row["step"] == node.ref and row["value"] == show(trace.values[node.index])
        lit = [box for box in seen["boxes"] if box["now"]]
        assert len(lit) == 1 and lit[0]["lines"][0] == node.gate.name
        assert not any(row["shown"] for row in seen["backward"])
    assert "f = 0.73" in [line for box in seen["boxes"] for line in box["lines"]]
    # The backward pass, one gate per click on "Next": its rows (upstream × local
    # = product) appear; an input's gradient shows once all its shares have arrived.
    for k, node in enumerate(reversed(gates), start=1):
        browser.click("#bp-next")
        seen = browser.evaluate(READ)
        assert seen["step"] == str(n + k)
        shown = [row for row in seen["backward"] if row["shown"]]
        assert shown[-1]["input"] == trace.graph.nodes[node.inputs[-1]].ref
        assert shown[-1]["product"] == show(trace.products[node.index][-1])
        assert seen["checks"] == (k == n)
    grads = {row["input"]: round(float(row["gradient"]), 2) for row in seen["gradients"]}
    assert all(row["gradient_shown"] for row in seen["gradients"])
    assert grads == {"w0": -0.20, "x0": 0.39, "w1": -0.39, "x1": -0.59, "w2": 0.20}  # the notes
    assert browser.errors() == []  # the script ran under the page's policy, quietly
    keep(browser, "page-desktop.png")


def test_keys_and_buttons_go_back_and_to_either_end(browser: Browser, neuron_page: Path) -> None:
    browser.open(neuron_page.as_uri())
    browser.key("End", 35)
    assert browser.evaluate(READ)["step"] == "16"
    browser.key("ArrowRight", 39)  # past the end: stays
    assert browser.evaluate(READ)["step"] == "16"
    browser.key("ArrowLeft", 37)
    assert browser.evaluate(READ)["step"] == "15"
    browser.click("#bp-first")
    seen = browser.evaluate(READ)
    assert seen["step"] == "0" and not seen["forward"][0]["shown"]
    browser.click("#bp-end")
    assert all(row["shown"] for row in browser.evaluate(READ)["backward"])
    browser.open(neuron_page.as_uri() + "#step=9")  # a link to one step
    seen = browser.evaluate(READ)
    assert seen["step"] == "9" and seen["status"].startswith("Step 9 of 16. Backward 1/8: f (1/x)")


def test_without_javascript_everything_is_shown(browser: Browser, neuron_page: Path) -> None:
    browser.open(neuron_page.as_uri(), javascript=False)
    seen = browser.evaluate(READ)  # evaluated by the test, not the page
    assert not seen["js"] and not seen["stepper"]
    assert all(row["shown"] for row in seen["forward"] + seen["backward"])
    assert all(row["gradient_shown"] for row in seen["gradients"]) and seen["checks"]
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
