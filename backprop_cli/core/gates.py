"""The gate catalog: one class per gate, as the lecture notes draw them.

Each gate states its forward rule next to its local gradients, so a learner can be
shown both a formula (`-1/x²`) and a number. The rules are written once against a
small math "kit" (`FloatMath` for numbers, `SympyMath` for symbols; a numpy kit
fits the same interface), so the sympy form of a gate is its forward rule run with
`SympyMath`, and symbolic traces reuse the very rules the numeric trace uses.

Non-differentiable points follow PyTorch: relu'(0) = 0, abs'(0) = 0, and a max/min
tie splits the gradient evenly among the tied inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Literal, Protocol

from backprop_cli.core.numbers import shape_text
from backprop_cli.errors import InputError

Kind = Literal["numbers", "arrays", "symbols"]  # what a trace's values are
# The smallest normal float64 (sys.float_info.min). Below it a float keeps fewer than
# 16 digits (5e-324 keeps one), and below 2.5e-324 it is 0: where a gradient can be
# lost to float range.
MIN_NORMAL = 2.2250738585072014e-308
Shape = tuple[int, ...]


class DomainError(ValueError):
    """A gate got an input outside its domain; the message says what it needs."""


# --------------------------------------------------------------------------- kits


class MathKit(Protocol):
    """The math a gate's rules are written against.

    FloatMath (numbers), NumpyMath (arrays), SympyMath (symbols) and the code
    generator's SourceMath (Python source) each give every one of these.
    """

    def const(self, c: float) -> Any: ...
    def exp(self, x: Any) -> Any: ...
    def log(self, x: Any) -> Any: ...
    def sqrt(self, x: Any) -> Any: ...
    def sin(self, x: Any) -> Any: ...
    def cos(self, x: Any) -> Any: ...
    def tanh(self, x: Any) -> Any: ...
    def sigmoid(self, x: Any) -> Any: ...
    # The local gradients of tanh and σ, given the input and the cached output. The
    # notes' forms 1 − t² and σ(1 − σ) cancel to 0 in floats once t or σ rounds to 1
    # (tanh from |x| ≈ 19, σ from x ≈ 37), where the true value is still 1.7e-17 or
    # 8.5e-17: the number kits compute them without the cancellation, the symbol and
    # source kits write the notes' forms.
    def tanh_slope(self, x: Any, out: Any) -> Any: ...
    def sigmoid_slope(self, x: Any, out: Any) -> Any: ...
    def power(self, a: Any, b: Any) -> Any: ...
    def relu(self, x: Any) -> Any: ...
    def step(self, x: Any) -> Any: ...
    def sign(self, x: Any) -> Any: ...
    def abs(self, x: Any) -> Any: ...
    def pick(self, xs: Sequence[Any], largest: bool) -> Any: ...
    def routes(self, xs: Sequence[Any], largest: bool) -> tuple[Any, ...]: ...


Rule = Callable[[Sequence[Any]], "str | None"]  # a gate's kink() or singular()


class ValueKit(MathKit, Protocol):
    """A MathKit that the engine's one forward and backward loop runs on.

    Everything that differs between numbers, arrays and symbols is here, so the
    engine has one loop. The hooks the loop calls on every gate are cheap for
    floats (`finite` is `math.isfinite` itself), and those a kind does not need
    are switched off by a flag (`fits`, `names_stages`) rather than called.
    """

    kind: Kind
    zero: Any  # a gradient nothing has flowed into yet
    fits: bool  # products must be fitted to their inputs (`fit`): arrays
    names_stages: bool  # each stage stands in the backward pass as a symbol: symbols

    def value(self, given: Any) -> Any:
        """An input's given value as this kit computes with it."""
        ...

    def seed(self, out: Any) -> Any:
        """d out / d out: 1, or ones in the output's shape."""
        ...

    def finite(self, value: Any) -> bool:
        """Whether the fast path may keep a forward value (else the careful path runs)."""
        ...

    def finite_all(self, values: Sequence[Any]) -> bool:
        """The same for a gate's chain-rule products."""
        ...

    def ask(self, rule: Rule, gate: Gate, xs: Sequence[Any]) -> str | None:
        """A gate's kink() or singular() at these values (entry by entry for arrays)."""
        ...

    def branch(self, gate: Gate, xs: Sequence[Any]) -> Hashable:
        """Which smooth piece a kinked gate is on (for every entry, for arrays)."""
        ...

    def fit(
        self, local: Sequence[Any], products: Sequence[Any], xs: Sequence[Any]
    ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """Local gradients and products as the trace keeps them (when `fits`)."""
        ...

    def symbol(self, name: str) -> Any:
        """What stands for a stage in the backward pass (when `names_stages`)."""
        ...

    def total(self, value: Any) -> float:
        """A value as one float: the sum of its entries."""
        ...

    def magnitude(self, value: Any) -> float:
        """The largest |entry| of a value."""
        ...

    def errors(self) -> AbstractContextManager[Any]:
        """Where the loop runs: numpy raises on overflow and 0/0 instead of inf, nan."""
        ...


class FloatMath:
    """Python floats, with domain errors that say what the gate needs."""

    kind: Kind = "numbers"
    zero: Any = 0.0
    fits = False
    names_stages = False
    value = staticmethod(float)
    # The fast path's checks are C functions, not Python ones: one Python call per
    # gate costs about 0.07 µs of the engine's 2.5 µs (BENCHMARKS.md).
    finite = staticmethod(math.isfinite)
    total = staticmethod(float)
    magnitude = staticmethod(abs)

    @staticmethod
    def finite_all(values: Sequence[Any]) -> bool:
        return math.isfinite(math.fsum(values))  # inf - inf raises: the careful path

    @staticmethod
    def seed(out: Any) -> Any:
        return 1.0

    @staticmethod
    def ask(rule: Rule, gate: Gate, xs: Sequence[Any]) -> str | None:
        return rule(xs)

    @staticmethod
    def branch(gate: Gate, xs: Sequence[Any]) -> Hashable:
        return gate.branch(xs)

    @staticmethod
    def fit(
        local: Sequence[Any], products: Sequence[Any], xs: Sequence[Any]
    ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return tuple(local), tuple(products)

    @staticmethod
    def symbol(name: str) -> Any:
        raise NotImplementedError("numbers need no stand-ins")

    @staticmethod
    def errors() -> AbstractContextManager[Any]:
        return nullcontext()

    @staticmethod
    def const(c: float) -> float:
        return c

    @staticmethod
    def exp(x: float) -> float:
        return math.exp(x)  # raises OverflowError past ~709

    @staticmethod
    def log(x: float) -> float:
        if x <= 0:
            raise DomainError("log needs a positive input")
        return math.log(x)

    @staticmethod
    def sqrt(x: float) -> float:
        if x < 0:
            raise DomainError("sqrt needs an input ≥ 0")
        return math.sqrt(x)

    sin = staticmethod(math.sin)
    cos = staticmethod(math.cos)
    tanh = staticmethod(math.tanh)

    @staticmethod
    def sigmoid(x: float) -> float:
        # The two forms avoid overflow in exp for large |x|.
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        z = math.exp(x)
        return z / (1.0 + z)

    @staticmethod
    def tanh_slope(x: float, out: float) -> float:
        # 1 − tanh² = 4e/(1 + e)² with e = exp(−2|x|) ≤ 1: no cancellation, no overflow
        e = math.exp(-2.0 * abs(x))
        return 4.0 * e / ((1.0 + e) * (1.0 + e))

    @staticmethod
    def sigmoid_slope(x: float, out: float) -> float:
        # σ(1 − σ) = σ(x)·σ(−x) = e/(1 + e)² with e = exp(−|x|) ≤ 1
        e = math.exp(-abs(x))
        return e / ((1.0 + e) * (1.0 + e))

    @staticmethod
    def power(a: float, b: float) -> float:
        if a < 0 and not float(b).is_integer():
            raise DomainError("a negative number to a fractional power is not a real number")
        if a == 0 and b < 0:
            raise ZeroDivisionError
        return math.pow(a, b)

    @staticmethod
    def relu(x: float) -> float:
        return x if x > 0 else 0.0

    @staticmethod
    def step(x: float) -> float:
        """relu'(x), with relu'(0) = 0."""
        return 1.0 if x > 0 else 0.0

    @staticmethod
    def sign(x: float) -> float:
        """abs'(x), with abs'(0) = 0."""
        return 1.0 if x > 0 else -1.0 if x < 0 else 0.0

    @staticmethod
    def abs(x: float) -> float:
        return abs(x)

    @staticmethod
    def pick(xs: Sequence[float], largest: bool) -> float:
        return max(xs) if largest else min(xs)

    @staticmethod
    def routes(xs: Sequence[float], largest: bool) -> tuple[float, ...]:
        """Each input's share of the gradient: 1 for the winner, 1/k each in a k-way tie."""
        best = max(xs) if largest else min(xs)
        share = 1.0 / sum(1 for x in xs if x == best)  # the winner and tie count found once
        return tuple(share if x == best else 0.0 for x in xs)


class SympyMath:
    """sympy objects, built by calling constructors (never by parsing text)."""

    kind: Kind = "symbols"
    fits = True  # plain ints from the gates (add's 1) become sympy numbers
    names_stages = True  # the chain rule reads in short expressions of stage symbols

    def __init__(self) -> None:
        import sympy

        self.sp = sympy
        self.zero = sympy.Integer(0)

    def value(self, given: Any) -> Any:
        return self.const(given)

    def seed(self, out: Any) -> Any:
        return self.sp.Integer(1)

    def finite(self, value: Any) -> bool:
        return True  # no numbers to overflow

    def finite_all(self, values: Sequence[Any]) -> bool:
        return True

    def ask(self, rule: Rule, gate: Gate, xs: Sequence[Any]) -> str | None:
        return None  # kinks and singular points are questions about numbers

    def branch(self, gate: Gate, xs: Sequence[Any]) -> Hashable:
        return None

    def fit(
        self, local: Sequence[Any], products: Sequence[Any], xs: Sequence[Any]
    ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        lift = self.sp.Integer
        return tuple(lift(v) if isinstance(v, int) else v for v in local), tuple(products)

    def symbol(self, name: str) -> Any:
        return self.sp.Symbol(name, real=True)

    def total(self, value: Any) -> float:
        return float(value)

    def magnitude(self, value: Any) -> float:
        return abs(float(value))

    def errors(self) -> AbstractContextManager[Any]:
        return nullcontext()

    def const(self, c: float) -> Any:
        """A gate's constant as an exact number, so symbols read 2*x, not 2.0*x."""
        from fractions import Fraction

        fraction = Fraction(repr(float(c)))
        return self.sp.Rational(fraction.numerator, fraction.denominator)

    def exp(self, x: Any) -> Any:
        return self.sp.exp(x)

    def log(self, x: Any) -> Any:
        return self.sp.log(x)

    def sqrt(self, x: Any) -> Any:
        return self.sp.sqrt(x)

    def sin(self, x: Any) -> Any:
        return self.sp.sin(x)

    def cos(self, x: Any) -> Any:
        return self.sp.cos(x)

    def tanh(self, x: Any) -> Any:
        return self.sp.tanh(x)

    def sigmoid(self, x: Any) -> Any:
        return 1 / (1 + self.sp.exp(-x))

    def tanh_slope(self, x: Any, out: Any) -> Any:
        return 1 - out * out

    def sigmoid_slope(self, x: Any, out: Any) -> Any:
        return out * (1 - out)

    def power(self, a: Any, b: Any) -> Any:
        return self.sp.Pow(a, b)

    def relu(self, x: Any) -> Any:
        return self.sp.Max(0, x)

    def step(self, x: Any) -> Any:
        return self.sp.Heaviside(x, 0)

    def sign(self, x: Any) -> Any:
        return self.sp.sign(x)

    def abs(self, x: Any) -> Any:
        return self.sp.Abs(x)

    def pick(self, xs: Sequence[Any], largest: bool) -> Any:
        return self.sp.Max(*xs) if largest else self.sp.Min(*xs)

    def routes(self, xs: Sequence[Any], largest: bool) -> tuple[Any, ...]:
        """1 where an input beats all the others, 0 where another beats it (ties aside)."""
        sp = self.sp
        shares = []
        for i, x in enumerate(xs):
            others = [o for j, o in enumerate(xs) if j != i]
            wins = [x > o for o in others] if largest else [x < o for o in others]
            shares.append(sp.Piecewise((1, sp.And(*wins)), (0, True)))
        return tuple(shares)


class NumpyMath:
    """numpy float64 arrays, entry by entry, with the same domain errors as FloatMath.

    numpy is imported when the kit is made, never at import time. Callers run the
    gates under `np.errstate(all="raise")`, so overflow and 0/0 raise instead of
    quietly giving inf and nan.
    """

    kind: Kind = "arrays"
    zero: Any = 0.0
    fits = True  # a broadcast input's gradient is summed back to its shape
    names_stages = False

    def __init__(self) -> None:
        import numpy

        self.np = numpy

    def const(self, c: float) -> Any:
        return self.np.float64(c)

    # ---- the engine's hooks

    def value(self, given: Any) -> Any:
        return self.np.asarray(given, dtype=float)

    def seed(self, out: Any) -> Any:
        return self.np.ones(self.np.shape(out))

    def finite(self, value: Any) -> bool:
        return bool(self.np.all(self.np.isfinite(value)))

    def finite_all(self, values: Sequence[Any]) -> bool:
        return all(v is None or self.finite(v) for v in values)

    def ask(self, rule: Rule, gate: Gate, xs: Sequence[Any]) -> str | None:
        """An elementwise gate is asked entry by entry (after broadcasting)."""
        if not gate.elementwise:
            return rule(xs)
        arrays = self.np.broadcast_arrays(*[self.np.asarray(x, dtype=float) for x in xs])
        for index in self.np.ndindex(arrays[0].shape):
            reason = rule([float(a[index]) for a in arrays])
            if reason:
                where = f" (entry {list(index)})" if index else ""
                return f"{reason}{where}"
        return None

    def branch(self, gate: Gate, xs: Sequence[Any]) -> Hashable:
        if not gate.elementwise:
            return gate.branch(xs)
        arrays = self.np.broadcast_arrays(*[self.np.asarray(x, dtype=float) for x in xs])
        return gate.entry_branches(self.np, arrays)

    def fit(
        self, local: Sequence[Any], products: Sequence[Any], xs: Sequence[Any]
    ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        np = self.np
        fitted = tuple(
            unbroadcast(np.asarray(p, dtype=float), np.shape(x))
            for p, x in zip(products, xs, strict=True)
        )
        return tuple(local), fitted

    def symbol(self, name: str) -> Any:
        raise NotImplementedError("arrays need no stand-ins")

    def total(self, value: Any) -> float:
        return float(self.np.sum(value))

    def magnitude(self, value: Any) -> float:
        return float(self.np.max(self.np.abs(value), initial=0.0))

    def errors(self) -> AbstractContextManager[Any]:
        return self.np.errstate(divide="raise", over="raise", invalid="raise", under="ignore")

    # ---- the math

    def exp(self, x: Any) -> Any:
        return self.np.exp(x)

    def log(self, x: Any) -> Any:
        if self.np.any(self.np.asarray(x) <= 0):
            raise DomainError("log needs a positive input")
        return self.np.log(x)

    def sqrt(self, x: Any) -> Any:
        if self.np.any(self.np.asarray(x) < 0):
            raise DomainError("sqrt needs an input ≥ 0")
        return self.np.sqrt(x)

    def sin(self, x: Any) -> Any:
        return self.np.sin(x)

    def cos(self, x: Any) -> Any:
        return self.np.cos(x)

    def tanh(self, x: Any) -> Any:
        return self.np.tanh(x)

    def sigmoid(self, x: Any) -> Any:
        # exp of -|x| never overflows; the two forms of FloatMath.sigmoid in one line.
        z = self.np.exp(-self.np.abs(x))
        return self.np.where(self.np.asarray(x) >= 0, 1.0 / (1.0 + z), z / (1.0 + z))

    def tanh_slope(self, x: Any, out: Any) -> Any:
        e = self.np.exp(-2.0 * self.np.abs(x))  # as FloatMath.tanh_slope
        return 4.0 * e / ((1.0 + e) * (1.0 + e))

    def sigmoid_slope(self, x: Any, out: Any) -> Any:
        e = self.np.exp(-self.np.abs(x))  # as FloatMath.sigmoid_slope
        return e / ((1.0 + e) * (1.0 + e))

    def power(self, a: Any, b: Any) -> Any:
        np = self.np
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if np.any((a < 0) & (b != np.round(b))):
            raise DomainError("a negative number to a fractional power is not a real number")
        if np.any((a == 0) & (b < 0)):
            raise ZeroDivisionError
        return np.power(a, b)

    def relu(self, x: Any) -> Any:
        return self.np.where(self.np.asarray(x) > 0, x, 0.0)

    def step(self, x: Any) -> Any:
        return self.np.where(self.np.asarray(x) > 0, 1.0, 0.0)

    def sign(self, x: Any) -> Any:
        return self.np.sign(x)

    def abs(self, x: Any) -> Any:
        return self.np.abs(x)

    def pick(self, xs: Sequence[Any], largest: bool) -> Any:
        both = self.np.maximum if largest else self.np.minimum
        best = xs[0]
        for x in xs[1:]:
            best = both(best, x)
        return best

    def routes(self, xs: Sequence[Any], largest: bool) -> tuple[Any, ...]:
        """Entry by entry: 1 for the winner, 1/k in a k-way tie, 0 for the others."""
        best = self.pick(xs, largest)
        wins = [self.np.asarray(x == best, dtype=float) for x in xs]
        ties = sum(wins)
        return tuple(w / ties for w in wins)


# --------------------------------------------------------------------------- helpers


def unbroadcast(gradient: Any, shape: Shape) -> Any:
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


# A slip a gate knows of: (the slip's id in checks/slips.py, the wrong number it gives).
Slip = tuple[str, Any]


def number_text(c: float) -> str:
    """A constant as the notes write it: 1, -1, 0.5, 1e-06."""
    return str(int(c)) if float(c).is_integer() and abs(c) < 1e15 else f"{c:g}"


def atom(text: str) -> str:
    """Wrap an operand in parentheses unless it is a name or a non-negative number."""
    plain = text.replace("_", "").replace(".", "")
    if (plain.isalnum() and not text.startswith("-")) or _wrapped(text):
        return text
    return f"({text})"


def _wrapped(text: str) -> bool:
    """True for "(…)" whose first parenthesis closes at the very end."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and i < len(text) - 1:
            return False
    return True


# --------------------------------------------------------------------------- gates

# `hard_by_hand`: generated problems keep this far from a kink or a tie (finite
# differences and a learner's rounding both stumble there), and away from dividing
# by, or taking the log of, small numbers (the numbers get unfriendly fast).
KINK_MARGIN = 0.05
SMALL_DIVISOR = 0.5
SMALL_LOG = 0.1


class Gate:
    """One kind of node. Subclasses set `name` and write the rules.

    - `forward(k, xs)`: the output, with kit `k`.
    - `local(k, xs, out)`: ∂out/∂x_i for each input, with kit `k`.
    - `formulas(xs, out)`: the same local gradients as text, given operand texts.
    - `chain(upstream, local, xs, out)`: the chain-rule products upstream × local; the
      default is the elementwise product, which a matrix gate replaces.
    """

    name: str = "?"
    arity: int | None = 1  # None: any number of inputs (two or more)
    # Works entry by entry on arrays (with broadcasting); the vector gates in
    # `vector_gates` are not, and state their own shape rules.
    elementwise: bool = True
    # a vector gate (sum, @, softmax, w[0]…): it has no meaning on numbers or symbols
    needs_arrays: bool = False
    pattern: str = ""  # the notes' words for how this gate moves gradients, if any
    # Whether `kink`/`branch` and `singular` can say anything: the engine asks only
    # the gates that can (most gates have neither, and a call is 3% of a gate's time).
    kinked: bool = False
    singular_points: bool = False
    # What the advice, the quiz and the generator ask of a gate:
    squashes: str = ""  # sigmoid, tanh: the local gradient's formula, which vanishes far out
    stops_below_zero: bool = False  # relu: no gradient where the input is ≤ 0 ("dead")
    switches: bool = False  # mul: each input's local gradient is the other input's value
    matrix_product: bool = False  # matmul: each gradient entry is a sum of products
    cancels_itself: bool = False  # sub, div: x - x and x / x are constants in disguise
    scale: float | None = None  # ·c and /c: the constant factor the gradient is scaled by
    picks: tuple[int, ...] | None = None  # an index gate (w[0]): the entry it reads
    # Its local gradients are constants, 0/1 steps, routes or its inputs' own values, so
    # a 0 among them is a true 0 (relu below 0, x*0), never float64 running out of
    # range: the engine does not recompute them in 30 digits (`core/floatrange.py`).
    exact_locals: bool = False
    # Its value is an input, a sum or a difference: a 0 or a denormal one is exact (float
    # addition is exact down there), so it is not recomputed either.
    exact_forward: bool = False

    @property
    def plain_chain(self) -> bool:
        """Whether its chain step is upstream × local (else its own rule: matmul, softmax)."""
        return type(self).chain is Gate.chain

    def hard_by_hand(self, xs: Sequence[float]) -> bool:
        """Whether these inputs make poor numbers for a problem worked by hand: near a
        kink or a tie, a division by a small number, a log of a small number."""
        return False

    def forward(self, k: MathKit, xs: Sequence[Any]) -> Any:
        raise NotImplementedError

    def local(self, k: MathKit, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        raise NotImplementedError

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        raise NotImplementedError

    def pattern_at(self, kink: str | None) -> str:
        """The pattern words as they hold where the gate is: `kink` is what its `kink`
        said at these inputs (None: away from any kink, or a gate without one)."""
        return self.pattern

    def computes(self, xs: Sequence[str]) -> str:
        return f"{self.name}({', '.join(xs)})"

    def chain(
        self, upstream: Any, local: Sequence[Any], xs: Sequence[Any], out: Any
    ) -> tuple[Any, ...]:
        return tuple(upstream * grad for grad in local)

    def kink(self, xs: Sequence[float]) -> str | None:
        """Why the gate is not differentiable at these (numeric) inputs, or None."""
        return None

    def branch(self, xs: Sequence[float]) -> Hashable:
        """Which smooth piece the inputs are on; changes where the gate has a kink."""
        return None

    def kink_gap(self, xs: Sequence[float]) -> float:
        """How far the (numeric) inputs are from the nearest kink; inf for a smooth gate."""
        return math.inf

    def singular(self, xs: Sequence[float]) -> str | None:
        """Why a local gradient is infinite at these (numeric) inputs, or None."""
        return None

    def entry_branches(self, np: Any, xs: Sequence[Any]) -> Hashable:
        """`branch` for every entry of broadcast arrays `xs` (numpy module `np`)."""
        return tuple(self.branch([float(a[i]) for a in xs]) for i in np.ndindex(xs[0].shape))

    def shape(self, shapes: Sequence[Shape], refs: Sequence[str]) -> Shape:
        """The output's shape, or an InputError naming the shapes that do not fit.

        Entry by entry, with numpy's broadcasting; the vector gates state their own.
        """
        import numpy as np

        try:
            return tuple(np.broadcast_shapes(*shapes))
        except ValueError:
            shown = " and ".join(f"{r} {shape_text(s)}" for r, s in zip(refs, shapes, strict=True))
            raise InputError(
                f"the shapes do not fit entry by entry: {shown}. Elementwise gates "
                "need equal shapes, or a plain number, or a vector as long as a matrix's rows "
                "(numpy broadcasting); for a matrix product use @"
            ) from None

    def slips(self, k: Any, xs: Sequence[Any], out: Any, position: int) -> tuple[Slip, ...]:
        """Wrong local gradients learners give for input `position`, each named by its
        id in the catalog of slips (checks/slips.py): mul's own value, σ for σ(1 − σ).

        The slips every gate shares (a sign, a value for a gradient) are not listed here.
        """
        return ()

    def chain_slips(
        self, upstream: Any, xs: Sequence[Any], out: Any, position: int
    ) -> tuple[Slip, ...]:
        """Wrong gradients sent to input `position` that no wrong local gradient times the
        upstream explains: a matrix rule with the transpose in the wrong place."""
        return ()

    def __repr__(self) -> str:
        return f"<gate {self.name}>"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(vars(self).items()))))


class Add(Gate):
    name, arity = "add", 2
    exact_locals = True
    exact_forward = True
    pattern = "add distributes: each input receives the upstream gradient unchanged"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return xs[0] + xs[1]

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (1, 1)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return ("1", "1")

    def computes(self, xs: Sequence[str]) -> str:
        return f"{xs[0]} + {xs[1]}"


class Sub(Gate):
    name, arity = "sub", 2
    exact_locals = True
    exact_forward = True
    cancels_itself = True
    pattern = "sub distributes, flipping the sign for the input it subtracts"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return xs[0] - xs[1]

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (1, -1)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return ("1", "-1")

    def computes(self, xs: Sequence[str]) -> str:
        return f"{xs[0]} - {atom(xs[1])}"


class Mul(Gate):
    name, arity = "mul", 2
    exact_locals = True
    switches = True
    pattern = "mul switches: each input's local gradient is the other input's value"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return xs[0] * xs[1]

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (xs[1], xs[0])

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (xs[1], xs[0])

    def computes(self, xs: Sequence[str]) -> str:
        return f"{atom(xs[0])} * {atom(xs[1])}"

    def slips(self, k: Any, xs: Sequence[Any], out: Any, position: int) -> tuple[Slip, ...]:
        return (("mul-no-switch", xs[position]),)  # its own value, not the other input's


class Div(Gate):
    name, arity = "div", 2
    cancels_itself = True

    def hard_by_hand(self, xs: Sequence[float]) -> bool:
        return abs(xs[1]) < SMALL_DIVISOR

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return xs[0] / xs[1]

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        a, b = xs
        return (1 / b, -a / b / b)  # b*b first would underflow to 0 for tiny b

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        a, b = atom(xs[0]), atom(xs[1])
        return (f"1/{b}", f"-{a}/{b}²")

    def slips(self, k: Any, xs: Sequence[Any], out: Any, position: int) -> tuple[Slip, ...]:
        a, b = xs
        if position == 1:  # a·b⁻¹: -a/b, the exponent brought down but not lowered
            return (("power-rule", -a / b),)
        return ()

    def computes(self, xs: Sequence[str]) -> str:
        return f"{atom(xs[0])} / {atom(xs[1])}"


class Pow(Gate):
    """a ** b with both sides variable: the exponent's gradient needs log(a)."""

    name, arity = "pow", 2
    singular_points = True

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.power(xs[0], xs[1])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        a, b = xs
        return (b * k.power(a, b - 1), out * k.log(a))

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        a, b = atom(xs[0]), atom(xs[1])
        return (f"{b}·{a}^({b} - 1)", f"{a}^{b}·log({a})")

    def slips(self, k: Any, xs: Sequence[Any], out: Any, position: int) -> tuple[Slip, ...]:
        a, b = xs
        if position == 0:  # b·a^b (not lowered), a^(b-1) (not brought down)
            return (("power-rule", b * out), ("power-rule", k.power(a, b - 1)))
        return ()

    def computes(self, xs: Sequence[str]) -> str:
        return f"{atom(xs[0])}^{atom(xs[1])}"

    def singular(self, xs: Sequence[float]) -> str | None:
        if xs[0] <= 0:
            return "the exponent's local gradient a^b·log(a) needs a positive base"
        return None


class AddConst(Gate):
    """x + c, drawn as the notes draw `+1`."""

    exact_locals = True
    exact_forward = True
    pattern = "adding a constant passes the upstream gradient through unchanged"

    def __init__(self, c: float) -> None:
        self.c = c
        self.name = f"+{number_text(c)}" if c >= 0 else number_text(c)

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return xs[0] + k.const(self.c)

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (1,)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return ("1",)

    def computes(self, xs: Sequence[str]) -> str:
        sign = "+" if self.c >= 0 else "-"
        return f"{xs[0]} {sign} {number_text(abs(self.c))}"


class ConstSub(Gate):
    """c - x."""

    exact_locals = True
    exact_forward = True
    pattern = "subtracting from a constant flips the gradient's sign"

    def __init__(self, c: float) -> None:
        self.c = c
        self.name = f"{number_text(c)}-x"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.const(self.c) - xs[0]

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (-1,)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return ("-1",)

    def computes(self, xs: Sequence[str]) -> str:
        return f"{number_text(self.c)} - {atom(xs[0])}"


class MulConst(Gate):
    """c · x, drawn as the notes draw `*-1` (also used for unary minus)."""

    exact_locals = True

    def __init__(self, c: float) -> None:
        self.c = c
        self.scale = c
        self.name = f"*{number_text(c)}"
        self.pattern = f"multiplying by a constant scales the gradient by {number_text(c)}"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.const(self.c) * xs[0]

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (k.const(self.c),)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (number_text(self.c),)

    def computes(self, xs: Sequence[str]) -> str:
        if self.c == -1:
            return f"-{atom(xs[0])}"
        return f"{number_text(self.c)} * {atom(xs[0])}"


class DivConst(Gate):
    """x / c."""

    def __init__(self, c: float) -> None:
        self.c = c
        self.scale = 1 / c
        self.name = f"/{number_text(c)}"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return xs[0] / k.const(self.c)

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (1 / k.const(self.c),)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"1/{atom(number_text(self.c))}",)

    def computes(self, xs: Sequence[str]) -> str:
        return f"{atom(xs[0])} / {atom(number_text(self.c))}"


class ConstDiv(Gate):
    """c / x, drawn as the notes draw `1/x`."""

    def __init__(self, c: float) -> None:
        self.c = c
        self.name = f"{number_text(c)}/x"

    def hard_by_hand(self, xs: Sequence[float]) -> bool:
        return abs(xs[0]) < SMALL_DIVISOR

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.const(self.c) / xs[0]

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (-k.const(self.c) / xs[0] / xs[0],)  # x*x first would underflow to 0

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        x = atom(xs[0])
        return (f"-1/{x}²",) if self.c == 1 else (f"-{atom(number_text(self.c))}/{x}²",)

    def slips(self, k: Any, xs: Sequence[Any], out: Any, position: int) -> tuple[Slip, ...]:
        return (("power-rule", -k.const(self.c) / xs[0]),)  # c·x⁻¹ -> -c·x⁻¹, not lowered

    def computes(self, xs: Sequence[str]) -> str:
        return f"{number_text(self.c)} / {atom(xs[0])}"


class PowConst(Gate):
    """x ** c with a constant exponent, drawn as `x^2`."""

    singular_points = True

    def __init__(self, c: float) -> None:
        self.c = c
        self.name = f"x^{number_text(c)}"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.power(xs[0], k.const(self.c))

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        if self.c == 2:  # keep the common case exact in symbols: 2x, not 2x^1.0
            return (2 * xs[0],)
        if self.c == 0:  # x^0 is the constant 1: no gradient, not 0·x^-1 (infinite at 0)
            return (0 * xs[0],)
        return (k.const(self.c) * k.power(xs[0], k.const(self.c) - 1),)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        x, c = atom(xs[0]), self.c
        if c == 2:
            return (f"2·{x}",)
        return (f"{number_text(c)}·{x}^{atom(number_text(c - 1))}",)

    def slips(self, k: Any, xs: Sequence[Any], out: Any, position: int) -> tuple[Slip, ...]:
        if self.c == 0:
            return ()
        c = k.const(self.c)
        lowered = xs[0] if self.c == 2 else k.power(xs[0], k.const(self.c - 1))
        return (("power-rule", c * out), ("power-rule", lowered))

    def computes(self, xs: Sequence[str]) -> str:
        return f"{atom(xs[0])}^{atom(number_text(self.c))}"

    def singular(self, xs: Sequence[float]) -> str | None:
        if xs[0] == 0 and self.c < 1 and self.c != 0:
            return f"the local gradient of x^{number_text(self.c)} is infinite at 0"
        return None


class ConstPow(Gate):
    """c ** x with a constant base."""

    singular_points = True

    def __init__(self, c: float) -> None:
        self.c = c
        self.name = f"{number_text(c)}^x"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.power(k.const(self.c), xs[0])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (out * k.log(k.const(self.c)),)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        c = atom(number_text(self.c))
        return (f"{c}^{atom(xs[0])}·log({c})",)

    def computes(self, xs: Sequence[str]) -> str:
        return f"{atom(number_text(self.c))}^{atom(xs[0])}"

    def singular(self, xs: Sequence[float]) -> str | None:
        if self.c <= 0:
            return "the local gradient c^x·log(c) needs a positive base c"
        return None


class Exp(Gate):
    name = "exp"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.exp(xs[0])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (out,)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"exp({xs[0]})",)


class Log(Gate):
    name = "log"

    def hard_by_hand(self, xs: Sequence[float]) -> bool:
        return xs[0] < SMALL_LOG

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.log(xs[0])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (1 / xs[0],)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"1/{atom(xs[0])}",)


class Sqrt(Gate):
    name = "sqrt"
    singular_points = True

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.sqrt(xs[0])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (1 / (2 * out),)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"1/(2·sqrt({xs[0]}))",)

    def slips(self, k: Any, xs: Sequence[Any], out: Any, position: int) -> tuple[Slip, ...]:
        # sqrt(x) = x^½: ½·x^½ (not lowered), x^-½ = 1/sqrt(x) (the ½ not brought down)
        return (("power-rule", out / 2), ("power-rule", 1 / out))

    def singular(self, xs: Sequence[float]) -> str | None:
        return "the local gradient 1/(2·sqrt(x)) is infinite at 0" if xs[0] == 0 else None


