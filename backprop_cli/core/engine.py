"""Graph + bindings -> Trace: the forward pass, then the backward pass in reverse.

As in micrograd: walk the nodes in topological order for the forward pass, then in
reverse for the backward pass, each gate multiplying its upstream gradient by its
local gradients and adding (`+=`) the products into its inputs, so forks sum.

One forward loop and one backward loop, whatever the values are: the math kit
(`gates.ValueKit`) carries what differs. With a value for every input the trace is
numeric (`FloatMath`, float64); with a vector or matrix among the values it runs on
numpy arrays (`NumpyMath`: elementwise gates broadcast, and a broadcast input's
gradient is summed back to its shape); with names left unbound it is symbolic
(`SympyMath`): each stage is a sympy symbol named after its step, so the chain rule
reads in short expressions, and the final gradients are expanded back into the
inputs and simplified.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, NamedTuple

from backprop_cli.core import floatrange
from backprop_cli.core import gates as g
from backprop_cli.core.budget import time_budget
from backprop_cli.core.floatrange import FloatLoss
from backprop_cli.core.graph import Graph, Node
from backprop_cli.core.language import is_array
from backprop_cli.core.text import did_you_mean
from backprop_cli.errors import InputError

Mode = Literal["numeric", "symbolic"]
Kind = g.Kind  # "numbers" | "arrays" | "symbols": which math kit the trace ran on
unbroadcast = g.unbroadcast  # the engine's rule for broadcast inputs, where others look

# Symbolic gradients larger than this (in sympy operations) are shown unsimplified:
# simplify() on big expressions can take minutes.
SIMPLIFY_BUDGET = 400

# sympy walks an expression as a tree, so a value used twice is walked twice: a chain
# of forks (a = a*sin(a), twenty times) is small in memory but has a million nodes
# written out, and printing, evalf or diff of it takes minutes. Sizes are measured
# written out (`tree_size`), and a symbolic trace over these limits is refused.
SYMBOLIC_SIZE_LIMIT = 20_000
SYMBOLIC_TRACE_GATE_LIMIT = 1_000
# Wall-clock budgets (budget.py) for what slips through the size limits.
SIMPLIFY_SECONDS = 2.0
SYMBOLIC_TRACE_SECONDS = 10.0


class Contribution(NamedTuple):
    """One chain-rule product flowing into a node from one of its consumers.

    A NamedTuple, not a frozen dataclass: one is made per wire, and a frozen
    dataclass's __init__ cost more than the rest of the backward step.
    """

    consumer: int  # node index of the gate that sent it
    position: int  # which input of that gate this node is
    amount: Any


@dataclass
class Trace:
    graph: Graph
    kind: Kind  # what the values are: plain numbers, numpy arrays or sympy expressions
    bindings: dict[str, Any]  # numbers; numpy arrays in a vector trace
    values: list[Any]  # per node: the forward value (symbolic: the stage's expression)
    grads: list[Any]  # per node: d output / d node (its upstream gradient)
    locals: list[tuple[Any, ...]]  # per node: local gradient for each input (gates only)
    products: list[tuple[Any, ...]]  # per node: upstream × local for each input
    contributions: list[list[Contribution]]  # per node: what each consumer sent back
    kinks: list[str] = field(default_factory=list)  # non-differentiable points met
    # gradients float64 lost in the backward pass (underflow, overflow in s², rounding)
    float_losses: list[FloatLoss] = field(default_factory=list)
    full: list[Any] | None = None  # symbolic: each node's value in terms of the inputs
    symbols: list[Any] | None = None  # symbolic: the symbol that stands for each node
    # symbolic: the expanded, simplified gradients, worked out once (simplify is slow)
    expanded: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    shapes: list[tuple[int, ...]] | None = None  # arrays: each node's shape, () for a number

    @property
    def mode(self) -> Mode:
        """ "symbolic" for a trace in symbols, else "numeric" (the JSON `mode` key)."""
        return "symbolic" if self.kind == "symbols" else "numeric"

    def shape(self, index: int) -> tuple[int, ...]:
        """Node `index`'s shape as numpy writes it; () for a number or a symbol."""
        return self.shapes[index] if self.shapes is not None else ()

    @property
    def output(self) -> Node:
        return self.graph.nodes[self.graph.output]

    @property
    def value(self) -> Any:
        """The output's value; in symbolic mode, in terms of the inputs."""
        if self.kind == "symbols":
            assert self.full is not None
            return self.full[self.graph.output]
        return self.values[self.graph.output]

    @cached_property
    def gradients(self) -> dict[str, Any]:
        """d output / d input for every input variable: in the order the values were
        given (numbers and arrays), in order of first use (symbols).

        Cached: in symbolic mode each one is expanded and simplified, which is slow.
        """
        if self.kind != "symbols":  # every input has a value: in the order typed
            return {name: self.grads[self.graph.inputs[name]] for name in self.bindings}
        if self.expanded is None:
            self.expanded = self._simplified_gradients()
        return dict(self.expanded)

    def _simplified_gradients(self) -> dict[str, Any]:
        """Each symbolic gradient in terms of the inputs, simplified on ONE budget.

        One SIMPLIFY_SECONDS for the whole trace, not one per input: 90 inputs with
        a budget each took 187 s. What the budget leaves is shown as it is.
        """
        assert self.full is not None and self.symbols is not None
        import sympy

        stages = {
            self.symbols[n.index]: self.full[n.index] for n in self.graph.nodes if n.kind == "gate"
        }
        gradients = {  # a sympy number even for a plain 0
            name: (sympy.Integer(0) + self.grads[i]).xreplace(stages)
            for name, i in self.graph.inputs.items()
        }
        with time_budget(SIMPLIFY_SECONDS):  # out of time: the rest are shown as they are
            for name, expr in gradients.items():
                gradients[name] = tidy(expr)
        return gradients


