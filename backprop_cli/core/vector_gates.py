"""Gates on whole vectors and matrices: matrix multiply, reductions, norms, softmax.

The elementwise gates of `gates.py` work on arrays unchanged (the engine sums a
broadcast input's gradient back to its shape). The gates here are not elementwise:
each states its shape rule (`shape`), and its `chain` replaces the elementwise
product upstream × local with the vectorized backward rule, so no Jacobian is ever
built. For D = W @ X the notes' rule is dW = dD @ Xᵀ and dX = Wᵀ @ dD.

They run with `gates.NumpyMath` (the kit has `.np`, numpy imported lazily). `local`
returns what the upstream gradient is multiplied by, for display, or None where the
rule is not a product (softmax).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

from backprop_cli.core.gates import Gate, Shape, Slip
from backprop_cli.core.numbers import shape_text
from backprop_cli.errors import InputError


class VectorGate(Gate):
    elementwise = False
    needs_arrays = True

    def shape(self, shapes: Sequence[Shape], refs: Sequence[str]) -> Shape:
        """The output's shape, or an InputError naming the shapes that do not fit."""
        raise NotImplementedError

    def code_chain(
        self, xs: Sequence[str], shapes: Sequence[Shape], out: str, dout: str
    ) -> tuple[str, ...]:
        """The backward rule as numpy source (`backprop code`), in the notes' style
        (`dW = dD.dot(X.T)`): one expression per input, in the names given."""
        raise NotImplementedError


class MatMul(VectorGate):
    name, arity = "matmul", 2
    matrix_product = True
    pattern = (
        "matmul: for D = W @ X, dW = dD @ Xᵀ and dX = Wᵀ @ dD; each gradient has the shape "
        "of its input, which tells you where the transposes go"
    )

    def shape(self, shapes: Sequence[Shape], refs: Sequence[str]) -> Shape:
        a, b = shapes
        if not a or not b:
            scalar = refs[0] if not a else refs[1]
            raise InputError(
                f"{refs[0]} @ {refs[1]}: {scalar} is a plain number; @ multiplies vectors "
                "and matrices, use * to scale by a number"
            )
        if len(a) > 2 or len(b) > 2:  # pragma: no cover - literals are at most matrices
            raise InputError(f"{refs[0]} @ {refs[1]}: only vectors and matrices")
        inner_a, inner_b = a[-1], b[0]
        if inner_a != inner_b:
            raise InputError(
                f"{refs[0]} @ {refs[1]}: the shapes {shape_text(a)} and {shape_text(b)} do not "
                f"fit: {refs[0]} has {inner_a} {'columns' if len(a) == 2 else 'entries'} but "
                f"{refs[1]} has {inner_b} {'rows' if len(b) == 2 else 'entries'}. For A @ B the "
                "last axis of A must be as long as the first axis of B."
            )
        return a[:-1] + b[1:]

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.np.matmul(xs[0], xs[1])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (k.np.transpose(xs[1]), k.np.transpose(xs[0]))

    def chain(
        self, upstream: Any, local: Sequence[Any], xs: Sequence[Any], out: Any
    ) -> tuple[Any, ...]:
        import numpy as np

        a, b = np.asarray(xs[0]), np.asarray(xs[1])
        # A vector is a row on the left of @ and a column on the right: make both
        # 2-d, apply the matrix rule, and give each gradient its input's shape back.
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        d2 = np.asarray(upstream).reshape(a2.shape[0], b2.shape[1])
        return ((d2 @ b2.T).reshape(a.shape), (a2.T @ d2).reshape(b.shape))

    def chain_slips(
        self, upstream: Any, xs: Sequence[Any], out: Any, position: int
    ) -> tuple[Slip, ...]:
        """The transpose in the wrong place: Xᵀ @ dD for dW (a transposed dW when the
        shapes allow), or a row of W where a column of Wᵀ is needed, W @ dD for dX."""
        import numpy as np

        a, b = np.asarray(xs[0]), np.asarray(xs[1])
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        d2 = np.asarray(upstream).reshape(a2.shape[0], b2.shape[1])
        if position == 0:
            return (("transpose", (d2 @ b2.T).T),)
        if a2.shape[0] == a2.shape[1]:  # W square: W @ dD has dX's shape
            return (("transpose", (a2 @ d2).reshape(b.shape)),)
        return (("transpose", (a2.T @ d2).T),)

    def code_chain(
        self, xs: Sequence[str], shapes: Sequence[Shape], out: str, dout: str
    ) -> tuple[str, ...]:
        a, b = xs
        if len(shapes[0]) == 2 and len(shapes[1]) == 2:  # the notes: dW = dD.dot(X.T)
            return (f"{dout}.dot({b}.T)", f"{a}.T.dot({dout})")
        if len(shapes[0]) == 2:  # W @ x with x a vector: dW is an outer product
            return (f"np.outer({dout}, {b})", f"{a}.T.dot({dout})")
        if len(shapes[1]) == 2:  # x @ W with x a vector
            return (f"{dout}.dot({b}.T)", f"np.outer({a}, {dout})")
        return (f"{dout} * {b}", f"{dout} * {a}")  # two vectors: a number

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"d{out} @ {atom_t(xs[1])}", f"{atom_t(xs[0])} @ d{out}")

    def computes(self, xs: Sequence[str]) -> str:
        return f"{xs[0]} @ {xs[1]}"


