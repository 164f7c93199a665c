"""The catalog of slips: the mistakes learners make in a backward pass, and a diagnosis.

A good tutor does not only show the right working: it reruns the procedure with the
known wrong rules until one reproduces the learner's number, and names it. This
module is that tutor's list of wrong rules, one catalog for every part of the tool
(the quiz, `backprop check`, the stepper, the backward-pass checker).

The API (all numbers from a numeric `Trace`; a symbolic trace has no diagnosis)::

    from backprop_cli.checks.slips import Ask, diagnose, CATALOG, SLIPS

    ask = Ask.local(node, position)      # what was asked, see `Ask`
    found = diagnose(trace, ask, answer, tolerance)
    if found is not None:
        found.slip      # "mul-no-switch": a stable id, a key of SLIPS
        found.message   # "That is z's own value. Mul switches: ∂f/∂z is the other
                        #  input, q = 3."  (the learner's wire names)
        found.value     # the number the slip gives (the learner's, reproduced)
        found.what      # the first sentence alone: what the wrong number is
        found.why       # the rest: the right rule, numbers put in

- `Ask(kind, node, position=0, entry=None)`: `kind` is "forward" (the value of gate
  node `node`), "local" (∂node/∂input number `position` of that gate), "product"
  (the gradient the gate sends to input `position`: upstream × local, or the matrix
  rule), "upstream" (∂output/∂node for a stage, all its uses added up) or "gradient"
  (the same for an input). `node` is an index into `trace.graph.nodes`; the class
  methods `Ask.forward`, `Ask.local`, `Ask.product`, `Ask.gradient` build them, and
  `Ask.of_name(trace, "x")` asks for the gradient on a name (an input or a stage).
  `entry` is an array index (0-based) when one entry of a vector or matrix was
  asked; None means the whole value (a number, or the whole array).
- `answer`: a number, or (with `entry` None in a vector trace) an array or nested
  list; an array of the wrong shape can still be a slip (a transposed gradient).
- `tolerance`: a callable `accepts(got, want) -> bool` (the quiz passes
  `Tolerance.accepts`), or a float: the problem files' rule
  |got − want| ≤ tolerance × max(1, |want|).
- `diagnose` returns the first slip, most particular first (a fork's missing branch,
  then the gate's own slips, a transpose, `sign`, a lost upstream or local gradient,
  a neighbouring entry, and `value-not-gradient` last: `_ORDER`), whose number
  matches the answer, and never one whose number would itself pass as the right
  answer. None when no slip fits (or the answer is right).
- `candidates(trace, ask)` lists every slip that applies, with its number and
  message, for a front end that wants to show them (the stepper's "common slips").
- `right_value(trace, ask)` is the value the ask wants.

Every slip's rule reads the trace: `values`, `grads`, `locals`, `products`,
`contributions`, and the gates themselves. What is particular to a gate (mul's own
value, σ for σ·(1 − σ), the power rule half done, the matmul transposes, softmax
without its one-hot) the gate states in `Gate.slips` and `Gate.chain_slips`; this
module never asks which class a gate is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

from backprop_cli.core.engine import Trace, kit
from backprop_cli.core.numbers import checking_digits, shape_text, show

AskKind = Literal["forward", "local", "product", "upstream", "gradient"]
Accepts = Callable[[float, float], bool]

DIGITS = 4  # significant digits of the numbers in a message
# Forks with more uses than this are not searched for a missing branch: 2**8 subsets.
FORK_SUBSET_LIMIT = 8
SHARES_SHOWN = 6  # a fork's shares written out in a message; more are elided


@dataclass(frozen=True)
class Slip:
    id: str
    sentence: str


CATALOG: tuple[Slip, ...] = (
    Slip("sign", "right size, wrong sign (also -1/x² given as 1/x²)"),
    Slip("mul-no-switch", "at a mul gate, the input's own value instead of the other input's"),
    Slip("no-upstream", "the local gradient given where upstream × local was asked"),
    Slip("no-local", "the upstream gradient passed on without multiplying by the local gradient"),
    Slip(
        "value-not-gradient",
        "a forward value (the gate's output, or an input's value) given as a gradient",
    ),
    Slip(
        "sigmoid-not-derivative",
        "σ(x) given instead of σ(x)(1 − σ(x)) (likewise tanh instead of 1 − tanh²)",
    ),
    Slip("fork-one-branch", "at a fork, one contribution instead of their sum"),
    Slip(
        "power-rule",
        "for xⁿ: n·xⁿ or xⁿ⁻¹ (the exponent not lowered, or not brought down); for 1/x: −1/x",
    ),
    Slip(
        "max-not-routed",
        "at max/min, the gradient given to the input that did not win (or split when "
        "there was no tie)",
    ),
    Slip(
        "transpose",
        "a matrix gradient transposed, or a row of W used where a column of Wᵀ was needed",
    ),
    Slip(
        "one-based-index",
        "a vector entry answered for the neighbouring index (entries count from 0)",
    ),
    Slip(
        "softmax-no-onehot",
        "softmax given as the cross-entropy gradient, without subtracting 1 at the label",
    ),
)
SLIPS: dict[str, Slip] = {slip.id: slip for slip in CATALOG}


@dataclass(frozen=True)
class Ask:
    """What the learner was asked (see the module docstring)."""

    kind: AskKind
    node: int
    position: int = 0
    entry: tuple[int, ...] | None = None

    @classmethod
    def forward(cls, node: int, entry: tuple[int, ...] | None = None) -> Ask:
        return cls("forward", node, 0, entry)

    @classmethod
    def local(cls, node: int, position: int, entry: tuple[int, ...] | None = None) -> Ask:
        return cls("local", node, position, entry)

    @classmethod
    def product(cls, node: int, position: int, entry: tuple[int, ...] | None = None) -> Ask:
        return cls("product", node, position, entry)

    @classmethod
    def gradient(cls, node: int, entry: tuple[int, ...] | None = None) -> Ask:
        """∂output/∂node, every use added up ("upstream" for a stage, "gradient" else)."""
        return cls("gradient", node, 0, entry)

    @classmethod
    def of_name(cls, trace: Trace, name: str, entry: tuple[int, ...] | None = None) -> Ask:
        """The gradient on a name: an input, or a stage by the name the program gives it.

        A reassigned name means its last value, as `backprop check` reads claims.
        """
        graph = trace.graph
        if name in graph.inputs:
            return cls.gradient(graph.inputs[name], entry)
        for node in reversed(graph.nodes):
            if node.kind == "gate" and (node.label == name or node.ref == name):
                return cls("upstream", node.index, 0, entry)
        raise KeyError(name)


@dataclass(frozen=True)
class Candidate:
    """One slip that applies to an ask: the number it gives, and what to say."""

    slip: str
    value: Any
    what: str  # what the wrong number is: "That is z's own value."
    why: str  # the right rule, numbers put in: "Mul switches: ∂f/∂z is the other input, q = 3."

    @property
    def message(self) -> str:
        return f"{self.what} {self.why}"


@dataclass(frozen=True)
class Diagnosis:
    slip: str  # the slip's id, a key of SLIPS
    message: str  # what to tell the learner, in their wire names: `what` then `why`
    value: Any  # the number the slip gives
    what: str = ""  # the first sentence alone (for a report that shows the working anyway)
    why: str = ""

    @property
    def sentence(self) -> str:
        """The catalog's plain sentence for this slip."""
        return SLIPS[self.slip].sentence


