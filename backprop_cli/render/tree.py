"""The circuit in the terminal: a tree from the output back to the inputs.

Each row is one wire: the node that feeds it, the value flowing forward along it
(green) and the gradient flowing back along it (red), as the notes' figures label
their wires. A value used more than once (a fork) appears once per use, each with
its own share of the gradient; a sub-circuit already drawn is not drawn again.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from backprop_cli.core.engine import Trace
from backprop_cli.core.numbers import fixed, shape_text
from backprop_cli.render.table import KEEP_ROWS, Blocks, elided


@dataclass(frozen=True)
class Row:
    guide: str  # the tree's drawing characters before the name
    node: int
    value: str
    gradient: str
    note: str
    # The wire this row draws: the gate it feeds and which of its inputs it is (the
    # output's row feeds nothing: None). A step-through reveals wire by wire.
    consumer: int | None = None
    position: int | None = None


# Deeper than this, a row's guide keeps only its last levels behind a "⋮": a chain
# thousands of gates deep would otherwise draw rows thousands of characters wide,
# quadratic in time and memory (9,000 gates took 80 s and 900 MB).
MAX_GUIDE_LEVELS = 24


def _capped(guide: str) -> str:
    width = 4 * MAX_GUIDE_LEVELS
    return guide if len(guide) <= width else "⋮   " + guide[-(width - 4) :]


def tree_rows(trace: Trace, decimals: int = 2) -> list[Row]:
    """The rows of the tree, depth first from the output, without recursion."""
    graph = trace.graph
    forks = graph.forks()
    rows: list[Row] = []
    drawn: set[int] = set()
    out = graph.output
    # Stack entries: node, the gradient on the wire into its consumer, the guide
    # for this row, the guide its children continue, and the wire (consumer, position).
    stack: list[tuple[int, object, str, str, int | None, int | None]] = [
        (out, trace.grads[out], "", "", None, None)
    ]
    while stack:
        index, gradient, guide, below, consumer, wire = stack.pop()
        node = graph.nodes[index]
        notes = []
        if index in forks:
            notes.append(f"fork: used {forks[index]}×, gradients add up to ")
            notes[-1] += fixed(trace.grads[index], decimals)
        expand = node.gate is not None and index not in drawn
        if node.gate is not None and not expand:
            notes.append("drawn above")
        rows.append(
            Row(
                guide,
                index,
                fixed(trace.values[index], decimals),
                fixed(gradient, decimals),
                "; ".join(notes),
                consumer,
                wire,
            )
        )
        if not expand:
            continue
        drawn.add(index)
        children = list(enumerate(node.inputs))
        for position, child in reversed(children):
            last = position == len(children) - 1
            stack.append(
                (
                    child,
                    trace.products[index][position],
                    _capped(below + ("└── " if last else "├── ")),
                    _capped(below + ("    " if last else "│   ")),
                    index,
                    position,
                )
            )
    return rows


def tree_view(trace: Trace, decimals: int = 2) -> Group:
    """The tree as a Rich table, so the numbers line up in columns.

    An array wider than a cell goes under the table, numbered, a matrix a row a line,
    as in the trace's tables: at 80 columns a 4×5 W wrapped each of its rows over two
    lines of its cell (`[[0.50, -1.25, 2.00,` / `3.50, 4.00],`).
    """
    graph = trace.graph
    out = trace.output.ref
    # The title sits above the table, so a narrow table does not wrap it.
    title = Text(f"The circuit, from the output {out} back to the inputs\n", style="italic")
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("wire from", no_wrap=True)
    table.add_column("gate", style="cyan")
    table.add_column("value", justify="right", style="green")
    table.add_column(f"∂{out}", justify="right", style="red")
    table.add_column("", style="dim")
    # A 10,000-gate chain took 10 s to print whole: the first and last wires are
    # drawn, the middle counted (DOT and Mermaid draw every wire, in linear time).
    rows = tree_rows(trace, decimals)
    blocks = Blocks()
    arrays = trace.kind == "arrays"
    for row in elided(rows):
        if row is None:
            table.add_row("⋮", "", "⋮", "⋮", "")
            continue
        node = graph.nodes[row.node]
        name = Text(row.guide, style="dim")
        if node.gate is not None:
            refs = [graph.nodes[j].ref for j in node.inputs]
            name.append(node.ref, style="bold")
            name.append(f" = {node.gate.computes(refs)}")
            gate = node.gate.name
        else:
            name.append(node.ref, style="bold" if node.kind == "input" else "")
            gate = "input" if node.kind == "input" else "constant"
        value, gradient = row.value, row.gradient
        if arrays:
            shape = shape_text(trace.values[row.node])
            value = blocks.array(value, f"{node.ref}, shape {shape}")
            into = graph.nodes[row.consumer].ref if row.consumer is not None else out
            wire = f"∂{out} along {node.ref} → {into}" if row.consumer is not None else f"∂{out}"
            gradient = blocks.array(gradient, f"{wire}, shape {shape}")
        table.add_row(name, gate, value, gradient, row.note)
    drawn = blocks.view(table, gap=True)
    if len(elided(rows)) < len(rows):
        left_out = len(rows) - 2 * KEEP_ROWS
        said = f"⋮ {left_out:,} more wires not drawn here; --format mermaid or dot draws them all"
        return Group(title, drawn, Text(said, style="dim"))
    return Group(title, drawn)
