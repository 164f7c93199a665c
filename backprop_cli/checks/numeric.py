"""The finite-difference judge: central differences on every entry of every input.

A number is the one-entry case of an array, so scalars and arrays go through the
same code: each entry is nudged on its own, (f(x+h) - f(x-h)) / 2h of the output
(the sum of its entries, for a vector output), with the same care for every entry:

- Each estimate is made at h and h/2 (Richardson): their difference measures the
  truncation error, and rounding noise is bounded from the trace. An unreliable
  estimate is retried with a 10 times smaller step.
- "agree" needs one reliable estimate that matches; "disagree" needs two reliable
  estimates, at different steps, that match each other and not backprop; anything
  else is "skipped", never "wrong".
- A step that would cross a kink (relu at 0, a max tie) is not taken.
- Past a work budget an evenly spread sample of the entries is checked, and the
  message says so.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

from backprop_cli.checks.verdict import Check, float_range_note, not_differentiable, skipped
from backprop_cli.core import engine
from backprop_cli.core.graph import Graph
from backprop_cli.errors import InputError

NUMERIC_RTOL = 1e-5
# Each entry costs at least 4 forward passes; past this much work in all (in node
# evaluations, `probe_work`), an evenly spread sample of the entries is checked and
# the message says so. A million scalar node evaluations take about 0.5 s here.
NUMERIC_WORK_BUDGET = 1_000_000
# What an array node costs in those units, measured on 101 scaling stages
# (`a = a * 1.01`): about 13 µs a node whatever its size, 32 scalar node evaluations
# (0.4 µs each), plus 7 ns an entry, one evaluation per 64 entries. On a 100×100
# matrix every entry checked took 128 s (issue 15); the budget samples 12 of them.
ARRAY_NODE_WORK = 32
ENTRIES_PER_WORK = 64
NUMERIC_TRIES = 12  # step sizes tried, each 10 times smaller, before giving up
NOISY = 0.05  # an estimate less sure than this share of the gradient is not used
_EPS = 2.220446049250313e-16
# Only for 0/0: the smallest positive float. It was 1e-300, an absolute floor that made
# backprop's 0 "agree" with a finite difference of -2e-306 (1/(x*x) at x = 1e102: the
# relative error came out 2e-6, under NUMERIC_RTOL).
_TINY = 5e-324

Entry = tuple[str, tuple[int, ...]]  # an input's name and an index into it, () for a number


def numeric_check(trace: engine.Trace) -> Check:
    """Central differences on each entry of each input, with an error estimate."""
    if trace.kind != "arrays":
        return _numeric_check(trace)
    import numpy as np

    # Near the float range (x = [1e308, 1]) the sums below overflow and numpy would warn
    # on stderr; the verdict says what it skipped instead. The engine's own passes set
    # their own errstate, so an overflowing forward pass is still an error there.
    with np.errstate(all="ignore"):
        return _numeric_check(trace)


def _numeric_check(trace: engine.Trace) -> Check:
    if trace.kind == "symbols":
        return skipped("numeric", "finite differences need a value for every input")
    if trace.kinks:
        return not_differentiable("numeric", trace.kinks)
    graph, bindings = trace.graph, trace.bindings
    base = engine.probe(graph, bindings, trace.kind)
    scale = rounding_scale(trace)
    if not math.isfinite(scale):
        return skipped(
            "numeric",
            "values times gradients pass the float range (about 1.8e308), so the rounding "
            "error of a finite difference cannot be bounded; no entry was estimated",
        )
    entries = all_entries(trace)
    chosen = sample(entries, probe_work(trace))
    arrays = trace.kind == "arrays"
    estimates: dict[str, Any] = {}
    worst = 0.0
    for name, index in chosen:
        got = _entry(trace.gradients[name], index)
        where = f"{name}{list(index) if index else ''}"
        try:
            verdict = _judge(graph, bindings, (name, index), got, base, scale, trace.kind)
        except InputError:
            x = _entry(bindings[name], index)
            return skipped("numeric", f"the function is not defined near {where} = {x:g}")
        if isinstance(verdict, str):
            return skipped("numeric", verdict)
        agrees, value, uncertainty = verdict
        _record(estimates, trace, name, index, value, whole=len(chosen) == len(entries))
        worst = max(worst, abs(got - value) / max(abs(got), abs(value), _TINY))
        if not agrees:
            return Check(
                "numeric",
                "disagree",
                f"disagree on {where}: backprop {got:.6g}, finite differences {value:.6g} "
                f"(± {uncertainty:.1g}){float_range_note(trace)}",
                worst,
                estimates,
            )
    what = "entries" if arrays else "inputs"
    sampled = ""
    if len(chosen) < len(entries):
        sampled = f"; {len(chosen):,} of {len(entries):,} {what} checked, evenly spread"
    elif arrays:
        return Check(
            "numeric",
            "agree",
            f"agree on all {len(entries):,} entries (largest error {worst:.1e})",
            worst,
            estimates,
        )
    return Check(
        "numeric", "agree", f"agree (largest error {worst:.1e}{sampled})", worst, estimates
    )


def all_entries(trace: engine.Trace) -> list[Entry]:
    """Every entry of every input, in order: (name, ()) for a number."""
    return [
        (name, index)
        for name, i in trace.graph.inputs.items()
        for index in itertools.product(*(range(n) for n in trace.shape(i)))
    ]


def probe_work(trace: engine.Trace) -> int:
    """What one forward pass costs, in scalar node evaluations (see ARRAY_NODE_WORK)."""
    nodes = len(trace.graph.nodes)
    if trace.kind != "arrays":
        return nodes
    entries = sum(_size(trace.shape(i)) for i in range(nodes))
    return nodes * ARRAY_NODE_WORK + entries // ENTRIES_PER_WORK


def sample(entries: list[Entry], work: int) -> list[Entry]:
    """All the entries, or an evenly spread sample that fits NUMERIC_WORK_BUDGET."""
    most = max(1, NUMERIC_WORK_BUDGET // (4 * max(1, work)))
    if len(entries) <= most:
        return entries
    step = len(entries) / most
    return [entries[int(i * step)] for i in range(most)]


def rounding_scale(trace: engine.Trace) -> float:
    """Σ |value| · |gradient| over the nodes (and entries): how far rounding can move the output.

    Each value carries a rounding error of about eps·|value|, and that error reaches
    the output multiplied by its gradient.
    """
    if trace.kind == "arrays":
        import numpy as np

        with np.errstate(all="ignore"):  # past 1.8e308 it is inf, said by its callers
            return float(
                sum(
                    np.sum(np.abs(np.asarray(v, dtype=float)) * np.abs(np.asarray(g, dtype=float)))
                    for v, g in zip(trace.values, trace.grads, strict=True)
                )
            )
    return sum(
        abs(float(v)) * abs(float(g)) for v, g in zip(trace.values, trace.grads, strict=True)
    )


def _size(shape: tuple[int, ...]) -> int:
    size = 1
    for n in shape:
        size *= n
    return size


def _entry(value: Any, index: tuple[int, ...]) -> float:
    return float(value[index]) if index else float(value)


def _nudged(bindings: Mapping[str, Any], entry: Entry, step: float, arrays: bool) -> dict[str, Any]:
    """The bindings with one entry moved by `step`."""
    name, index = entry
    point = dict(bindings)
    if arrays:
        import numpy as np

        moved = np.array(bindings[name], dtype=float)  # a copy
        moved[index] += step
        point[name] = moved
    else:
        point[name] = bindings[name] + step
    return point


def _record(
    estimates: dict[str, Any],
    trace: engine.Trace,
    name: str,
    index: tuple[int, ...],
    value: float,
    whole: bool,
) -> None:
    """Keep an estimate; an array's unsampled entries stay None."""
    if not index and trace.kind != "arrays":
        estimates[name] = value
        return
    import numpy as np

    if name not in estimates:
        shape = trace.shape(trace.graph.inputs[name])
        estimates[name] = np.zeros(shape) if whole else np.full(shape, None, dtype=object)
    estimates[name][index] = value