def atom_t(text: str) -> str:
    """A name transposed, as the notes write it: xᵀ, (W @ x)ᵀ."""
    plain = text.replace("_", "").isalnum()
    return f"{text}ᵀ" if plain else f"({text})ᵀ"


class Transpose(VectorGate):
    name = "T"
    pattern = "transpose: the gradient is the upstream gradient transposed back"

    def shape(self, shapes: Sequence[Shape], refs: Sequence[str]) -> Shape:
        return tuple(reversed(shapes[0]))

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.np.transpose(xs[0])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (None,)

    def chain(
        self, upstream: Any, local: Sequence[Any], xs: Sequence[Any], out: Any
    ) -> tuple[Any, ...]:
        import numpy as np

        return (np.transpose(upstream),)

    def code_chain(
        self, xs: Sequence[str], shapes: Sequence[Shape], out: str, dout: str
    ) -> tuple[str, ...]:
        return (f"{dout}.T",)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"(d{out})ᵀ",)

    def computes(self, xs: Sequence[str]) -> str:
        return f"{xs[0]}.T" if xs[0].replace("_", "").isalnum() else f"({xs[0]}).T"


class _Reduce(VectorGate):
    """sum or mean over every entry, or along one axis of a matrix."""

    def __init__(self, axis: int | None = None) -> None:
        self.axis = axis
        base = type(self).__name__.lower()
        self.name = base if axis is None else f"{base}[axis={axis}]"

    def shape(self, shapes: Sequence[Shape], refs: Sequence[str]) -> Shape:
        s = shapes[0]
        if self.axis is None:
            return ()
        if len(s) != 2:
            raise InputError(
                f"{self.name.split('[')[0]}({refs[0]}, axis={self.axis}) needs a matrix; "
                f"{refs[0]} has shape {shape_text(s)}"
            )
        return s[: self.axis] + s[self.axis + 1 :]

    def count(self, x: Any) -> int:
        import numpy as np

        return int(np.size(x)) if self.axis is None else int(np.shape(x)[self.axis])

    def spread(self, upstream: Any, x: Any) -> Any:
        """The upstream gradient copied back to every entry it summed."""
        import numpy as np

        up = np.asarray(upstream)
        if self.axis is not None:
            up = np.expand_dims(up, self.axis)
        return np.broadcast_to(up, np.shape(x)).copy()

    def computes(self, xs: Sequence[str]) -> str:
        base = self.name.split("[")[0]
        return f"{base}({xs[0]})" if self.axis is None else f"{base}({xs[0]}, axis={self.axis})"