# --------------------------------------------------------------------------- diagnose


def diagnose(trace: Trace, ask: Ask, answer: Any, tolerance: float | Accepts) -> Diagnosis | None:
    """The slip that reproduces `answer`, or None (see the module docstring)."""
    if trace.kind == "symbols":
        return None
    accepts = _accepts(tolerance)
    try:
        right = right_value(trace, ask)
    except (IndexError, KeyError, ValueError):
        return None
    if _matches(answer, right, accepts):
        return None
    for c in candidates(trace, ask):
        # A slip whose number would pass as the right answer tells nothing apart.
        if _matches(answer, c.value, accepts) and not _matches(c.value, right, accepts):
            return Diagnosis(c.slip, c.message, c.value, c.what, c.why)
    return None


def right_value(trace: Trace, ask: Ask) -> Any:
    """The value the ask wants (one entry of it, when `entry` is set)."""
    return _at(_whole_right(trace, ask), ask.entry)


def candidates(trace: Trace, ask: Ask) -> list[Candidate]:
    """Every slip that applies to the ask, most particular first, with its number."""
    if trace.kind == "symbols":
        return []
    with _quiet():
        if ask.kind == "forward":
            found = _forward(trace, ask)
        elif ask.kind == "local":
            found = _local(trace, ask)
        elif ask.kind == "product":
            found = _product(trace, ask.node, ask.position)
        else:
            found = _gradient(trace, ask.node)
        whole = _whole_right(trace, ask)
        found += _array_slips(trace, ask, whole)
        # Most particular first (a stable sort keeps each rule's own order): when two
        # slips give the same number, the simpler story wins (x - y: claiming 1 for
        # ∂f/∂y is a sign slip before it is a forgotten local gradient of -1).
        found.sort(key=lambda item: _ORDER.get(item[0], 0))
        out = []
        for slip, value, what, why in found:
            value = _at(value, ask.entry) if slip != "one-based-index" else value
            if value is None or not _finite(value):
                continue
            out.append(Candidate(slip, value, what, why))
    return out


