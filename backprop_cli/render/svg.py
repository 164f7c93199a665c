"""The circuit as an SVG picture drawn by our own code: no Graphviz, no scripts.

Notebooks and the HTML page show it inline. It needs nothing installed in the
kernel's machine (Graphviz's `dot` may be missing there) and nothing from the
network; colours are presentation attributes, not CSS, so it looks the same where a
frontend strips `<style>`. Mermaid would need the frontend to render it (JupyterLab
4.1 or later, GitHub), so a picture drawn here shows in more places.

The layout is the notes' figure: inputs on the left, the output on the right, each
gate in the column after its latest input, each gate level with the average of its
inputs. Each wire carries its value (green, above) and the gradient flowing back
along it (red, below). Every number is marked with the step that reveals it
(`data-at`, render/reveal.py), which the HTML page's step-through uses.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

from backprop_cli.core.engine import Trace
from backprop_cli.core.numbers import fixed
from backprop_cli.render.reveal import Reveal, reveal

VALUE_COLOR = "#1a7f37"  # the terminal's green and red, dark enough on white
GRADIENT_COLOR = "#cf222e"
INK = "#24292f"
FONT = "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace"
FONT_SIZE = 12
# A monospace font's advance is 0.6 em (7.2 px at 12 px); a little more so bold
# titles never touch their box.
CHAR_WIDTH = 7.4
LINE_HEIGHT = 15
PAD_X, PAD_Y = 10, 7
MARGIN = 16
# Vertical room between two boxes in a column: a wire label is two lines (value
# above the wire, gradient below), 2 × 15 px, plus air.
ROW_GAP = 38
MIN_COLUMN_GAP = 64
# Long symbolic values are cut in the picture (the whole text is the tooltip).
MAX_LABEL_CHARS = 28
MIN_SCALE = 0.75

# Pictures are drawn up to this many gates. At 300 gates the SVG is about 250 kB
# and draws in under 0.1 s; past that nobody can read it on a screen, and a
# notebook holding a few such outputs becomes slow. The tables still show the steps.
MAX_PICTURE_GATES = 300


@dataclass(frozen=True)
class Span:
    text: str
    role: str  # "title", "plain", "value" or "gradient"
    at: int | None = None  # the step that reveals it (None: always shown)


@dataclass
class Box:
    index: int  # node index, or -1 for the output's end
    kind: str  # "input", "const", "gate" or "output"
    lines: list[list[Span]]
    tooltip: str = ""
    focus: tuple[int, ...] = ()  # steps at which this box is the one working
    column: int = 0
    x: float = 0.0  # left edge
    y: float = 0.0  # centre
    inputs: tuple[int, ...] = ()

    @property
    def width(self) -> float:
        chars = max(sum(len(s.text) for s in line) for line in self.lines)
        return chars * CHAR_WIDTH + 2 * PAD_X

    @property
    def height(self) -> float:
        return len(self.lines) * LINE_HEIGHT + 2 * PAD_Y


@dataclass
class WireLabel:
    source: int
    target: int  # box key; -1 the output's end
    port: int  # which input of the target
    value: Span
    gradient: Span
    chars: int = field(init=False)

    def __post_init__(self) -> None:
        self.chars = max(
            max(len(t) for t in self.value.text.split("\n")),
            max(len(t) for t in self.gradient.text.split("\n")),
        )


def _cut(text: str) -> str:
    lines = [
        line if len(line) <= MAX_LABEL_CHARS else line[: MAX_LABEL_CHARS - 1] + "…"
        for line in text.split("\n")
    ]
    return "\n".join(lines)


def _value_lines(prefix: str, text: str, role: str, at: int | None) -> list[list[Span]]:
    """`prefix` and a value that may be a matrix (one row a line) as lines of spans."""
    rows = _cut(text).split("\n")
    out = (
        [[Span(prefix, "plain"), Span(rows[0], role, at)]]
        if prefix
        else [[Span(rows[0], role, at)]]
    )
    pad = " " * len(prefix)
    out += [[Span(pad, "plain"), Span(row, role, at)] for row in rows[1:]]
    return out


def _boxes(trace: Trace, steps: Reveal, decimals: int) -> tuple[dict[int, Box], list[WireLabel]]:
    graph = trace.graph
    boxes: dict[int, Box] = {}
    wires: list[WireLabel] = []
    for node in graph.nodes:
        value = fixed(trace.values[node.index], decimals)
        if node.gate is None:
            if node.kind == "input":
                shown = value != node.ref  # a symbolic input's value is its own name
                lines = (
                    _value_lines(f"{node.ref} = ", value, "value", None)
                    if shown
                    else [[Span(node.ref, "title")]]
                )
                if shown:
                    lines[0][0] = Span(node.ref, "title")
                    lines[0].insert(1, Span(" = ", "plain"))
                gradient = fixed(trace.grads[node.index], decimals)
                lines += _value_lines("∂ ", gradient, "gradient", steps.complete[node.index])
            else:
                lines = [[Span(node.ref, "title")]]
                if value != node.ref:
                    lines = _value_lines(f"{node.ref} = ", value, "value", None)
            boxes[node.index] = Box(node.index, node.kind, lines, tooltip=node.ref)
            continue
        forward = steps.forward[node.index]
        lines = [[Span(node.gate.name, "title")]]
        lines += _value_lines(f"{node.ref} = ", value, "value", forward)
        boxes[node.index] = Box(
            node.index,
            "gate",
            lines,
            tooltip=f"{node.ref} = {value}",
            focus=(forward, steps.backward[node.index]),
            inputs=node.inputs,
        )
        for position, j in enumerate(node.inputs):
            wires.append(
                WireLabel(
                    j,
                    node.index,
                    position,
                    Span(fixed(trace.values[j], decimals), "value", steps.value_at(j)),
                    Span(
                        fixed(trace.products[node.index][position], decimals),
                        "gradient",
                        steps.backward[node.index],
                    ),
                )
            )
    out = trace.output
    start = steps.backward.get(out.index, 0)
    boxes[-1] = Box(-1, "output", [[Span(out.ref, "title")]], tooltip=out.ref, inputs=(out.index,))
    wires.append(
        WireLabel(
            out.index,
            -1,
            0,
            Span(fixed(trace.values[out.index], decimals), "value", steps.value_at(out.index)),
            Span(fixed(trace.grads[out.index], decimals), "gradient", start),
        )
    )
    return boxes, wires


def _layout(boxes: dict[int, Box]) -> list[list[Box]]:
    """Columns (longest path from the inputs) and heights (the average of the inputs)."""
    order = sorted(boxes, key=lambda k: (k < 0, k))  # nodes are in topological order
    for key in order:
        box = boxes[key]
        box.column = 1 + max((boxes[j].column for j in box.inputs), default=-1)
    columns: list[list[Box]] = [[] for _ in range(max(b.column for b in boxes.values()) + 1)]
    for key in order:
        columns[boxes[key].column].append(boxes[key])
    # The first column (inputs, constants) stacked in order of first use.
    y = 0.0
    for box in columns[0]:
        box.y = y + box.height / 2
        y += box.height + ROW_GAP
    for column in columns[1:]:
        wanted = sorted(
            column, key=lambda b: sum(boxes[j].y for j in b.inputs) / max(1, len(b.inputs))
        )
        previous: Box | None = None
        shift = 0.0
        for box in wanted:
            ideal = sum(boxes[j].y for j in box.inputs) / max(1, len(box.inputs))
            lowest = (
                previous.y + (previous.height + box.height) / 2 + ROW_GAP if previous else ideal
            )
            box.y = max(ideal, lowest)
            shift += box.y - ideal
            previous = box
        # Pushed down to make room: move the column back up by half of that.
        for box in wanted:
            box.y -= shift / (2 * len(wanted))
        column[:] = wanted
    return columns


def _port_y(box: Box, port: int, ports: int) -> float:
    """Where input `port` of `ports` enters a box: spread along its left side."""
    spread = min(14.0, box.height / (ports + 1))
    return box.y + (port - (ports - 1) / 2) * spread


def _text(x: float, y: float, spans: Sequence[Span], anchor: str = "start") -> str:
    parts = []
    for span in spans:
        attrs = ""
        if span.role == "title":
            attrs = ' font-weight="bold"'
        elif span.role == "value":
            attrs = f' fill="{VALUE_COLOR}"'
        elif span.role == "gradient":
            attrs = f' fill="{GRADIENT_COLOR}"'
        if span.at is not None:
            attrs += f' data-at="{span.at}"'
        parts.append(f"<tspan{attrs}>{html.escape(span.text)}</tspan>")
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" xml:space="preserve">'
        + "".join(parts)
        + "</text>"
    )


def _label(x: float, y: float, span: Span, above: bool) -> str:
    """A wire label: lines stacked away from the wire, with a white halo to stay legible."""
    rows = span.text.split("\n")
    color = VALUE_COLOR if span.role == "value" else GRADIENT_COLOR
    at = f' data-at="{span.at}"' if span.at is not None else ""
    first = y - 5 - (len(rows) - 1) * LINE_HEIGHT if above else y + 4 + FONT_SIZE
    out = [
        f'<text x="{x:.1f}" y="{first + i * LINE_HEIGHT:.1f}" text-anchor="middle" '
        f'fill="{color}" stroke="white" stroke-width="4" paint-order="stroke"{at}>'
        f"{html.escape(row)}</text>"
        for i, row in enumerate(rows)
    ]
    return "".join(out)


STYLES = {
    "input": ('fill="#eef6ee"', f'stroke="{VALUE_COLOR}"', 4),
    "const": ('fill="#f6f8fa"', 'stroke="#8c959f"', 4),
    "gate": ('fill="#fff8e5"', 'stroke="#9a6700"', None),  # None: rounded to a pill
    "output": ('fill="#fdeeee"', f'stroke="{GRADIENT_COLOR}"', 4),
}


def picture_size(trace: Trace) -> int:
    return len(trace.graph.gate_nodes)


def to_svg(trace: Trace, decimals: int = 2, title: str = "") -> str:
    """The circuit as one `<svg>` element (no XML declaration: it goes inline in HTML)."""
    steps = reveal(trace)
    boxes, wires = _boxes(trace, steps, decimals)
    columns = _layout(boxes)
    # Each gap between columns fits the widest wire label that sits in it.
    gaps = [float(MIN_COLUMN_GAP)] * len(columns)
    for wire in wires:
        where = boxes[wire.target].column
        gaps[where] = max(gaps[where], wire.chars * CHAR_WIDTH + 24)
    x = float(MARGIN)
    for c, column in enumerate(columns):
        if c:
            x += gaps[c]
        width = max(b.width for b in column)
        for box in column:
            box.x = x + (width - box.width) / 2
        x += width
    top = min(b.y - b.height / 2 for b in boxes.values())
    for box in boxes.values():
        box.y += MARGIN + LINE_HEIGHT - top  # room for a label above the top wire
    width = x + MARGIN
    height = max(b.y + b.height / 2 for b in boxes.values()) + MARGIN + LINE_HEIGHT

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bp-circuit" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        # Shrinks to fit a narrower page, but never below 3/4 size (12 px text stays 9
        # px): past that the page scrolls sideways instead.
        f'style="max-width:100%;height:auto;min-width:{MIN_SCALE * width:.0f}px" '
        f'font-family="{FONT}" font-size="{FONT_SIZE}" fill="{INK}">',
        f"<title>{html.escape(title or 'The circuit, inputs on the left')}</title>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
    ]
    # Wires first, so boxes sit on top of their ends.
    ports = {key: len(box.inputs) for key, box in boxes.items()}
    for wire in wires:
        source, target = boxes[wire.source], boxes[wire.target]
        x1, y1 = source.x + source.width, source.y
        x2, y2 = target.x, _port_y(target, wire.port, ports[wire.target])
        parts.append(
            f'<path d="M{x1:.1f} {y1:.1f} L{x2 - 7:.1f} {y2:.1f}" stroke="#57606a" '
            f'stroke-width="1.3" fill="none"/>'
            f'<path d="M{x2:.1f} {y2:.1f} l-8 -4 l0 8 z" fill="#57606a" '
            f'transform="rotate({_angle(x1, y1, x2, y2):.1f} {x2:.1f} {y2:.1f})"/>'
        )
        # The label sits halfway across the gap before the target: each gap holds
        # only the labels of the wires that end in the next column.
        lx = x2 - gaps[target.column] / 2
        ly = y1 + (y2 - y1) * (lx - x1) / (x2 - x1) if x2 != x1 else y2
        parts.append(_label(lx, ly, wire.value, above=True))
        parts.append(_label(lx, ly, wire.gradient, above=False))
    for box in boxes.values():
        fill, stroke, radius = STYLES[box.kind]
        rx = box.height / 2 if radius is None else radius
        focus = f' data-focus="{" ".join(map(str, box.focus))}"' if box.focus else ""
        parts.append(
            f'<g class="bp-node"{focus}><title>{html.escape(box.tooltip)}</title>'
            f'<rect x="{box.x:.1f}" y="{box.y - box.height / 2:.1f}" width="{box.width:.1f}" '
            f'height="{box.height:.1f}" rx="{rx:.1f}" {fill} {stroke} stroke-width="1.3"/>'
        )
        first = box.y - box.height / 2 + PAD_Y + FONT_SIZE
        # A matrix's rows line up under each other: such a box is written from the left.
        padded = any(s.role == "plain" and not s.text.strip() for line in box.lines for s in line)
        anchor, x = ("start", box.x + PAD_X) if padded else ("middle", box.x + box.width / 2)
        for i, line in enumerate(box.lines):
            parts.append(_text(x, first + i * LINE_HEIGHT, line, anchor))
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _angle(x1: float, y1: float, x2: float, y2: float) -> float:
    import math

    return math.degrees(math.atan2(y2 - y1, x2 - x1))
