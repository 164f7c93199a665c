"""A trace as Rich tables: forward pass, backward pass, gradients, forks and checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from backprop_cli.checks import Check
from backprop_cli.core.advice import advise
from backprop_cli.core.engine import Trace
from backprop_cli.core.graph import Node
from backprop_cli.core.numbers import shape_text, show, symbolic_text
from backprop_cli.core.text import shown

T = TypeVar("T")

CHECK_TITLES = {"sympy": "sympy", "numeric": "finite differences"}
CHECK_MARKS = {
    "agree": ("✓", "green"),
    "disagree": ("✗", "bold red"),
    "not-differentiable": ("~", "yellow"),
    "skipped": ("-", "dim"),
}


def operand_refs(trace: Trace, node: Node) -> list[str]:
    return [trace.graph.nodes[j].ref for j in node.inputs]


def step_name(node: Node) -> str:
    """The name a step goes by; a reassigned stage name is shown beside its step id."""
    if node.label and node.label != node.ref:
        return f"{node.ref} ({node.label})"
    return node.ref


# Big circuits: a table shows the first and last rows and says how many it left out
# (Rich takes about 3 ms a row; --json has every row).
KEEP_ROWS = 60


def elided(items: Sequence[T]) -> list[T | None]:
    """The first and last KEEP_ROWS items, with None where the middle is left out."""
    if len(items) <= 2 * KEEP_ROWS + 10:
        return list(items)
    return [*items[:KEEP_ROWS], None, *items[-KEEP_ROWS:]]


def elision_row(table: Table, items: Sequence[object], what: str) -> None:
    left_out = len(items) - 2 * KEEP_ROWS
    table.add_row("⋮", f"{left_out:,} more {what} (--json shows them all)")


# A symbolic value is shown in terms of the inputs when it is this short, and in
# terms of the earlier stages (s1, s2, …) when it is longer.
SHORT_SYMBOLIC = 40


def forward_value(trace: Trace, node: Node) -> object:
    full = trace.full if trace.kind == "symbols" else None  # each node in the inputs
    if full is not None and len(symbolic_text(full[node.index])) <= SHORT_SYMBOLIC:
        return full[node.index]
    return trace.values[node.index]


# An array whose one-line text is longer than this is shown under its table as a block
# (a matrix one row a line) and its cell points there: a [3, 3] gradient in a cell
# wrapped one number per line at 80 columns.
INLINE_ARRAY = 20
BACKWARD_INLINE_ARRAY = 12  # six columns beside it: [0.44, 0.52] fits, [-0.112, 0.636] not


# A symbolic gradient longer than this goes under its table, numbered: at 80 columns
# the neuron's ∂f/∂w0 (62 characters) wrapped in its cell, leaving `w2)))²` on a line
# of its own; the input and staged columns leave the gradient about 50.
INLINE_FORMULA = SHORT_SYMBOLIC


# A formula is broken after one of these, never before it, so a continued line shows
# that it goes on (`… + exp(-(w0·x0 +` / `w1·x1 + w2)))²`), as a hand-written formula.
OPERATORS = frozenset({"+", "-", "·", "*", "/", "=", "×"})


class Formula:
    """A formula as text, wrapped at the width only after a binary operator (the
    spaces `symbolic_text` puts around + and -); a part longer than a line folds."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        words: list[str] = []
        for token in self.text.split(" "):
            if token in OPERATORS and words:
                words[-1] += " " + token  # the operator stays on the line it ends
            else:
                words.append(token)
        lines: list[str] = []
        for word in words:
            if lines and len(lines[-1]) + 1 + len(word) <= options.max_width:
                lines[-1] += " " + word
            else:
                lines.append(word)
        yield Text("\n".join(lines), overflow="fold")