class Sin(Gate):
    name = "sin"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.sin(xs[0])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (k.cos(xs[0]),)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"cos({xs[0]})",)


class Cos(Gate):
    name = "cos"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.cos(xs[0])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (-k.sin(xs[0]),)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"-sin({xs[0]})",)


class Tanh(Gate):
    name = "tanh"
    squashes = "1−tanh²"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.tanh(xs[0])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (k.tanh_slope(xs[0], out),)  # 1 − out², without its cancellation

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"1 - {atom(out)}²",)  # from the cached output t = tanh(x): 1 − t²

    def slips(self, k: Any, xs: Sequence[Any], out: Any, position: int) -> tuple[Slip, ...]:
        return (("sigmoid-not-derivative", out),)  # tanh itself for 1 - tanh²


class Sigmoid(Gate):
    """The fused sigmoid gate: one gate with local gradient σ(x)(1 − σ(x)), written from
    its cached output f as the notes do: f·(1 − f)."""

    name = "sigmoid"
    squashes = "σ(1−σ)"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.sigmoid(xs[0])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (k.sigmoid_slope(xs[0], out),)  # out·(1 − out), without its cancellation

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        # From the cached output, as the notes write it: f·(1 − f), f = σ(x).
        return (f"{atom(out)}·(1 - {atom(out)})",)

    def slips(self, k: Any, xs: Sequence[Any], out: Any, position: int) -> tuple[Slip, ...]:
        return (("sigmoid-not-derivative", out),)  # σ itself for σ·(1 - σ)


