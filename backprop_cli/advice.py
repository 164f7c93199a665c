"""Warnings a learner should notice in a numeric trace: the notes' cautions, checked.

- a saturated sigmoid or tanh: its local gradient is tiny, so the gradient vanishes;
- a dead relu: its input is ≤ 0, so nothing flows back through it;
- an exploding gradient: a chain-rule product grows past a large size;
- a scaled input: multiply an input by n and the gradient on the weight it meets
  grows n times (the notes: lower the learning rate by n to compensate).

Pure logic over a Trace (no Rich): the table renderer and the JSON show the result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from backprop_cli import gates as g
from backprop_cli.engine import Trace
from backprop_cli.graph import Graph, Node

Kind = Literal["saturated", "dead-relu", "exploding", "scaled-input"]

SATURATED_BELOW = 1e-3  # a local gradient this small makes the gradient vanish
EXPLODES_ABOVE = 1e3  # a chain-rule product this large makes a learning step overshoot
SCALED_FROM = 100.0  # an input this large (or scaled this much) scales its weight's gradient


@dataclass(frozen=True)
class Advice:
    kind: Kind
    step: str | None  # the step the advice is about
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _n(value: float) -> str:
    """Numbers in advice: 1000, 2.5, 0.000123, 4.85e+08."""
    if 1 <= abs(value) < 1e6:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def _saturation(trace: Trace) -> list[Advice]:
    from backprop_cli.fuse import find

    found: list[Advice] = []
    for node in trace.graph.gate_nodes:
        if isinstance(node.gate, g.Sigmoid | g.Tanh):
            local = float(trace.locals[node.index][0])
            z = float(trace.values[node.inputs[0]])
            formula = "σ(1−σ)" if isinstance(node.gate, g.Sigmoid) else "1−tanh²"
            if abs(local) < SATURATED_BELOW:
                found.append(
                    Advice(
                        "saturated",
                        node.ref,
                        f"{node.gate.name} at step {node.ref} is saturated: its input is {_n(z)}, "
                        f"so its local gradient {formula} is {_n(local)} (below "
                        f"{SATURATED_BELOW:g}) and the gradient vanishes behind it",
                    )
                )
    # The notes' neuron writes its sigmoid out as *-1, exp, +1, 1/x: check those too.
    for match in find(trace.graph, "sigmoid"):
        sigma = float(trace.values[match.top])
        local = sigma * (1 - sigma)
        if abs(local) < SATURATED_BELOW:
            top = trace.graph.nodes[match.top]
            z = float(trace.values[match.operand])
            found.append(
                Advice(
                    "saturated",
                    top.ref,
                    f"the sigmoid 1/(1+exp(-z)) ending at step {top.ref} is saturated: z is "
                    f"{_n(z)}, so its local gradient σ(1−σ) is {_n(local)} (below "
                    f"{SATURATED_BELOW:g}) and the gradient vanishes behind it",
                )
            )
    return found


def _dead_relus(trace: Trace) -> list[Advice]:
    found = []
    for node in trace.graph.gate_nodes:
        if isinstance(node.gate, g.Relu):
            x = float(trace.values[node.inputs[0]])
            if x <= 0:
                found.append(
                    Advice(
                        "dead-relu",
                        node.ref,
                        f"relu at step {node.ref} is dead: its input is {_n(x)} ≤ 0, so no "
                        "gradient flows back through it to anything before it",
                    )
                )
    return found


def _explosions(trace: Trace) -> list[Advice]:
    """Where a product first grows past the limit (not every step after it)."""
    found = []
    for node in reversed(trace.graph.gate_nodes):
        upstream = float(trace.grads[node.index])
        if abs(upstream) > EXPLODES_ABOVE:
            continue  # already reported where it started
        for position, product in enumerate(trace.products[node.index]):
            if abs(float(product)) > EXPLODES_ABOVE:
                local = float(trace.locals[node.index][position])
                found.append(
                    Advice(
                        "exploding",
                        node.ref,
                        f"the gradient explodes at step {node.ref} ({node.gate.name}): upstream "  # type: ignore[union-attr]
                        f"{_n(upstream)} × local {_n(local)} = {_n(float(product))}; a learning "
                        "step this large overshoots, so scale the inputs down or clip",
                    )
                )
                break
    return found


def _scale_of(graph: Graph, node: Node) -> tuple[float, str] | None:
    """If `node` is an input multiplied (or divided) by a constant, the factor and name."""
    if node.gate is None or len(node.inputs) != 1:
        return None
    source = graph.nodes[node.inputs[0]]
    if source.kind != "input":
        return None
    if isinstance(node.gate, g.MulConst):
        return node.gate.c, source.ref
    if isinstance(node.gate, g.DivConst):
        return 1 / node.gate.c, source.ref
    return None


def _scaled_inputs(trace: Trace) -> list[Advice]:
    graph = trace.graph
    found = []
    for node in graph.gate_nodes:
        if not isinstance(node.gate, g.Mul):
            continue
        for position, j in enumerate(node.inputs):
            other = graph.nodes[node.inputs[1 - position]]
            if other.kind != "input" or j == other.index:
                continue
            feeder = graph.nodes[j]
            scaled = _scale_of(graph, feeder)
            if scaled is not None and abs(scaled[0]) >= SCALED_FROM:
                factor, name = scaled
                found.append(
                    Advice(
                        "scaled-input",
                        node.ref,
                        f"{name} is scaled by {_n(factor)} (step {feeder.ref}) before it meets "
                        f"{other.ref} at step {node.ref}: the gradient on {other.ref} is "
                        f"{_n(abs(factor))} times larger too; lower the learning rate by as "
                        "much, or scale the data back",
                    )
                )
            elif feeder.kind == "input" and abs(float(trace.values[j])) >= SCALED_FROM:
                found.append(
                    Advice(
                        "scaled-input",
                        node.ref,
                        f"{feeder.ref} = {_n(float(trace.values[j]))} multiplies {other.ref} at "
                        f"step {node.ref}: the gradient on {other.ref} is scaled by that size "
                        "too; normalise the data or lower the learning rate",
                    )
                )
    return found


def advise(trace: Trace) -> list[Advice]:
    """Every warning for a numeric trace, in a stable order; none for a symbolic one."""
    if trace.mode != "numeric":
        return []
    return [
        *_saturation(trace),
        *_dead_relus(trace),
        *_explosions(trace),
        *_scaled_inputs(trace),
    ]