def tree_size(exprs: Sequence[Any], limit: int) -> int:
    """The largest written-out size (nodes, shared parts counted each time) of `exprs`.

    Counted once per distinct object and without recursion, so the cost is the size in
    memory even when the written-out size is astronomical; stops at `limit` + 1.
    """
    sizes: dict[int, int] = {}
    largest = 0
    for expr in exprs:
        stack: list[tuple[Any, bool]] = [(expr, False)]
        while stack:
            node, ready = stack.pop()
            key = id(node)
            if key in sizes:
                continue
            args = getattr(node, "args", ())
            if ready or not args:
                total = 1 + sum(sizes[id(a)] for a in args)
                if total > limit:
                    return limit + 1
                sizes[key] = total
            else:
                stack.append((node, True))
                stack.extend((a, False) for a in args if id(a) not in sizes)
        largest = max(largest, sizes[id(expr)])
    return largest


def tidy(expr: Any) -> Any:
    """Simplify, unless that makes the expression bigger or swaps in new functions.

    The caller holds the time budget (`Trace._simplified_gradients`).

    sympy's simplify() likes to turn the sigmoid's gradient into 1/(4cosh²(z/2)):
    true, but not the form a learner can match against the notes.
    """
    import sympy

    if tree_size([expr], 4 * SIMPLIFY_BUDGET) > 4 * SIMPLIFY_BUDGET:
        return expr  # count_ops itself walks the whole tree: look at the size first
    if sympy.count_ops(expr) > SIMPLIFY_BUDGET:
        return expr
    kinds = {type(f) for f in expr.atoms(sympy.Function)}
    try:
        for candidate in (sympy.simplify(expr), sympy.factor_terms(expr)):
            new_kinds = {type(f) for f in candidate.atoms(sympy.Function)}
            if new_kinds <= kinds and sympy.count_ops(candidate) <= sympy.count_ops(expr):
                return candidate
    except (TypeError, ValueError, ArithmeticError, AttributeError):
        # simplify() itself fails on some piecewise forms (min(2, relu(sigmoid(1/z))):
        # "The argument 'nan' is not comparable"): show the gradient as it is.
        return expr
    return expr


