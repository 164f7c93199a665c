"""Graph + bindings -> Trace: the forward pass, then the backward pass in reverse.

As in micrograd: walk the nodes in topological order for the forward pass, then in
reverse for the backward pass, each gate multiplying its upstream gradient by its
local gradients and adding (`+=`) the products into its inputs, so forks sum.

With a value for every input the trace is numeric (float64). With names left
unbound it is symbolic: each stage is a sympy symbol named after its step, so the
chain rule reads in short expressions, and the final gradients are expanded back
into the inputs and simplified.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, NamedTuple

from backprop_cli.core import gates as g
from backprop_cli.core.budget import time_budget
from backprop_cli.core.graph import Graph, Node
from backprop_cli.core.language import is_array
from backprop_cli.errors import InputError

Mode = Literal["numeric", "symbolic"]
Kind = Literal["numbers", "arrays", "symbols"]

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


def run(graph: Graph, bindings: Mapping[str, float]) -> Trace:
    """Trace the graph: numeric when every input is bound, symbolic otherwise.

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
        return run_arrays(graph, used)
    if len(used) == len(graph.inputs):
        return _run_numeric(graph, {k: float(v) for k, v in used.items()})
    trace: Trace | None = None
    with time_budget(SYMBOLIC_TRACE_SECONDS) as clock:
        trace = _run_symbolic(graph, used)
    if clock.expired or trace is None:
        seconds = f"{SYMBOLIC_TRACE_SECONDS:g}"
        raise _too_large_for_symbols(graph, f"sympy needed more than {seconds} s to build it")
    return trace


@dataclass(frozen=True)
class Probe:
    """One forward pass in floats, as finite differences need it."""

    value: float  # the output (the sum of its entries, for a vector output)
    branches: tuple[Any, ...]  # which smooth piece each kinked gate (and entry) is on
    scale: float  # the largest |value| of any node: how big rounding errors can get


def probe(graph: Graph, bindings: Mapping[str, Any], kind: Kind = "numbers") -> Probe:
    """The output, the kinked gates' branches and the scale, from a single forward pass."""
    if kind == "arrays":
        return array_probe(graph, bindings)
    values = _forward(graph, bindings, kinks=None)
    kinked = (
        n
        for n in graph.nodes
        if n.gate is not None and n.gate.branch([0.0] * len(n.inputs)) is not None
    )
    return Probe(
        value=float(values[graph.output]),
        branches=tuple(n.gate.branch([values[j] for j in n.inputs]) for n in kinked if n.gate),
        scale=max((abs(float(v)) for v in values), default=0.0),
    )


# --------------------------------------------------------------------------- numeric


def _forward(graph: Graph, bindings: Mapping[str, float], kinks: list[str] | None) -> list[Any]:
    values: list[Any] = [None] * len(graph.nodes)
    for node in graph.nodes:
        if node.kind == "input":
            values[node.index] = float(bindings[node.ref])
        elif node.kind == "const":
            values[node.index] = node.value
        else:
            gate = node.gate
            assert gate is not None
            xs = [values[j] for j in node.inputs]
            try:  # the common case, without a closure; any doubt takes the careful path
                out = gate.forward(g.FloatMath, xs)
                plain = type(out) in _PLAIN and out - out == 0  # a finite float
            except (ArithmeticError, ValueError):
                plain = False
            if not plain:
                out = _guard(node, xs, lambda gt=gate, a=xs: gt.forward(g.FloatMath, a))
            values[node.index] = out
            if kinks is not None:
                reason = gate.kink(xs)
                if reason:
                    kinks.append(f"{gate.name} at step {node.step}: {reason}")
    return values


def _run_numeric(graph: Graph, bindings: dict[str, float]) -> Trace:
    kinks: list[str] = []
    values = _forward(graph, bindings, kinks)
    n = len(graph.nodes)
    grads: list[Any] = [0.0] * n
    grads[graph.output] = 1.0
    locals_: list[tuple[Any, ...]] = [()] * n
    products: list[tuple[Any, ...]] = [()] * n
    contributions: list[list[Contribution]] = [[] for _ in range(n)]
    for node in reversed(graph.nodes):
        if node.gate is None:
            continue
        gate = node.gate
        xs = [values[j] for j in node.inputs]
        out, upstream = values[node.index], grads[node.index]
        singular = gate.singular(xs)
        if singular:
            raise InputError(
                f"{gate.name} at step {node.step} got {_show_args(xs)}: {singular}. "
                "Choose values away from that point."
            )
        try:  # as in _forward: the careful path only when something looks wrong
            local = gate.local(g.FloatMath, xs, out)
            prods = gate.chain(upstream, local, xs, out)
            plain = all(type(v) in _PLAIN and v - v == 0 for v in (*local, *prods))
        except (ArithmeticError, ValueError):
            plain = False
        if not plain:
            local = _guard(node, xs, lambda gt=gate, a=xs, o=out: gt.local(g.FloatMath, a, o))
            prods = _guard(
                node, xs, lambda gt=gate, a=xs, o=out, u=upstream, lc=local: gt.chain(u, lc, a, o)
            )
        locals_[node.index] = tuple(local)
        products[node.index] = tuple(prods)
        index = node.index
        for position, (j, amount) in enumerate(zip(node.inputs, prods, strict=True)):
            grads[j] += amount
            contributions[j].append(Contribution(index, position, amount))
    return Trace(graph, "numbers", bindings, values, grads, locals_, products, contributions, kinks)


