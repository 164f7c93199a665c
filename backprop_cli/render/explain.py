"""The backward pass in sentences, one per step, as the lecture notes tell it.

"The 1/x gate receives upstream 1.00; its local gradient is -1/x² = -1/1.37² = -0.53,
so it passes -0.53 to its input." Each sentence is built from the gate's own local
gradient formula (`Gate.formulas`), once with names and once with the cached
forward values substituted, so the words can never drift from the rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text

from backprop_cli.core.engine import Trace, kink_at
from backprop_cli.core.graph import Node
from backprop_cli.core.numbers import agreeing_decimals, fixed, show
from backprop_cli.render.table import KEEP_ROWS, elided


@dataclass(frozen=True)
class Sentence:
    step: str  # the step (or value) the sentence is about
    text: str
    kind: str  # "start", "gate", "pattern", "fork" or "result"


def words(items: Sequence[str]) -> str:
    """a, b and c."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _named(node: Node) -> bool:
    """An input, a constant or a stage the user named (not a bare step id like s3)."""
    return node.gate is None or node.ref == node.label


def _same_number(text: str, value: Any) -> bool:
    try:
        return float(text) == float(value)
    except (TypeError, ValueError):
        return False


class _Explainer:
    def __init__(self, trace: Trace, decimals: int) -> None:
        self.trace = trace
        self.nodes = trace.graph.nodes
        self.numeric = trace.kind != "symbols"
        self.decimals = decimals

    def num(self, value: Any, decimals: int | None = None) -> str:
        # A matrix prints one row a line; in a sentence it stays on one line.
        if not self.numeric:
            return show(value).replace("\n", "")
        text = fixed(value, self.decimals)
        if decimals is not None and decimals > self.decimals:
            more = fixed(value, decimals)
            if not _same_number(text, float(more)):  # -2.00 stays -2.00, 0.20 is 0.1966
                text = more
        return text.replace("\n", "")

    def places(self, node: Node) -> int:
        """Decimals at which this gate's sentence checks on screen: upstream × local =
        what it passes, each rounded as shown (0.20 × -3.00 = -0.59 does not; at four
        decimals, 0.1966 × -3 = -0.5898 does)."""
        if self.trace.kind != "numbers" or node.gate is None:
            return self.decimals
        if not node.gate.plain_chain:
            return self.decimals
        upstream = float(self.trace.grads[node.index])
        products = [
            ([upstream, float(local)], float(product))
            for local, product in zip(
                self.trace.locals[node.index], self.trace.products[node.index], strict=True
            )
        ]
        return agreeing_decimals(products, [], self.decimals)

    def local_chain(self, node: Node, position: int, names: list[str], decimals: int) -> str:
        """formula = formula with the cached values = number, without repeats."""
        assert node.gate is not None
        formula = node.gate.formulas(names, node.ref)[position]
        local = self.trace.locals[node.index][position]
        # Symbols, or a matrix gate whose rule is not "upstream × local" entry by entry
        # (dq @ xᵀ): the formula is the explanation, numbers would not substitute.
        if not self.numeric or not node.gate.plain_chain:
            return formula
        # Plain number texts: the gates wrap operands in parentheses where needed.
        cached = [self.num(self.trace.values[j], decimals) for j in node.inputs]
        out = self.num(self.trace.values[node.index], decimals)
        substituted = node.gate.formulas(cached, out)
        parts = [formula]
        if substituted[position] != formula:
            parts.append(substituted[position])
        shown = self.num(local, decimals)
        if parts[-1] != shown and not _same_number(parts[-1], local):
            parts.append(shown)
        return " = ".join(parts)

    def gate_sentence(self, node: Node) -> str:
        assert node.gate is not None
        inputs = [self.nodes[j] for j in node.inputs]
        d = self.places(node)
        upstream = self.num(self.trace.grads[node.index], d)
        products = [self.num(p, d) for p in self.trace.products[node.index]]
        start = f"The {node.gate.name} gate receives upstream {upstream}"
        names = [n.ref for n in inputs]  # the wire names of the table, never a generic x
        if len(inputs) == 1:
            local = self.local_chain(node, 0, names, d)
            return (
                f"{start}; its local gradient is {local}, so it passes {products[0]} to its "
                f"input {names[0]}."
            )
        locals_ = [
            f"{self.local_chain(node, i, names, d)} for {n.ref}" for i, n in enumerate(inputs)
        ]
        passes = [f"{p} to {n.ref}" for p, n in zip(products, inputs, strict=True)]
        return f"{start}; its local gradients are {words(locals_)}, so it passes {words(passes)}."

    def fork_sentence(self, index: int) -> str:
        node = self.nodes[index]
        contributions = self.trace.contributions[index]
        d = self.decimals
        if self.trace.kind == "numbers":  # the sum checks on screen, as the products do
            parts_ = [float(c.amount) for c in contributions]
            d = agreeing_decimals([], [(parts_, float(self.trace.grads[index]))], d)
        parts = [
            f"{self.num(c.amount, d)} from {self.nodes[c.consumer].ref}" for c in contributions
        ]
        total = self.num(self.trace.grads[index], d)
        return f"{node.ref} receives {words(parts)}: they add up to {total}."

    def gradient_text(self, name: str, value: Any) -> str:
        """∂f/∂x = value; in symbols the staged form (in the stage names, as the backward
        pass built it) and then the expanded form in the inputs, where they differ."""
        out = self.trace.output.ref
        if self.numeric:
            return f"∂{out}/∂{name} = {self.num(value)}"
        staged = show(self.trace.grads[self.trace.graph.inputs[name]])
        expanded = show(value)
        if staged == expanded:
            return f"∂{out}/∂{name} = {expanded}"
        return f"∂{out}/∂{name} = {staged} = {expanded}"

    def sentences(self) -> list[Sentence]:
        trace, graph = self.trace, self.trace.graph
        out = trace.output
        forks = graph.forks()
        result = [
            Sentence(
                out.ref,
                f"The backward pass starts at the output {out.ref} = {self.num(trace.value)} "
                f"with the gradient ∂{out.ref}/∂{out.ref} = {self.num(trace.grads[out.index])}.",
                "start",
            )
        ]
        said_patterns: set[str] = set()
        for node in reversed(graph.gate_nodes):
            assert node.gate is not None
            if node.index in forks:
                result.append(Sentence(node.ref, self.fork_sentence(node.index), "fork"))
            result.append(Sentence(node.ref, self.gate_sentence(node), "gate"))
            # The notes' pattern words (add distributes, mul switches, max routes),
            # the first time each is seen.
            pattern = node.gate.pattern_at(kink_at(self.trace, node))
            if pattern and pattern not in said_patterns:
                said_patterns.add(pattern)
                result.append(Sentence("", pattern[0].upper() + pattern[1:] + ".", "pattern"))
        for index in graph.inputs.values():
            if index in forks:
                result.append(Sentence(self.nodes[index].ref, self.fork_sentence(index), "fork"))
        gradients = [self.gradient_text(name, value) for name, value in trace.gradients.items()]
        result.append(Sentence(out.ref, f"So {words(gradients)}.", "result"))
        if trace.kind == "arrays":
            result.append(Sentence("", self.shape_rule(), "shape"))
        return result

    def shape_rule(self) -> str:
        """Vectors and matrices: the shape rule, and why no Jacobian is ever built."""
        from backprop_cli.core.numbers import shape_text

        trace = self.trace
        shapes = [
            f"∂{trace.output.ref}/∂{name} is {shape_text(trace.values[i])} like {name}"
            for name, i in trace.graph.inputs.items()
        ]
        vector_gates = list(
            dict.fromkeys(
                n.gate.name for n in trace.graph.gate_nodes if n.gate and not n.gate.elementwise
            )
        )
        own = f", and {words(vector_gates)} apply their own rule" if vector_gates else ""
        return (
            f"A gradient has its variable's shape: {words(shapes)}. No Jacobian is built: "
            "an elementwise gate's Jacobian is diagonal, so its backward rule is an entry-by-"
            f"entry product{own}, each giving a result of its input's shape."
        )


def explain(trace: Trace, decimals: int = 2) -> list[Sentence]:
    """The sentences, in backward order: start, one per gate (forks first, a pattern
    after the first gate of its kind), result."""
    return _Explainer(trace, decimals).sentences()


STYLES = {
    "start": "bold",
    "gate": "",
    "pattern": "dim italic",
    "fork": "magenta",
    "result": "bold",
    "shape": "italic",
}


def explain_view(trace: Trace, decimals: int = 2) -> Table:
    """The sentences beside their step names; long sentences wrap in their column."""
    table = Table.grid(padding=(0, 2))
    table.title = "The backward pass, step by step"
    table.title_justify = "left"
    table.title_style = "bold"
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    # A 10,000-gate chain took 7 s to print its 20,000 lines: the first and last
    # sentences are shown, the middle is counted (the Markdown export has them all).
    sentences = explain(trace, decimals)
    for sentence in elided(sentences):
        if sentence is None:
            left_out = len(sentences) - 2 * KEEP_ROWS
            table.add_row("⋮", f"{left_out:,} more sentences (--format markdown writes them all)")
            continue
        table.add_row(sentence.step, Text(sentence.text, style=STYLES[sentence.kind]))
    return table
