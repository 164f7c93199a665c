"""The neuron's circuit as DOT, Mermaid, SVG and PNG.

Numbers are the notes' (the 2-input neuron, w = [2, -3, -3], x = [-1, -2]): the
output 0.73, the +1 gate's 1.37, the gradients -0.53 (into +1), -0.20 (into exp),
0.20 (from *-1 back to the sum), 0.39 (on x0) and -0.59 (on x1), at 2 decimals.
"""

from __future__ import annotations

import itertools
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from backprop_cli.errors import InputError
from backprop_cli.pipeline import trace_text
from backprop_cli.render import dot

NEURON = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
NEURON_VALUES = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
NOTES_NUMBERS = ["0.73", "1.37", "-0.53", "-0.20", "0.20", "0.39", "-0.59"]

HAS_DOT = shutil.which("dot") is not None


@pytest.fixture(scope="module")
def neuron():
    return trace_text(NEURON, NEURON_VALUES, check=False).trace


def parse_dot(text: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Nodes (id -> label) and edges (source, target, label) of our DOT output."""
    nodes = dict(re.findall(r"^  (\w+) \[label=<(.*)>, shape=", text, re.M))
    edges = re.findall(r"^  (\w+) -> (\w+) \[label=<(.*)>\];$", text, re.M)
    return nodes, edges


def test_neuron_dot_structure(neuron) -> None:
    text = dot.to_dot(neuron)
    assert text.startswith("digraph backprop {") and text.rstrip().endswith("}")
    assert "rankdir=LR" in text  # inputs on the left, output on the right, as the notes draw
    nodes, edges = parse_dot(text)
    # 5 inputs, 8 gates (mul, mul, add, add, *-1, exp, +1, 1/x) and the output's end.
    assert len(nodes) == 5 + 8 + 1
    gates = [re.search(r"<b>(.*?)</b>", label).group(1) for label in nodes.values()]
    inputs_and_sum = ["w0", "x0", "mul", "w1", "x1", "mul", "add", "w2", "add"]
    assert gates == [*inputs_and_sum, "*-1", "exp", "+1", "1/x", "f"]
    # Every gate's input is one wire; plus the output's own wire.
    assert len(edges) == 2 + 2 + 2 + 2 + 1 + 1 + 1 + 1 + 1
    by_name = {re.search(r"<b>(.*?)</b>", lab).group(1): i for i, lab in nodes.items()}
    chain = [by_name[g] for g in ["*-1", "exp", "+1", "1/x", "f"]]
    for source, target in itertools.pairwise(chain):
        assert any(e[0] == source and e[1] == target for e in edges)


def test_neuron_dot_labels_carry_the_notes_numbers(neuron) -> None:
    text = dot.to_dot(neuron)
    nodes, edges = parse_dot(text)
    wire = {(s, t): re.findall(r'<font color="(\w+)">([^<]*)</font>', lab) for s, t, lab in edges}
    ids = {re.search(r"<b>(.*?)</b>", lab).group(1): i for i, lab in nodes.items()}
    plus, inv, exp_, neg = ids["+1"], ids["1/x"], ids["exp"], ids["*-1"]
    # The wire from +1 into 1/x: value 1.37 (green), gradient -0.53 (red).
    assert wire[(plus, inv)] == [("darkgreen", "1.37"), ("red", "-0.53")]
    # The wire from exp into +1 carries -0.53 back; from *-1 into exp, -0.20.
    assert wire[(exp_, plus)][1] == ("red", "-0.53")
    assert wire[(neg, exp_)][1] == ("red", "-0.20")
    # The output's wire: 0.73 forward, the gradient 1.00 that starts the backward pass.
    assert wire[(inv, "out")] == [("darkgreen", "0.73"), ("red", "1.00")]
    assert wire[("n1", "n2")] == [("darkgreen", "-1.00"), ("red", "0.39")]  # x0
    assert wire[("n4", "n5")] == [("darkgreen", "-2.00"), ("red", "-0.59")]  # x1
    for number in NOTES_NUMBERS:
        assert number in text
    # Inputs also show what they finally receive: x0's 0.39, x1's -0.59 (in red).
    assert nodes["n1"] == '<b>x0</b> = <font color="darkgreen">-1.00</font><br/>' + (
        '<font color="red">∂ 0.39</font>'
    )
    assert '<font color="red">∂ -0.59</font>' in nodes["n4"]
    # Nodes show the gate and its value.
    assert "<b>1/x</b><br/>f = " in nodes[inv] and "0.73" in nodes[inv]


def test_neuron_mermaid(neuron) -> None:
    text = dot.to_mermaid(neuron)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    boxes = [line for line in lines if re.match(r"  n\d+\(\(|  n\d+\[|  out\[", line)]
    wires = [line for line in lines if " --> " in line]
    assert len(boxes) == 14 and len(wires) == 13
    assert '  n11 -- "1.37<br/>∂ -0.53" --> n12' in lines
    assert '  n12 -- "0.73<br/>∂ 1.00" --> out' in lines
    assert '  n12(("<b>1/x</b><br/>f = 0.73"))' in lines
    for number in NOTES_NUMBERS:
        assert number in text
    # Mermaid breaks on a bare double quote inside a label: there is none.
    for line in boxes + wires:
        inner = re.findall(r'"([^"]*)"', line)
        assert inner and all('"' not in part for part in inner)


def test_labels_are_escaped_for_html() -> None:
    # max routes; its constant input 0 is a node of its own, and < would break labels.
    trace = trace_text("max(x, 0) * y", {"x": 2, "y": 3}, check=False).trace
    text = dot.to_dot(trace)
    assert "<b>0</b>" in text  # the constant
    _, edges = parse_dot(text)
    assert len(edges) == 2 + 2 + 1


def test_decimals(neuron) -> None:
    assert "-0.5344" in dot.to_dot(neuron, decimals=4)
    assert "-0.5344" not in dot.to_dot(neuron, decimals=2)


def test_symbolic_circuit_draws_expressions() -> None:
    trace = trace_text("x * y", {}, check=False).trace
    text = dot.to_dot(trace)
    assert "x·y" in text and "digraph" in text
    # A symbolic input is its own value: named once, with its gradient (∂f/∂x = y).
    assert '<b>x</b><br/><font color="red">∂ y</font>' in text


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed (CI installs it)")
def test_svg_renders_with_the_numbers(neuron) -> None:
    svg = dot.render_picture(dot.to_dot(neuron), "svg").decode("utf-8")
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag.endswith("svg")
    texts = [el.text for el in root.iter() if el.tag.endswith("text")]
    for number in NOTES_NUMBERS:
        assert number in texts
    fills = {el.get("fill") for el in root.iter() if el.tag.endswith("text")}
    assert "red" in fills and "darkgreen" in fills


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed (CI installs it)")
def test_png_renders(neuron) -> None:
    png = dot.render_picture(dot.to_dot(neuron), "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(png[16:20], "big")
    assert width > 500  # the whole circuit, not an empty picture


def test_missing_graphviz_says_how_to_install(neuron, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dot.shutil, "which", lambda name: None)
    with pytest.raises(InputError) as info:
        dot.render_picture(dot.to_dot(neuron), "svg")
    message = str(info.value)
    assert "apt-get install -y graphviz" in message and "--format dot" in message
