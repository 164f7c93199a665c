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

from backprop_cli.core.engine import Trace
from backprop_cli.core.graph import Graph, Node

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


def entries(value: Any) -> list[float]:
    """A value's numbers: one for a scalar, every entry of an array, none for None."""
    if value is None:
        return []
    if hasattr(value, "ravel"):
        return [float(v) for v in value.ravel()]
    return [float(value)]


def _is_array(value: Any) -> bool:
    return hasattr(value, "ndim") and value.ndim > 0


def _saturation_advice(
    step: str, what: str, zs: list[float], locals_: list[float]
) -> Advice | None:
    """Advice when some local gradient σ(1−σ) or 1−tanh² is below the limit."""
    low = [i for i, v in enumerate(locals_) if abs(v) < SATURATED_BELOW]
    if not low:
        return None
    worst = min(low, key=lambda i: abs(locals_[i]))
    where = (
        f"its input is {_n(zs[worst])}"
        if len(zs) == 1
        else f"{len(low)} of its {len(zs)} entries are, the worst at input {_n(zs[worst])}"
    )
    return Advice(
        "saturated",
        step,
        f"{what} is saturated: {where}, so its local gradient is {_n(locals_[worst])} "
        f"(below {SATURATED_BELOW:g}) and the gradient vanishes behind it",
    )


def _saturation(trace: Trace) -> list[Advice]:
    from backprop_cli.core.fuse import find

    found: list[Advice] = []
    for node in trace.graph.gate_nodes:
        if node.gate is not None and node.gate.squashes:
            formula = node.gate.squashes
            advice = _saturation_advice(
                node.ref,
                f"{node.gate.name} at step {node.ref} ({formula})",
                entries(trace.values[node.inputs[0]]),
                entries(trace.locals[node.index][0]),
            )
            if advice:
                found.append(advice)
    # The notes' neuron writes its sigmoid out as *-1, exp, +1, 1/x: check those too.
    for match in find(trace.graph, "sigmoid"):
        top = trace.graph.nodes[match.top]
        sigmas = entries(trace.values[match.top])
        advice = _saturation_advice(
            top.ref,
            f"the sigmoid 1/(1+exp(-z)) ending at step {top.ref} (σ(1−σ))",
            entries(trace.values[match.operand]),
            [s * (1 - s) for s in sigmas],
        )
        if advice:
            found.append(advice)
    return found


def _dead_relus(trace: Trace) -> list[Advice]:
    found = []
    for node in trace.graph.gate_nodes:
        if node.gate is not None and node.gate.stops_below_zero:
            xs = entries(trace.values[node.inputs[0]])
            dead = [x for x in xs if x <= 0]
            if not dead:
                continue
            if len(xs) == 1:
                message = (
                    f"relu at step {node.ref} is dead: its input is {_n(xs[0])} ≤ 0, so no "
                    "gradient flows back through it to anything before it"
                )
            else:
                message = (
                    f"relu at step {node.ref} is dead in {len(dead)} of its {len(xs)} entries "
                    "(inputs ≤ 0): no gradient flows back through those"
                )
            found.append(Advice("dead-relu", node.ref, message))
    return found


def _largest(value: Any) -> float:
    return max((abs(v) for v in entries(value)), default=0.0)


def _explosions(trace: Trace) -> list[Advice]:
    """Where a product first grows past the limit (not every step after it)."""
    found = []
    for node in reversed(trace.graph.gate_nodes):
        assert node.gate is not None
        upstream = trace.grads[node.index]
        if _largest(upstream) > EXPLODES_ABOVE:
            continue  # already reported where it started
        for position, product in enumerate(trace.products[node.index]):
            if _largest(product) <= EXPLODES_ABOVE:
                continue
            local = trace.locals[node.index][position]
            if _is_array(product) or _is_array(upstream) or local is None or _is_array(local):
                how = f"the product's largest entry is {_n(_largest(product))}"
            else:
                how = (
                    f"upstream {_n(float(upstream))} × local {_n(float(local))} = "
                    f"{_n(float(product))}"
                )
            found.append(
                Advice(
                    "exploding",
                    node.ref,
                    f"the gradient explodes at step {node.ref} ({node.gate.name}): {how}; a "
                    "learning step this large overshoots, so scale the inputs down or clip",
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
    if node.gate.scale is None:  # ·c and /c say by how much
        return None
    return node.gate.scale, source.ref


def _scaled_inputs(trace: Trace) -> list[Advice]:
    graph = trace.graph
    found = []
    for node in graph.gate_nodes:
        if node.gate is None or not node.gate.switches:
            continue
        for position, j in enumerate(node.inputs):
            other = graph.nodes[node.inputs[1 - position]]
            if other.kind != "input" or j == other.index:
                continue
            feeder = graph.nodes[j]
            scaled = _scale_of(graph, feeder)
            size = _largest(trace.values[j])
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
            elif feeder.kind == "input" and size >= SCALED_FROM:
                value = trace.values[j]
                said = (
                    f"{feeder.ref} has entries as large as {_n(size)} and"
                    if _is_array(value)
                    else f"{feeder.ref} = {_n(float(value))}"
                )
                found.append(
                    Advice(
                        "scaled-input",
                        node.ref,
                        f"{said} multiplies {other.ref} at step {node.ref}: the gradient on "
                        f"{other.ref} is scaled by that size too; normalise the data or lower "
                        "the learning rate",
                    )
                )
    return found


def advise(trace: Trace) -> list[Advice]:
    """Every warning for a numeric trace, in a stable order; none for a symbolic one."""
    if trace.kind == "symbols":
        return []
    return [
        *_saturation(trace),
        *_dead_relus(trace),
        *_explosions(trace),
        *_scaled_inputs(trace),
    ]
