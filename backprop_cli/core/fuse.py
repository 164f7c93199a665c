"""Graph -> Graph: collapse known sub-circuits into one gate, as the notes do.

The notes stage the sigmoid as four gates (*-1, exp, +1, 1/x) and then point out
that σ(z) is one gate with local gradient σ(z)(1 − σ(z)). `fuse` finds those
sub-circuits in a graph and swaps each for one gate. The gradients on the inputs
stay the same; only the number of steps changes.

A sub-circuit is fused only when nothing outside it reads its inner values and the
user gave them no names: fusing must never hide a value someone uses or named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from backprop_cli.core import gates as g
from backprop_cli.core.graph import Graph, Node, replace_gates

FuseKind = Literal["sigmoid", "all"]
FUSE_KINDS: tuple[str, ...] = ("sigmoid", "all")


@dataclass(frozen=True)
class Match:
    """One recognised sub-circuit: `top` computes its value, `inner` is absorbed."""

    kind: Literal["sigmoid", "square"]
    top: int
    inner: tuple[int, ...]
    operand: int  # the node the fused gate reads

    def gate(self) -> g.Gate:
        return g.Sigmoid() if self.kind == "sigmoid" else g.PowConst(2.0)


def _gate(graph: Graph, index: int, like: g.Gate) -> Node | None:
    """The node at `index` if its gate is the same gate as `like`, else None.

    The gate answers (`Gate.__eq__`: the same kind, with the same constant).
    """
    node = graph.nodes[index]
    return node if node.gate == like else None


def _private(graph: Graph, node: Node, readers: set[int]) -> bool:
    """Unnamed, not the output, and read only by nodes of the sub-circuit."""
    return (
        node.label is None
        and node.index != graph.output
        and {consumer for consumer, _ in graph.consumers[node.index]} <= readers
    )


def _sigmoid_at(graph: Graph, top: Node) -> Match | None:
    # 1/(1+exp(-z)): the 1/x gate reads +1, which reads exp, which reads *-1.
    if _gate(graph, top.index, g.ConstDiv(1.0)):
        plus = _gate(graph, top.inputs[0], g.AddConst(1.0))
        if plus and _private(graph, plus, {top.index}):
            exp = _gate(graph, plus.inputs[0], g.Exp())
            if exp and _private(graph, exp, {plus.index}):
                neg = _gate(graph, exp.inputs[0], g.MulConst(-1.0))
                if neg and _private(graph, neg, {exp.index}):
                    absorbed = (neg.index, exp.index, plus.index)
                    return Match("sigmoid", top.index, absorbed, neg.inputs[0])
    # exp(z)/(1+exp(z)): a div gate whose two sides are exp of the same z (one exp
    # gate read twice, or two exp gates of the same value, as typed text gives).
    if _gate(graph, top.index, g.Div()):
        exp = _gate(graph, top.inputs[0], g.Exp())
        plus = _gate(graph, top.inputs[1], g.AddConst(1.0))
        below = _gate(graph, plus.inputs[0], g.Exp()) if plus else None
        if exp and plus and below and exp.inputs[0] == below.inputs[0]:
            inner = tuple(sorted({exp.index, below.index, plus.index}))
            readers = {top.index, plus.index}
            if all(_private(graph, graph.nodes[i], readers) for i in inner):
                return Match("sigmoid", top.index, inner, exp.inputs[0])
    return None


def _square_at(graph: Graph, top: Node) -> Match | None:
    # x * x: one value read twice by a mul gate is x^2, with local gradient 2x.
    if _gate(graph, top.index, g.Mul()) and top.inputs[0] == top.inputs[1]:
        return Match("square", top.index, (), top.inputs[0])
    return None


def find(graph: Graph, kind: FuseKind = "all") -> list[Match]:
    """Every fusable sub-circuit, in forward order, none overlapping."""
    finders = [_sigmoid_at] if kind == "sigmoid" else [_sigmoid_at, _square_at]
    matches: list[Match] = []
    for node in graph.gate_nodes:
        for finder in finders:
            match = finder(graph, node)
            if match is not None:
                matches.append(match)
                break
    return matches


def fuse(graph: Graph, kind: FuseKind = "all") -> Graph:
    """The graph with every match collapsed into one gate (the same graph if none)."""
    matches = find(graph, kind)
    if not matches:
        return graph
    return replace_gates(graph, {m.top: (m.gate(), (m.operand,)) for m in matches})
