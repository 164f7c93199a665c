"""The staged forward and backward pass as plain Python, in the notes' style.

    # backprop invden = 1.0 / den
    dden = (-1.0 / (den * den)) * dinvden

Each gate's code comes from the gate's own rules: `forward` and `local` are run with
`SourceMath`, a math kit whose values are pieces of Python source, so the generated
code computes exactly what the engine computes, in the same order (it prints the
same float64 gradients). Forward values are cached in variables, and gradients
accumulate with `+=` at forks.

Safe by construction: the only words in the generated code are names the parser
accepted (letters, digits and _; never starting with _), our own fixed words, and
numbers written with `repr(float)`. User text is never copied into it otherwise.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from backprop_cli.core.engine import Trace
from backprop_cli.core.gates import MathKit
from backprop_cli.core.graph import Graph
from backprop_cli.errors import InputError

# Python operator precedence, loosest first: `a if c else b`, a + b, a * b, -a, atoms.
# (Powers are written math.pow(a, b), as FloatMath computes them.)
CONDITIONAL, SUM, PRODUCT, UNARY, ATOM = range(-1, 4)

# Names the generated code itself uses; a circuit variable with one of these names
# is renamed in the code (math_, print_).
RESERVED = frozenset(
    {"math", "np", "print", "float", "max", "min", "abs", "len", "sum", "sum_to", "onehot"}
)


@dataclass(frozen=True)
class Src:
    """A piece of Python source with its precedence, combined like a number."""

    text: str
    prec: int = ATOM

    def wrap(self, at_least: int) -> str:
        return self.text if self.prec >= at_least else f"({self.text})"

    def _binary(self, other: object, op: str, prec: int, swap: bool = False) -> Src:
        a, b = (lift(other), self) if swap else (self, lift(other))
        # The right side needs parentheses at equal precedence: a - (b - c), and
        # a + (b + c) too, since float addition is not associative.
        return Src(f"{a.wrap(prec)} {op} {b.wrap(prec + 1)}", prec)

    def __add__(self, other: object) -> Src:
        return self._binary(other, "+", SUM)

    def __radd__(self, other: object) -> Src:
        return self._binary(other, "+", SUM, swap=True)

    def __sub__(self, other: object) -> Src:
        return self._binary(other, "-", SUM)

    def __rsub__(self, other: object) -> Src:
        return self._binary(other, "-", SUM, swap=True)

    def __mul__(self, other: object) -> Src:
        return self._binary(other, "*", PRODUCT)

    def __rmul__(self, other: object) -> Src:
        return self._binary(other, "*", PRODUCT, swap=True)

    def __truediv__(self, other: object) -> Src:
        return self._binary(other, "/", PRODUCT)

    def __rtruediv__(self, other: object) -> Src:
        return self._binary(other, "/", PRODUCT, swap=True)

    def __neg__(self) -> Src:
        return Src(f"-{self.wrap(UNARY)}", UNARY)

    def __getitem__(self, index: object) -> Src:
        items = index if isinstance(index, tuple) else (index,)
        return Src(f"{self.wrap(ATOM)}[{', '.join(str(i) for i in items)}]")


def number(c: float) -> Src:
    """A float literal that reads back as exactly the same float."""
    c = float(c)
    if not math.isfinite(c):  # pragma: no cover - the parser refuses these
        raise InputError(f"cannot write {c} as Python code")
    text = repr(c)
    return Src(text, UNARY if text.startswith("-") else ATOM)


def lift(value: object) -> Src:
    if isinstance(value, Src):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value)
    raise TypeError(f"cannot write {value!r} as Python code")  # pragma: no cover


def call(name: str, *args: object) -> Src:
    return Src(f"{name}({', '.join(lift(a).text for a in args)})")


class _SourceFunctions:
    """What both source kits write alike: a constant, and the functions of one
    argument as calls into their module (`math.exp(x)`, `np.exp(x)`)."""

    module = "math"

    @staticmethod
    def const(c: float) -> Src:
        return number(c)

    def exp(self, x: Src) -> Src:
        return call(f"{self.module}.exp", x)

    def log(self, x: Src) -> Src:
        return call(f"{self.module}.log", x)

    def sqrt(self, x: Src) -> Src:
        return call(f"{self.module}.sqrt", x)

    def sin(self, x: Src) -> Src:
        return call(f"{self.module}.sin", x)

    def cos(self, x: Src) -> Src:
        return call(f"{self.module}.cos", x)

    def tanh(self, x: Src) -> Src:
        return call(f"{self.module}.tanh", x)

    # The code is the notes' (1 - f**2, f * (1 - f)); the engine's numbers avoid their
    # cancellation where tanh or σ round to 1 (gates.FloatMath.tanh_slope).
    @staticmethod
    def tanh_slope(x: Src, out: Src) -> Src:
        return 1 - out * out

    @staticmethod
    def sigmoid_slope(x: Src, out: Src) -> Src:
        return out * (1 - out)


class SourceMath(_SourceFunctions):
    """The gates' math kit, writing Python source instead of computing.

    `prelude` collects statements a piece of source needs before the line that uses
    it (the winner of a max, computed once); `to_python` writes them out.
    """

    def __init__(self) -> None:
        self.prelude: list[str] = []

    @staticmethod
    def sigmoid(x: Src) -> Src:
        # The same two overflow-safe forms as FloatMath.sigmoid.
        t = x.text
        return Src(
            f"1.0 / (1.0 + math.exp(-{x.wrap(UNARY)})) if {t} >= 0 "
            f"else math.exp({t}) / (1.0 + math.exp({t}))",
            CONDITIONAL,
        )

    @staticmethod
    def power(a: Src, b: Src) -> Src:
        return call("math.pow", a, b)

    @staticmethod
    def relu(x: Src) -> Src:
        return Src(f"{x.text} if {x.text} > 0 else 0.0", CONDITIONAL)

    @staticmethod
    def step(x: Src) -> Src:
        return Src(f"1.0 if {x.text} > 0 else 0.0", CONDITIONAL)

    @staticmethod
    def sign(x: Src) -> Src:
        return Src(f"1.0 if {x.text} > 0 else -1.0 if {x.text} < 0 else 0.0", CONDITIONAL)

    @staticmethod
    def abs(x: Src) -> Src:
        return call("abs", x)

    @staticmethod
    def pick(xs: Sequence[Src], largest: bool) -> Src:
        return call("max" if largest else "min", *xs)

    def routes(self, xs: Sequence[Src], largest: bool) -> tuple[Src, ...]:
        # 1 for the winner, 1/k in a k-way tie, as FloatMath.routes. The winner and the
        # tie count are computed once, before the gradients: written into every share,
        # a max of 3,000 inputs was 179 MB of Python (and 9,000 took 6.5 GB to write).
        values = ", ".join(x.text for x in xs)
        self.prelude += [
            f"_best = {'max' if largest else 'min'}({values})",
            f"_ties = [{values}].count(_best)",
        ]
        return tuple(Src(f"1.0 / _ties if {x.text} == _best else 0.0", CONDITIONAL) for x in xs)


class _NumpyNames:
    """`k.np.matmul(a, b)` in a vector gate's forward rule, written as numpy source."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name == "asarray":  # the values are arrays already
            return lambda x, **_: lift(x)
        if name == "matmul":  # the notes write D = W.dot(X)
            return lambda a, b: Src(f"{lift(a).wrap(ATOM)}.dot({lift(b).text})")

        def write(*args: object, **keywords: object) -> Src:
            parts = [lift(a).text for a in args]
            parts += [f"{k}={v!r}" for k, v in keywords.items() if v is not None]
            return Src(f"np.{name}({', '.join(parts)})")

        return write


