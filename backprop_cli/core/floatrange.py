"""Where float64 lost a number that exact arithmetic keeps: the engine's float-range notes.

A trace is computed in float64, whose range ends at 1.8e308 above and at 2.2e-308
below (4.9e-324 with fewer digits, then 0). The lecture notes' staged sigmoid at
x = -373 is the case that made this module: s3 = 1 + e^373 = 9.8e161 is a float, but
the local gradient of 1/x there, -1/s3² = -1.04e-324, is not, so backprop sends 0 back
while the true gradient, e^-373 = 4.4e-163, is a float. The rule is right; the float is
not enough. Each loss found is a `FloatLoss`, shown as a warning, and a judge that
disagrees names it (`checks.verdict.float_range_note`).

The engine calls in only when something is small (a 0 or denormal value or product,
a local gradient below 1e-12), so ordinary traces pay one size test per gate. A number
is then recomputed from its float inputs in 30-digit sympy Floats, by the gate's own
rule (`gate.forward`, `gate.local` with `SympyMath`): sympy Floats have no float range.
A gate whose numbers are exact in floats (`exact_locals`, `exact_forward`: relu's 0,
max's routes, x - x) is not recomputed: a 0 there is a true 0.

Vector gates (matmul, softmax, sum, …) are not products entry by entry and are not
looked at.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, NamedTuple

from backprop_cli.core import gates as g
from backprop_cli.core.graph import Graph, Node

# A local gradient this small is recomputed in 30 digits. The sympy judge holds a value
# below 1e-12 to 10% of itself (checks/symbolic.py); the engine's σ(1−σ) loses that much
# at z ≈ 34 (σ'(z) = 1.7e-15, where 1 - σ keeps a digit), so every local gradient that
# could lose that much is looked at here first.
SMALL_LOCAL = 1e-12
# A number that kept this share of its exact value is not reported: one digit lost in
# the third place (the table shows four) is not said, three digits lost are.
KEPT = 1e-3
# Entries of one array looked at closely, per gate input: each is recomputed in sympy
# (about 0.2 ms). The first loss found is said, with the count of suspect entries.
LOSS_ENTRIES = 16

BEYOND_RANGE = (
    "float64 cannot hold the number. Keep every stage in range: one gate instead of a "
    "staged form that overflows (sigmoid(x) for 1/(1+exp(-x)), x**-2 for 1/(x*x)), or "
    "smaller inputs"
)
ROUNDED_AWAY = (
    "float64 keeps 16 digits and the terms of the local gradient agree to more, so they "
    "cancel (tanh and σ round to ±1 far from 0)"
)


class FloatLoss(NamedTuple):
    """A number float64 lost at one step: 0 (or a few digits) in floats, not in exact
    arithmetic."""

    step: str  # the gate's step, as the trace names it
    message: str  # what happened and what to do, in plain words
    beyond_range: bool  # below the smallest float (else lost to rounding: 1 − tanh²)


# --------------------------------------------------------------------------- forward


def forward_losses(graph: Graph, values: Sequence[Any], k: g.ValueKit) -> list[FloatLoss]:
    """Stages whose value is 0 or denormal in floats but not in exact arithmetic:
    x*y at x = y = 1e-200 is 1e-400 exactly, 0 in floats."""
    found = []
    for node in graph.gate_nodes:
        gate = node.gate
        assert gate is not None
        if gate.exact_forward or not gate.elementwise:
            continue
        if not k.tiny((values[node.index],), g.MIN_NORMAL):
            continue
        xs = [values[j] for j in node.inputs]
        refs = [graph.nodes[j].ref for j in node.inputs]
        for entry, point in _suspects(k.kind, xs, values[node.index]):
            exact = _exact(gate, point, None)
            got = float(values[node.index][entry] if entry else values[node.index])
            if exact is None or exact == 0 or _kept(got, exact):
                continue
            where = f" (entry {list(entry)})" if entry else ""
            found.append(
                FloatLoss(
                    node.ref,
                    f"the value of {node.ref} = {gate.computes(refs)}{where} is below the "
                    f"smallest float ({_at(refs, point)}): it is {_wide(exact)} in exact "
                    f"arithmetic and {_float_text(got)} in floats. The rule is right; "
                    f"{BEYOND_RANGE}",
                    True,
                )
            )
            break
    return found


# --------------------------------------------------------------------------- backward


def backward_losses(
    node: Node,
    refs: Sequence[str],
    kind: g.Kind,
    xs: Sequence[Any],
    upstream: Any,
    local: Sequence[Any],
    prods: Sequence[Any],
) -> list[FloatLoss]:
    """Where this gate's backward step lost a gradient to float64, input by input.

    With upstream nonzero (an upstream 0 was lost, or is a true 0, before this step):
    - the local gradient is 0, denormal or below 1e-12, and the gate's rule in 30
      digits says float64 lost it: -1/s² at s = 9.8e161 is -1.04e-324 exactly and
      -0.0 in floats; 1 − tanh² at 20 is 1.7e-17 exactly and 0 in floats;
    - the local gradient is a float, but upstream × local is below the float range:
      1e-200 × 1e-200.
    """
    gate = node.gate
    assert gate is not None
    if not gate.elementwise or not gate.plain_chain:
        return []
    found = []
    for position, grad in enumerate(local):
        loss = _first_loss(node, refs, kind, xs, upstream, grad, position)
        if loss is None:
            continue
        (what, beyond, off), entries = loss
        more = f" ({entries} entries in all)" if entries > 1 else ""
        why = BEYOND_RANGE if beyond else ROUNDED_AWAY
        found.append(
            FloatLoss(
                node.ref,
                f"{what}{more}, so the gradient it sends back to {refs[position]} is {off} "
                f"in float arithmetic, not in exact arithmetic. The rule is right; {why}",
                beyond,
            )
        )
    return found


Loss = tuple[str, bool, str]  # what happened, beyond range, how far off the gradient is


def _first_loss(
    node: Node,
    refs: Sequence[str],
    kind: g.Kind,
    xs: Sequence[Any],
    upstream: Any,
    grad: Any,
    position: int,
) -> tuple[Loss, int] | None:
    """The first entry (in order) that lost its gradient, and how many entries are suspect."""
    if kind != "arrays":
        found = _loss(node, refs, [float(x) for x in xs], float(upstream), float(grad), position)
        return (found, 1) if found else None
    import numpy as np

    *inputs, ups, grads = np.broadcast_arrays(
        *[np.asarray(x, dtype=float) for x in xs],
        np.asarray(upstream, dtype=float),
        np.asarray(grad, dtype=float),
    )
    small = (np.abs(grads) < SMALL_LOCAL) | (np.abs(ups * grads) < g.MIN_NORMAL)
    suspects = [tuple(int(i) for i in index) for index in np.argwhere((ups != 0) & small)]
    for index in suspects[:LOSS_ENTRIES]:
        point = [float(a[index]) for a in inputs]
        found = _loss(node, refs, point, float(ups[index]), float(grads[index]), position)
        if found:
            what, beyond, off = found
            where = f" (entry {list(index)})" if index else ""
            return (what + where, beyond, off), len(suspects)
    return None


def _loss(
    node: Node,
    refs: Sequence[str],
    xs: Sequence[float],
    upstream: float,
    grad: float,
    position: int,
) -> Loss | None:
    """What float64 lost at one gate input (one entry), or None."""
    gate = node.gate
    assert gate is not None
    if upstream == 0:
        return None
    if abs(grad) < SMALL_LOCAL and not gate.exact_locals:  # the local gradient itself
        exact = _exact(gate, xs, position)
        # kept: a true 0 (cos at 0), or its digits; None: sympy cannot say
        if exact is not None and exact != 0 and not _kept(grad, exact):
            beyond = abs(exact) < g.MIN_NORMAL
            formula = gate.formulas(refs, node.ref)[position]
            where = "below the smallest float" if beyond else "lost to rounding in float64"
            return (
                f"the local gradient at {node.ref}, {formula}, is {where} ({_at(refs, xs)})"
                f": it is {_wide(exact)} in exact arithmetic and {_float_text(grad)} in floats",
                beyond,
                _off(grad, exact),
            )
    if grad == 0:
        return None  # a true 0: nothing to lose in the product
    got = upstream * grad
    if abs(got) >= g.MIN_NORMAL:
        return None
    product = Fraction(upstream) * Fraction(grad)  # exact: floats are fractions
    if _kept(got, product):
        return None
    return (
        f"at {node.ref} the product upstream {upstream:.3g} × local {grad:.3g} = "
        f"{_wide(product)} is below the smallest float: it is {_float_text(got)} in floats",
        True,
        _off(got, product),
    )


# --------------------------------------------------------------------------- helpers


def _suspects(
    kind: g.Kind, xs: Sequence[Any], value: Any
) -> list[tuple[tuple[int, ...], list[float]]]:
    """(entry, the gate's inputs at it) for each tiny entry of `value`, the first few."""
    if kind != "arrays":
        return [((), [float(x) for x in xs])]
    import numpy as np

    *inputs, out = np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in xs], value)
    tiny = np.argwhere(np.abs(out) < g.MIN_NORMAL)[:LOSS_ENTRIES]
    entries = [tuple(int(i) for i in index) for index in tiny]
    return [(entry, [float(a[entry]) for a in inputs]) for entry in entries]


