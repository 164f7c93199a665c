"""A trace as a sequence of steps: forward gate by gate, then backward, one number each.

`backprop step` (the Textual app) and any other step-through view (an HTML page)
share this model; it imports no front end. Each `Step` reveals one number of the
trace (a forward value, a local gradient, a product upstream × local, a fork's
sum), says it in the notes' words, and carries the question(s) a learner answers
to predict it first (`asks`, built by the quiz's own question builders, so the
step-through and the quiz judge an answer the same way). `Known` says, for a step,
which numbers are on screen by then: views mask the rest.

A wrong prediction is judged in one place, `judge()`, which asks `name_slip()` for
the slip that reproduces the number (the slip catalog plugs in there).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from backprop_cli.core import gates as g
from backprop_cli.core.engine import Trace
from backprop_cli.core.numbers import fixed, shape_text
from backprop_cli.core.text import elided, shown
from backprop_cli.errors import InputError
from backprop_cli.quiz import questions as q
from backprop_cli.render.explain import Sentence, explain

Phase = Literal["start", "forward", "backward", "done"]
Reveal = Literal["inputs", "value", "seed", "local", "product", "sum", "result"]

# Stepping is for circuits a learner walks through by hand: the neuron has 8 gates
# and 35 steps, 30 gates make about 150. Each key press redraws the circuit and the
# table (Rich, about a millisecond a row): measured on the shared 2-core machine, the
# neuron 59 ms, 29 gates 217 ms, 59 gates 506 ms. Past 30 the keys would lag, so
# the stepper says so and points at `backprop trace`.
MAX_STEP_GATES = 30
ECHO_LIMIT = 40  # characters of a typed answer echoed back ("Not …")


@dataclass(frozen=True)
class Step:
    """One step of the walk-through: the number it reveals and what is said about it."""

    index: int  # 0-based; shown as "step index+1 of n"
    phase: Phase
    reveal: Reveal
    node: int | None  # the gate (or the forked value) the step is about; None: none
    position: int | None  # which input of the gate (local and product steps)
    value: Any  # the number revealed (None: the step reveals nothing new)
    title: str  # one line: "s1 = w0 * x0", "local gradient ∂f/∂s7"
    explanation: str  # the notes' sentence(s), shown once the number is revealed
    asks: tuple[q.Question, ...] = ()  # what to predict before it is shown (in order)
    # A kink `backprop trace` warns of ("relu at step s1: relu is not differentiable at
    # 0; using relu'(0) = 0"), at each step of its gate (all the trace's warnings are
    # the model's, for the start). Only kinks here: the explanation panel is 7 lines
    # at 80×24, and a relu's product step with the next question fills 6 of them.
    warnings: tuple[str, ...] = ()

    @property
    def predictable(self) -> bool:
        return bool(self.asks)


@dataclass(frozen=True)
class Known:
    """What is on screen after a step: the revealed numbers, by where they sit."""

    values: frozenset[int]  # nodes whose forward value is shown
    grads: frozenset[int]  # nodes whose total gradient (∂out/∂node) is shown
    locals: frozenset[tuple[int, int]]  # (gate node, input position)
    products: frozenset[tuple[int, int]]  # (gate node, input position)


@dataclass
class StepModel:
    trace: Trace
    steps: list[Step]
    decimals: int = 2
    warnings: tuple[str, ...] = ()  # every warning `trace` prints: shown at the start
    _known: list[Known] = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        return len(self.steps)

    def number(self, value: Any) -> str:
        """A number as the steps show it (the notes' 2 decimals; arrays entry by entry)."""
        return fixed(value, self.decimals).replace("\n", "")

    def known(self, index: int) -> Known:
        """The numbers shown after step `index` (-1: before the first, only the inputs)."""
        if not self._known:
            self._known = _cumulative(self.trace, self.steps)
        if index < 0:
            inputs = frozenset(n.index for n in self.trace.graph.nodes if n.gate is None)
            return Known(inputs, frozenset(), frozenset(), frozenset())
        return self._known[min(index, len(self.steps) - 1)]

    def row_of(self, index: int) -> tuple[str, int, int | None] | None:
        """Which trace-table row a step fills: ("forward", node, None) or
        ("backward", node, position); None for steps without a row."""
        step = self.steps[index]
        if step.node is None:
            return None
        if step.reveal == "value":
            return ("forward", step.node, None)
        if step.reveal in ("local", "product"):
            return ("backward", step.node, step.position)
        return None


def _cumulative(trace: Trace, steps: Sequence[Step]) -> list[Known]:
    graph = trace.graph
    values = {n.index for n in graph.nodes if n.gate is None}
    grads: set[int] = set()
    locals_: set[tuple[int, int]] = set()
    products: set[tuple[int, int]] = set()
    consumers = graph.consumers
    out: list[Known] = []
    for step in steps:
        if step.reveal == "value" and step.node is not None:
            values.add(step.node)
        elif step.reveal in ("seed", "sum") and step.node is not None:
            grads.add(step.node)
        elif step.reveal in ("local", "product") and step.node is not None:
            assert step.position is not None
            locals_.add((step.node, step.position))
            if step.reveal == "product":
                products.add((step.node, step.position))
                # A value used once gets its whole gradient from this one product.
                j = graph.nodes[step.node].inputs[step.position]
                if len(consumers[j]) == 1:
                    grads.add(j)
        out.append(
            Known(frozenset(values), frozenset(grads), frozenset(locals_), frozenset(products))
        )
    return out


# --------------------------------------------------------------------------- building


def build_steps(trace: Trace, decimals: int = 2) -> StepModel:
    """The steps of a numeric trace: the inputs, each gate forward, the output's seed,
    each gate backward (a fork's sum first, then per input its local gradient and the
    product), the forked inputs' sums, and the result."""
    if trace.kind == "symbols":
        missing = [name for name in trace.graph.inputs if name not in trace.bindings]
        raise InputError(
            "stepping through a circuit needs a value for every input "
            f"({', '.join(missing)} {'has' if len(missing) == 1 else 'have'} none): give "
            "them as NAME=VALUE, or see the symbolic trace with  backprop trace"
        )
    gates = trace.graph.gate_nodes
    if len(gates) > MAX_STEP_GATES:
        raise InputError(
            f"the circuit has {len(gates):,} gates; stepping is for up to {MAX_STEP_GATES} "
            "(one key press per number). See it whole with  backprop trace … --explain"
        )
    return _Builder(trace, decimals).build()


def _warnings(trace: Trace) -> tuple[tuple[str, ...], dict[int, tuple[str, ...]]]:
    """Every warning `backprop trace` prints, in its order (the circuit's, the kinks,
    the numbers float64 lost, the advice), and the kinks by their gate's node."""
    from backprop_cli.core.advice import advise

    advice = (a.message for a in advise(trace))
    losses = (loss.message for loss in trace.float_losses)
    everything = (*trace.graph.warnings, *trace.kinks, *losses, *advice)
    by_gate: dict[int, tuple[str, ...]] = {}
    for node in trace.graph.gate_nodes:
        assert node.gate is not None
        # The engine words a kink "relu at step s1: …" (engine._forward).
        kink = f"{node.gate.name} at step {node.step}:"
        found = tuple(k for k in trace.kinks if k.startswith(kink))
        if found:
            by_gate[node.index] = found
    return everything, by_gate


class _Builder:
    def __init__(self, trace: Trace, decimals: int) -> None:
        self.trace = trace
        self.decimals = decimals
        self.nodes = trace.graph.nodes
        self.vectors = trace.kind == "arrays"
        self.steps: list[Step] = []
        # The notes' sentences (render/explain.py), by kind and the step they are about.
        self.sentences: dict[tuple[str, str], list[str]] = {}
        self.patterns: dict[str, str] = {}  # gate ref -> the pattern said after it
        previous: Sentence | None = None
        for sentence in explain(trace, decimals):
            if sentence.kind == "pattern" and previous is not None:
                self.patterns[previous.step] = sentence.text
            else:
                self.sentences.setdefault((sentence.kind, sentence.step), []).append(sentence.text)
            previous = sentence
        self.vector_asks = self._vector_asks() if self.vectors else None
        self.warnings, self.gate_warnings = _warnings(trace)

    def num(self, value: Any) -> str:
        return fixed(value, self.decimals).replace("\n", "")

    def said(self, kind: str, step: str, fallback: str) -> str:
        """The notes' sentence of this kind about this step (each used once)."""
        found = self.sentences.get((kind, step))
        return found.pop(0) if found else fallback

    def add(self, phase: Phase, reveal: Reveal, **fields: Any) -> None:
        if reveal in ("value", "local", "product"):  # the gate's own steps
            fields["warnings"] = self.gate_warnings.get(fields["node"], ())
        self.steps.append(Step(len(self.steps), phase, reveal, **fields))

    def build(self) -> StepModel:
        trace, nodes = self.trace, self.nodes
        graph = trace.graph
        forks = graph.forks()
        gates = graph.gate_nodes
        inputs = ", ".join(
            f"{name} = {self.num(trace.values[i])}"
            + (f" {shape_text(trace.values[i])}" if self.vectors else "")
            for name, i in graph.inputs.items()
        )
        self.add(
            "start",
            "inputs",
            node=None,
            position=None,
            value=None,
            title="the inputs",
            explanation=f"The forward pass starts from the inputs: {inputs}. Each gate computes "
            "its output from its inputs, in order, and caches it for the backward pass.",
        )
        for node in gates:
            self.forward(node.index)
        out = trace.output
        self.add(
            "backward",
            "seed",
            node=out.index,
            position=None,
            value=trace.grads[out.index],
            title=f"∂{out.ref}/∂{out.ref}",
            explanation=self.said(
                "start", out.ref, f"The backward pass starts at the output {out.ref}."
            ),
        )
        for node in reversed(gates):
            assert node.gate is not None
            if node.index in forks:
                self.fork_sum(node.index, functools.partial(q.upstream_question, trace, node))
            live = [p for p, j in enumerate(node.inputs) if nodes[j].kind != "const"]
            for position in live:
                if not self.vectors:
                    self.local(node.index, position)
                self.product(node.index, position, last=position == live[-1])
        for name, i in graph.inputs.items():
            if i in forks:
                self.fork_sum(i, functools.partial(q.gradient_question, trace, name, i))
        result = self.said("result", out.ref, "")
        shape = self.said("shape", "", "")
        self.add(
            "done",
            "result",
            node=None,
            position=None,
            value=None,
            title="the gradients",
            explanation=" ".join(s for s in (result, shape) if s),
        )
        return StepModel(trace, self.steps, self.decimals, self.warnings)

    def forward(self, index: int) -> None:
        node = self.nodes[index]
        assert node.gate is not None
        question = q.forward_question(self.trace, node) if not self.vectors else None
        refs = [self.nodes[j].ref for j in node.inputs]
        formula = f"{node.ref} = {node.gate.computes(refs)}"
        if question is not None:
            said = f"The {node.gate.name} gate computes {question.rule}."
        else:
            shape = shape_text(self.trace.values[index])
            said = (
                f"The {node.gate.name} gate computes {formula} = "
                f"{self.num(self.trace.values[index])}, of shape {shape}."
            )
        asks = (question,) if question is not None else self.vector_asks_for("forward", index)
        self.add(
            "forward",
            "value",
            node=index,
            position=None,
            value=self.trace.values[index],
            title=formula,
            explanation=said,
            asks=asks,
        )

    def local(self, index: int, position: int) -> None:
        node = self.nodes[index]
        question = q.local_question(self.trace, node, position, upstream=True)
        said = question.rule[0].upper() + question.rule[1:] + "."
        self.add(
            "backward",
            "local",
            node=index,
            position=position,
            value=self.trace.locals[index][position],
            title=question.asked,
            explanation=said,
            asks=(question,),
        )

    def product(self, index: int, position: int, *, last: bool) -> None:
        node = self.nodes[index]
        assert node.gate is not None
        ref = self.nodes[node.inputs[position]].ref
        if self.vectors:
            asks = self.vector_asks_for("backward", index, position)
            formula = node.gate.formulas([self.nodes[j].ref for j in node.inputs], node.ref)
            rule = formula[position]
            # A gate with its own backward rule writes it with the upstream in it
            # (ds1 @ xᵀ); otherwise the formula is the local gradient, times upstream.
            if f"d{node.ref}" not in rule:
                rule = f"d{node.ref} × {g.atom(rule)}"
            said = (
                f"The {node.gate.name} gate sends {ref} a gradient of {ref}'s shape "
                f"{shape_text(self.trace.values[node.inputs[position]])}: d{ref} = {rule}."
            )
        else:
            question = q.product_question(self.trace, node, position)
            asks = (question,)
            said = question.rule[0].upper() + question.rule[1:] + f": {node.ref} sends it to {ref}."
        if last:  # the gate is done: the notes' sentence for the whole gate, and its pattern
            said += " " + self.said("gate", node.ref, "")
            pattern = self.patterns.get(node.ref)
            if pattern:
                said += " " + pattern
        self.add(
            "backward",
            "product",
            node=index,
            position=position,
            value=self.trace.products[index][position],
            title=f"gradient {node.ref} sends to {ref}",
            explanation=said.strip(),
            asks=asks,
        )

    def fork_sum(self, index: int, question: Callable[[], q.Question]) -> None:
        """A value used more than once: its uses' gradients added up. (A vector quiz
        asks no sums: the step shows it, the sentence says it.)"""
        node = self.nodes[index]
        asked = () if self.vectors else (question(),)
        fallback = asked[0].rule if asked else f"{node.ref}'s gradients add up."
        self.add(
            "backward",
            "sum",
            node=index,
            position=None,
            value=self.trace.grads[index],
            title=f"∂{self.trace.output.ref}/∂{node.ref}, a fork",
            explanation=self.said("fork", node.ref, fallback),
            asks=asked,
        )

    # A vector quiz asks, per step, for a shape (when it is not a plain number) and
    # then for one entry; the quiz builds them in the order the steps come here.
    def _vector_asks(self) -> dict[tuple[str, int, int | None], tuple[q.Question, ...]]:
        found: dict[tuple[str, int, int | None], tuple[q.Question, ...]] = {}
        gates = self.trace.graph.gate_nodes
        places: dict[str, list[tuple[int, int | None]]] = {
            "forward": [(n.index, None) for n in gates],
            "backward": [
                (n.index, p)
                for n in reversed(gates)
                for p, j in enumerate(n.inputs)
                if self.nodes[j].kind != "const"
            ],
        }
        for phase, where in places.items():
            asked = q.vector_questions(self.trace, phase)  # type: ignore[arg-type]
            groups: list[tuple[q.Question, ...]] = []
            current: list[q.Question] = []
            for question in asked:
                current.append(question)
                if question.kind != "shape":  # a group ends with its entry
                    groups.append(tuple(current))
                    current = []
            if len(groups) != len(where):  # the quiz changed its order: ask nothing
                continue
            for (index, position), group in zip(where, groups, strict=True):
                found[(phase, index, position)] = group
        return found

    def vector_asks_for(
        self, phase: str, index: int, position: int | None = None
    ) -> tuple[q.Question, ...]:
        return (self.vector_asks or {}).get((phase, index, position), ())


# --------------------------------------------------------------------------- judging


@dataclass(frozen=True)
class Verdict:
    """How a typed prediction was judged."""

    outcome: Literal["right", "wrong", "invalid"]
    value: float | None  # the number typed (None for a shape or unreadable text)
    message: str  # what to show the learner now
    slip: str | None = None  # the slip's id, when one explains a wrong number
    working: str = ""  # the slip worked out, numbers in: to show once it is revealed


def judge(
    trace: Trace, question: q.Question, text: str, tolerance: q.Tolerance | None = None
) -> Verdict:
    """Judge one typed prediction the way the quiz does (same tolerance, same shapes)."""
    from backprop_cli.core.language import evaluate_number

    limit = tolerance or q.Tolerance()
    typed = text.strip()
    if question.shape is not None:
        shape = q.read_shape(typed)
        if shape is None:
            return Verdict(
                "invalid",
                None,
                "type a shape such as (2, 3) or 2x3, (2,) for a vector, () for a plain number",
            )
        if shape == question.shape:
            return Verdict("right", None, f"Right: {shape_text(shape)}.")
        return Verdict(
            "wrong",
            None,
            f"Not {shape_text(shape)}. Try again, ? for a hint, or Esc to reveal it.",
        )
    try:
        value = evaluate_number(typed)
    except InputError as exc:
        # The first line of "this number is too large (column 1):" + the caret lines
        # below it; the colon announced those lines, so it goes with them.
        first = str(exc).splitlines()[0].rstrip(":. ")
        return Verdict("invalid", None, f"{first}. Type a number or a small calculation.")
    if limit.accepts(value, question.answer):
        return Verdict("right", value, f"Right: {question.answer_text}.")
    slip = name_slip(trace, question, value, limit)
    said = f"Not {elided(shown(typed), ECHO_LIMIT)}. "
    if slip is not None:  # named, but not worked out: that would give the number away
        said += f"That looks like the slip {slip[0]}: {slip[1]}. "
    said += "Try again, ? for a hint, or Esc to reveal it."
    if slip is None:
        return Verdict("wrong", value, said)
    return Verdict("wrong", value, said, slip[0], slip[2])


def name_slip(
    trace: Trace, question: q.Question, value: float, tolerance: q.Tolerance
) -> tuple[str, str, str] | None:
    """(slip id, the catalog's sentence, the full message) for a wrong number, or None.

    The one place the slip catalog (checks/slips.py) plugs in: the quiz's own
    questions carry what they ask, so the step-through names the same slips as the
    quiz, within the same tolerance. The catalog's sentence names the slip without
    the number; the full message works it out (shown once the number is revealed).
    """
    from backprop_cli.checks.slips import SLIPS, diagnose

    if question.ask is None:
        return None
    found = diagnose(trace, question.ask, value, tolerance.accepts)
    if found is None:
        return None
    return found.slip, SLIPS[found.slip].sentence, found.message


def hint(question: q.Question) -> str:
    """The rule without its final number, so the hint does not give the answer away."""
    head, sep, _last = question.rule.rpartition(" = ")
    return f"{head} = ?" if sep else question.rule