class Blocks:
    """Arrays and formulas too wide for a cell, numbered, to print under the table."""

    def __init__(self, inline: int = INLINE_ARRAY) -> None:
        self.inline = inline
        self.items: list[tuple[str, str]] = []
        self.formulas: set[int] = set()  # the items that wrap as text, not array rows

    def formula(self, text: str, label: str) -> str:
        """A formula in its cell, or under the table when longer than INLINE_FORMULA."""
        if len(text) <= INLINE_FORMULA:
            return text
        self.formulas.add(len(self.items))
        self.items.append((label, text))
        return f"({len(self.items)})"

    def cell(self, value: object, digits: int, label: str) -> str:
        text = show(value, digits)
        if getattr(value, "ndim", 0) == 0:
            return text
        return self.array(text, label)

    def array(self, text: str, label: str) -> str:
        """An array already written (a matrix a row a line): in its cell, or under."""
        line = text.replace("\n", "")
        if len(line) <= self.inline:
            return line
        self.items.append((label, text))
        return f"({len(self.items)})"

    def view(self, table: Table, *, gap: bool = False) -> RenderableType:
        """The table, then its blocks: `(1) dW from q, shape (2, 2):` and the rows
        (after a blank line when `gap`: a table drawn without its bottom edge)."""
        if not self.items:
            return table
        from rich.padding import Padding

        parts: list[RenderableType] = [table, *([Text("")] if gap else [])]
        text = Text()
        for number, (label, value) in enumerate(self.items, start=1):
            text.append(f"  ({number}) ", style="bold")
            text.append(f"{label}\n")
            if number - 1 in self.formulas:  # wraps after an operator, each line indented
                text.rstrip()
                parts += [text, Padding(Formula(value), (0, 0, 0, 6))]
                text = Text()
                continue
            for row in value.splitlines():  # numpy's layout: rows after the first indented
                text.append(f"      {row}\n")
        text.rstrip()
        if text.plain:
            parts.append(text)
        return Group(*parts, Text(""))