def run(graph: Graph, bindings: Mapping[str, Any]) -> Trace:
    """Trace the graph on the kit the values call for: numbers, arrays or symbols.

    Values the program gives itself (`w = [2,-3,-3]` at its top) come first; the
    `bindings` given here override them.
    """
    if graph.program.bindings:
        bindings = {**graph.program.bindings, **bindings}
    variables = graph.program.inputs()  # a stage the output ignores may still read some
    unknown = [name for name in bindings if name not in variables]
    if unknown:
        _refuse_unknown_bindings(variables, unknown)
    # In the order the values were typed (the program's own first, then the command
    # line's), as the learner reads them back: "at x = 3, y = -4", not first use.
    used = {name: value for name, value in bindings.items() if name in graph.inputs}
    if any(is_array(v) for v in bindings.values()):
        missing = [name for name in graph.inputs if name not in used]
        if missing:
            raise InputError(
                f"{missing[0]!r} has no value: traces with vectors and matrices are numeric, "
                "so every input needs a value (a number, a vector [1,2] or a matrix "
                "[[1,2],[3,4]])"
            )
        k: g.ValueKit = g.NumpyMath()
        values = {name: k.value(v) for name, v in used.items()}
        _check_shapes(graph, values)
        return _run(graph, values, k)
    if len(used) == len(graph.inputs):
        return _run(graph, {name: float(v) for name, v in used.items()}, FLOATS)
    vector = next((n for n in graph.gate_nodes if n.gate and n.gate.needs_arrays), None)
    if vector is not None and vector.gate:  # `x = [1,2]` at the top, unused, `sum(q)`
        missing = [name for name in graph.inputs if name not in used]
        raise InputError(
            f"{missing[0]!r} has no value: {vector.gate.name} at step {vector.ref} works on "
            "vectors and matrices, and such traces are numeric, so every input needs a "
            "value (a number, a vector [1,2] or a matrix [[1,2],[3,4]])"
        )
    gates = len(graph.gate_nodes)
    if gates > SYMBOLIC_TRACE_GATE_LIMIT:
        limit = f"{SYMBOLIC_TRACE_GATE_LIMIT:,}"
        raise _too_large_for_symbols(
            graph, f"the circuit has {gates:,} gates (the limit is {limit})"
        )
    trace: Trace | None = None
    with time_budget(SYMBOLIC_TRACE_SECONDS) as clock:
        trace = _run(graph, {name: float(v) for name, v in used.items()}, g.SympyMath())
        _check_symbolic_size(trace)
    if clock.expired or trace is None:
        seconds = f"{SYMBOLIC_TRACE_SECONDS:g}"
        raise _too_large_for_symbols(graph, f"sympy needed more than {seconds} s to build it")
    return trace


FLOATS: g.ValueKit = g.FloatMath()


def kit(kind: Kind) -> g.ValueKit:
    """The math kit a trace of this kind runs on."""
    if kind == "numbers":
        return FLOATS
    return g.NumpyMath() if kind == "arrays" else g.SympyMath()


def kink_at(trace: Trace, node: Node) -> str | None:
    """What a gate's `kink` says at its inputs in this trace (None in symbols, which
    have no values, and for a gate without kinks): the views ask it for the pattern
    words that hold there (`Gate.pattern_at`)."""
    gate = node.gate
    if gate is None or not gate.kinked or trace.kind == "symbols":
        return None
    return kit(trace.kind).ask(gate.kink, gate, [trace.values[i] for i in node.inputs])


@dataclass(frozen=True)
class Probe:
    """One forward pass in floats, as finite differences need it."""

    value: float  # the output (the sum of its entries, for a vector output)
    branches: tuple[Any, ...]  # which smooth piece each kinked gate (and entry) is on
    scale: float  # the largest |value| of any node (and entry): how big rounding gets


def probe(graph: Graph, bindings: Mapping[str, Any], kind: Kind = "numbers") -> Probe:
    """The output, the kinked gates' branches and the scale, from a single forward pass."""
    k = kit(kind)
    with k.errors():
        values, _, _ = _forward(graph, bindings, k, kinks=None)
    branch = k.branch
    return Probe(
        value=k.total(values[graph.output]),
        branches=tuple(
            branch(n.gate, [values[j] for j in n.inputs])
            for n in graph.gate_nodes
            if n.gate is not None and n.gate.kinked
        ),
        scale=max(map(k.magnitude, values), default=0.0),
    )


