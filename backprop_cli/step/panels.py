"""What the stepper shows, as Rich renderables: no Textual here, so each panel is
tested by rendering it at a fixed width and comparing the text.

Every panel takes the step model and where the learner is (`at`: the index of the
last step shown, -1 before the first) and masks what is not revealed yet. The
number being predicted shows as `?`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from backprop_cli.core.numbers import fixed, shape_text, show
from backprop_cli.core.text import shown
from backprop_cli.quiz.questions import Question
from backprop_cli.render.steps import Known, Step, StepModel, hint
from backprop_cli.render.tree import tree_rows

CURRENT = "bold on grey27"  # the current gate's row, and the trace row being filled
ASKED = "bold yellow"
ROW_MARK = "▶"  # beside the current row too, for terminals without colour
ASK_MARK = "?"  # where the number being predicted goes
DIGITS = 4  # significant digits in the trace table, as `backprop trace` shows them
# A vector's entries in one cell, cut to this many characters: the table fits 80 columns.
CELL_WIDTH = 22


def _cell(value: Any, text: str) -> str:
    if hasattr(value, "ndim") and value.ndim > 0:
        flat = text.replace("\n", "")
        return flat if len(flat) <= CELL_WIDTH else flat[: CELL_WIDTH - 1] + "…"
    return text


class Where:
    """What the panels need to know about the learner's place."""

    def __init__(self, model: StepModel, at: int, asking: Step | None = None) -> None:
        self.model = model
        self.at = at
        self.step = model.steps[at] if at >= 0 else None
        self.known: Known = model.known(at)
        self.asking = asking  # the step whose number is being predicted, if any

    def is_asked(self, reveal: str, node: int, position: int | None = None) -> bool:
        a = self.asking
        if a is None or a.node != node:
            return False
        if reveal == "grad":  # the output's seed or a fork's sum sits in the grad cells
            return a.reveal in ("seed", "sum")
        if reveal == "value":
            return a.reveal == "value"
        return a.reveal == reveal and a.position == position


def circuit_view(where: Where) -> RenderableType:
    """The tree of render/tree.py, wires filling in: values (green), then gradients (red)."""
    model, known, step = where.model, where.known, where.step
    trace = model.trace
    graph = trace.graph
    out = trace.output.ref
    forks = graph.forks()
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("wire from", no_wrap=True)
    table.add_column("gate", style="cyan", no_wrap=True)
    table.add_column("value", justify="right", style="green", no_wrap=True)
    table.add_column(f"∂{out}", justify="right", style="red", no_wrap=True)
    table.add_column("", style="dim", no_wrap=True)
    for row in tree_rows(trace, model.decimals):
        node = graph.nodes[row.node]
        name = Text(row.guide, style="dim")
        if node.gate is not None:
            name.append(node.ref, style="bold")
            name.append(f" = {node.gate.computes([graph.nodes[j].ref for j in node.inputs])}")
            gate = node.gate.name
        else:
            name.append(node.ref, style="bold" if node.kind == "input" else "")
            gate = "input" if node.kind == "input" else "constant"
        value_shown = row.node in known.values
        value: str | Text = _cell(trace.values[row.node], row.value) if value_shown else ""
        if where.is_asked("value", row.node):
            value = Text(ASK_MARK, style=ASKED)
        if row.consumer is None:
            grad_shown = row.node in known.grads
            asked = where.is_asked("grad", row.node)
        else:
            assert row.position is not None
            grad_shown = (row.consumer, row.position) in known.products
            asked = where.is_asked("product", row.consumer, row.position)
        gradient: str | Text = _cell(trace.grads[row.node], row.gradient) if grad_shown else ""
        if asked:
            gradient = Text(ASK_MARK, style=ASKED)
        note = ""
        if row.node in forks:
            note = f"fork: used {forks[row.node]}×"
            if row.node in known.grads:
                note += f", adds up to {fixed(trace.grads[row.node], model.decimals)}"
            elif where.is_asked("grad", row.node):
                note += f", adds up to {ASK_MARK}"
        elif node.gate is not None and row.note:
            note = row.note  # "drawn above"
        style = _circuit_style(step, row.node, row.consumer, row.position)
        mark = ROW_MARK if style else ""
        table.add_row(mark, name, gate, value, gradient, note, style=style)
    return table