class NumpySourceMath(_SourceFunctions):
    """The gates' math kit for arrays, writing numpy source (`backprop code` on vectors):
    the same forms as `gates.NumpyMath`, so the code computes what the engine computes."""

    module = "np"
    np = _NumpyNames()

    @staticmethod
    def sigmoid(x: Src) -> Src:
        z = f"np.exp(-np.abs({x.text}))"  # never overflows, as NumpyMath.sigmoid
        return Src(f"np.where({x.text} >= 0, 1.0 / (1.0 + {z}), {z} / (1.0 + {z}))")

    @staticmethod
    def power(a: Src, b: Src) -> Src:
        return call("np.power", a, b)

    @staticmethod
    def relu(x: Src) -> Src:
        return Src(f"np.where({x.text} > 0, {x.text}, 0.0)")

    @staticmethod
    def step(x: Src) -> Src:
        return Src(f"np.where({x.text} > 0, 1.0, 0.0)")

    @staticmethod
    def sign(x: Src) -> Src:
        return call("np.sign", x)

    @staticmethod
    def abs(x: Src) -> Src:
        return call("np.abs", x)

    @staticmethod
    def pick(xs: Sequence[Src], largest: bool) -> Src:
        best = xs[0]
        for x in xs[1:]:
            best = call("np.maximum" if largest else "np.minimum", best, x)
        return best

    @staticmethod
    def routes(xs: Sequence[Src], largest: bool) -> tuple[Src, ...]:
        best = NumpySourceMath.pick(xs, largest).text
        ties = " + ".join(f"({x.text} == {best})" for x in xs)
        return tuple(Src(f"({x.text} == {best}) / ({ties})", PRODUCT) for x in xs)