class Sum(_Reduce):
    pattern = "sum distributes: every entry it adds up receives the upstream gradient unchanged"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.np.sum(xs[0], axis=self.axis)

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (k.np.ones_like(xs[0]),)

    def chain(
        self, upstream: Any, local: Sequence[Any], xs: Sequence[Any], out: Any
    ) -> tuple[Any, ...]:
        return (self.spread(upstream, xs[0]),)

    def code_chain(
        self, xs: Sequence[str], shapes: Sequence[Shape], out: str, dout: str
    ) -> tuple[str, ...]:
        spread = dout if self.axis is None else f"np.expand_dims({dout}, {self.axis})"
        return (f"np.ones_like({xs[0]}) * {spread}",)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"1 (d{out} copied to every entry)",)


class Mean(_Reduce):
    pattern = "mean distributes like sum, divided by how many entries it averages"

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.np.mean(xs[0], axis=self.axis)

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (k.np.ones_like(xs[0]) / self.count(xs[0]),)

    def chain(
        self, upstream: Any, local: Sequence[Any], xs: Sequence[Any], out: Any
    ) -> tuple[Any, ...]:
        return (self.spread(upstream, xs[0]) / self.count(xs[0]),)

    def code_chain(
        self, xs: Sequence[str], shapes: Sequence[Shape], out: str, dout: str
    ) -> tuple[str, ...]:
        if self.axis is None:
            return (f"np.ones_like({xs[0]}) * {dout} / {xs[0]}.size",)
        spread = f"np.expand_dims({dout}, {self.axis})"
        return (f"np.ones_like({xs[0]}) * {spread} / {xs[0]}.shape[{self.axis}]",)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"1/n (d{out}/n to every entry)",)


class Dot(VectorGate):
    name, arity = "dot", 2
    pattern = "dot switches like mul: each vector's gradient is the other vector, scaled"

    def shape(self, shapes: Sequence[Shape], refs: Sequence[str]) -> Shape:
        a, b = shapes
        if len(a) != 1 or len(b) != 1 or a != b:
            raise InputError(
                f"dot({refs[0]}, {refs[1]}) needs two vectors of the same length; the shapes "
                f"are {shape_text(a)} and {shape_text(b)} (for matrices use @)"
            )
        return ()

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.np.dot(xs[0], xs[1])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (xs[1], xs[0])

    def code_chain(
        self, xs: Sequence[str], shapes: Sequence[Shape], out: str, dout: str
    ) -> tuple[str, ...]:
        return (f"{xs[1]} * {dout}", f"{xs[0]} * {dout}")

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (xs[1], xs[0])

    def slips(self, k: Any, xs: Sequence[Any], out: Any, position: int) -> tuple[Slip, ...]:
        return (("mul-no-switch", xs[position]),)


class Norm2(VectorGate):
    """‖x‖², the squared L2 norm: the sum of the squares of the entries."""

    name = "norm2"
    pattern = "the squared norm ‖x‖² sends back 2x: each entry's gradient is twice the entry"

    def shape(self, shapes: Sequence[Shape], refs: Sequence[str]) -> Shape:
        return ()

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.np.sum(k.np.square(xs[0]))

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (2 * xs[0],)

    def code_chain(
        self, xs: Sequence[str], shapes: Sequence[Shape], out: str, dout: str
    ) -> tuple[str, ...]:
        return (f"2 * {xs[0]} * {dout}",)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"2·{xs[0]}",)

    def slips(self, k: Any, xs: Sequence[Any], out: Any, position: int) -> tuple[Slip, ...]:
        return (("power-rule", 2 * xs[0] * xs[0]), ("power-rule", xs[0]))


def _softmax(np: Any, x: Any) -> Any:
    shifted = np.exp(x - np.max(x, axis=-1, keepdims=True))  # never overflows
    return shifted / np.sum(shifted, axis=-1, keepdims=True)


def _log_softmax(np: Any, x: Any) -> Any:
    top = np.max(x, axis=-1, keepdims=True)
    return x - top - np.log(np.sum(np.exp(x - top), axis=-1, keepdims=True))