# --------------------------------------------------------------------------- the rules

# The order slips are tried in; a gate's own slips (not listed) come first.
_ORDER = {
    "fork-one-branch": -1,  # at a fork, before a gate slip that gives the same sum
    "transpose": 1,
    "sign": 2,
    "no-upstream": 3,
    "no-local": 3,
    "one-based-index": 4,
    "value-not-gradient": 5,
}

# (slip id, the whole wrong value, what it is, the right rule)
_Found = list[tuple[str, Any, str, str]]


def _forward(trace: Trace, ask: Ask) -> _Found:
    node = trace.graph.nodes[ask.node]
    value = trace.values[ask.node]
    return [("sign", -value, "Right size, wrong sign.", f"{node.ref} = {_n(value)}.")]


def _gate_parts(trace: Trace, index: int) -> tuple[Any, list[Any], Any, list[str]]:
    node = trace.graph.nodes[index]
    assert node.gate is not None
    xs = [trace.values[j] for j in node.inputs]
    refs = [trace.graph.nodes[j].ref for j in node.inputs]
    return node.gate, xs, trace.values[index], refs


def _kit(trace: Trace) -> Any:
    return kit(trace.kind)  # the kit the trace ran on


def _gate_slips(trace: Trace, index: int, position: int) -> list[tuple[str, Any]]:
    gate, xs, out, _ = _gate_parts(trace, index)
    try:
        return list(gate.slips(_kit(trace), xs, out, position))
    except (ArithmeticError, ValueError, TypeError):
        return []


def _lead(pattern: str, name: str) -> str:
    """`Mul switches` from the gate's pattern sentence."""
    lead = pattern.split(":")[0] if pattern else name
    return lead[:1].upper() + lead[1:]


def _gate_words(
    slip: str, gate: Any, out_ref: str, ref: str, out: Any, rule: str
) -> tuple[str, str]:
    """What a gate's own slip is, and the right local rule (`rule`: "∂s/∂z = q = 3")."""
    lead = _lead(gate.pattern, gate.name)
    if slip == "mul-no-switch":
        partial = f"∂{out_ref}/∂{ref} = "
        other = rule.replace(partial, f"∂{out_ref}/∂{ref} is the other input, ", 1)
        return f"That is {ref}'s own value.", f"{lead}: {other}"
    if slip == "sigmoid-not-derivative":
        return (
            f"That is {out_ref} = {gate.name}({ref}) = {_n(out)} itself, the gate's output, "
            "not its derivative.",
            rule,
        )
    if slip == "power-rule":
        return (
            "The power rule is half done: the exponent comes down and goes one lower "
            "(xⁿ gives n·xⁿ⁻¹; 1/x = x⁻¹ gives −1/x²).",
            rule,
        )
    if slip == "max-not-routed":
        return (
            "That routes the gradient wrongly: it all goes to the input that won, none to "
            "the others (it splits only in a tie).",
            f"{lead}: {rule}",
        )
    if slip == "softmax-no-onehot":
        return (
            f"That is softmax({ref}) alone: the cross-entropy gradient subtracts 1 at the label.",
            rule,
        )
    sentence = SLIPS[slip].sentence
    return f"{sentence[:1].upper()}{sentence[1:]}.", rule


