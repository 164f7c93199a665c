"""When each number of a trace is revealed, stepping through it as the stepper does.

`Marks` is what a step-through view needs from the step model (render/steps.py,
the one `backprop step` walks: the inputs, each gate forward, the output's seed,
then per gate from the output back its local gradients and the products it sends,
a fork's sum when all its shares are in, the result): for each number on the page,
the step at which it first shows; for each value, the steps at which it is the one
at work; and one line saying what each step does. The HTML page (render/html.py,
render/svg.py) writes them as `data-at`/`data-focus` numbers, and its script only
compares them with the current step.

Pure data about a trace, no markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backprop_cli.core.engine import Trace
from backprop_cli.errors import InputError
from backprop_cli.render.steps import MAX_STEP_GATES, StepModel, build_steps

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

    def slot_focus(self, slot: Slot) -> list[int]:
        """The steps at which one input of a gate is worked on (its local, its product)."""
        return sorted({self.local[slot], self.product[slot]})


def from_steps(model: StepModel) -> Marks:
    """The marks of a step model: where each number first shows, who works when."""
    trace = model.trace
    texts: list[str] = []
    value: dict[int, int] = {}
    grad: dict[int, int] = {}
    local: dict[Slot, int] = {}
    product: dict[Slot, int] = {}
    focus: dict[int, list[int]] = {}
    for i, step in enumerate(model.steps):
        # The title as the model writes it: it may start with a name (s1), which keeps
        # its case.
        head = step.title
        if step.value is not None:
            head += f" = {model.number(step.value)}"
        # Warnings as the stepper says them: all at the start, a kink at its gate's steps.
        warnings = model.warnings if step.reveal == "inputs" else step.warnings
        said = " ".join([step.explanation, *(f"Warning: {w}." for w in warnings)])
        texts.append(f"{head} — {said.strip()}" if said.strip() else head)
        if step.node is not None:
            focus.setdefault(step.node, []).append(i)
        known = model.known(i)
        for index in known.values:
            value.setdefault(index, i)
        for index in known.grads:
            grad.setdefault(index, i)
        for slot in known.locals:
            local.setdefault(slot, i)
        for slot in known.products:
            product.setdefault(slot, i)
    # What no step reveals on its own (an array gate's local gradient, the wire from
    # a constant) shows with its gate's first product; a value read by nothing, at
    # the end.
    last = len(model.steps) - 1
    for node in trace.graph.gate_nodes:
        first = min(
            (
                product[(node.index, p)]
                for p in range(len(node.inputs))
                if (node.index, p) in product
            ),
            default=last,
        )
        for position in range(len(node.inputs)):
            product.setdefault((node.index, position), first)
            local.setdefault((node.index, position), product[(node.index, position)])
    for node in trace.graph.nodes:
        grad.setdefault(node.index, last)
    return Marks(texts, {k: v for k, v in value.items() if v > 0}, grad, local, product, focus)


def page_marks(trace: Trace, decimals: int = 2) -> tuple[Marks | None, str]:
    """The marks for a page's step-through, or None and why there is none (a symbolic
    trace, or more gates than the step model walks by hand)."""
    gates = len(trace.graph.gate_nodes)
    if trace.kind == "symbols":
        return None, "the step-through needs a value for every input, and this trace is symbolic"
    if gates > MAX_STEP_GATES:
        return None, (
            f"the step-through is for circuits of up to {MAX_STEP_GATES} gates (one step per "
            f"number), and this one has {gates:,}"
        )
    try:
        model = build_steps(trace, decimals)
    except InputError as exc:
        return None, str(exc)
    return from_steps(model), ""
