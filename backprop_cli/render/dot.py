"""The circuit as a picture: Graphviz DOT and Mermaid, drawn as the notes draw it.

Inputs on the left, the output on the right; each node shows its gate and value,
each wire carries the value flowing forward (green) and the gradient flowing back
along it (red). SVG and PNG come from Graphviz's `dot` program, when installed.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
from dataclasses import dataclass

from backprop_cli.core.engine import Trace
from backprop_cli.core.numbers import fixed
from backprop_cli.core.text import shown
from backprop_cli.errors import InputError

VALUE_COLOR = "darkgreen"
GRADIENT_COLOR = "red"
PICTURE_FORMATS = ("svg", "png")
INSTALL_HINT = (
    "install Graphviz: apt-get install -y graphviz (Debian, Ubuntu), "
    "brew install graphviz (macOS), or see https://graphviz.org/download/ ; "
    "or write --format dot or --format mermaid, which need nothing"
)
# Graphviz's dot is not linear in the circuit: measured on this project's machine
# (BENCHMARKS.md), a sum of 200 products (399 gates) takes 1.4 s and of 400 products
# 9 s; forks make it far worse: `a = a*x + y` 20 times (40 gates) takes 1.8 s, 25
# times 6-9 s, 41 times over 60 s, and 1,501 times drove dot to 14 GB. So: pictures
# of more than MAX_DOT_GATES gates are refused at once; below that dot gets
# DOT_TIMEOUT_SECONDS (the forked shapes that slip under the gate count end there)
# and DOT_MEMORY_BYTES of address space. Either way the message points at the
# terminal tree and at Mermaid, which are linear in the circuit.
MAX_DOT_GATES = 200
DOT_TIMEOUT_SECONDS = 5
DOT_MEMORY_BYTES = 1 << 30  # 1 GiB; dot draws the notes' circuits in about 20 MB
LARGE_PICTURE_HINT = (
    "see it in the terminal with  backprop graph … (the tree), or write  --format mermaid  "
    "or  --format dot  (text, any size)"
)


@dataclass(frozen=True)
class Box:
    """One node of the picture."""

    id: str
    kind: str  # "input", "const", "gate" or "output"
    title: str  # the gate's name, or the input's name
    name: str  # the step's name (empty for inputs and constants)
    value: str
    gradient: str = ""  # inputs: the output's gradient on them, all wires summed


@dataclass(frozen=True)
class Wire:
    """One wire: a value flowing from `source` into `target`, a gradient flowing back."""

    source: str
    target: str
    value: str
    gradient: str


@dataclass(frozen=True)
class Circuit:
    boxes: tuple[Box, ...]
    wires: tuple[Wire, ...]


def circuit(trace: Trace, decimals: int = 2) -> Circuit:
    """The boxes and wires of a trace, numbers written with `decimals` decimals."""
    graph = trace.graph
    boxes: list[Box] = []
    wires: list[Wire] = []
    for node in graph.nodes:
        value = fixed(trace.values[node.index], decimals)
        if node.gate is None:
            gradient = fixed(trace.grads[node.index], decimals) if node.kind == "input" else ""
            boxes.append(Box(f"n{node.index}", node.kind, node.ref, "", value, gradient))
            continue
        boxes.append(Box(f"n{node.index}", "gate", node.gate.name, node.ref, value))
        for position, j in enumerate(node.inputs):
            wires.append(
                Wire(
                    f"n{j}",
                    f"n{node.index}",
                    fixed(trace.values[j], decimals),
                    fixed(trace.products[node.index][position], decimals),
                )
            )
    # The output's own wire carries its value and the gradient 1 that starts it all.
    out = trace.output
    boxes.append(Box("out", "output", out.ref, "", fixed(trace.value, decimals)))
    wires.append(
        Wire(
            f"n{out.index}",
            "out",
            fixed(trace.values[out.index], decimals),
            fixed(trace.grads[out.index], decimals),
        )
    )
    return Circuit(tuple(boxes), tuple(wires))


# --------------------------------------------------------------------------- DOT


def _h(text: str) -> str:
    # A matrix is written one row a line: keep its lines in the picture.
    return html.escape(shown(text, lines=True), quote=True).replace("\n", "<br/>")


def to_dot(trace: Trace, decimals: int = 2) -> str:
    """Graphviz DOT text, with HTML-like labels for the two colours."""
    drawn = circuit(trace, decimals)
    lines = [
        "digraph backprop {",
        "  rankdir=LR;",
        '  graph [fontname="Helvetica", nodesep=0.4, ranksep=0.9, ordering=in];',
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.7];',
    ]
    for box in drawn.boxes:
        value = f'<font color="{VALUE_COLOR}">{_h(box.value)}</font>'
        if box.kind == "gate":
            label = f"<b>{_h(box.title)}</b><br/>{_h(box.name)} = {value}"
            attrs = "shape=ellipse"
        elif box.kind == "output":
            label = f"<b>{_h(box.title)}</b>"
            attrs = "shape=plaintext"
        else:
            # A symbolic input's value is its own name: say it once.
            label = f"<b>{_h(box.title)}</b>" + (f" = {value}" if box.value != box.title else "")
            if box.gradient:  # what the input finally receives, forks added up
                label += f'<br/><font color="{GRADIENT_COLOR}">∂ {_h(box.gradient)}</font>'
            attrs = "shape=box, style=rounded" if box.kind == "input" else "shape=plaintext"
        lines.append(f"  {box.id} [label=<{label}>, {attrs}];")
    for wire in drawn.wires:
        label = (
            f'<font color="{VALUE_COLOR}">{_h(wire.value)}</font><br/>'
            f'<font color="{GRADIENT_COLOR}">{_h(wire.gradient)}</font>'
        )
        lines.append(f"  {wire.source} -> {wire.target} [label=<{label}>];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- Mermaid


def _m(text: str) -> str:
    """Text safe inside a quoted Mermaid label."""
    escaped = html.escape(shown(text, lines=True), quote=True)
    return escaped.replace("|", "&#124;").replace("\n", "<br/>")


def to_mermaid(trace: Trace, decimals: int = 2) -> str:
    """A Mermaid flowchart: paste it into a ```mermaid block on GitHub."""
    drawn = circuit(trace, decimals)
    lines = ["flowchart LR"]
    for box in drawn.boxes:
        if box.kind == "gate":
            lines.append(
                f'  {box.id}(("<b>{_m(box.title)}</b><br/>{_m(box.name)} = {_m(box.value)}"))'
            )
        elif box.kind == "output":
            lines.append(f'  {box.id}["<b>{_m(box.title)}</b>"]')
        else:
            gradient = f"<br/>∂ {_m(box.gradient)}" if box.gradient else ""
            value = f" = {_m(box.value)}" if box.value != box.title else ""
            lines.append(f'  {box.id}["<b>{_m(box.title)}</b>{value}{gradient}"]')
    for wire in drawn.wires:
        label = f"{_m(wire.value)}<br/>∂ {_m(wire.gradient)}"
        lines.append(f'  {wire.source} -- "{label}" --> {wire.target}')
    lines.append(f"  classDef input fill:#eef6ee,stroke:{VALUE_COLOR}")
    lines.append(f"  classDef output fill:#fdeeee,stroke:{GRADIENT_COLOR}")
    inputs = [box.id for box in drawn.boxes if box.kind == "input"]
    if inputs:
        lines.append(f"  class {','.join(inputs)} input")
    lines.append("  class out output")
    # Every wire's label carries the gradient: colour the wires' text red.
    lines.append(f"  linkStyle default color:{GRADIENT_COLOR}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- Graphviz


def graphviz_available() -> bool:
    return shutil.which("dot") is not None


def refuse_large_picture(trace: Trace, fmt: str) -> None:
    """InputError for a circuit too large for dot to lay out in a few seconds."""
    gates = len(trace.graph.gate_nodes)
    if gates > MAX_DOT_GATES:
        raise InputError(
            f"the circuit has {gates:,} gates, more than Graphviz's dot lays out in a few "
            f"seconds (the limit for --format {fmt} is {MAX_DOT_GATES}); {LARGE_PICTURE_HINT}"
        )


def _limit_memory() -> None:  # pragma: no cover - runs in the child, before exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (DOT_MEMORY_BYTES, DOT_MEMORY_BYTES))


def render_picture(dot_text: str, fmt: str) -> bytes:
    """SVG or PNG bytes from DOT text, through Graphviz's `dot` program."""
    if fmt not in PICTURE_FORMATS:
        raise ValueError(fmt)
    program = shutil.which("dot")
    if program is None:
        raise InputError(
            f"--format {fmt} needs Graphviz's dot program, which is not installed: {INSTALL_HINT}"
        )
    try:
        done = subprocess.run(
            [program, f"-T{fmt}"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT_SECONDS,
            check=False,
            preexec_fn=_limit_memory if os.name == "posix" else None,
        )
    except subprocess.TimeoutExpired:
        raise InputError(
            f"Graphviz's dot took more than {DOT_TIMEOUT_SECONDS} s to lay out this circuit "
            f"(forks used by many gates are the hard part); {LARGE_PICTURE_HINT}"
        ) from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(
            f"Graphviz's dot could not draw the circuit ({detail[0] if detail else 'no message'}); "
            "write --format dot to see the text it was given"
        )
    return done.stdout