def _local(trace: Trace, ask: Ask) -> _Found:
    index, position = ask.node, ask.position
    node = trace.graph.nodes[index]
    gate, xs, out, refs = _gate_parts(trace, index)
    ref = refs[position]
    local = trace.locals[index][position]
    if local is None:
        return []
    partial = f"∂{node.ref}/∂{ref}"
    formula = gate.formulas(refs, node.ref)[position]
    rule = f"{partial} = {_eq(formula, local)}"
    found: _Found = []
    for slip, wrong in _gate_slips(trace, index, position):
        what, why = _gate_words(slip, gate, node.ref, ref, out, rule)
        found.append((slip, wrong, what, f"{why}."))
    found.append(
        ("value-not-gradient", out, f"That is {node.ref}'s value, not a gradient.", f"{rule}.")
    )
    found.append(
        ("value-not-gradient", xs[position], f"That is {ref}'s value, not a gradient.", f"{rule}.")
    )
    found.append(("sign", -local, "Right size, wrong sign.", f"{rule}."))
    return found


def _product(trace: Trace, index: int, position: int) -> _Found:
    """Slips in the gradient a gate sends to one input (the whole array, in a vector trace)."""
    node = trace.graph.nodes[index]
    gate, xs, out, refs = _gate_parts(trace, index)
    ref = refs[position]
    j = node.inputs[position]
    upstream = trace.grads[index]
    local = trace.locals[index][position]
    product = trace.products[index][position]
    formula = gate.formulas(refs, node.ref)[position]
    matrix_rule = local is None or gate.matrix_product
    partial = f"∂{node.ref}/∂{ref}"
    if matrix_rule:  # a vector rule, not a product: state it
        local_rule = chain = f"d{ref} = {formula}"
    elif trace.kind == "arrays":  # arrays are too long for a sentence: the rule alone
        local_rule = f"{partial} = {formula}"
        chain = f"{ref} gets d{node.ref} × {_factor(formula)}, entry by entry"
    else:
        local_rule = f"{partial} = {_eq(formula, local)}"
        places = checking_digits([float(upstream), float(local)], float(product), DIGITS)
        shown = [show(v, places) for v in (upstream, local, product)]  # checks on screen
        chain = f"{ref} gets {shown[0]} × {_atom_text(shown[1])} = {shown[2]}"
    found: _Found = []
    for slip, wrong in _gate_slips(trace, index, position):
        locals_ = list(trace.locals[index])
        locals_[position] = wrong
        try:
            sent = gate.chain(upstream, locals_, xs, out)[position]
        except (ArithmeticError, ValueError, TypeError):
            continue
        what, why = _gate_words(slip, gate, node.ref, ref, out, local_rule)
        # Arrays: the local rule alone (the working below has the entry's numbers).
        why = f"{why}." if matrix_rule or trace.kind == "arrays" else f"{why}; {chain}."
        found.append((slip, _fit(trace, sent, j), what, why))
    try:
        chained = list(gate.chain_slips(upstream, xs, out, position))
    except (ArithmeticError, ValueError, TypeError):
        chained = []
    for slip, wrong in chained:
        if slip == "transpose":
            what = f"That is the transpose of the gradient on {ref}."
            why = f"A gradient has its variable's shape: {chain}."
        else:
            what, why = _gate_words(slip, gate, node.ref, ref, out, chain)
            why = f"{why}."
        found.append((slip, wrong, what, why))
    if local is not None and not matrix_rule:
        found.append(
            (
                "no-upstream",
                local,
                f"That is the local gradient {partial} alone.",
                f"Times the upstream gradient, {chain}.",
            )
        )
        found.append(
            (
                "no-local",
                _fit(trace, upstream, j),
                "That is the upstream gradient, passed on unchanged.",
                f"Times the local gradient {local_rule}, {chain}.",
            )
        )
    found.append(
        ("value-not-gradient", out, f"That is {node.ref}'s value, not a gradient.", f"{chain}.")
    )
    found.append(
        ("value-not-gradient", xs[position], f"That is {ref}'s value, not a gradient.", f"{chain}.")
    )
    found.append(("sign", -product, "Right size, wrong sign.", f"{chain}."))
    return found