def _judge(
    graph: Graph,
    bindings: Mapping[str, Any],
    entry: Entry,
    got: float,
    base: engine.Probe,
    scale: float,
    kind: engine.Kind,
) -> tuple[bool, float, float] | str:
    """(agrees, estimate, uncertainty) for d output / d entry, or why no verdict."""
    name, index = entry
    arrays = kind == "arrays"
    x = _entry(bindings[name], index)
    where = f"{name}{list(index) if index else ''} = {x:g}"
    h = 6e-6 * max(1.0, abs(x))  # about cbrt(machine epsilon), on x's scale
    floor = 64 * _EPS * abs(base.value) / max(1.0, abs(x))
    reliable: tuple[float, float] | None = None  # a previous reliable estimate
    for _ in range(NUMERIC_TRIES):
        values = {}
        for step in (h, -h, h / 2, -h / 2):
            probe = engine.probe(graph, _nudged(bindings, entry, step, arrays), kind)
            if probe.branches != base.branches:
                return (
                    f"a kink lies within the step {h:.1e} of {where}, "
                    "so finite differences straddle it"
                )
            values[step] = probe.value
        wide = (values[h] - values[-h]) / (2 * h)
        narrow = (values[h / 2] - values[-h / 2]) / h
        value = (4 * narrow - wide) / 3  # Richardson: the h² error cancels
        if not math.isfinite(value):
            return (
                f"the finite-difference estimate on {where} passes the float range "
                "(about 1.8e308), so it was not made"
            )
        noise = 4 * _EPS * scale / h
        uncertainty = abs(wide - narrow) + noise
        size = max(abs(got), abs(value), _TINY)
        if wide == narrow == 0.0:
            # The output did not move: a true zero, or a step lost to rounding (x + 1e10).
            if got == 0.0:
                return True, 0.0, noise
            sure = noise <= NOISY * max(abs(got), floor)  # only a small rounding bound
        else:
            # Sure relative to the estimate itself: an aliased step gives a small, steady,
            # wrong estimate, which must not count as sure.
            sure = uncertainty <= NOISY * max(abs(value), floor)
        if sure:
            if abs(got - value) <= NUMERIC_RTOL * size + 3 * uncertainty:
                return True, value, uncertainty
            if (
                reliable is not None
                and abs(reliable[0] - value)
                <= 3 * (reliable[1] + uncertainty) + NUMERIC_RTOL * size
            ):
                return False, value, uncertainty
            reliable = (value, uncertainty)
        h /= 10
        if h < 8 * _EPS * max(1.0, abs(x)):
            break
    return (
        f"finite differences cannot estimate the gradient on {where} reliably "
        "here (rounding or fast variation)"
    )