def near_kinks(trace: Trace) -> list[str]:
    """Kinked gates whose inputs are at a kink up to float rounding.

    relu(0.3 - 2*0.2 + 0.1) is relu(0) in exact arithmetic but relu(5.6e-17) in
    floats: the engine takes one side, an oracle working in 30 digits the other, and
    neither is wrong. A gap this small (64 rounding units of the largest value in the
    trace) counts as the kink, so a judge says "not differentiable here" instead of
    "disagree". Asked only after a disagreement: it walks every entry in Python.
    """
    if trace.kind == "symbols":
        return []
    magnitude = kit(trace.kind).magnitude
    scale = max((magnitude(v) for v in trace.values), default=0.0)
    slack = 64 * 2.220446049250313e-16 * max(scale, 1e-300)
    found = []
    for node in trace.graph.gate_nodes:
        gate = node.gate
        if gate is None or not gate.kinked:
            continue
        xs = [trace.values[j] for j in node.inputs]
        if trace.kind == "arrays" and gate.elementwise:
            import numpy as np

            arrays = np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in xs])
            gap = min(
                (gate.kink_gap([float(a[i]) for a in arrays]) for i in np.ndindex(arrays[0].shape)),
                default=math.inf,
            )
        else:
            gap = gate.kink_gap([x if trace.kind == "arrays" else float(x) for x in xs])
        if gap <= slack:
            found.append(
                f"{gate.name} at step {node.step} is at its kink up to float rounding "
                f"(its inputs are {gap:.1e} from it)"
            )
    return found


# --------------------------------------------------------------------------- the loops


def _forward(
    graph: Graph, bindings: Mapping[str, Any], k: g.ValueKit, kinks: list[str] | None
) -> tuple[list[Any], list[Any], list[Any] | None]:
    """The forward pass: (values, stand-ins, values in terms of the inputs).

    The backward pass reads the stand-ins: the values themselves, except in symbols,
    where each stage is its own symbol (and `full` holds what it stands for).
    """
    n = len(graph.nodes)
    values: list[Any] = [None] * n
    names = k.names_stages
    stand = [None] * n if names else values  # what the next gates read
    full: list[Any] | None = [None] * n if names else None
    finite = k.finite
    for node in graph.nodes:
        index = node.index
        gate = node.gate
        if gate is None:
            if node.kind == "input":
                ref = node.ref
                # symbols: an input left unbound is its own symbol
                value = k.value(bindings[ref]) if ref in bindings else k.symbol(ref)
            else:
                assert node.value is not None
                value = k.const(node.value)
            values[index] = value
            if full is not None:
                stand[index] = full[index] = value
            continue
        xs = [stand[j] for j in node.inputs]
        if full is not None:  # symbols: each stage computed twice, then named
            values[index] = _stage_in_symbols(node, k, xs, full)
            stand[index] = k.symbol(node.ref)
            continue
        try:  # the common case, without a closure; any doubt takes the careful path
            out = gate.forward(k, xs)
            plain = finite(out)
        except (ArithmeticError, ValueError, TypeError):
            plain = False
        if not plain:
            out = _guard(node, xs, lambda gt=gate, a=xs: gt.forward(k, a))
        values[index] = out
        if kinks is not None and gate.kinked:
            reason = k.ask(gate.kink, gate, xs)
            if reason:
                kinks.append(f"{gate.name} at step {node.step}: {reason}")
    return values, stand, full


