"""The page to share (`--format html`) and the notebook fragment, read back as HTML.

Numbers are the notes': the neuron's f = 0.73, dw = [-0.20, -0.39, 0.20],
dx = [0.39, -0.59]; the first circuit's (x + y) z at -2, 5, -4: -4, -4, 3.
The browser test (tests/test_browser.py) steps through the same page in chromium.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shlex
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
from htmlview import svg_lines, table
from notes import NEURON, NEURON_VALUES, STAGED
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.pipeline import trace_text
from backprop_cli.render import html, reveal

VALUES = [f"{k}={v}" for k, v in NEURON_VALUES.items()]
HOSTILE = "<script>alert('x')</script>"


def page_of(runner: CliRunner, *args: str) -> str:
    done = runner.invoke(app, [*args, "--format", "html"])
    assert done.exit_code == 0, done.output
    return done.stdout


def test_the_page_carries_the_notes_numbers(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "neuron.html"
    done = runner.invoke(app, ["trace", NEURON, *VALUES, "--format", "html", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert f"wrote an HTML page to {out}" in done.stderr
    page = out.read_text(encoding="utf-8")
    grads = {r["input"]: round(float(r["gradient"]), 2) for r in table(page, "Gradients")}
    assert grads == {"w0": -0.20, "x0": 0.39, "w1": -0.39, "x1": -0.59, "w2": 0.20}
    lines = svg_lines(page)
    assert "f = 0.73" in lines and "s7 = 1.37" in lines  # the +1 gate's 1.37
    assert lines.count("-0.53") == 2  # the gradient into +1 and into exp, on their wires
    backward = table(page, "Backward pass")
    assert backward[0]["gate"] == "1/x" and round(float(backward[0]["local"]), 2) == -0.53


def test_the_page_is_self_contained(runner: CliRunner) -> None:
    page = page_of(runner, "trace", NEURON, *VALUES)
    assert page.startswith("<!DOCTYPE html>")
    # Nothing loads from anywhere: no links, no sources, no urls, no imports (the
    # SVG's namespace is a name, not an address anything fetches).
    names = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for pattern in (r"<link", r"\bsrc=", r"\bhref=", r"url\(", r"@import", r"https?:"):
        assert not re.search(pattern, names, re.I), pattern
    # The browser is told so, and runs only the one script whose hash it carries.
    found = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert found is not None
    policy = unescape(found.group(1))
    assert "default-src 'none'" in policy
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy


def test_without_javascript_everything_is_shown(runner: CliRunner) -> None:
    page = page_of(runner, "trace", NEURON, *VALUES)
    # Only the script hides anything: the page as written has no hidden numbers,
    # and the step buttons (useless without it) start hidden.
    assert "bp-later" not in page.split("<script>")[0].replace(".bp-later", "")
    assert re.search(r'<nav class="bp-stepper" id="bp-stepper" hidden', page)
    assert len(table(page, "Forward pass")) == 8 and len(table(page, "Backward pass")) == 12
    steps = re.findall(r"<li data-at=\"(\d+)\"", page)
    # The step model's (render/steps.py): the inputs, 8 values, the seed, a local and
    # a product for each of the 12 inputs of the 8 gates, the result.
    assert steps == [str(k) for k in range(1 + 8 + 1 + 24 + 1)]


def test_each_number_is_marked_with_the_step_that_reveals_it() -> None:
    t = trace_text("(x + y) * z", {"x": -2, "y": 5, "z": -4}).trace
    marks, why_not = reveal.page_marks(t)
    assert marks is not None and why_not == ""
    # The step model's order: 0 the inputs; 1 s1 = x + y; 2 f = s1 * z; 3 the seed
    # ∂f/∂f; then f's inputs (s1, z) and s1's (x, y), each a local gradient and then
    # its product; 12 the result.
    by_ref = {n.ref: n.index for n in t.graph.nodes}
    f, s1 = by_ref["f"], by_ref["s1"]
    assert marks.value == {s1: 1, f: 2}
    assert marks.local == {(f, 0): 4, (f, 1): 6, (s1, 0): 8, (s1, 1): 10}
    assert marks.product == {(f, 0): 5, (f, 1): 7, (s1, 0): 9, (s1, 1): 11}
    # A value used once has its whole gradient with its one product.
    assert [marks.grad[by_ref[n]] for n in ("f", "s1", "z", "x", "y")] == [3, 5, 7, 9, 11]
    assert marks.last == 12 and len(marks.texts) == 13
    assert marks.texts[1].startswith("s1 = x + y = 3.00 — The add gate computes")
    assert marks.focus[f] == [2, 3, 4, 5, 6, 7]
    page = html.page(t, [])
    grads = re.findall(r'<span class="bp-gradient" data-at="(\d+)"><b>([^<]*)</b>', page)
    assert grads == [("9", "-4"), ("11", "-4"), ("7", "3")]


def test_a_fork_reveals_its_sum_after_the_last_share() -> None:
    t = trace_text("x * x + x", {"x": 3}).trace  # d/dx = 2x + 1 = 7
    marks, _ = reveal.page_marks(t)
    assert marks is not None
    x = t.graph.inputs["x"]
    shares = [
        step for (gate, p), step in marks.product.items() if t.graph.nodes[gate].inputs[p] == x
    ]
    assert len(shares) == 3 and marks.grad[x] > max(shares)
    forks = table(html.page(t, []), "Forks")
    assert forks[0]["value"] == "x" and forks[0]["sum"] == "7"


def test_no_step_through_for_symbols_or_many_gates() -> None:
    symbolic = html.page(trace_text("x * y", {}).trace, [])
    assert "No step-through: the step-through needs a value for every input" in symbolic
    assert 'id="bp-stepper"' not in symbolic and "data-at" not in symbolic
    from backprop_cli.render.steps import MAX_STEP_GATES

    text = "; ".join(["a = x"] + ["a = a * 1.01"] * (MAX_STEP_GATES + 1)) + "; f = a"
    many = html.page(trace_text(text, {"x": 1}).trace, [])
    limit = (
        f"up to {MAX_STEP_GATES} gates (one step per number), and this one has {MAX_STEP_GATES + 1}"
    )
    assert limit in many


def test_graph_writes_the_same_page(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "circuit.html"  # the format from the suffix, as for .svg
    done = runner.invoke(app, ["graph", "(x + y) * z", "x=-2", "y=5", "z=-4", "-o", str(out)])
    assert done.exit_code == 0, done.output
    page = out.read_text(encoding="utf-8")
    grads = {r["input"]: float(r["gradient"]) for r in table(page, "Gradients")}
    assert grads == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert 'id="bp-stepper"' in page


def test_explain_goes_in_the_page(runner: CliRunner) -> None:
    page = page_of(runner, "trace", NEURON, *VALUES, "--explain")
    assert "-1/s7² = -1/1.37² = -0.53" in page  # the notes' sentence for the 1/x gate


def test_a_staged_program_is_shown_as_written(runner: CliRunner) -> None:
    page = page_of(runner, "trace", STAGED, "x=3", "y=-4")
    assert '<pre class="bp-program">sigy = 1/(1+exp(-y))' in page


def test_user_text_is_escaped(runner: CliRunner, tmp_path: Path) -> None:
    problems = tmp_path / "hostile.toml"
    problems.write_text(
        f"""[[problem]]