class _KinkAtZero(Gate):
    """relu and abs: one kink, at 0, where PyTorch's derivative is 0."""

    exact_locals = True
    exact_forward = True
    kinked = True

    def kink(self, xs: Sequence[float]) -> str | None:
        if xs[0] != 0:
            return None
        return f"{self.name} is not differentiable at 0; using {self.name}'(0) = 0"

    def branch(self, xs: Sequence[float]) -> Hashable:
        return xs[0] > 0

    def kink_gap(self, xs: Sequence[float]) -> float:
        return abs(xs[0])

    def entry_branches(self, np: Any, xs: Sequence[Any]) -> Hashable:
        return bytes((xs[0] > 0).tobytes())  # `branch` for all entries at once, in numpy

    def hard_by_hand(self, xs: Sequence[float]) -> bool:
        return abs(xs[0]) < KINK_MARGIN


class Relu(_KinkAtZero):
    name = "relu"
    stops_below_zero = True
    pattern = "relu is a gate: the gradient passes where the input is positive, else stops"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.relu(xs[0])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (k.step(xs[0]),)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"𝟙({xs[0]} > 0)",)


class Abs(_KinkAtZero):
    name = "abs"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.abs(xs[0])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (k.sign(xs[0]),)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"sign({xs[0]})",)


