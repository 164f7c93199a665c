"""When each number of a trace is revealed, stepping through it as the stepper does.

Step 0 shows the inputs; steps 1…n run the forward pass, one gate each, in the
order the trace ran them; steps n+1…2n run the backward pass, from the output back,
one gate each. A gate's value appears at its forward step; the gradients it sends
back (upstream × local) appear at its backward step; a value's own gradient is
complete once every gate that reads it has sent its share (forks add up).

Pure data about a trace, no markup: the HTML page (render/html.py) marks each
number with the step that reveals it, and a test steps through the page in a real
browser comparing what it shows with this model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from backprop_cli.core.engine import Trace

Direction = Literal["inputs", "forward", "backward"]


@dataclass(frozen=True)
class Step:
    number: int  # 0 the inputs, 1…n forward, n+1…2n backward
    direction: Direction
    node: int | None  # the gate's node index (None for step 0)


@dataclass(frozen=True)
class Reveal:
    steps: tuple[Step, ...]
    forward: dict[int, int]  # gate node index -> the step that computes its value
    backward: dict[int, int]  # gate node index -> the step that sends its gradients back
    complete: dict[int, int]  # node index -> the step after which its gradient is whole

    @property
    def last(self) -> int:
        return len(self.steps) - 1

    def value_at(self, node: int) -> int:
        """The step that reveals a node's value (inputs and constants: from the start)."""
        return self.forward.get(node, 0)


def reveal(trace: Trace) -> Reveal:
    graph = trace.graph
    gates = graph.gate_nodes
    n = len(gates)
    steps = [Step(0, "inputs", None)]
    forward: dict[int, int] = {}
    backward: dict[int, int] = {}
    for k, node in enumerate(gates, start=1):
        forward[node.index] = k
        steps.append(Step(k, "forward", node.index))
    for k, node in enumerate(reversed(gates), start=n + 1):
        backward[node.index] = k
        steps.append(Step(k, "backward", node.index))
    complete: dict[int, int] = {}
    for node in graph.nodes:
        consumers = graph.consumers[node.index] if graph.consumers else ()
        shares = [backward[c] for c, _ in consumers if c in backward]
        if shares:
            complete[node.index] = max(shares)
        elif node.index in backward:  # the output: its gradient 1 starts the backward pass
            complete[node.index] = backward[node.index]
        else:  # read by nothing (a constant, or an input of an unused stage)
            complete[node.index] = 2 * n
    return Reveal(tuple(steps), forward, backward, complete)