_PLAIN = (float, int)  # types the fast path trusts; anything else goes through _guard


def _guard(node: Node, xs: Sequence[Any], compute: Any) -> Any:
    """Run one gate computation, turning math failures into errors that name the step."""
    assert node.gate is not None
    name, where = node.gate.name, f"step {node.step}"
    try:
        result = compute()
    except g.DomainError as exc:
        raise InputError(f"{name} at {where} got {_show_args(xs)}: {exc}") from None
    except ZeroDivisionError:
        raise InputError(f"division by zero at {where} ({name} got {_show_args(xs)})") from None
    except OverflowError:
        raise InputError(f"{name} overflowed at {where} (it got {_show_args(xs)})") from None
    values = result if isinstance(result, tuple | list) else (result,)
    if any(not _finite(v) for v in values):
        raise InputError(f"{name} overflowed at {where} (it got {_show_args(xs)})")
    return result


def _finite(v: Any) -> bool:
    if v is None:  # a vector gate with no local number to show (softmax)
        return True
    try:
        return math.isfinite(v)
    except TypeError:  # arrays: every element finite
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
    import difflib

    name = unknown[0]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" Did you mean {close[0]}?" if close else ""
    raise InputError(
        f"{name!r} is given a value but is not a variable of the expression "
        f"(its variables: {', '.join(known)}).{hint}"
    )


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
    _guard(node, numbers, lambda: gate.forward(g.FloatMath(), numbers))


def _too_large_for_symbols(graph: Graph, what: str) -> InputError:
    example = " ".join(f"{name}=1" for name in list(graph.inputs)[:4])
    return InputError(
        f"{what}, too large to trace in symbols. Give every input a value for a "
        f"numeric trace, for example  {example}"
    )


def _run_symbolic(graph: Graph, bindings: dict[str, float]) -> Trace:
    import sympy

    gates = len(graph.gate_nodes)
    if gates > SYMBOLIC_TRACE_GATE_LIMIT:
        limit = f"{SYMBOLIC_TRACE_GATE_LIMIT:,}"
        raise _too_large_for_symbols(
            graph, f"the circuit has {gates:,} gates (the limit is {limit})"
        )

    k = g.SympyMath()
    n = len(graph.nodes)
    symbols: list[Any] = [None] * n  # what stands for each node in the stage view
    full: list[Any] = [None] * n  # each node in terms of the inputs
    values: list[Any] = [None] * n
    for node in graph.nodes:
        if node.kind == "input":
            value = k.const(bindings[node.ref]) if node.ref in bindings else None
            symbol = value if value is not None else sympy.Symbol(node.ref, real=True)
            symbols[node.index] = full[node.index] = values[node.index] = symbol
        elif node.kind == "const":
            assert node.value is not None
            symbols[node.index] = full[node.index] = values[node.index] = k.const(node.value)
        else:
            assert node.gate is not None
            stage_inputs = [symbols[j] for j in node.inputs]
            _refuse_outside_domain(node, [full[j] for j in node.inputs])
            try:
                values[node.index] = node.gate.forward(k, stage_inputs)
                full[node.index] = node.gate.forward(k, [full[j] for j in node.inputs])
            except (TypeError, ValueError, ArithmeticError) as exc:
                # sympy refuses, e.g. Max of a non-real number: say where, not exit 3.
                raise InputError(
                    f"{node.gate.name} at step {node.step} cannot be traced in symbols "
                    f"({exc}); give every input a value for a numeric trace"
                ) from None
            symbols[node.index] = sympy.Symbol(node.ref, real=True)

    grads: list[Any] = [sympy.Integer(0)] * n
    grads[graph.output] = sympy.Integer(1)
    locals_: list[tuple[Any, ...]] = [()] * n
    products: list[tuple[Any, ...]] = [()] * n
    contributions: list[list[Contribution]] = [[] for _ in range(n)]
    for node in reversed(graph.nodes):
        if node.gate is None:
            continue
        xs = [symbols[j] for j in node.inputs]
        out, upstream = symbols[node.index], grads[node.index]
        local = tuple(as_sympy(v) for v in node.gate.local(k, xs, out))
        prods = node.gate.chain(upstream, local, xs, out)
        locals_[node.index] = local
        products[node.index] = tuple(prods)
        for position, (j, amount) in enumerate(zip(node.inputs, prods, strict=True)):
            grads[j] = grads[j] + amount
            contributions[j].append(Contribution(node.index, position, amount))
    _check_symbolic_size(graph, full, grads, symbols)
    return Trace(
        graph,
        "symbols",
        bindings,
        values,
        grads,
        locals_,
        products,
        contributions,
        full=full,
        symbols=symbols,
    )