class Softmax(VectorGate):
    """softmax along the last axis (each row of a matrix on its own)."""

    name = "softmax"
    pattern = (
        "softmax mixes its entries: dx = s ⊙ (dy − Σ dy⊙s), the Jacobian diag(s) − s sᵀ "
        "applied without building it"
    )

    def shape(self, shapes: Sequence[Shape], refs: Sequence[str]) -> Shape:
        if not shapes[0]:
            raise InputError(f"softmax({refs[0]}) needs a vector; {refs[0]} is a plain number")
        return shapes[0]

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return _softmax(k.np, xs[0])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (None,)

    def chain(
        self, upstream: Any, local: Sequence[Any], xs: Sequence[Any], out: Any
    ) -> tuple[Any, ...]:
        import numpy as np

        return (out * (upstream - np.sum(upstream * out, axis=-1, keepdims=True)),)

    def code_chain(
        self, xs: Sequence[str], shapes: Sequence[Shape], out: str, dout: str
    ) -> tuple[str, ...]:
        return (f"{out} * ({dout} - np.sum({dout} * {out}, axis=-1, keepdims=True))",)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"{out} ⊙ (d{out} − Σ d{out}⊙{out})",)


class LogSoftmax(VectorGate):
    name = "log_softmax"
    pattern = "log_softmax: dx = dy − softmax(x)·Σ dy, again without a Jacobian"

    def shape(self, shapes: Sequence[Shape], refs: Sequence[str]) -> Shape:
        if not shapes[0]:
            raise InputError(f"log_softmax({refs[0]}) needs a vector; {refs[0]} is a plain number")
        return shapes[0]

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return _log_softmax(k.np, xs[0])

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (None,)

    def chain(
        self, upstream: Any, local: Sequence[Any], xs: Sequence[Any], out: Any
    ) -> tuple[Any, ...]:
        import numpy as np

        up = np.asarray(upstream)
        return (up - _softmax(np, xs[0]) * np.sum(up, axis=-1, keepdims=True),)

    def code_chain(
        self, xs: Sequence[str], shapes: Sequence[Shape], out: str, dout: str
    ) -> tuple[str, ...]:
        return (f"{dout} - np.exp({out}) * np.sum({dout}, axis=-1, keepdims=True)",)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"d{out} − softmax({xs[0]})·Σ d{out}",)


class CrossEntropy(VectorGate):
    """-log softmax(scores)[label]: the softmax loss of one example."""

    pattern = (
        "softmax cross-entropy sends back softmax(s) − onehot(label): the predicted "
        "probabilities, minus 1 at the right class"
    )

    def __init__(self, label: int) -> None:
        self.label = label
        self.name = "cross_entropy"

    def shape(self, shapes: Sequence[Shape], refs: Sequence[str]) -> Shape:
        s = shapes[0]
        if len(s) != 1:
            raise InputError(
                f"cross_entropy({refs[0]}, {self.label}) needs a vector of scores; {refs[0]} "
                f"has shape {shape_text(s)}"
            )
        if not 0 <= self.label < s[0]:
            raise InputError(
                f"cross_entropy({refs[0]}, {self.label}): the label must be a class index "
                f"from 0 to {s[0] - 1} ({refs[0]} has {s[0]} scores)"
            )
        return ()

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return -_log_softmax(k.np, xs[0])[self.label]

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        probabilities = _softmax(k.np, xs[0])
        probabilities[self.label] -= 1.0
        return (probabilities,)

    def code_chain(
        self, xs: Sequence[str], shapes: Sequence[Shape], out: str, dout: str
    ) -> tuple[str, ...]:
        s = xs[0]  # the notes' dscores: the probabilities, minus 1 at the label
        probs = f"np.exp({s} - np.max({s})) / np.sum(np.exp({s} - np.max({s})))"
        return (f"({probs} - np.eye({s}.shape[0])[{self.label}]) * {dout}",)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"softmax({xs[0]}) − onehot({self.label})",)

    def slips(self, k: Any, xs: Sequence[Any], out: Any, position: int) -> tuple[Slip, ...]:
        return (("softmax-no-onehot", _softmax(k.np, xs[0])),)  # without the -1 at the label

    def computes(self, xs: Sequence[str]) -> str:
        return f"cross_entropy({xs[0]}, {self.label})"