class _Extreme(Gate):
    """max or min of two or more inputs: routes the gradient to the winner."""

    exact_locals = True
    exact_forward = True
    arity = None
    largest = True
    kinked = True

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.pick(xs, self.largest)

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return tuple(k.routes(xs, self.largest))

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        word = "largest" if self.largest else "smallest"
        return tuple(f"𝟙({x} is the {word})" for x in xs)

    def slips(self, k: Any, xs: Sequence[Any], out: Any, position: int) -> tuple[Slip, ...]:
        share = k.routes(xs, self.largest)[position]
        # The winner's share given to a loser (or the reverse), or an even split.
        return (("max-not-routed", 1 - share), ("max-not-routed", 0 * share + 1 / len(xs)))

    def pattern_at(self, kink: str | None) -> str:
        # At a tie the routes rule does not hold ("the whole gradient goes to the
        # largest"): max(1, 1) sends half to each input, as its kink warning says.
        if not kink:
            return self.pattern
        word = "largest" if self.largest else "smallest"
        return (
            f"{self.name} routes: the whole gradient goes to the {word} input, none to the "
            f"others; where inputs tie for the {word}, as here, it is split evenly among them"
        )

    def kink(self, xs: Sequence[float]) -> str | None:
        best = xs[self.winner(xs)]
        if sum(1 for x in xs if x == best) > 1:
            return f"{self.name} has a tie here; the gradient is split evenly among the tied inputs"
        return None

    def branch(self, xs: Sequence[float]) -> Hashable:
        return self.winner(xs)

    def kink_gap(self, xs: Sequence[float]) -> float:
        if len(xs) < 2:
            return math.inf
        best = xs[self.winner(xs)]
        return min(abs(best - x) for i, x in enumerate(xs) if i != self.winner(xs))

    def entry_branches(self, np: Any, xs: Sequence[Any]) -> Hashable:
        # the index of the winner, the first in a tie, as `winner`
        pick = np.argmax if self.largest else np.argmin
        return bytes(pick(np.stack(xs), axis=0).tobytes())

    def winner(self, xs: Sequence[float]) -> int:
        pick = max if self.largest else min
        return pick(range(len(xs)), key=lambda i: xs[i])

    def hard_by_hand(self, xs: Sequence[float]) -> bool:
        ordered = sorted(xs)  # a near tie at either end
        return ordered[-1] - ordered[-2] < KINK_MARGIN or ordered[1] - ordered[0] < KINK_MARGIN


class Max(_Extreme):
    name = "max"
    largest = True
    pattern = "max routes: the whole gradient goes to the largest input, none to the others"


class Min(_Extreme):
    name = "min"
    largest = False
    pattern = "min routes: the whole gradient goes to the smallest input, none to the others"


FUNCTION_GATES: dict[str, type[Gate]] = {
    "exp": Exp,
    "log": Log,
    "sqrt": Sqrt,
    "sin": Sin,
    "cos": Cos,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "relu": Relu,
    "abs": Abs,
    "max": Max,
    "min": Min,
}

BINARY_GATES: dict[str, type[Gate]] = {"+": Add, "-": Sub, "*": Mul, "/": Div, "**": Pow}