# Helpers the numpy code defines when it needs them (our own text, never the user's).
_SUM_TO = '''def sum_to(gradient, shape):
    """A gradient summed back to the shape of a value numpy broadcast (used once per row)."""
    gradient = np.asarray(gradient)
    while gradient.ndim > len(shape):
        gradient = gradient.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and gradient.shape[axis] != 1:
            gradient = gradient.sum(axis=axis, keepdims=True)
    return gradient
'''
_ONEHOT = '''def onehot(shape, index, value):
    """Zeros of `shape` with `value` at `index`: where the gradient of w[0] goes."""
    gradient = np.zeros(shape)
    gradient[index] = value
    return gradient
'''


def _array_text(value: Any) -> str:
    """An input's value as numpy source that reads back to the same floats."""
    import numpy as np

    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return number(float(array)).text

    def rows(a: Any) -> str:
        if a.ndim == 1:
            return "[" + ", ".join(number(float(v)).text for v in a) + "]"
        return "[" + ", ".join(rows(r) for r in a) + "]"

    return f"np.array({rows(array)})"


def _operands(graph: Graph, names: dict[int, str]) -> Callable[[int], Src]:
    """A node as an operand in the code: its constant, or the variable it is cached in."""

    def operand(j: int) -> Src:
        node = graph.nodes[j]
        if node.kind == "const":
            assert node.value is not None
            return number(node.value)
        return Src(names[j])

    return operand


def _inputs_and_forward(
    trace: Trace,
    names: dict[int, str],
    kit: MathKit,
    operand: Callable[[int], Src],
    value_text: Callable[[Any], str],
) -> list[str]:
    """The inputs (in the order the values were given) and the forward pass, each stage
    cached in a variable: the same for the math code and the numpy code."""
    graph = trace.graph
    lines = ["# inputs"]
    for name in trace.bindings:
        lines.append(f"{names[graph.inputs[name]]} = {value_text(trace.bindings[name])}")
    lines += ["", "# forward pass (each stage cached in a variable for the backward pass)"]
    for node in graph.gate_nodes:
        assert node.gate is not None
        value = node.gate.forward(kit, [operand(j) for j in node.inputs])
        lines.append(f"{names[node.index]} = {lift(value).text}")
    return lines


def to_numpy(trace: Trace) -> str:
    """Runnable numpy code for a circuit of vectors and matrices, in the notes' style:
    forward values cached, then `dW = dD.dot(X.T)`, `+=` at forks."""
    graph = trace.graph
    names = _identifiers(graph)
    grads = _gradient_names(names)
    kit: MathKit = NumpySourceMath()
    shapes = [trace.shape(i) for i in range(len(graph.nodes))]

    operand = _operands(graph, names)
    out = graph.output
    body = _inputs_and_forward(trace, names, kit, operand, _array_text)

    body += ["", "# backward pass: each gate's rule on its upstream gradient, += at forks"]
    seed = "np.ones_like(" + names[out] + ")" if shapes[out] else "1.0"
    body.append(f"{grads[out]} = {seed}")
    assigned = {out}
    helpers: set[str] = set()
    for node in reversed(graph.gate_nodes):
        gate = node.gate
        assert gate is not None
        xs = [operand(j) for j in node.inputs]
        dout = grads[node.index]
        body.append(f"# backprop {names[node.index]} = {gate.computes([x.text for x in xs])}")
        if gate.elementwise:
            local = gate.local(kit, xs, Src(names[node.index]))
            sent = []
            for j, factor in zip(node.inputs, local, strict=True):
                text = f"{lift(factor).wrap(PRODUCT)} * {dout}"
                if shapes[j] != shapes[node.index]:  # broadcast forward: summed back
                    helpers.add(_SUM_TO)
                    text = f"sum_to({text}, {names.get(j, 'x')}.shape)"
                sent.append(text)
        else:
            vector_shapes = [shapes[j] for j in node.inputs]
            sent = list(
                gate.code_chain([x.text for x in xs], vector_shapes, names[node.index], dout)  # type: ignore[attr-defined]
            )
            if "onehot(" in "".join(sent):
                helpers.add(_ONEHOT)
        for j, text in zip(node.inputs, sent, strict=True):
            if graph.nodes[j].kind == "const":
                continue  # a constant needs no gradient
            op = "+=" if j in assigned else "="
            assigned.add(j)
            body.append(f"{grads[j]} {op} {text}")

    body += ["", "# the value and the gradients on the inputs"]
    body.append(f'print("{names[out]} =", {names[out]})')
    for name in trace.bindings:
        index = graph.inputs[name]
        body.append(f'print("d{names[out]}/d{names[index]} =", {grads[index]})')
    head = [
        f'"""Backpropagation through the circuit for {names[out]}, staged as in the notes."""',
        "",
        "import numpy as np",
        "",
    ]
    chosen = [helper for helper in (_SUM_TO, _ONEHOT) if helper in helpers]
    for helper in chosen:  # two blank lines around a function, as PEP 8 has it
        head += ["", helper.rstrip(), ""]
    if chosen:
        head.append("")
    return "\n".join([*head, *body]) + "\n"