class Extreme(VectorGate):
    """max or min of one vector's entries, or of a matrix along one axis.

    One argument reduces (the largest entry); two or more compare entry by entry
    (the elementwise gates.Max). The whole gradient goes to the winning entry; a
    tie splits it evenly, as in the scalar max.
    """

    kinked = True

    def __init__(self, largest: bool = True, axis: int | None = None) -> None:
        self.largest = largest
        self.axis = axis
        base = "max" if largest else "min"
        self.name = base if axis is None else f"{base}[axis={axis}]"
        word = "largest" if largest else "smallest"
        self.pattern = f"{base} routes: the whole gradient goes to the {word} entry"

    def shape(self, shapes: Sequence[Shape], refs: Sequence[str]) -> Shape:
        return _Reduce.shape(self, shapes, refs)  # type: ignore[arg-type]

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        pick = k.np.max if self.largest else k.np.min
        return pick(xs[0], axis=self.axis)

    def mask(self, x: Any) -> Any:
        """1/k on each of the k entries that win (along the axis), 0 elsewhere."""
        import numpy as np

        pick = np.max if self.largest else np.min
        winners = (x == pick(x, axis=self.axis, keepdims=True)).astype(float)
        return winners / np.sum(winners, axis=self.axis, keepdims=True)

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (self.mask(k.np.asarray(xs[0])),)

    def kink_gap(self, xs: Sequence[Any]) -> float:
        """The smallest lead of a winner over the runner-up (along the axis)."""
        import numpy as np

        x = np.asarray(xs[0], dtype=float)
        axis = -1 if self.axis is None else self.axis
        if self.axis is None:
            x = x.reshape(-1)
        if x.shape[axis] < 2:
            return math.inf
        ordered = np.sort(x, axis=axis)
        top = np.take(ordered, [-1, -2] if self.largest else [0, 1], axis=axis)
        return float(np.min(np.abs(np.diff(top, axis=axis))))

    def chain(
        self, upstream: Any, local: Sequence[Any], xs: Sequence[Any], out: Any
    ) -> tuple[Any, ...]:
        import numpy as np

        up = np.asarray(upstream)
        if self.axis is not None:
            up = np.expand_dims(up, self.axis)
        return (local[0] * up,)

    def code_chain(
        self, xs: Sequence[str], shapes: Sequence[Shape], out: str, dout: str
    ) -> tuple[str, ...]:
        x, pick = xs[0], "np.max" if self.largest else "np.min"
        if self.axis is None:  # the whole gradient to the winner, split in a tie
            wins = f"({x} == {pick}({x}))"
            return (f"{wins} / np.sum({wins}) * {dout}",)
        wins = f"({x} == {pick}({x}, axis={self.axis}, keepdims=True))"
        share = f"{wins} / np.sum({wins}, axis={self.axis}, keepdims=True)"
        return (f"{share} * np.expand_dims({dout}, {self.axis})",)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        word = "largest" if self.largest else "smallest"
        return (f"𝟙(entry of {xs[0]} is the {word})",)

    def slips(self, k: Any, xs: Sequence[Any], out: Any, position: int) -> tuple[Slip, ...]:
        import numpy as np

        x = np.asarray(xs[0], dtype=float)
        count = self.count(x) if self.axis is not None else x.size
        # Every entry given the gradient, or an even split when there was no tie.
        return (("max-not-routed", np.ones_like(x)), ("max-not-routed", np.ones_like(x) / count))

    def count(self, x: Any) -> int:
        import numpy as np

        return int(np.size(x)) if self.axis is None else int(np.shape(x)[self.axis])

    def computes(self, xs: Sequence[str]) -> str:
        base = "max" if self.largest else "min"
        return f"{base}({xs[0]})" if self.axis is None else f"{base}({xs[0]}, axis={self.axis})"

    def pattern_at(self, kink: str | None) -> str:
        # A tie: the winning entries share the gradient evenly (see `mask`).
        if not kink:
            return self.pattern
        return f"{self.pattern}; where entries tie, it is split evenly among them"

    def kink(self, xs: Sequence[Any]) -> str | None:
        import numpy as np

        x = np.asarray(xs[0])
        pick = np.max if self.largest else np.min
        ties = np.sum(x == pick(x, axis=self.axis, keepdims=True), axis=self.axis)
        if np.any(ties > 1):
            return (
                f"{self.name} has a tie here; the gradient is split evenly among the tied entries"
            )
        return None

    def branch(self, xs: Sequence[Any]) -> Hashable:
        import numpy as np

        x = np.asarray(xs[0], dtype=float)
        if x.ndim == 0:
            return None
        pick = np.argmax if self.largest else np.argmin
        return tuple(np.ravel(pick(x, axis=self.axis)).tolist())