def forward_table(trace: Trace, digits: int) -> RenderableType:
    table = Table(title="Forward pass", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("step", style="bold")
    table.add_column("gate", style="cyan")
    table.add_column("computes")
    arrays = trace.kind == "arrays"
    if arrays:
        table.add_column("shape")
    table.add_column("value", justify="right", style="green", no_wrap=arrays)
    blocks = Blocks()
    steps = trace.graph.gate_nodes
    for node in elided(steps):
        if node is None:
            elision_row(table, steps, "steps")
            continue
        assert node.gate is not None
        row = [step_name(node), node.gate.name, node.gate.computes(operand_refs(trace, node))]
        if arrays:
            shape = shape_text(trace.values[node.index])
            row.append(shape)
        value = forward_value(trace, node)
        table.add_row(*row, blocks.cell(value, digits, f"{node.ref}, shape {shape_text(value)}"))
    return blocks.view(table)


def backward_table(trace: Trace, digits: int) -> RenderableType:
    steps = trace.graph.gate_nodes[::-1]
    rules = any(
        n.gate is not None
        and (n.gate.matrix_product or any(v is None for v in trace.locals[n.index]))
        for n in steps
    )
    title = "Backward pass (output to inputs: upstream × local = product"
    title += ", or a matrix rule)" if rules else ")"
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    table.add_column("step", style="bold")
    table.add_column("gate", style="cyan")
    arrays = trace.kind == "arrays"
    # Arrays: the numbers never wrap (a wide one goes under the table), and the local
    # gradient is its formula alone: 8 columns of arrays do not fit in 80.
    table.add_column("upstream", justify="right", style="red", no_wrap=arrays)
    table.add_column("input")
    if arrays:  # a gradient has its input's shape
        table.add_column("shape")
    table.add_column("local gradient")
    if not arrays:
        table.add_column("local", justify="right")
    table.add_column("product", justify="right", style="red", no_wrap=arrays)
    blocks = Blocks(inline=BACKWARD_INLINE_ARRAY)
    for node in elided(steps):
        if node is None:
            elision_row(table, steps, "steps")
            continue
        assert node.gate is not None
        gate = node.gate
        refs = operand_refs(trace, node)
        formulas = gate.formulas(refs, node.ref)
        upstream = trace.grads[node.index]
        for position, ref in enumerate(refs):
            first = position == 0
            shape = [shape_text(trace.values[node.inputs[position]])] if arrays else []
            product = trace.products[node.index][position]
            if not gate.matrix_product and trace.locals[node.index][position] is not None:
                formula = formulas[position]
                local = "" if arrays else show(trace.locals[node.index][position], digits)
            else:  # not a product: the rule itself, `dW = upstream @ xᵀ`
                formula = f"d{ref} = " + formulas[position].replace(f"d{node.ref}", "upstream")
                local = "—"
            table.add_row(
                step_name(node) if first else "",
                gate.name if first else "",
                blocks.cell(upstream, digits, f"upstream d{node.ref}") if first else "",
                ref,
                *shape,
                formula,
                *([] if arrays else [local]),
                blocks.cell(
                    product, digits, f"d{ref} from {node.ref}, shape {shape_text(product)}"
                ),
            )
    return blocks.view(table)


def gradients_table(trace: Trace, digits: int) -> RenderableType:
    output = trace.output.ref
    table = Table(title=f"Gradients (∂{output}/∂input)", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("input", style="bold")
    arrays = trace.kind == "arrays"
    if arrays:
        table.add_column("shape")
    symbols = trace.kind == "symbols"
    if not symbols:
        table.add_column("value", justify="right", style="green", no_wrap=arrays)
    else:  # as the backward pass built it, in the stage names, then in the inputs
        table.add_column("staged", justify="right")
    table.add_column("gradient", justify="right", style="bold red", no_wrap=arrays)
    blocks = Blocks()
    gradients = list(trace.gradients.items())
    for item in elided(gradients):
        if item is None:
            elision_row(table, gradients, "inputs")
            continue
        name, gradient = item
        row = [name]
        if arrays:
            row.append(shape_text(trace.bindings[name]))
        if not symbols:
            value = trace.bindings[name]
            row.append(blocks.cell(value, digits, f"{name}, shape {shape_text(value)}"))
        else:
            staged = show(trace.grads[trace.graph.inputs[name]], digits)
            same = staged == show(gradient, digits)
            row.append("" if same else blocks.formula(staged, f"∂{output}/∂{name} as staged"))
            row.append(blocks.formula(show(gradient, digits), f"∂{output}/∂{name}"))
            table.add_row(*row)
            continue
        shape = shape_text(gradient)
        row.append(blocks.cell(gradient, digits, f"∂{output}/∂{name}, shape {shape}"))
        table.add_row(*row)
    return blocks.view(table)


def forks_table(trace: Trace, digits: int) -> RenderableType | None:
    """Every value used more than once, with what each use sends back and the sum."""
    forks = trace.graph.forks()
    if not forks:
        return None
    table = Table(
        title="Forks: gradients add up where a value is used more than once",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    table.add_column("value", style="bold")
    table.add_column("receives")
    symbols = trace.kind == "symbols"
    # A symbolic sum stays on one line (a longer one goes under the table): at 80
    # columns `… + 2·x²` kept its `+ y` for a line of its own.
    table.add_column("sum", justify="right", style="red", no_wrap=symbols)
    blocks = Blocks()
    nodes = trace.graph.nodes
    for index in forks:
        parts = [
            f"{show(c.amount, digits)} from {nodes[c.consumer].ref}"
            for c in trace.contributions[index]
        ]
        total = show(trace.grads[index], digits)
        if symbols:
            total = blocks.formula(total, f"sum at {nodes[index].ref}")
        table.add_row(nodes[index].ref, ", ".join(parts), total)
    return blocks.view(table)


def checks_view(checks: Sequence[Check]) -> Text:
    text = Text()
    for check in checks:
        mark, style = CHECK_MARKS[check.status]
        text.append(f"{mark} ", style=style)
        text.append(f"{CHECK_TITLES[check.name]}: ", style="bold")
        text.append(check.message + "\n", style=style if check.failed else "")
    text.rstrip()
    return text


def notes_view(trace: Trace, example: str) -> Text | None:
    """Warnings and the symbolic-mode note, one line each."""
    text = Text()
    advice = [a.message for a in advise(trace)]  # the notes' cautions (advice.py)
    losses = [loss.message for loss in trace.float_losses]  # float64's range (engine.py)
    for warning in (*trace.graph.warnings, *trace.kinks, *losses, *advice):
        text.append("warning: ", style="bold yellow")
        text.append(warning + "\n")
    if trace.shape(trace.graph.output):
        text.append("note: ", style="bold blue")
        text.append(
            f"the output {trace.output.ref} has shape {shape_text(trace.value)}, so its "
            "upstream gradient starts as ones: the gradients are those of the sum of its "
            "entries\n"
        )
    if trace.kind == "symbols":
        text.append("note: ", style="bold blue")
        text.append(
            "some inputs have no value, so this trace is symbolic. "
            f"Add values to get numbers, for example:\n  {example}\n"
        )
    text.rstrip()
    return text if text.plain else None


def value_lines(
    values: Sequence[str], width: int, prefix: str = "at ", indent: int | None = None
) -> list[str]:
    """`at` and the values, laid out for `width` columns: one line when it fits, else a
    line per value that does not, never broken inside a value (a matrix too wide for its
    line goes one row a line, each row under the one above). Lines after the first are
    indented by `indent` (default: the prefix's length).

    At 80 columns `at W = [[0.5, -1.25, 2, 3.5, 4], …, [1, 2, 3, 4,` was cut inside a
    row, `5]], x = …` on the next line. `values` are `name = value` with a matrix's rows
    on lines of their own, as `show` writes them.
    """
    flat = [value.replace("\n", "") for value in values]
    if len(prefix) + len(", ".join(flat)) <= width:
        return [prefix + ", ".join(flat)]
    indent_text = " " * (len(prefix) if indent is None else indent)
    lines: list[str] = []
    start = prefix  # what the current line starts with: `at `, then the indent
    line = ""  # the values on it so far
    for position, (value, one_line) in enumerate(zip(values, flat, strict=True)):
        comma = "," if position < len(values) - 1 else ""
        piece = one_line + comma
        if line and len(start) + len(line) + 1 + len(piece) <= width:
            line += " " + piece
            continue
        if line:
            lines.append(start + line)
            start, line = indent_text, ""
        if len(start) + len(piece) <= width or "\n" not in value:
            line = piece  # a vector wider than the line (7 entries at most) wraps
            continue
        name, _, matrix = value.partition(" = ")
        rows = matrix.split("\n")
        lines.append(f"{start}{name} = {rows[0]}")
        under = " " * (len(start) + len(name) + 3)  # rows after the first start with " ["
        lines.extend(under + row for row in rows[1:-1])
        lines.append(under + rows[-1] + comma)
        start = indent_text
    if line:
        lines.append(start + line)
    return lines


class ValueLines:
    """`value_lines` as a renderable: laid out for the width it is printed at."""

    def __init__(self, values: Sequence[str], prefix: str, indent: int | None = None) -> None:
        self.values, self.prefix, self.indent = list(values), prefix, indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = value_lines(self.values, options.max_width, self.prefix, self.indent)
        yield Text("\n".join(lines))


class Heading:
    """The source, `at` its values and the output's value, laid out when printed (the
    values' lines depend on the width: `value_lines`)."""

    def __init__(self, trace: Trace, digits: int) -> None:
        self.title = Text()
        program = trace.graph.program
        self.title.append("backprop trace  ", style="bold")
        # Only a one-line source is shown as typed: a file that reduces to one statement
        # (comments, `W = np.random.randn(5, 10)`) would wrap its raw lines over the
        # heading.
        if program.is_single_expression and "\n" not in program.source.strip():
            self.title.append(shown(program.source.strip()))
        else:
            count = len(program.statements)
            self.title.append(
                f"a program of {count} statement{'' if count == 1 else 's'}, "
                f"output {program.output}"
            )
        first = list(trace.bindings.items())[:12]
        self.values = [f"{k} = {show(v, digits)}" for k, v in first]
        if len(trace.bindings) > len(first):
            self.values.append(f"… ({len(trace.bindings):,} values in all)")
        self.output = trace.output.ref
        self.value = show(trace.value, digits)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = self.title.copy()
        if self.values:
            text.append("\n" + "\n".join(value_lines(self.values, options.max_width)))
        text.append(f"\n{self.output} = ", style="bold")
        # a matrix's rows under its first, not at the margin
        under = "\n" + " " * len(f"{self.output} = ")
        text.append(self.value.replace("\n", under), style="bold green")
        text.append("\n")
        yield text


def header(trace: Trace, digits: int) -> Heading:
    return Heading(trace, digits)


def trace_view(trace: Trace, checks: Sequence[Check], digits: int, example: str) -> Group:
    parts: list[RenderableType] = [
        header(trace, digits),
        forward_table(trace, digits),
        backward_table(trace, digits),
        gradients_table(trace, digits),
    ]
    forks = forks_table(trace, digits)
    if forks is not None:
        parts.append(forks)
    notes = notes_view(trace, example)
    if notes is not None:
        parts.append(notes)
    if checks:
        parts.append(checks_view(checks))
    return Group(*parts)