def _check_symbolic_size(
    graph: Graph, full: list[Any], grads: list[Any], symbols: list[Any]
) -> None:
    """Refuse a symbolic trace whose expressions are too big to print or simplify."""
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


# --------------------------------------------------------------------------- arrays


def run_arrays(graph: Graph, bindings: Mapping[str, Any]) -> Trace:
    """The numeric trace with vectors and matrices: numpy float64, the same gates.

    Elementwise gates broadcast, and a broadcast input gets its gradient summed back
    to its own shape (`unbroadcast`); vector gates apply their own backward rule in
    `chain`. A vector output is seeded with ones: the gradients are those of the sum
    of its entries, as PyTorch's backward(torch.ones_like(f)).
    """
    import numpy as np

    missing = [name for name in graph.inputs if name not in bindings]
    if missing:
        raise InputError(
            f"{missing[0]!r} has no value: traces with vectors and matrices are numeric, so "
            "every input needs a value (a number, a vector [1,2] or a matrix [[1,2],[3,4]])"
        )
    k = g.NumpyMath()
    arrays = {name: np.asarray(value, dtype=float) for name, value in bindings.items()}
    kinks: list[str] = []
    with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
        values, shapes = _forward_arrays(graph, arrays, k, kinks)
        n = len(graph.nodes)
        grads: list[Any] = [0.0] * n
        grads[graph.output] = np.ones(shapes[graph.output])
        locals_: list[tuple[Any, ...]] = [()] * n
        products: list[tuple[Any, ...]] = [()] * n
        contributions: list[list[Contribution]] = [[] for _ in range(n)]
        for node in reversed(graph.nodes):
            if node.gate is None:
                continue
            gate = node.gate
            xs = [values[j] for j in node.inputs]
            out, upstream = values[node.index], grads[node.index]
            singular = _each_entry(gate.singular, xs) if gate.elementwise else None
            if singular:
                raise InputError(
                    f"{gate.name} at step {node.step} got {_show_args(xs)}: {singular}. "
                    "Choose values away from that point."
                )
            local = _guard(node, xs, _raising(lambda gt=gate, a=xs, o=out: gt.local(k, a, o)))
            prods = _guard(
                node,
                xs,
                _raising(lambda gt=gate, a=xs, o=out, u=upstream, lc=local: gt.chain(u, lc, a, o)),
            )
            prods = tuple(
                unbroadcast(np.asarray(p, dtype=float), shapes[j])
                for p, j in zip(prods, node.inputs, strict=True)
            )
            locals_[node.index] = tuple(local)
            products[node.index] = prods
            for position, (j, amount) in enumerate(zip(node.inputs, prods, strict=True)):
                grads[j] = grads[j] + amount
                contributions[j].append(Contribution(node.index, position, amount))
    return Trace(
        graph,
        "arrays",
        dict(arrays),
        values,
        grads,
        locals_,
        products,
        contributions,
        kinks,
        shapes=shapes,
    )


def _forward_arrays(
    graph: Graph, arrays: Mapping[str, Any], k: Any, kinks: list[str] | None
) -> tuple[list[Any], list[tuple[int, ...]]]:
    import numpy as np

    values: list[Any] = [None] * len(graph.nodes)
    shapes: list[tuple[int, ...]] = [()] * len(graph.nodes)
    for node in graph.nodes:
        if node.kind == "input":
            values[node.index] = arrays[node.ref]
        elif node.kind == "const":
            values[node.index] = np.float64(node.value)
        else:
            assert node.gate is not None
            gate = node.gate
            xs = [values[j] for j in node.inputs]
            _check_shapes(graph, node, [np.shape(x) for x in xs])
            out = _guard(node, xs, _raising(lambda gt=gate, a=xs: gt.forward(k, a)))
            values[node.index] = np.asarray(out, dtype=float)
            if kinks is not None:
                reason = _each_entry(gate.kink, xs) if gate.elementwise else gate.kink(xs)
                if reason:
                    kinks.append(f"{gate.name} at step {node.step}: {reason}")
        shapes[node.index] = tuple(np.shape(values[node.index]))
    return values, shapes