class Index(VectorGate):
    """`w[0]`, `W[1, 2]`: one entry (or row) of a vector or matrix.

    Backward, the upstream gradient goes to that one entry and every other entry
    gets 0, so a vector read entry by entry (`w[0]*x[0] + w[1]*x[1]`) is a fork
    whose index gates each fill in one entry of its gradient.
    """

    pattern = "indexing routes: the gradient goes to the one entry read, 0 to the others"

    def __init__(self, index: tuple[int, ...]) -> None:
        self.index = tuple(index)
        self.name = "[" + ", ".join(str(i) for i in self.index) + "]"
        self.picks = self.index  # which entry it reads (Gate.picks: None for the others)

    def shape(self, shapes: Sequence[Shape], refs: Sequence[str]) -> Shape:
        s = shapes[0]
        shown = f"{refs[0]}{self.name}"
        if len(self.index) > len(s):
            what = "a plain number" if not s else f"of shape {shape_text(s)}"
            raise InputError(
                f"{shown}: {refs[0]} is {what}, so it has "
                f"{len(s)} ax{'is' if len(s) == 1 else 'es'} to index, not {len(self.index)}"
            )
        for axis, (i, n) in enumerate(zip(self.index, s, strict=False)):
            if not -n <= i < n:
                where = "" if len(s) == 1 else f" along axis {axis}"
                raise InputError(
                    f"{shown}: {refs[0]} has {n} entries{where}, numbered 0 to {n - 1} "
                    "(entries count from 0)"
                )
        return s[len(self.index) :]

    def forward(self, k: Any, xs: Sequence[Any]) -> Any:
        return k.np.asarray(xs[0])[self.index]

    def local(self, k: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
        return (self.chain(1.0, (), xs, out)[0],)

    def chain(
        self, upstream: Any, local: Sequence[Any], xs: Sequence[Any], out: Any
    ) -> tuple[Any, ...]:
        import numpy as np

        gradient = np.zeros(np.shape(xs[0]))
        gradient[self.index] = upstream
        return (gradient,)

    def code_chain(
        self, xs: Sequence[str], shapes: Sequence[Shape], out: str, dout: str
    ) -> tuple[str, ...]:
        return (f"onehot({xs[0]}.shape, {self.index}, {dout})",)

    def formulas(self, xs: Sequence[str], out: str) -> tuple[str, ...]:
        return (f"onehot({', '.join(str(i) for i in self.index)})",)

    def computes(self, xs: Sequence[str]) -> str:
        return (
            f"{xs[0]}{self.name}" if xs[0].replace("_", "").isalnum() else f"({xs[0]}){self.name}"
        )


def reduction_gate(func: str, axis: int | None) -> Gate:
    """The gate for sum, mean, or one-argument max and min."""
    if func == "sum":
        return Sum(axis)
    if func == "mean":
        return Mean(axis)
    return Extreme(largest=func == "max", axis=axis)


VECTOR_GATES: dict[str, type[Gate]] = {
    "dot": Dot,
    "norm2": Norm2,
    "softmax": Softmax,
    "log_softmax": LogSoftmax,
    "transpose": Transpose,
}