def _run(graph: Graph, bindings: dict[str, Any], k: g.ValueKit) -> Trace:
    """The forward pass, then the backward pass in reverse: one loop each, any kit."""
    kinks: list[str] = []
    with k.errors():
        values, stand, full = _forward(graph, bindings, k, kinks)
        n = len(graph.nodes)
        zero = k.zero
        grads: list[Any] = [zero] * n
        grads[graph.output] = k.seed(values[graph.output])
        locals_: list[tuple[Any, ...]] = [()] * n
        products: list[tuple[Any, ...]] = [()] * n
        contributions: list[list[Contribution]] = [[] for _ in range(n)]
        finite_all, fits, fit = k.finite_all, k.fits, k.fit
        for node in reversed(graph.nodes):
            gate = node.gate
            if gate is None:
                continue
            index = node.index
            xs = [stand[j] for j in node.inputs]
            out, upstream = stand[index], grads[index]
            if gate.singular_points:
                singular = k.ask(gate.singular, gate, xs)
                if singular:
                    raise InputError(
                        f"{gate.name} at step {node.step} got {_show_args(xs)}: {singular}. "
                        "Choose values away from that point."
                    )
            try:  # as in _forward: the careful path only when something looks wrong
                local = gate.local(k, xs, out)
                prods = gate.chain(upstream, local, xs, out)
                plain = finite_all(prods)
            except (ArithmeticError, ValueError, TypeError):
                plain = False
            if not plain:
                local = _guard(node, xs, lambda gt=gate, a=xs, o=out: gt.local(k, a, o), "local")
                prods = _guard(
                    node,
                    xs,
                    lambda gt=gate, a=xs, o=out, u=upstream, lc=local: gt.chain(u, lc, a, o),
                    "product",
                )
            if fits:
                local, prods = fit(local, prods, xs)
            locals_[index] = tuple(local)
            products[index] = tuple(prods)
            for position, (j, amount) in enumerate(zip(node.inputs, prods, strict=True)):
                grads[j] = grads[j] + amount  # not +=: that would change an array in place
                contributions[j].append(Contribution(index, position, amount))
    losses: list[FloatLoss] = []
    if k.kind != "symbols":  # where float64 lost a number (floatrange.py)
        losses = floatrange.losses(graph, k.kind, values, grads, locals_, products)
    shapes = [tuple(np_shape(v)) for v in values] if k.kind == "arrays" else None
    return Trace(
        graph,
        k.kind,
        dict(bindings),
        values,
        grads,
        locals_,
        products,
        contributions,
        kinks,
        losses,
        full=full,
        symbols=stand if full is not None else None,
        shapes=shapes,
    )


def np_shape(value: Any) -> tuple[int, ...]:
    import numpy as np

    return tuple(np.shape(value))


def _guard(node: Node, xs: Sequence[Any], compute: Any, part: str = "") -> Any:
    """Run one gate computation, turning math failures into errors that name the step.

    `part` says which of the gate's numbers it is: "" its value, "local" its local
    gradient, "product" its chain-rule product (the backward pass can overflow where
    the forward pass did not: -1/x² at x = 1e-200 is -1e400).
    """
    assert node.gate is not None
    name, where = node.gate.name, f"step {node.step}"
    what = {"": name, "local": f"the local gradient of {name}"}.get(
        part, f"the chain-rule product at {name}"
    )
    overflowed = f"{what} overflowed at {where} (it got {_show_args(xs)})" + (
        ": past the largest float, about 1.8e308" if part else ""
    )
    try:
        result = compute()
    except g.DomainError as exc:
        raise InputError(f"{name} at {where} got {_show_args(xs)}: {exc}") from None
    except ZeroDivisionError:
        raise InputError(f"division by zero at {where} ({name} got {_show_args(xs)})") from None
    except OverflowError:
        raise InputError(overflowed) from None
    except FloatingPointError as exc:  # numpy, under errstate(raise)
        text = str(exc)
        # "overflow encountered in divide" first: -1/x/x at x = 1e-200 is an overflow, not
        # a division by zero ("divide by zero encountered in divide")
        if "overflow" in text:
            raise InputError(overflowed) from None
        if "divide" in text:
            raise InputError(f"division by zero at {where} ({name} got {_show_args(xs)})") from None
        raise InputError(
            f"{name} at {where} got {_show_args(xs)}: the result is not a real number here"
        ) from None
    values = result if isinstance(result, tuple | list) else (result,)
    if any(not _finite(v) for v in values):
        raise InputError(overflowed)
    return result


def _finite(v: Any) -> bool:
    if v is None:  # a vector gate with no local number to show (softmax)
        return True
    try:
        return math.isfinite(v)
    except TypeError:  # arrays: every element finite; sympy: no number to overflow
        if not hasattr(v, "ndim"):
            return True
        import numpy as np

        return bool(np.all(np.isfinite(v)))


def _show_args(xs: Sequence[Any]) -> str:
    return ", ".join(
        f"{x:g}" if isinstance(x, float) else _array_text(x) if hasattr(x, "ndim") else str(x)
        for x in xs
    )


def _array_text(x: Any) -> str:
    """An array in an error message: [1, -2], or its shape and first entries if long."""
    flat = [f"{float(v):g}" for v in x.reshape(-1)[:7]]
    if x.ndim == 0:
        return flat[0]
    if x.size > 6:
        return f"a {tuple(x.shape)} array [{', '.join(flat[:6])}, …]"
    if x.ndim == 1:
        return "[" + ", ".join(flat) + "]"
    return "[" + ", ".join(_array_text(row) for row in x) + "]"