def _gradient(trace: Trace, index: int) -> _Found:
    """Slips in ∂output/∂node: every use added up."""
    nodes = trace.graph.nodes
    name = nodes[index].ref
    output = trace.output.ref
    total = trace.grads[index]
    contributions = trace.contributions[index]
    if index == trace.graph.output or not contributions:
        return []
    by_step: dict[int, Any] = {}
    for c in contributions:
        by_step[c.consumer] = by_step.get(c.consumer, 0.0) + c.amount
    shares = [f"{_n(amount)} from {nodes[s].ref}" for s, amount in by_step.items()]
    if len(shares) > SHARES_SHOWN:  # a 300-use fork: a sentence, not a page
        shares = [*shares[: SHARES_SHOWN - 1], "…", shares[-1]]
    parts = " + ".join(shares)
    fork = len(by_step) > 1
    if fork:
        sum_rule = (
            f"{name} is used {len(by_step)} times, so its gradients add up: {parts} = {_n(total)}"
        )
    else:
        sum_rule = f"∂{output}/∂{name} = {_n(total)}"
    found: _Found = []
    steps = list(by_step)
    if 1 < len(steps) <= FORK_SUBSET_LIMIT:
        for size in range(len(steps) - 1, 0, -1):
            for subset in combinations(steps, size):
                left_out = [s for s in steps if s not in subset]
                senders = " and ".join(nodes[s].ref for s in left_out)
                verb = "sends" if len(left_out) == 1 else "send"
                found.append(
                    (
                        "fork-one-branch",
                        sum(by_step[s] for s in subset),
                        f"That leaves out what {senders} {verb} back.",
                        f"{sum_rule}.",
                    )
                )
    for c in contributions:
        rest = total - c.amount
        for slip, wrong, what, why in _product(trace, c.consumer, c.position):
            if slip in ("sign", "value-not-gradient"):
                continue  # said once below, for the whole gradient
            if fork:
                why = f"{why[:-1]}; {sum_rule}."
            if len(contributions) == 1:
                found.append((slip, wrong, what, why))  # a transposed shape stays itself
                continue
            try:
                found.append((slip, rest + wrong, what, why))
            except ValueError:  # shapes that do not add up: not this slip
                continue
    found.append(
        (
            "value-not-gradient",
            trace.values[index],
            f"That is {name}'s value, not a gradient.",
            f"{sum_rule}.",
        )
    )
    found.append(("sign", -total, "Right size, wrong sign.", f"{sum_rule}."))
    return found


def _array_slips(trace: Trace, ask: Ask, whole: Any) -> _Found:
    """Slips only arrays have: a transposed matrix, a neighbouring entry."""
    import numpy as np

    if trace.kind != "arrays":
        return []
    found: _Found = []
    array = np.asarray(whole, dtype=float)
    what = _what(trace, ask)
    if array.ndim == 2 and ask.kind != "forward":
        found.append(
            (
                "transpose",
                array.T,
                "That is the transpose.",
                f"{what} has the shape of its variable, {shape_text(array.shape)}.",
            )
        )
    if ask.entry is not None and array.ndim == len(ask.entry) >= 1:
        index = list(ask.entry)
        for step in (-1, 1):
            near = [*index[:-1], index[-1] + step]
            if 0 <= near[-1] < array.shape[-1]:
                found.append(
                    (
                        "one-based-index",
                        float(array[tuple(near)]),
                        f"That is entry {_index(near)}: entries count from 0.",
                        f"Entry {_index(index)} of {what} is {_n(float(array[tuple(index)]))}.",
                    )
                )
    return found