id = "hostile"
title = "{HOSTILE} & <b>bold</b>"
hint = "{HOSTILE}"
expression = '''
q = x * y  # {HOSTILE}
f = q + x'''
bindings = {{ x = 1, y = 2 }}
""",
        encoding="utf-8",
    )
    page = page_of(runner, "trace", "--problem", "hostile", "--from", str(problems))
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold" in page
    title = re.search(r"<title>(.*)</title>", page)
    assert title is not None and "&lt;script&gt;" in title.group(1)
    assert page.count("<script>") == 1  # ours, at the end
    # The notebook fragment too.
    t = trace_text(f"f = x * 2  # {HOSTILE}", {"x": 1}).trace
    assert "<script>" not in html.fragment(t, [])


def test_out_takes_the_format_from_the_suffix(runner: CliRunner, tmp_path: Path) -> None:
    """-o is the output file in every command; as in graph, .html means the page."""
    done = runner.invoke(app, ["trace", "x*y", "x=1", "y=2", "-o", str(tmp_path / "t.html")])
    assert done.exit_code == 0 and "wrote an HTML page" in done.stderr
    assert (tmp_path / "t.html").read_text().lstrip().lower().startswith("<!doctype html")
    done = runner.invoke(app, ["trace", "x*y", "x=1", "y=2", "-o", str(tmp_path / "t.txt")])
    assert (tmp_path / "t.txt").read_text().startswith("backprop trace  x*y\n")


def test_big_circuits_leave_out_the_picture_and_the_stepper() -> None:
    from backprop_cli.core.language import Limits

    text = "; ".join(["a = x"] + ["a = a + x"] * 400) + "; f = a"
    t = trace_text(text, {"x": 1}, check=False, limits=Limits()).trace
    page = html.page(t, [])
    assert "pictures are drawn up to 300 gates" in page
    assert "No step-through" in page and 'id="bp-stepper"' not in page
    assert "more steps (--json shows them all)" in page


def test_the_html_view_is_lazy() -> None:
    code = (
        "import sys, backprop_cli.notebook, backprop_cli.cli; "
        "print(sorted(m for m in ('IPython', 'nbformat', 'ipykernel') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("values", [{"x": 2.0}, {}])
def test_symbolic_and_numeric_pages_render(values: dict[str, float]) -> None:
    t = trace_text("f = x * exp(x)", values).trace
    page = html.page(t, [])
    assert "</html>" in page and "<svg" in page


def test_the_readme_page_commands_run(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### A page to share", 1)[1].split("\n### ", 1)[0]
    commands = re.findall(r"^backprop (.*)$", section, re.M)
    assert len(commands) == 3
    monkeypatch.chdir(tmp_path)
    for command in commands:
        args = shlex.split(command)
        done = runner.invoke(app, args)
        assert done.exit_code == 0, (command, done.output)
        written = Path(args[-1])
        assert written.suffix == ".html"
        page = written.read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "Gradients" in page


def test_controls_and_bidi_overrides_are_made_visible(runner: CliRunner, tmp_path: Path) -> None:
    problems = tmp_path / "odd.toml"
    problems.write_text(
        '[[problem]]\nid = "odd"\ntitle = "sneaky \\u202egnp.exe\\u001b]0;pwned\\u0007"\n'
        'hint = "bell\\u0007"\nexpression = "x * y"\nbindings = { x = 1, y = 2 }\n',
        encoding="utf-8",
    )
    page = page_of(runner, "trace", "--problem", "odd", "--from", str(problems))
    for raw in ("\u202e", "\x1b", "\x07"):
        assert raw not in page
    assert "\\u202e" in page and "␛" in page and "␇" in page


def test_the_notebook_fragment_has_no_step_through() -> None:
    t = trace_text(NEURON, NEURON_VALUES).trace
    fragment = html.fragment(t, [])
    assert "data-at" not in fragment and "data-focus" not in fragment
    assert "<script" not in fragment and "<h1" not in fragment and "<h2" not in fragment
