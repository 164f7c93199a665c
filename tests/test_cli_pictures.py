"""The CLI of pictures, explanations, fusion and exports (`trace` options, `graph`)."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from backprop_cli.cli import app
from backprop_cli.render import dot

NEURON = ["1/(1+exp(-(w0*x0+w1*x1+w2)))", "w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"]
HAS_DOT = shutil.which("dot") is not None


def test_trace_graph_and_explain(runner) -> None:
    result = runner.invoke(app, ["trace", *NEURON, "--graph", "--explain"])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "The circuit, from the output f back to the inputs" in out
    assert "The backward pass, step by step" in out
    # The tables come first, then the tree, then the sentences.
    assert out.index("Forward pass") < out.index("The circuit") < out.index("step by step")
    assert "-1/s7² = -1/1.37²" in out


def test_trace_fuse_changes_the_steps_not_the_gradients(runner) -> None:
    plain = json.loads(runner.invoke(app, ["trace", *NEURON, "--json"]).stdout)
    fused = json.loads(runner.invoke(app, ["trace", *NEURON, "--json", "--fuse", "sigmoid"]).stdout)
    assert [s["gate"] for s in fused["steps"]] == ["mul", "mul", "add", "add", "sigmoid"]
    assert len(plain["steps"]) == 8
    assert fused["gradients"] == pytest.approx(plain["gradients"], rel=1e-12)
    assert fused["checks"]["sympy"]["status"] == "agree"


def test_trace_markdown_and_latex(runner) -> None:
    result = runner.invoke(
        app, ["trace", "(x + y) * z", "x=-2", "y=5", "z=-4", "--format", "markdown"]
    )
    assert result.exit_code == 0
    assert result.stdout.startswith("## Backpropagation through `(x + y) * z`")
    result = runner.invoke(
        app, ["trace", *NEURON, "--format", "markdown", "--explain", "--graph", "--fuse", "all"]
    )
    assert "### The backward pass in words" in result.stdout
    assert "```mermaid\nflowchart LR" in result.stdout
    result = runner.invoke(app, ["trace", *NEURON, "--format", "latex", "--explain"])
    assert result.exit_code == 0
    assert "\\begin{align*}" in result.stdout and "\\begin{enumerate}" in result.stdout


def test_export_svg(runner, tmp_path: Path) -> None:
    target = tmp_path / "trace.svg"
    result = runner.invoke(app, ["trace", *NEURON, "--graph", "--export-svg", str(target)])
    assert result.exit_code == 0, result.stderr
    assert f"saved the terminal output to {target}" in result.stderr
    root = ET.fromstring(target.read_text(encoding="utf-8"))
    assert root.tag.endswith("svg")
    svg = target.read_text(encoding="utf-8")
    # Rich writes non-breaking spaces between words; the numbers are all there.
    for number in ["0.7311", "-0.5344", "0.73", "-0.53", "0.39", "-0.59"]:
        assert number in svg


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--json", "--format", "markdown"], "choose one"),
        (["--json", "--explain"], "leave out --json"),
        (["--json", "--graph"], "leave out --json"),
        (["--format", "latex", "--export-svg", "x.svg"], "leave out --format"),
        (["--format", "latex", "--graph"], "backprop graph"),
        (["--fuse", "tanh"], "tanh"),
    ],
)
def test_trace_refuses_mixed_outputs(runner, extra: list[str], message: str) -> None:
    result = runner.invoke(app, ["trace", *NEURON, *extra])
    assert result.exit_code == 2
    assert message in result.stderr


def test_graph_in_the_terminal(runner) -> None:
    result = runner.invoke(app, ["graph", *NEURON])
    assert result.exit_code == 0, result.stderr
    assert "f = 1 / s7" in result.stdout and "Forward pass" not in result.stdout


@pytest.mark.parametrize(
    ("fmt", "start"), [("dot", "digraph backprop {"), ("mermaid", "flowchart LR")]
)
def test_graph_text_formats_to_stdout(runner, fmt: str, start: str) -> None:
    result = runner.invoke(app, ["graph", *NEURON, "--format", fmt])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(start)
    assert "1.37" in result.stdout and "-0.53" in result.stdout


def test_graph_to_files_by_suffix(runner, tmp_path: Path) -> None:
    for name, start in [("c.dot", "digraph"), ("c.mmd", "flowchart"), ("tree.txt", "The circuit")]:
        target = tmp_path / name
        result = runner.invoke(app, ["graph", *NEURON, "-o", str(target)])
        assert result.exit_code == 0, result.stderr
        assert target.read_text(encoding="utf-8").startswith(start), name
        assert result.stdout == ""


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed (CI installs it)")
def test_graph_svg_and_png_files(runner, tmp_path: Path) -> None:
    svg, png = tmp_path / "neuron.svg", tmp_path / "neuron.png"
    assert runner.invoke(app, ["graph", *NEURON, "-o", str(svg)]).exit_code == 0
    root = ET.fromstring(svg.read_text(encoding="utf-8"))
    assert "-0.53" in [el.text for el in root.iter() if el.tag.endswith("text")]
    result = runner.invoke(app, ["graph", *NEURON, "--format", "png", "-o", str(png)])
    assert result.exit_code == 0 and png.read_bytes().startswith(b"\x89PNG")


def test_graph_without_graphviz(runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dot.shutil, "which", lambda name: None)
    result = runner.invoke(app, ["graph", *NEURON, "-o", str(tmp_path / "n.svg")])
    assert result.exit_code == 2
    assert "apt-get install -y graphviz" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "n.svg").exists()


def test_graph_errors(runner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["graph", *NEURON, "--format", "png"])
    assert result.exit_code == 2 and "-o FILE.png" in result.stderr
    result = runner.invoke(app, ["graph", *NEURON, "-o", str(tmp_path / "no" / "such" / "c.dot")])
    assert result.exit_code == 2 and "cannot write" in result.stderr
    result = runner.invoke(app, ["graph", "x +", "x=1"])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