def _check_shapes(graph: Graph, node: Node, shapes: list[tuple[int, ...]]) -> None:
    """Refuse inputs whose shapes do not fit, naming the shapes and the step."""
    import numpy as np

    from backprop_cli.core.vector_gates import VectorGate, shape_text

    gate = node.gate
    refs = [graph.nodes[j].ref for j in node.inputs]
    where = f"{gate.name if gate else '?'} at step {node.step} (line {node.line})"
    if isinstance(gate, VectorGate):
        try:
            gate.shape(shapes, refs)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        return
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        shown = " and ".join(f"{r} {shape_text(s)}" for r, s in zip(refs, shapes, strict=True))
        raise InputError(
            f"{where}: the shapes do not fit entry by entry: {shown}. Elementwise gates "
            "need equal shapes, or a plain number, or a vector as long as a matrix's rows "
            "(numpy broadcasting); for a matrix product use @"
        ) from None


def _raising(compute: Any) -> Any:
    """numpy's floating-point errors as the exceptions `_guard` turns into messages."""

    def run() -> Any:
        try:
            return compute()
        except FloatingPointError as exc:
            text = str(exc)
            if "divide" in text:
                raise ZeroDivisionError from None
            if "overflow" in text:
                raise OverflowError from None
            raise g.DomainError("the result is not a real number here") from None

    return run


def _each_entry(method: Any, xs: Sequence[Any]) -> str | None:
    """A scalar gate's kink() or singular() asked entry by entry (after broadcasting)."""
    import numpy as np

    arrays = np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in xs])
    for index in np.ndindex(arrays[0].shape):
        reason = method([float(a[index]) for a in arrays])
        if reason:
            where = f" (entry {list(index)})" if index else ""
            return f"{reason}{where}"
    return None


def unbroadcast(gradient: Any, shape: tuple[int, ...]) -> Any:
    """Sum a gradient back to the shape of an input that numpy broadcast.

    A (2,) vector added to a (3, 2) matrix was used once per row, so (a fork, done
    entry by entry) its gradient is the sum over the rows.
    """
    import numpy as np

    extra = gradient.ndim - len(shape)
    if extra > 0:
        gradient = gradient.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and gradient.shape[i] != 1)
    if stretched:
        gradient = gradient.sum(axis=stretched, keepdims=True)
    return np.broadcast_to(gradient, shape).copy() if gradient.shape != shape else gradient


def array_probe(graph: Graph, bindings: Mapping[str, Any]) -> Probe:
    """One forward pass: the output summed, the branches and the scale."""
    import numpy as np

    arrays = {name: np.asarray(v, dtype=float) for name, v in bindings.items()}
    with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
        values, _ = _forward_arrays(graph, arrays, g.NumpyMath(), kinks=None)
    out: list[Any] = []
    for node in graph.gate_nodes:
        assert node.gate is not None
        xs = [values[j] for j in node.inputs]
        if not node.gate.elementwise:
            out.append(node.gate.branch(xs))
        elif node.gate.branch([0.0] * len(xs)) is not None:
            out.append(_entry_branches(node.gate, xs))
    scale = max((float(np.max(np.abs(v), initial=0.0)) for v in values), default=0.0)
    return Probe(float(np.sum(values[graph.output])), tuple(out), scale)


def _entry_branches(gate: g.Gate, xs: Sequence[Any]) -> Any:
    """A kinked elementwise gate's branch for every entry, in numpy where the rule is known."""
    import numpy as np

    arrays = np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in xs])
    if isinstance(gate, g.Relu | g.Abs):  # their branch is x > 0
        return (arrays[0] > 0).tobytes()
    if isinstance(gate, g.Max | g.Min):  # the index of the winner, the first in a tie
        pick = np.argmax if gate.largest else np.argmin
        return pick(np.stack(arrays), axis=0).tobytes()
    return tuple(  # any other kinked gate: asked entry by entry
        gate.branch([float(a[i]) for a in arrays]) for i in np.ndindex(arrays[0].shape)
    )