def _identifiers(graph: Graph) -> dict[int, str]:
    """A safe Python name for every input and step: the parser's names, checked again."""
    taken: set[str] = set(RESERVED)
    names: dict[int, str] = {}
    for node in graph.nodes:
        if node.kind == "const":
            continue
        base = node.ref
        ok = base.isascii() and base.isidentifier() and not base.startswith("_")
        if not ok or keyword.iskeyword(base) or keyword.issoftkeyword(base):
            base = f"v{node.index}"
        name = base
        while name in taken:
            name += "_"
        taken.add(name)
        names[node.index] = name
    return names


def _gradient_names(names: dict[int, str]) -> dict[int, str]:
    """d + name, unless that collides (a circuit with both x and dx)."""
    taken = set(RESERVED) | set(names.values())
    grads: dict[int, str] = {}
    for index, name in names.items():
        grad = f"d{name}"
        while grad in taken:
            grad = f"d_{grad}"
        taken.add(grad)
        grads[index] = grad
    return grads


def to_python(trace: Trace) -> str:
    """Runnable Python that prints the output's value and its gradients, one per line."""
    graph = trace.graph
    if trace.kind == "symbols":
        missing = [name for name in graph.inputs if name not in trace.bindings]
        raise InputError(
            "backprop code writes a program that runs on numbers: give a value for "
            + ", ".join(missing)
            + " (for example  "
            + " ".join(f"{name}=1" for name in missing)
            + ")"
        )
    if trace.kind == "arrays":  # vectors and matrices: numpy, in the notes' style
        return to_numpy(trace)
    names = _identifiers(graph)
    grads = _gradient_names(names)
    kit = SourceMath()

    operand = _operands(graph, names)
    out = graph.output
    lines = [
        f'"""Backpropagation through the circuit for {names[out]}, staged as in the notes."""',
        "",
        "import math",
        "",
        *_inputs_and_forward(trace, names, kit, operand, lambda v: number(v).text),
    ]

    lines += ["", "# backward pass: local gradient times upstream gradient, += at forks"]
    lines.append(f"{grads[out]} = 1.0")
    assigned = {out}
    for node in reversed(graph.gate_nodes):
        gate = node.gate
        assert gate is not None
        if not gate.plain_chain:  # pragma: no cover - no such gate yet
            raise InputError(f"backprop code cannot write the {gate.name} gate yet")
        xs = [operand(j) for j in node.inputs]
        local = gate.local(kit, xs, Src(names[node.index]))
        # A comment from our own words: the gate's rule on the safe names.
        lines.append(f"# backprop {names[node.index]} = {gate.computes([x.text for x in xs])}")
        lines += kit.prelude  # `_` names: the parser never gives a stage one
        kit.prelude.clear()
        for j, grad in zip(node.inputs, local, strict=True):
            if graph.nodes[j].kind == "const":
                continue  # a constant needs no gradient
            op = "+=" if j in assigned else "="
            assigned.add(j)
            factor = lift(grad)
            factor_text = factor.text if factor.prec == ATOM else f"({factor.text})"
            lines.append(f"{grads[j]} {op} {factor_text} * {grads[node.index]}")

    lines += ["", "# the value and the gradients on the inputs"]
    lines.append(f'print("{names[out]} =", {names[out]})')
    for index in (graph.inputs[name] for name in trace.bindings):
        lines.append(f'print("d{names[out]}/d{names[index]} =", {grads[index]})')
    return "\n".join(lines) + "\n"
