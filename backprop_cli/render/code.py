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
from collections.abc import Sequence
from dataclasses import dataclass

from backprop_cli.core.engine import Trace
from backprop_cli.core.graph import Graph
from backprop_cli.errors import InputError

# Python operator precedence, loosest first: `a if c else b`, a + b, a * b, -a, atoms.
# (Powers are written math.pow(a, b), as FloatMath computes them.)
CONDITIONAL, SUM, PRODUCT, UNARY, ATOM = range(-1, 4)

# Names the generated code itself uses; a circuit variable with one of these names
# is renamed in the code (math_, print_).
RESERVED = frozenset({"math", "print", "float", "max", "min", "abs", "len", "sum"})


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


class SourceMath:
    """The gates' math kit, writing Python source instead of computing."""

    @staticmethod
    def const(c: float) -> Src:
        return number(c)

    @staticmethod
    def exp(x: Src) -> Src:
        return call("math.exp", x)

    @staticmethod
    def log(x: Src) -> Src:
        return call("math.log", x)

    @staticmethod
    def sqrt(x: Src) -> Src:
        return call("math.sqrt", x)

    @staticmethod
    def sin(x: Src) -> Src:
        return call("math.sin", x)

    @staticmethod
    def cos(x: Src) -> Src:
        return call("math.cos", x)

    @staticmethod
    def tanh(x: Src) -> Src:
        return call("math.tanh", x)

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

    @staticmethod
    def routes(xs: Sequence[Src], largest: bool) -> tuple[Src, ...]:
        # 1 for the winner, 1/k in a k-way tie, as FloatMath.routes.
        best = call("max" if largest else "min", *xs).text
        values = "[" + ", ".join(x.text for x in xs) + "]"
        return tuple(
            Src(f"1.0 / {values}.count({best}) if {x.text} == {best} else 0.0", CONDITIONAL)
            for x in xs
        )


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
    arrays = [name for name, value in trace.bindings.items() if hasattr(value, "ndim")]
    if arrays:
        which = (
            f"{arrays[0]} is a vector or matrix"
            if len(arrays) == 1
            else (f"{', '.join(arrays)} are vectors or matrices")
        )
        raise InputError(
            f"backprop code writes circuits of plain numbers, and {which}; "
            "trace it with  backprop trace  instead"
        )
    names = _identifiers(graph)
    grads = _gradient_names(names)
    kit = SourceMath()

    def operand(j: int) -> Src:
        node = graph.nodes[j]
        if node.kind == "const":
            assert node.value is not None
            return number(node.value)
        return Src(names[j])

    out = graph.output
    lines = [
        f'"""Backpropagation through the circuit for {names[out]}, staged as in the notes."""',
        "",
        "import math",
        "",
        "# inputs",
    ]
    for name, index in graph.inputs.items():
        lines.append(f"{names[index]} = {number(trace.bindings[name]).text}")

    lines += ["", "# forward pass (each stage cached in a variable for the backward pass)"]
    for node in graph.gate_nodes:
        assert node.gate is not None
        value = node.gate.forward(kit, [operand(j) for j in node.inputs])
        lines.append(f"{names[node.index]} = {lift(value).text}")

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
    for index in graph.inputs.values():
        lines.append(f'print("d{names[out]}/d{names[index]} =", {grads[index]})')
    return "\n".join(lines) + "\n"