def _circuit_style(
    step: Step | None, node: int, consumer: int | None, position: int | None
) -> str | None:
    """The current gate's row; in the backward pass, the wire the gradient goes along."""
    if step is None or step.node is None:
        return None
    if step.reveal in ("value", "seed", "sum"):
        return CURRENT if node == step.node else None
    if step.reveal in ("local", "product"):
        return CURRENT if consumer == step.node and position == step.position else None
    return None


def table_view(where: Where) -> RenderableType:
    """The trace table, filling in row by row; the row the step fills is marked."""
    model, known = where.model, where.known
    trace = model.trace
    nodes = trace.graph.nodes
    vectors = trace.kind == "arrays"
    row = model.row_of(where.at) if where.at >= 0 else None
    target = where.asking
    forward = Table(title="Forward pass", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    for title, justify in (("", "left"), ("step", "left"), ("gate", "left"), ("computes", "left")):
        forward.add_column(title, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    if vectors:
        forward.add_column("shape", no_wrap=True)
    forward.add_column("value", justify="right", style="green", no_wrap=True)
    for node in trace.graph.gate_nodes:
        assert node.gate is not None
        here = row == ("forward", node.index, None)
        value: str | Text = ""
        if node.index in known.values:
            value = _cell(trace.values[node.index], show(trace.values[node.index], DIGITS))
        if target is not None and target.reveal == "value" and target.node == node.index:
            value = Text(ASK_MARK, style=ASKED)
        cells: list[str | Text] = [
            ROW_MARK if here else "",
            node.ref,
            node.gate.name,
            node.gate.computes([nodes[j].ref for j in node.inputs]),
        ]
        if vectors:
            cells.append(shape_text(trace.values[node.index]))
        forward.add_row(*cells, value, style=CURRENT if here else None)

    backward = Table(
        title="Backward pass (upstream × local = product)",
        box=box.SIMPLE_HEAD,
        title_justify="left",
        pad_edge=False,
    )
    for title in ("", "step", "gate"):
        backward.add_column(title, no_wrap=True)
    backward.add_column("upstream", justify="right", style="red", no_wrap=True)
    backward.add_column("input", no_wrap=True)
    if vectors:
        backward.add_column("shape", no_wrap=True)
    else:
        backward.add_column("local gradient", no_wrap=True)
        backward.add_column("local", justify="right", no_wrap=True)
    backward.add_column("product", justify="right", style="red", no_wrap=True)
    for node in reversed(trace.graph.gate_nodes):
        assert node.gate is not None
        refs = [nodes[j].ref for j in node.inputs]
        formulas = node.gate.formulas(refs, node.ref)
        for position, j in enumerate(node.inputs):
            if nodes[j].kind == "const":
                continue
            first = position == 0 or all(nodes[i].kind == "const" for i in node.inputs[:position])
            here = row == ("backward", node.index, position)
            upstream: str | Text = ""
            if first and node.index in known.grads:
                upstream = _cell(trace.grads[node.index], show(trace.grads[node.index], DIGITS))
            if first and where.is_asked("grad", node.index):
                upstream = Text(ASK_MARK, style=ASKED)
            cells = [
                ROW_MARK if here else "",
                node.ref if first else "",
                node.gate.name if first else "",
                upstream,
                refs[position],
            ]
            if vectors:
                cells.append(shape_text(trace.values[j]))
            else:
                local: str | Text = ""
                if (node.index, position) in known.locals:
                    local = show(trace.locals[node.index][position], DIGITS)
                if _asked(target, "local", node.index, position):
                    local = Text(ASK_MARK, style=ASKED)
                cells += [formulas[position], local]
            product: str | Text = ""
            if (node.index, position) in known.products:
                amount = trace.products[node.index][position]
                product = _cell(amount, show(amount, DIGITS))
            if _asked(target, "product", node.index, position):
                product = Text(ASK_MARK, style=ASKED)
            cells.append(product)
            backward.add_row(*cells, style=CURRENT if here else None)
    parts: list[RenderableType] = [forward, backward]
    sums = _fork_sums(where)
    if sums is not None:
        parts.append(sums)
    return Group(*parts)


def _asked(target: Step | None, reveal: str, node: int, position: int) -> bool:
    return (
        target is not None
        and target.reveal == reveal
        and target.node == node
        and target.position == position
    )


def _fork_sums(where: Where) -> Table | None:
    """Forks: what each use sends back, and the sum, once the learner has reached it."""
    model, known = where.model, where.known
    trace = model.trace
    forks = trace.graph.forks()
    if not forks:
        return None
    nodes = trace.graph.nodes
    table = Table(
        title="Forks: the gradients add up",
        box=box.SIMPLE_HEAD,
        title_justify="left",
        pad_edge=False,
    )
    table.add_column("", no_wrap=True)
    table.add_column("value", no_wrap=True)
    table.add_column("receives", no_wrap=True)
    table.add_column("sum", justify="right", style="red", no_wrap=True)
    step = where.step
    for index in forks:
        here = step is not None and step.reveal == "sum" and step.node == index
        parts = [
            f"{show(c.amount, DIGITS)} from {nodes[c.consumer].ref}"
            if (c.consumer, c.position) in known.products
            else f"… from {nodes[c.consumer].ref}"
            for c in trace.contributions[index]
        ]
        total: str | Text = ""
        if index in known.grads:
            total = _cell(trace.grads[index], show(trace.grads[index], DIGITS))
        if where.asking is not None and where.is_asked("grad", index):
            total = Text(ASK_MARK, style=ASKED)
        table.add_row(
            ROW_MARK if here else "",
            nodes[index].ref,
            " + ".join(parts),
            total,
            style=CURRENT if here else None,
        )
    return table


def explanation_view(
    where: Where,
    question: Question | None = None,
    feedback: Sequence[Text] = (),
    *,
    width: int | None = None,
    lines: int | None = None,
    predict: bool = False,
) -> RenderableType:
    """The current step in the notes' words, its warnings, the feedback on the last
    prediction and, in predict mode, the question being asked.

    Given the panel's `width` and `lines`, the step's sentence is cut short ("…") when
    all of it would not fit: the warnings, the feedback and the question always show.
    At 80×24 the max gate's last step (a 5-line sentence) with its tie warning (2
    lines) pushed the question being asked out of the panel.
    """
    head = Text()
    step = where.step
    if step is None:
        head.append("Press → (or space) to start: ", style="bold")
        head.append("the forward pass first, gate by gate, then the backward pass. ")
        if predict:  # `--predict`: the mode is on already (p turns it off)
            head.append("Predict mode is on: type each number before it is shown; p turns it off.")
        else:
            head.append("Press p to predict each number before it is shown.")
        warnings = where.model.warnings
    else:
        head.append(f"{step.title}: ", style="bold cyan")
        head.append(step.explanation)
        warnings = step.warnings
    said = [Text.assemble(("warning: ", "bold yellow"), shown(w)) for w in warnings]
    last: list[Text] = list(feedback)
    if question is not None:
        asked = Text.assemble(("Predict ", "bold yellow"), (question.asked, "bold"))
        if question.shape is not None:
            asked.append(" (a shape such as (2, 3))")
        asked.append(f"   {question.context}", style="dim")
        last.append(asked)
    if width is not None and lines is not None:
        # The feedback and the question always show; the warnings get what is left
        # after a line of the step's sentence. Nine warnings (four saturated tanh and a
        # staged sigmoid at -373) are 30 lines at 80 columns: those that do not fit are
        # counted on one line that says where to read them all.
        room = lines - 1 - sum(_height(t, width) for t in last)
        said = _fit_warnings(said, width, room)
        rest = [*said, *last]
        head = _cut(head, width, lines - sum(_height(t, width) for t in rest))
    else:
        rest = [*said, *last]
    text = head
    for part in rest:
        text.append("\n")
        text.append_text(part)
    return text


def _fit_warnings(said: list[Text], width: int, room: int) -> list[Text]:
    """The warnings that fit in `room` lines, in order; the rest counted on a last line
    (the first one cut short with … if even it does not fit)."""
    kept: list[Text] = []
    used = 0
    for number, warning in enumerate(said):
        left = len(said) - number - 1
        height = _height(warning, width)
        if used + height + (1 if left else 0) <= room:
            kept.append(warning)
            used += height
            continue
        if not kept and room >= 2:  # the first warning, cut short: better than none
            kept.append(_cut(warning, width, room - 1))
        more = len(said) - len(kept)
        kept.append(
            Text(
                f"+ {more} more warning{'s' if more != 1 else ''}: "
                "`backprop trace` with the same input prints them all",
                style="yellow",
            )
        )
        break
    return kept


def _height(text: Text, width: int) -> int:
    from rich.console import Console

    return len(text.wrap(Console(width=width, legacy_windows=False), width))


def _cut(text: Text, width: int, lines: int) -> Text:
    """`text` in at most `lines` lines of `width` (at least one), the last ending in …."""
    from rich.console import Console

    wrapped = text.wrap(Console(width=width, legacy_windows=False), width)
    keep = max(1, lines)
    if len(wrapped) <= keep:
        return text
    shown_lines = list(wrapped)[:keep]
    last = shown_lines[-1]
    last.rstrip()
    last.truncate(width - 1)
    last.append("…")
    out = Text()
    for number, line in enumerate(shown_lines):
        if number:
            out.append("\n")
        out.append_text(line)
    return out


def hint_text(question: Question, problem_hint: str = "", count: int = 1) -> Text:
    """First the problem's hint (if it has one), then the rule without its last number."""
    said = problem_hint if count == 1 and problem_hint else hint(question)
    return Text.assemble(("hint: ", "bold blue"), said)


# The key hints in the order shown, and the order they are dropped in when they do not
# all fit (the quit key is never dropped). At 80 columns a backward step (" step 12 of
# 24 " " backward ", 25 columns) left 55 for the 56 of every hint, and a `--predict`
# start screen (" predict " too) cut "q quit" off.
KEYS = ("→ next", "← back", "Home/End", "p predict", "? hint")
DROPPED_FIRST = ("Home/End", "← back", "p predict", "? hint")
ASKING_KEYS = ("Enter check", "? hint", "Esc reveal")


def status_view(model: StepModel, at: int, predict: bool, asking: bool, width: int = 80) -> Text:
    """step k of n, forward or backward, and the keys that work now: as many as fit
    in `width` columns (dropped in the order of `DROPPED_FIRST`), then the quit key."""
    n = len(model)
    step = model.steps[at] if at >= 0 else None
    phase = "start" if step is None else step.phase
    text = Text()
    text.append(f" step {at + 1} of {n} ", style="bold reverse")
    text.append(f" {phase} ", style="bold")
    text.append(" predict " if predict else "", style="bold black on yellow")
    keys = [*ASKING_KEYS, "^Q quit"] if asking else [*KEYS, "q quit"]
    dropping = list(DROPPED_FIRST)
    while len(text) + 1 + len(" · ".join(keys)) > width and dropping:
        gone = dropping.pop(0)
        if gone in keys:
            keys.remove(gone)
    text.append(" " + " · ".join(keys))
    return text


def prerender(renderable: RenderableType, width: int) -> tuple[Text, int | None]:
    """The panel drawn once at `width`: its lines as Text, and the first line with the
    number being asked (`?`), else the marked row (`▶`), for the app to scroll to.

    Drawing a Rich table costs about a millisecond a row; drawing it here once, not
    once to show and again to find the row, halves each key press.
    """
    from rich.console import Console

    console = Console(width=width, color_system="truecolor", legacy_windows=False)
    lines = console.render_lines(renderable, console.options, pad=False)
    text = Text(no_wrap=True, overflow="crop", end="")
    plain: list[str] = []
    for number, line in enumerate(lines):
        if number:
            text.append("\n")
        for segment in line:
            if not segment.control:
                text.append(segment.text, segment.style)
        plain.append("".join(segment.text for segment in line))
    for mark in (ASK_MARK, ROW_MARK):
        for number, words in enumerate(plain):
            if mark in words:
                return text, number
    return text, None
