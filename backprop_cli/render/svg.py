"""The circuit as an SVG picture drawn by our own code: no Graphviz, no scripts.

Notebooks and the HTML page show it inline. It needs nothing installed in the
kernel's machine (Graphviz's `dot` may be missing there) and nothing from the
network; colours are presentation attributes, not CSS, so it looks the same where a
frontend strips `<style>`. Mermaid would need the frontend to render it (JupyterLab
4.1 or later, GitHub), so a picture drawn here shows in more places.

The layout is the notes' figure: inputs on the left, the output on the right, each
gate in the column after its latest input, each gate level with the average of its
inputs. Each wire carries its value (green, above) and the gradient flowing back
along it (red, below). For the HTML page's step-through, every number can carry
the step that reveals it (`data-at`, from render/reveal.py's `Marks`).
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from backprop_cli.core.engine import Trace
from backprop_cli.core.numbers import fixed
from backprop_cli.core.text import shown
from backprop_cli.render.reveal import Marks

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
# Ordering sweeps (down and up) against crossings: the notes' examples settle in 2.
SWEEPS = 3
# Bends for wires that skip columns, at most: a 300-gate chain reading one input at
# every stage needs 22,000 and took 33 s to lay out; 2,900 lay out in 0.09 s.
MAX_BENDS = 3_000
MIN_COLUMN_GAP = 64
# Long symbolic values are cut in the picture (the whole text is the tooltip).
MAX_LABEL_CHARS = 28
MIN_SCALE = 0.75

# Pictures are drawn up to this many gates. At 200-300 gates the SVG is 330-360 kB
# and draws in under 0.1 s (bench/bench_html.py); past that nobody can read it on a
# screen, and a notebook holding a few such outputs becomes slow. The tables still
# show the steps.
MAX_PICTURE_GATES = 300


@dataclass(frozen=True)
class Span:
    text: str
    role: str  # "title", "plain", "value" or "gradient"
    at: int | None = None  # the step that reveals it (None: always shown)


@dataclass
class Box:
    index: int  # node index; -1 the output's end; below that, a long wire's bend
    kind: str  # "input", "const", "gate", "output", or "via" (a long wire passing)
    lines: list[list[Span]]
    tooltip: str = ""
    focus: tuple[int, ...] = ()  # steps at which this box is the one working
    column: int = 0
    x: float = 0.0  # left edge
    y: float = 0.0  # centre
    inputs: tuple[int, ...] = ()
    port_gap: float = 0.0  # vertical distance between two of its inputs' wires

    @property
    def width(self) -> float:
        if not self.lines:
            return 0.0
        chars = max(sum(len(s.text) for s in line) for line in self.lines)
        return chars * CHAR_WIDTH + 2 * PAD_X

    @property
    def height(self) -> float:
        if self.kind == "via":  # room for a wire to pass between boxes
            return float(LINE_HEIGHT)
        text = len(self.lines) * LINE_HEIGHT + 2 * PAD_Y
        return max(text, (len(self.inputs) - 1) * self.port_gap + 2 * PAD_Y + LINE_HEIGHT)

    def port_y(self, port: int) -> float:
        """Where input `port` enters: spread along the left side, far enough apart
        that one wire's gradient (below it) clears the next one's value (above)."""
        return self.y + (port - (len(self.inputs) - 1) / 2) * self.port_gap


@dataclass
class WireLabel:
    source: int
    target: int  # box key; -1 the output's end
    port: int  # which input of the target
    value: Span
    gradient: Span
    chars: int = field(init=False)
    via: list[int] = field(default_factory=list)  # the bends of a wire that skips columns

    def __post_init__(self) -> None:
        self.chars = max(
            max(len(t) for t in self.value.text.split("\n")),
            max(len(t) for t in self.gradient.text.split("\n")),
        )

    @property
    def rows(self) -> int:
        """Lines of text: the value's above the wire plus the gradient's below."""
        return self.value.text.count("\n") + self.gradient.text.count("\n") + 2


def _via_boxes(boxes: dict[int, Box], wires: list[WireLabel]) -> bool:
    """A wire that skips columns passes each one through a box of its own, which the
    layout places like any other, so it goes around the gates in between.

    Within a budget: an input read by every stage of a long chain would need a bend
    in every column for every use (quadratic). Past MAX_BENDS the long wires are
    drawn straight and the function says so by returning False.
    """
    needed = sum(max(0, boxes[w.target].column - boxes[w.source].column - 1) for w in wires)
    if needed > MAX_BENDS:
        return False
    key = min(boxes) - 1
    for wire in wires:
        before = wire.source
        for column in range(boxes[wire.source].column + 1, boxes[wire.target].column):
            boxes[key] = Box(key, "via", [], column=column, inputs=(before,))
            wire.via.append(key)
            before, key = key, key - 1
    return True


def _esc(text: str) -> str:
    """Text for SVG: controls visible (core/text.py), then escaped."""
    return html.escape(shown(text, lines=True), quote=True)


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


def _boxes(
    trace: Trace, marks: Marks | None, decimals: int
) -> tuple[dict[int, Box], list[WireLabel]]:
    graph = trace.graph

    m = marks if marks is not None else Marks([], {}, {}, {}, {})

    def at(table: dict[Any, int], key: Any) -> int | None:  # None: no step-through
        return table.get(key) if marks is not None else None

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
                lines += _value_lines("∂ ", gradient, "gradient", at(m.grad, node.index))
            else:
                lines = [[Span(node.ref, "title")]]
                if value != node.ref:
                    lines = _value_lines(f"{node.ref} = ", value, "value", None)
            focus = tuple(m.focus.get(node.index, ()))  # a forked input's sum
            boxes[node.index] = Box(node.index, node.kind, lines, tooltip=node.ref, focus=focus)
            continue
        lines = [[Span(node.gate.name, "title")]]
        lines += _value_lines(f"{node.ref} = ", value, "value", at(m.value, node.index))
        boxes[node.index] = Box(
            node.index,
            "gate",
            lines,
            tooltip=f"{node.ref} = {value}",
            focus=tuple(m.focus.get(node.index, ())),
            inputs=node.inputs,
        )
        for position, j in enumerate(node.inputs):
            wires.append(
                WireLabel(
                    j,
                    node.index,
                    position,
                    Span(
                        fixed(trace.values[j], decimals),
                        "value",
                        at(m.value, j),
                    ),
                    Span(
                        fixed(trace.products[node.index][position], decimals),
                        "gradient",
                        at(m.product, (node.index, position)),
                    ),
                )
            )
    out = trace.output
    boxes[-1] = Box(-1, "output", [[Span(out.ref, "title")]], tooltip=out.ref, inputs=(out.index,))
    wires.append(
        WireLabel(
            out.index,
            -1,
            0,
            Span(
                fixed(trace.values[out.index], decimals),
                "value",
                at(m.value, out.index),
            ),
            Span(
                fixed(trace.grads[out.index], decimals),
                "gradient",
                at(m.grad, out.index),
            ),
        )
    )
    return boxes, wires


def _layout(boxes: dict[int, Box], wires: list[WireLabel]) -> list[list[Box]]:
    """Columns, an order within each, and heights.

    Columns: inputs and constants first (as the notes draw them); each gate as late
    as its consumers allow, so a value computed early for a late use (w[2] in the
    notes' neuron) does not drag a long wire across the picture. A wire that still
    skips columns gets a bend in each (`_via_boxes`). Order: a few sweeps sorting
    each column by the average place of its inputs, then of its consumers (fewer
    crossings). Heights: each box level with the average of its inputs, pushed apart
    where boxes would touch.
    """
    consumers: dict[int, list[int]] = {}
    for wire in wires:
        consumers.setdefault(wire.source, []).append(wire.target)
    order = sorted(boxes, key=lambda k: (k < 0, k))  # nodes come in topological order
    for key in order:
        box = boxes[key]
        box.column = 1 + max((boxes[j].column for j in box.inputs), default=-1)
    for key in reversed(order):
        box = boxes[key]
        if box.inputs and consumers.get(key):
            box.column = min(boxes[c].column for c in consumers[key]) - 1
    _via_boxes(boxes, wires)
    for wire in wires:  # consumers again, through the bends
        chain = [wire.source, *wire.via, wire.target]
        for before, after in itertools.pairwise(chain):
            if after in wire.via or before in wire.via:
                consumers.setdefault(before, []).append(after)
        if wire.via:
            consumers[wire.source].remove(wire.target)
    columns: list[list[Box]] = [[] for _ in range(max(b.column for b in boxes.values()) + 1)]
    for key in sorted(boxes, key=lambda k: (k == -1, -k if k < -1 else k)):
        columns[boxes[key].column].append(boxes[key])

    where: dict[int, float] = {}  # each box's place in its column, from 0 to 1

    def place(column: list[Box]) -> None:
        for i, b in enumerate(column):
            where[b.index] = (i + 0.5) / len(column)

    def mean(keys: Sequence[int], default: float) -> float:
        return sum(where[k] for k in keys) / len(keys) if keys else default

    for column in columns:
        place(column)
    for _ in range(SWEEPS):
        for column in columns[1:]:
            column.sort(key=lambda b: mean(b.inputs, where[b.index]))
            place(column)
        for column in reversed(columns[:-1]):
            column.sort(key=lambda b: mean(consumers.get(b.index, []), where[b.index]))
            place(column)
    y = 0.0
    for box in columns[0]:
        box.y = y + box.height / 2
        y += box.height + ROW_GAP
    for column in columns[1:]:
        previous: Box | None = None
        shift = 0.0
        for box in column:
            ideal = sum(boxes[j].y for j in box.inputs) / max(1, len(box.inputs))
            lowest = (
                previous.y + (previous.height + box.height) / 2 + ROW_GAP if previous else ideal
            )
            box.y = max(ideal, lowest)
            shift += box.y - ideal
            previous = box
        # Pushed down to make room: move the column back up by half of that.
        for box in column:
            box.y -= shift / (2 * len(column))
    return columns


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
        parts.append(f"<tspan{attrs}>{_esc(span.text)}</tspan>")
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
    # Digits reach about 9 px above their baseline: 4 px of air each side of the wire.
    first = y - 4 - (len(rows) - 1) * LINE_HEIGHT if above else y + 13
    out = [
        f'<text x="{x:.1f}" y="{first + i * LINE_HEIGHT:.1f}" text-anchor="middle" '
        f'fill="{color}" stroke="white" stroke-width="4" paint-order="stroke"{at}>'
        f"{_esc(row)}</text>"
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


def to_svg(trace: Trace, decimals: int = 2, title: str = "", marks: Marks | None = None) -> str:
    """The circuit as one `<svg>` element (no XML declaration: it goes inline in HTML).

    With `marks` (render/reveal.py) every number carries the step that reveals it
    (`data-at`) and every gate the steps at which it works (`data-focus`).
    """
    boxes, wires = _boxes(trace, marks, decimals)
    for wire in wires:
        target = boxes[wire.target]
        target.port_gap = max(target.port_gap, wire.rows * LINE_HEIGHT + 8)
    columns = _layout(boxes, wires)
    # Each gap between columns fits the widest wire label that sits in it.
    gaps = [float(MIN_COLUMN_GAP)] * len(columns)
    for wire in wires:
        where = boxes[wire.target].column
        gaps[where] = max(gaps[where], wire.chars * CHAR_WIDTH + 24)
    x = float(MARGIN)
    spans: list[tuple[float, float]] = []  # each column's left and right edge
    for c, column in enumerate(columns):
        if c:
            x += gaps[c]
        width = max(b.width for b in column)
        for box in column:
            box.x = x + (width - box.width) / 2
        spans.append((x, x + width))
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
        f"<title>{_esc(title or 'The circuit, inputs on the left')}</title>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
    ]
    # Wires first, so boxes sit on top of their ends.
    for wire in wires:
        source, target = boxes[wire.source], boxes[wire.target]
        points = [(source.x + source.width, source.y)]
        for key in wire.via:  # across each column it skips, level, between the boxes
            left, right = spans[boxes[key].column]
            points += [(left, boxes[key].y), (right, boxes[key].y)]
        x2, y2 = target.x, target.port_y(wire.port)
        # Each wire ends in a level run across most of the gap before its target,
        # carrying its labels: value above, gradient below, clear of its neighbours.
        bend = max(points[-1][0] + 4, x2 - 0.8 * gaps[target.column])
        points += [(bend, y2), (x2 - 6, y2)]
        path = " L".join(f"{px:.1f} {py:.1f}" for px, py in points)
        parts.append(
            f'<path d="M{path}" stroke="#57606a" stroke-width="1.3" fill="none" '
            'stroke-linejoin="round"/>'
            f'<path d="M{x2:.1f} {y2:.1f} l-8 -4 l0 8 z" fill="#57606a"/>'
        )
        lx = (bend + x2) / 2
        parts.append(_label(lx, y2, wire.value, above=True))
        parts.append(_label(lx, y2, wire.gradient, above=False))
    for box in boxes.values():
        if box.kind == "via":
            continue
        fill, stroke, radius = STYLES[box.kind]
        rx = box.height / 2 if radius is None else radius
        focus = f' data-focus="{" ".join(map(str, box.focus))}"' if box.focus else ""
        parts.append(
            f'<g class="bp-node"{focus}><title>{_esc(box.tooltip)}</title>'
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
