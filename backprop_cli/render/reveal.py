"""When each number of a trace is revealed, stepping through it as the stepper does.

`Marks` is what a step-through view needs from a sequence of steps: for each number
on the page (a gate's value, a gradient, a local gradient, a chain-rule product),
the step at which it first shows; for each gate, the steps at which it is the one at
work; and one line saying what each step does. The HTML page (render/html.py and
render/svg.py) writes these as `data-at`/`data-focus` numbers, and its script only
compares them with the current step.

`gate_by_gate` is the sequence: step 0 shows the inputs; steps 1…n run the forward
pass, one gate each, in the order the trace ran them; steps n+1…2n run the backward
pass from the output back, one gate each (its local gradients and the products it
sends back). A value's own gradient is whole once every gate that reads it has sent
its share (forks add up).

Pure data about a trace, no markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backprop_cli.core.engine import Trace
from backprop_cli.core.numbers import show
from backprop_cli.render.table import forward_value, operand_refs

Slot = tuple[int, int]  # (gate node, input position)


@dataclass(frozen=True)
class Marks:
    texts: list[str]  # what each step does, one line each; step 0 the inputs
    value: dict[int, int]  # node -> step its value shows (absent: from the start)
    grad: dict[int, int]  # node -> step its whole gradient (∂out/∂node) shows
    local: dict[Slot, int]  # the step a local gradient shows
    product: dict[Slot, int]  # the step a chain-rule product (upstream × local) shows
    focus: dict[int, list[int]] = field(default_factory=dict)  # node -> steps at work

    @property
    def last(self) -> int:
        return len(self.texts) - 1

    def value_at(self, node: int) -> int:
        return self.value.get(node, 0)


def gate_by_gate(trace: Trace, digits: int = 4) -> Marks:
    graph = trace.graph
    gates = graph.gate_nodes
    n = len(gates)

    def one(value: object) -> str:
        return show(value, digits).replace("\n", " ")

    inputs = ", ".join(f"{name} = {one(value)}" for name, value in trace.bindings.items())
    texts = [f"The inputs: {inputs}." if inputs else "The inputs have no values: symbols."]
    value: dict[int, int] = {}
    local: dict[Slot, int] = {}
    product: dict[Slot, int] = {}
    focus: dict[int, list[int]] = {}
    for k, node in enumerate(gates, start=1):
        assert node.gate is not None
        value[node.index] = k
        focus[node.index] = [k]
        refs = operand_refs(trace, node)
        texts.append(
            f"Forward {k}/{n}: {node.ref} = {node.gate.computes(refs)} = "
            f"{one(forward_value(trace, node))}"
        )
    backward: dict[int, int] = {}
    for k, node in enumerate(reversed(gates), start=n + 1):
        assert node.gate is not None
        backward[node.index] = k
        focus[node.index].append(k)
        refs = operand_refs(trace, node)
        formulas = node.gate.formulas(refs, node.ref)
        upstream = one(trace.grads[node.index])
        sends = []
        for i, ref in enumerate(refs):
            local[(node.index, i)] = product[(node.index, i)] = k
            shown_local = one(trace.locals[node.index][i])
            rule = shown_local if formulas[i] == shown_local else f"{formulas[i]} = {shown_local}"
            sends.append(
                f"to {ref}: local {rule}, so {upstream} × {shown_local} = "
                f"{one(trace.products[node.index][i])}"
            )
        texts.append(
            f"Backward {k - n}/{n}: {node.ref} ({node.gate.name}) receives upstream "
            f"{upstream}; {'; '.join(sends)}"
        )
    grad: dict[int, int] = {}
    for node in graph.nodes:
        consumers = graph.consumers[node.index] if graph.consumers else ()
        shares = [backward[c] for c, _ in consumers if c in backward]
        if shares:
            grad[node.index] = max(shares)
        elif node.index in backward:  # the output: its gradient 1 starts the backward pass
            grad[node.index] = backward[node.index]
        else:  # read by nothing (a constant, or an input of an unused stage)
            grad[node.index] = 2 * n
    return Marks(texts, value, grad, local, product, focus)
