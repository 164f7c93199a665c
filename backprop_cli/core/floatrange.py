"""Where float64 lost a number that exact arithmetic keeps: the engine's float-range notes.

A trace is computed in float64, whose range ends at 1.8e308 above and at 2.2e-308
below (4.9e-324 with fewer digits, then 0). The lecture notes' staged sigmoid at
x = -373 is the case that made this module: s3 = 1 + e^373 = 9.8e161 is a float, but
the local gradient of 1/x there, -1/s3² = -1.04e-324, is not, so backprop sends 0 back
while the true gradient, e^-373 = 1.02e-162, is a float. The rule is right; the float is
not enough. Each loss found is a `FloatLoss`, shown as a warning, and a judge that
disagrees names it (`checks.verdict.float_range_note`).

The engine calls `losses` once, after its backward loop. It looks at the smallest
numbers of the whole trace first, and gate by gate only when something is small (a 0
or denormal value or product, a local gradient below 1e-12). A number is then
recomputed from its float inputs in 30-digit sympy Floats, by the gate's own rule
(`gate.forward`, `gate.local` with `SympyMath`): sympy Floats have no float range.
Where that gives 0 or less than 1e-20, the rule is evaluated again at the exact point
(the floats as rationals) with evalf's adaptive precision: 1 − tanh(40)² cancels to 0
in 30 digits and is 7.2e-35. A gate whose numbers are exact in floats (`exact_locals`,
`exact_forward`: relu's 0, max's routes, x - x) is not recomputed: a 0 there is a true
0. What a step sent back is read from the engine (`products`, summed over broadcast
entries), never multiplied again here.

Vector gates (matmul, softmax, sum, …) are not products entry by entry and are not
looked at.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from fractions import Fraction
from itertools import chain
from typing import Any, NamedTuple

from backprop_cli.core import gates as g
from backprop_cli.core.graph import Graph, Node

# A local gradient this small is recomputed. The sympy judge holds a value below 1e-12
# to 10% of itself in a trace with a loss found here (checks/symbolic.py); the notes'
# forms σ(1−σ) and 1 − tanh² lost that much from z ≈ 36.5 (σ'(z) = 1.4e-16: 1 - σ keeps
# a digit) and 18.5 (3.4e-16), so every local gradient that could lose that much is
# looked at here (the engine now computes those two without the cancellation).
SMALL_LOCAL = 1e-12
# ... and a product of a larger local gradient is lost only under an upstream this small.
UPSTREAM_SMALL = g.MIN_NORMAL / SMALL_LOCAL  # 2.2e-296
# A number that kept this share of its exact value is not reported: one digit lost in
# the third place (the table shows four) is not said, three digits lost are.
KEPT = 1e-3
# A 30-digit result this small (or 0) is computed again at the exact point: 30 digits
# leave about 1e-30 of the terms after cancellation (1 − tanh(34)² came out 1.18e-29 for
# 1.17e-29; at 40 it was 0 for 7.2e-35), so below 1e-20 fewer than 10 digits are sure.
RECHECK = 1e-20
# ... up to this many digits. A number below NO_PRODUCT = 4.9e-324 / 1.8e308 = 2.7e-632
# (the smallest float over the largest) is 0 for float64 in any product of it at this
# step: the engine's 0 is float64's best there, not a loss. So tanh(x) at 1000, whose
# local gradient 4e^-2000 ≈ 1e-868 is below it, says nothing (and the judges agree on 0:
# the true gradient is no float either), while the staged sigmoid at -373, whose
# -1/s3² = -1.04e-324 is above it, says float64 lost it (e^373 later brings it back to
# 1.02e-162). 700 digits reach 1e-632 with 30 digits to spare over 1e-40 of the terms.
EXACT_DIGITS = 700
NO_PRODUCT = Fraction(5e-324) / Fraction(sys.float_info.max)  # as floats, 0.0
# Different entries of one array looked at closely, per gate input: each is recomputed
# in sympy (about 0.2 ms). The first loss found is said, with the count of suspect
# entries; past the budget, a note says the rest were not looked at.
LOSS_ENTRIES = 16
# A broadcast input's entry is the engine's sum of this many products at most, each held
# exactly (Fractions, about 1 µs a term) against what the engine sent back; a larger
# fan-in is counted with the entries not looked at.
FAN_IN = 10_000
# Losses said in full; the rest are counted in one more line.
MAX_SAID = 3

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
    # not a loss found, but entries past the budget (LOSS_ENTRIES) that were not looked at
    unsure: bool = False
    # the inputs whose gradients a lost gradient flows into (a backward loss reaches only
    # the inputs behind its gate input); None: a lost value, which can reach every number
    reaches: frozenset[str] | None = None


class _Unlooked(NamedTuple):
    """Suspect entries of one gate input, none lost among the first LOSS_ENTRIES (or
    none looked at: each input entry is a sum of more than FAN_IN products)."""

    suspects: int
    fan_in: int = 0


# --------------------------------------------------------------------------- the pass


def losses(
    graph: Graph,
    kind: g.Kind,
    values: Sequence[Any],
    grads: Sequence[Any],
    locals_: Sequence[tuple[Any, ...]],
    products: Sequence[tuple[Any, ...]],
) -> list[FloatLoss]:
    """Every number float64 lost in a numeric trace: values first, then gradients in
    backward order.

    One look at the smallest numbers first (C loops, about 25 ns an entry: 45 µs on a
    300-gate trace of 770 µs), and gate by gate only when something is small: a check
    of every gate inside the engine's loop made that trace 47% slower (858 → 1,263 µs).
    A product can only be lost (|u·l| < 2.2e-308) where the local gradient is below
    1e-12 or the upstream below 2.2e-296.
    """
    if kind != "arrays":  # every gate is elementwise: whole lists, in C loops
        small_value = min(map(abs, values), default=math.inf) < g.MIN_NORMAL
        small_local = min(map(abs, chain.from_iterable(locals_)), default=math.inf)
        small_upstream = min(map(abs, filter(None, grads)), default=math.inf)
        if not small_value and small_local >= SMALL_LOCAL and small_upstream >= UPSTREAM_SMALL:
            return []  # the common case: not even the list of gates is made
        nodes = graph.gate_nodes
    else:  # numpy calls cost microseconds: leave out what cannot be lost (relu's 0s)
        nodes = [n for n in graph.gate_nodes if n.gate is not None and n.gate.elementwise]
        computed = [n for n in nodes if n.gate is not None and not n.gate.exact_forward]
        small_value = _smallest_entry([values[n.index] for n in computed]) < g.MIN_NORMAL
        exact = [n for n in nodes if n.gate is not None and n.gate.exact_locals]
        inexact = [n for n in nodes if n.gate is not None and not n.gate.exact_locals]
        small_local = min(
            _smallest_entry([v for n in inexact for v in locals_[n.index]]),
            _smallest_entry([v for n in exact for v in locals_[n.index]], nonzero=True),
        )
        small_upstream = _smallest_entry([grads[n.index] for n in nodes], nonzero=True)
    found: list[FloatLoss] = []
    if small_value:
        computed = [n for n in nodes if n.gate is not None and not n.gate.exact_forward]
        found.extend(_forward_losses(graph, computed, kind, values))
    if small_local < SMALL_LOCAL or small_upstream < UPSTREAM_SMALL:
        if kind != "arrays":  # relu's exact 0s made every gate a suspect: 2x the engine
            nodes = [n for n in nodes if _suspect(n, grads[n.index], locals_[n.index])]
        for node in reversed(nodes):
            refs = [graph.nodes[j].ref for j in node.inputs]
            xs = [values[j] for j in node.inputs]
            i = node.index
            found.extend(
                backward_losses(graph, node, refs, kind, xs, grads[i], locals_[i], products[i])
            )
    return _first_said(found)


def _suspect(node: Node, upstream: Any, local: Sequence[Any]) -> bool:
    """Whether a scalar gate's backward step can have lost a gradient: a nonzero
    upstream that is small; a local gradient below 1e-12, where the gate's locals can
    be lost; a product below the float range of a nonzero local, where they are exact
    (relu's 0 below 0 and mul's tiny input are no loss). On the 11,776-gate circuit of
    bench/bench_scaling.py (a relu in four gates, half of them below 0) looking at
    every gate took the engine from 2.9 to 5.6 µs a gate."""
    if not upstream:
        return False  # nothing to lose here: an upstream 0 is said where it was lost
    if abs(upstream) < UPSTREAM_SMALL:
        return True
    if node.gate is not None and node.gate.exact_locals:  # only a product can be lost
        return any(v and abs(upstream * v) < g.MIN_NORMAL for v in local)
    return any(abs(v) < SMALL_LOCAL for v in local)


def _behind(graph: Graph, start: int) -> frozenset[str]:
    """The inputs behind node `start` (itself, if it is one): the only gradients that a
    gradient lost on its way to `start` can change."""
    todo = [start]
    seen: set[int] = set()
    names = set()
    while todo:
        j = todo.pop()
        if j in seen:
            continue
        seen.add(j)
        behind = graph.nodes[j]
        if behind.kind == "input":
            names.add(behind.ref)
        todo.extend(behind.inputs)
    return frozenset(names)


def _first_said(found: list[FloatLoss]) -> list[FloatLoss]:
    """The first MAX_SAID losses in full (losses found before notes of the budget), the
    rest in one line: a saturated recurrent network (20 steps of tanh(W @ h)) lost 15
    gradients, 15 warnings of five lines each."""
    if len(found) <= MAX_SAID:
        return found
    ordered = [loss for loss in found if not loss.unsure] + [loss for loss in found if loss.unsure]
    said, rest = ordered[:MAX_SAID], ordered[MAX_SAID:]
    steps = list(dict.fromkeys(loss.step for loss in rest))
    named = ", ".join(steps[:6]) + (", …" if len(steps) > 6 else "")
    return [
        *said,
        FloatLoss(
            rest[0].step,
            f"float64 lost {len(rest)} more {'number' if len(rest) == 1 else 'numbers'} "
            f"in the same way, at {named}"
            if not any(loss.unsure for loss in rest)
            else f"and {len(rest)} more notes like these, at {named}",
            any(loss.beyond_range for loss in rest),
            unsure=all(loss.unsure for loss in rest),
            reaches=_union(loss.reaches for loss in rest if not loss.unsure),
        ),
    ]


def _union(reaches: Iterable[frozenset[str] | None]) -> frozenset[str] | None:
    """All the inputs some losses reach (None: every input)."""
    out: frozenset[str] = frozenset()
    for reach in reaches:
        if reach is None:
            return None
        out |= reach
    return out


def _smallest_entry(items: Sequence[Any], nonzero: bool = False) -> float:
    """The smallest |entry| of some arrays (and numbers), inf for none."""
    import numpy as np

    if not items:
        return math.inf
    flat = np.abs(np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in items]))
    if nonzero:
        flat = flat[flat != 0]
    return float(flat.min()) if flat.size else math.inf


def _forward_losses(
    graph: Graph, nodes: Sequence[Node], kind: g.Kind, values: Sequence[Any]
) -> list[FloatLoss]:
    """Stages whose value is 0 or denormal in floats but not in exact arithmetic:
    x*y at x = y = 1e-200 is 1e-400 exactly, 0 in floats."""
    found = []
    for node in nodes:
        gate = node.gate
        assert gate is not None
        value = values[node.index]
        size = _smallest_entry([value]) if kind == "arrays" else abs(value)
        if size >= g.MIN_NORMAL:
            continue
        xs = [values[j] for j in node.inputs]
        if kind != "arrays" and value == 0 and 0 in xs:
            continue  # 0·0.5 after a dead relu: a 0 made of a 0 is exact (no sympy import)
        refs = [graph.nodes[j].ref for j in node.inputs]
        for entry, point in _suspects(kind, xs, value):
            exact = _exact(gate, point, None)
            got = float(value[entry] if entry else value)
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
    graph: Graph,
    node: Node,
    refs: Sequence[str],
    kind: g.Kind,
    xs: Sequence[Any],
    upstream: Any,
    local: Sequence[Any],
    products: Sequence[Any],
) -> list[FloatLoss]:
    """Where this gate's backward step lost a gradient to float64, input by input.

    What the step sent back is the engine's own product (`products`, after its sum over
    broadcast entries), held against the same sum in exact arithmetic, with upstream
    nonzero (an upstream 0 was lost, or is a true 0, before this step):
    - the local gradient is 0, denormal or below 1e-12, and the gate's rule at the exact
      point says float64 lost it: -1/s² at s = 9.8e161 is -1.04e-324 exactly and -0.0
      in floats; 1 − t² written out at t = tanh(20) is 1.7e-17 exactly and 0 in
      floats (the tanh gate itself keeps it: 4e/(1+e)²);
    - the local gradient is a float, but upstream × local is below the float range:
      1e-200 × 1e-200.
    A product lost at one broadcast entry is no loss where the sum it joins keeps its
    digits: c*(x*b) at c = 1e-200, x = [1e-200, 1] sends b 1e-200 + 1e-400, which is
    1e-200 in floats.
    """
    gate = node.gate
    assert gate is not None
    if not gate.elementwise or not gate.plain_chain:
        return []
    found = []
    for position, grad in enumerate(local):
        loss = _first_loss(node, refs, kind, xs, upstream, grad, products[position], position)
        if loss is None:
            continue
        if isinstance(loss, _Unlooked):  # the budget: say what was not looked at
            looked = (
                f"{LOSS_ENTRIES} different ones, recomputed in 30 digits, lost nothing, "
                f"and the rest were not recomputed (a budget of {LOSS_ENTRIES} a gate input)"
                if not loss.fan_in
                else f"none were recomputed: each entry of {refs[position]} is a sum of "
                f"{loss.fan_in:,} of them (a budget of {FAN_IN:,})"
            )
            found.append(
                FloatLoss(
                    node.ref,
                    f"at {node.ref}, {loss.suspects:,} entries of the gradient sent back to "
                    f"{refs[position]} are small enough that float64 may have lost them; "
                    f"{looked}",
                    False,
                    unsure=True,
                    reaches=_behind(graph, node.inputs[position]),
                )
            )
            continue
        what, beyond, off = loss
        why = BEYOND_RANGE if beyond else ROUNDED_AWAY
        found.append(
            FloatLoss(
                node.ref,
                f"{what}, so the gradient it sends back to {refs[position]} is {off} "
                f"in float arithmetic, not in exact arithmetic. The rule is right; {why}",
                beyond,
                reaches=_behind(graph, node.inputs[position]),
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
    product: Any,
    position: int,
) -> Loss | _Unlooked | None:
    """What the first entry (in order) that lost its gradient lost, if one did; past the
    budget of LOSS_ENTRIES entries, how many were suspect (the rest are not looked at)."""
    if kind != "arrays":
        u, local = float(upstream), float(grad)
        if u == 0 or (abs(local) >= SMALL_LOCAL and abs(u * local) >= g.MIN_NORMAL):
            return None  # the common case, without a call
        return _loss(node, refs, [float(x) for x in xs], [(u, local)], 0, float(product), position)
    import numpy as np

    gate = node.gate
    assert gate is not None
    ups, grads = np.asarray(upstream, dtype=float), np.asarray(grad, dtype=float)
    lost = np.abs(ups * grads) < g.MIN_NORMAL
    if gate.exact_locals:  # only a product can be lost: of a nonzero local
        suspect = lost & (ups != 0) & (grads != 0)
    else:
        suspect = (lost | (np.abs(grads) < SMALL_LOCAL)) & (ups != 0)
    if not suspect.any():
        return None
    *inputs, ups, grads = np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in xs], ups, grads)
    suspect = np.broadcast_to(suspect, ups.shape)
    # which entry of the input (and of the engine's product) each broadcast entry adds to
    sent = np.asarray(product, dtype=float)
    owner = _owners(np.shape(xs[position]), ups.shape)
    suspects = [tuple(int(i) for i in index) for index in np.argwhere(suspect)]
    # every entry of the input gets the same number of broadcast entries
    fan_in = ups.size // max(1, math.prod(np.shape(xs[position])))
    if fan_in > FAN_IN:
        return _Unlooked(len(suspects), fan_in)
    seen: set[tuple[float, ...]] = set()  # x = zeros(40) into cos: one look, not 40
    for index in suspects:
        point = [float(a[index]) for a in inputs]
        u, local = float(ups[index]), float(grads[index])
        key = (*point, u, local) if fan_in == 1 else (*point, u, local, float(owner[index]))
        if key in seen:
            continue
        if len(seen) == LOSS_ENTRIES:
            return _Unlooked(len(suspects))
        seen.add(key)
        terms, mine = [(u, local)], 0
        if fan_in > 1:  # the engine's sum for this input entry, term by term
            mask = owner == owner[index]
            terms = list(zip(ups[mask].tolist(), grads[mask].tolist(), strict=True))
            mine = int(np.count_nonzero(mask.ravel()[: np.ravel_multi_index(index, ups.shape)]))
        got = float(sent.ravel()[int(owner[index])])
        found = _loss(node, refs, point, terms, mine, got, position)
        if found:
            what, beyond, off = found
            many = f", one of {len(suspects)} entries this small" if len(suspects) > 1 else ""
            where = f" (entry {list(index)}{many})" if index else ""
            return what + where, beyond, off
    return None


def _owners(shape: tuple[int, ...], full: tuple[int, ...]) -> Any:
    """For each entry of the broadcast shape, the flat index of the input's entry it
    comes from (numpy's rule: leading axes added, axes of length 1 repeated)."""
    import numpy as np

    return np.broadcast_to(np.arange(math.prod(shape)).reshape(shape), full)


def _loss(
    node: Node,
    refs: Sequence[str],
    xs: Sequence[float],
    terms: Sequence[tuple[float, float]],
    mine: int,
    sent: float,
    position: int,
) -> Loss | None:
    """What float64 lost at one gate input (one entry), or None. `terms` are the
    (upstream, local) pairs the engine summed into `sent` (one, unless the input was
    broadcast), `mine` the one at `xs`."""
    gate = node.gate
    assert gate is not None
    upstream, grad = terms[mine]
    if upstream == 0:
        return None
    exact_local: Any = None
    if abs(grad) < SMALL_LOCAL and not gate.exact_locals:  # the local gradient itself
        exact = _exact(gate, xs, position)
        # kept: a true 0 (cos at 0), or its digits; None: sympy cannot say
        if exact is not None and exact != 0 and not _kept(grad, exact):
            exact_local = exact
    # what the engine sent back, in exact arithmetic (the lost local at its exact value)
    exact_sent = sum(
        (
            Fraction(u)
            * (_fraction(exact_local) if i == mine and exact_local is not None else Fraction(v))
            for i, (u, v) in enumerate(terms)
        ),
        Fraction(0),
    )
    if exact_sent == 0 or _kept(sent, exact_sent):
        return None  # a true 0, or the sum kept its digits (a broadcast input)
    if exact_local is not None:
        beyond = abs(_fraction(exact_local)) < Fraction(g.MIN_NORMAL)
        formula = gate.formulas(refs, node.ref)[position]
        where = "below the smallest float" if beyond else "lost to rounding in float64"
        return (
            f"the local gradient at {node.ref}, {formula}, is {where} ({_at(refs, xs)})"
            f": it is {_wide(exact_local)} in exact arithmetic and {_float_text(grad)} in floats",
            beyond,
            _off(sent, exact_sent),
        )
    got = upstream * grad
    if grad == 0 or abs(got) >= g.MIN_NORMAL:
        return None  # a true 0, or this product is a float: the loss is not here
    product = Fraction(upstream) * Fraction(grad)  # exact: floats are fractions
    if _kept(got, product):
        return None
    return (
        f"at {node.ref} the product upstream {upstream:.3g} × local {grad:.3g} = "
        f"{_wide(product)} is below the smallest float: it is {_float_text(got)} in floats",
        True,
        _off(sent, exact_sent),
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
    30-digit sympy Floats (each float's exact binary value, no float range); where that
    is 0 or below RECHECK, again at the exact point with evalf's adaptive precision
    (`_at_exact_point`). None where sympy cannot evaluate it or the result is not a
    finite real number."""
    import sympy

    k = g.SympyMath()
    wide = [sympy.Float(x, 30) for x in xs]
    try:
        value = sympy.sympify(_rule(gate, k, wide, position)).evalf(30)
    except (TypeError, ValueError, ArithmeticError, AttributeError):
        value = None
    if value is not None and not (value.is_real and value.is_finite):
        value = None
    if value is not None and value != 0 and abs(value) >= RECHECK:
        return value
    again = _at_exact_point(gate, k, xs, position)
    if again is None and value is not None and abs(value) < _no_product():
        # as at the exact point; and a Fraction of (1e-200)**1e300 = 2.4e-200000…0 (a
        # 303-digit exponent) would never be built
        return sympy.Integer(0)
    return value if again is None else again


def _rule(gate: g.Gate, k: g.SympyMath, xs: Sequence[Any], position: int | None) -> Any:
    out = gate.forward(k, xs)
    return out if position is None else gate.local(k, xs, out)[position]


def _at_exact_point(gate: g.Gate, k: g.SympyMath, xs: Sequence[float], position: int | None) -> Any:
    """The rule on symbols, evaluated at the binary floats as exact rationals: evalf
    raises its working precision (up to EXACT_DIGITS) through cancellation, where 30-digit
    Floats give 1 − tanh(40)² as 0 (it is 7.2e-35). 0 for a true zero and for what stays
    below NO_PRODUCT; None where sympy cannot say."""
    import sympy

    names = [sympy.Dummy(real=True) for _ in xs]
    try:
        point = {s: sympy.Rational(*x.as_integer_ratio()) for s, x in zip(names, xs, strict=True)}
        rule = sympy.sympify(_rule(gate, k, names, position))
        number = rule.evalf(30, subs=point, maxn=EXACT_DIGITS)
    except (TypeError, ValueError, ArithmeticError, AttributeError, RuntimeError):
        return None  # RuntimeError: NotImplementedError, RecursionError from sympy
    if number.is_Float and number._prec < 10:  # no digits: below 10^-EXACT_DIGITS
        return sympy.Integer(0)
    if not (number.is_real and number.is_finite):
        return None
    return sympy.Integer(0) if abs(number) < _no_product() else number


def _no_product() -> Any:
    import sympy

    return sympy.Rational(NO_PRODUCT.numerator, NO_PRODUCT.denominator)


def _fraction(value: Any) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(str(value))


def _kept(got: float, exact: Any) -> bool:
    """Whether the float kept all but KEPT of the exact value (in Fractions: a float
    KEPT·|exact| is 0 below 5e-321, and every denormal would be 'lost')."""
    if got == 0:
        return False
    want = _fraction(exact)
    return abs(Fraction(got) - want) <= Fraction(KEPT) * abs(want)


def _off(got: float, exact: Any) -> str:
    """How far off what flows back is: '0', or 'off by 30%'."""
    if got == 0:
        return "0"
    want = _fraction(exact)
    share = abs(Fraction(got) - want) / abs(want)
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