def _refuse_unknown_bindings(known: list[str], unknown: list[str]) -> None:
    name = unknown[0]
    hint = did_you_mean(name, known)
    raise InputError(
        f"{name!r} is given a value but is not a variable of the expression "
        f"(its variables: {', '.join(known)}).{hint}"
    )


def _check_shapes(graph: Graph, values: Mapping[str, Any]) -> None:
    """Refuse inputs whose shapes do not fit, naming the shapes and the step, before
    any arithmetic: each gate states its own shape rule (`Gate.shape`)."""
    shapes: list[tuple[int, ...]] = [()] * len(graph.nodes)
    for node in graph.nodes:
        if node.kind == "input":
            shapes[node.index] = np_shape(values[node.ref])
        elif node.gate is not None:
            refs = [graph.nodes[j].ref for j in node.inputs]
            try:
                shapes[node.index] = node.gate.shape([shapes[j] for j in node.inputs], refs)
            except InputError as exc:
                where = f"{node.gate.name} at step {node.step} (line {node.line})"
                raise InputError(f"{where}: {exc}") from None


# --------------------------------------------------------------------------- symbolic


def as_sympy(value: Any) -> Any:
    """Gates return plain ints for constant local gradients (add's 1); lift them."""
    import sympy

    return sympy.Integer(value) if isinstance(value, int) else value


def _refuse_outside_domain(node: Node, inputs: Sequence[Any]) -> None:
    """A gate whose inputs are all numbers in a symbolic trace (x given, y not) is
    checked as the numeric trace checks it: sqrt(-1) is an error at its step, not an
    imaginary number that makes a later max() fail inside sympy (exit 3)."""
    if not all(getattr(v, "is_number", False) for v in inputs):
        return
    try:
        numbers = [float(v) for v in inputs]
    except (TypeError, ValueError, OverflowError):
        return  # not a real float (already complex, or huge): sympy's own form stays
    assert node.gate is not None
    gate = node.gate
    _guard(node, numbers, lambda: gate.forward(FLOATS, numbers))


def _too_large_for_symbols(graph: Graph, what: str) -> InputError:
    example = " ".join(f"{name}=1" for name in list(graph.inputs)[:4])
    return InputError(
        f"{what}, too large to trace in symbols. Give every input a value for a "
        f"numeric trace, for example  {example}"
    )


def _stage_in_symbols(node: Node, k: g.ValueKit, xs: list[Any], full: list[Any]) -> Any:
    """A gate's stage in a symbolic trace: on the stage symbols, and in the inputs."""
    gate = node.gate
    assert gate is not None
    inputs = [full[j] for j in node.inputs]
    _refuse_outside_domain(node, inputs)
    try:
        out = gate.forward(k, xs)
        full[node.index] = gate.forward(k, inputs)
    except (TypeError, ValueError, ArithmeticError) as exc:
        # sympy refuses, e.g. Max of a non-real number: say where, not exit 3.
        raise InputError(
            f"{gate.name} at step {node.step} cannot be traced in symbols "
            f"({exc}); give every input a value for a numeric trace"
        ) from None
    return out


def _check_symbolic_size(trace: Trace) -> None:
    """Refuse a symbolic trace whose expressions are too big to print or simplify."""
    graph, full, grads, symbols = trace.graph, trace.full, trace.grads, trace.symbols
    assert full is not None and symbols is not None
    limit = SYMBOLIC_SIZE_LIMIT
    too_big = f"more than {limit:,} terms written out"
    if tree_size(full, limit) > limit:
        raise _too_large_for_symbols(
            graph, f"the forward values in terms of the inputs have {too_big}"
        )
    if tree_size(grads, limit) > limit:
        raise _too_large_for_symbols(graph, f"the chain-rule products have {too_big}")
    stages = {symbols[n.index]: full[n.index] for n in graph.gate_nodes}
    expanded = [grads[i].xreplace(stages) for i in graph.inputs.values() if grads[i] != 0]
    if tree_size(expanded, limit) > limit:
        raise _too_large_for_symbols(graph, f"the gradients in terms of the inputs have {too_big}")