def _exact(gate: g.Gate, xs: Sequence[float], position: int | None) -> Any:
    """The gate's value (`position` None) or local gradient at these float inputs, in
    30-digit sympy Floats (each float's exact binary value, no float range); None
    where sympy cannot evaluate it or the result is not a finite real number."""
    import sympy

    k = g.SympyMath()
    wide = [sympy.Float(x, 30) for x in xs]
    try:
        out = gate.forward(k, wide)
        number = out if position is None else gate.local(k, wide, out)[position]
        value = sympy.sympify(number).evalf(30)
    except (TypeError, ValueError, ArithmeticError, AttributeError):
        return None
    return value if value.is_real and value.is_finite else None


def _kept(got: float, exact: Any) -> bool:
    """Whether the float kept all but KEPT of the exact value."""
    return got != 0 and abs(Fraction(got) - Fraction(str(exact))) <= KEPT * abs(
        Fraction(str(exact))
    )


def _off(got: float, exact: Any) -> str:
    """How far off what flows back is: '0', or 'off by 30%'."""
    if got == 0:
        return "0"
    share = abs(Fraction(got) - Fraction(str(exact))) / abs(Fraction(str(exact)))
    return f"off by {100 * float(share):.2g}%"


def _at(refs: Sequence[str], xs: Sequence[float]) -> str:
    return ", ".join(f"{name} = {x:.3g}" for name, x in zip(refs, xs, strict=True))


def _wide(value: Any) -> str:
    """A number past the float range, as -1.04e-324 (a Fraction or a sympy Float)."""
    import sympy

    if isinstance(value, Fraction):  # exact products of floats
        value = sympy.Rational(value.numerator, value.denominator)
    text = str(sympy.Float(value, 3))
    return text if "e" in text else f"{float(text):.3g}"


def _float_text(value: float) -> str:
    return "-0.0" if value == 0 and math.copysign(1.0, value) < 0 else f"{value:.3g}"
