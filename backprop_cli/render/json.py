"""A trace as one JSON object: an interface that scripts and later commands read.

Changed only on purpose; the README documents every key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backprop_cli.checks.scalar import Check
from backprop_cli.core.advice import advise
from backprop_cli.core.engine import Trace
from backprop_cli.core.numbers import to_json

SCHEMA_VERSION = 1


def trace_dict(trace: Trace, checks: Sequence[Check]) -> dict[str, Any]:
    graph = trace.graph
    nodes = graph.nodes
    advice = advise(trace)
    steps = []
    for node in graph.gate_nodes:
        assert node.gate is not None
        refs = [nodes[j].ref for j in node.inputs]
        steps.append(
            {
                "id": node.step,
                "name": node.ref,
                "label": node.label,
                "gate": node.gate.name,
                "inputs": refs,
                "computes": node.gate.computes(refs),
                "value": to_json(trace.values[node.index]),
                "upstream": to_json(trace.grads[node.index]),
                "local": [to_json(v) for v in trace.locals[node.index]],
                "local_formulas": list(node.gate.formulas(refs, node.ref)),
                "products": [to_json(v) for v in trace.products[node.index]],
                "pattern": node.gate.pattern or None,
            }
        )
        if trace.shapes is not None:  # vectors and matrices: numpy shapes as lists
            steps[-1]["shape"] = list(trace.shapes[node.index])
    forks = {
        nodes[index].ref: {
            "from": [
                {"step": nodes[c.consumer].ref, "amount": to_json(c.amount)}
                for c in trace.contributions[index]
            ],
            "sum": to_json(trace.grads[index]),
        }
        for index in graph.forks()
    }
    result = {
        "schema": SCHEMA_VERSION,
        "expression": graph.program.source,
        "mode": trace.mode,
        "output": trace.output.ref,
        "value": to_json(trace.value),
        "bindings": {k: to_json(v) for k, v in trace.bindings.items()},
        "inputs": list(graph.inputs),
        "gradients": {k: to_json(v) for k, v in trace.gradients.items()},
        "steps": steps,
        "forks": forks,
        "warnings": [*graph.warnings, *trace.kinks, *(a.message for a in advice)],
        "advice": [a.as_dict() for a in advice],
        "checks": {check.name: check.as_dict() for check in checks},
    }
    if trace.shapes is not None:
        result["shapes"] = {name: list(trace.shapes[i]) for name, i in graph.inputs.items()}
    return result