# --------------------------------------------------------------------------- helpers


def _whole_right(trace: Trace, ask: Ask) -> Any:
    if ask.kind == "forward":
        return trace.values[ask.node]
    if ask.kind == "local":
        return trace.locals[ask.node][ask.position]
    if ask.kind == "product":
        return trace.products[ask.node][ask.position]
    return trace.grads[ask.node]


def _what(trace: Trace, ask: Ask) -> str:
    nodes = trace.graph.nodes
    node = nodes[ask.node]
    if ask.kind == "forward":
        return node.ref
    if ask.kind == "local":
        return f"∂{node.ref}/∂{nodes[node.inputs[ask.position]].ref}"
    if ask.kind == "product":
        return f"the gradient on {nodes[node.inputs[ask.position]].ref}"
    return f"∂{trace.output.ref}/∂{node.ref}"


def _fit(trace: Trace, value: Any, index: int) -> Any:
    """An array summed back to the shape of node `index` (as the engine does)."""
    if trace.kind != "arrays":
        return value
    import numpy as np

    from backprop_cli.core.engine import unbroadcast

    array = np.asarray(value, dtype=float)
    try:
        return unbroadcast(array, trace.shape(index))
    except ValueError:
        return array


def _at(value: Any, entry: tuple[int, ...] | None) -> Any:
    """One entry of an array (None if it has no such entry), or the value itself."""
    if entry is None or value is None:
        return value
    import numpy as np

    array = np.asarray(value, dtype=float)
    if array.ndim != len(entry) or any(
        not 0 <= i < n for i, n in zip(entry, array.shape, strict=True)
    ):
        return None
    return float(array[entry])


def _accepts(tolerance: float | Accepts) -> Accepts:
    if callable(tolerance):
        return tolerance
    relative = float(tolerance)

    def accepts(got: float, want: float) -> bool:
        return abs(got - want) <= relative * max(1.0, abs(want))

    return accepts


def _matches(got: Any, want: Any, accepts: Accepts) -> bool:
    """Whether `got` is `want` within the tolerance: a number, or every entry of an array."""
    if got is None or want is None:
        return False
    if _scalar(got) and _scalar(want):
        return bool(accepts(float(got), float(want)))
    import numpy as np

    try:
        g, w = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    except (TypeError, ValueError):
        return False
    if g.shape != w.shape:
        return False
    return all(
        accepts(float(a), float(b)) for a, b in zip(g.reshape(-1), w.reshape(-1), strict=True)
    )


def _scalar(value: Any) -> bool:
    return isinstance(value, int | float) or getattr(value, "ndim", None) == 0


def _finite(value: Any) -> bool:
    if _scalar(value):
        return math.isfinite(float(value))
    import numpy as np

    try:
        return bool(np.all(np.isfinite(np.asarray(value, dtype=float))))
    except (TypeError, ValueError):
        return False


class _quiet:
    """numpy's floating-point warnings off while wrong rules run (1/0 is a fine slip)."""

    def __enter__(self) -> None:
        self.state: Any = None
        import sys

        if "numpy" in sys.modules:
            import numpy as np

            self.state = np.seterr(all="ignore")

    def __exit__(self, *exc: object) -> None:
        if self.state is not None:
            import numpy as np

            np.seterr(**self.state)


def _factor(text: str) -> str:
    """A formula as a factor: `(1 - tanh(x)²)`, but `q` and `exp(x)` as they are."""
    from backprop_cli.core.gates import atom

    return atom(text)


def _n(value: Any) -> str:
    return show(value, DIGITS).replace("\n", "")


def _atom(value: Any) -> str:
    return _atom_text(_n(value))


def _atom_text(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def _eq(formula: str, value: Any) -> str:
    """`q = 3`, or just `3` when the formula is the number itself."""
    number = _n(value)
    return number if formula.strip() == number else f"{formula} = {number}"


def _index(index: Sequence[int]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]"
