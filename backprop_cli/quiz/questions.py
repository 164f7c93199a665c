"""Quiz logic, no I/O: questions built from a Trace, answers graded, feedback worded.

A quiz walks the learner through a trace with some cells hidden. Each question
knows its right value and the rule that gives it, with the numbers put in
("mul switches: the local gradient on x is y = -4"), so a wrong answer is met
with the reason, and the quiz goes on with the right value: one slip does not
spoil the rest. The caller (cli/play) times the answers and does the printing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from backprop_cli.checks.slips import Ask, Diagnosis, diagnose
from backprop_cli.core import gates as g
from backprop_cli.core.engine import Trace
from backprop_cli.core.graph import Node
from backprop_cli.core.language import evaluate_number
from backprop_cli.core.numbers import checking_digits, shape_text, show
from backprop_cli.errors import InputError

Mode = Literal["backward", "forward", "local", "gradients", "full"]
MODES: tuple[Mode, ...] = ("backward", "forward", "local", "gradients", "full")
Kind = Literal["forward", "upstream", "local", "product", "gradient", "shape"]
Outcome = Literal["right", "wrong", "skipped", "hint", "invalid", "quit"]

HINT_WORDS = ("?", "hint", "h")
SKIP_WORDS = ("skip", "s", "pass")
QUIT_WORDS = ("q", "quit", "exit")
DIGITS = 4  # significant digits of every number the quiz shows


@dataclass(frozen=True)
class QuizProblem:
    """What a quiz needs of a problem; problem-set entries and generated ones adapt to it."""

    id: str
    title: str
    expression: str
    bindings: dict[str, float]
    hint: str = ""
    difficulty: int = 1
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    kind: Kind
    step: str  # the step (or input name) the question is about
    gate: str  # the gate's name for the statistics ("mul", "*2", "1/x"); "" for whole-circuit ones
    asked: str  # what the learner is asked for, e.g. "local gradient ∂s2/∂s1"
    context: str  # what is shown with it: the step and the values it needs
    answer: float  # a shape question: the number of entries (the shape is in `shape`)
    rule: str  # how the right value comes about, numbers put in
    shape: tuple[int, ...] | None = None  # set for "what shape is …?" (vector quizzes)
    ask: Ask | None = None  # what was asked, for the catalog of slips (not for shapes)

    @property
    def answer_text(self) -> str:
        """The right answer as the quiz shows it: a number, or a shape such as (2, 3)."""
        if self.shape is not None:
            return shape_text(self.shape)
        return show(self.answer, DIGITS)


@dataclass(frozen=True)
class Attempt:
    question: Question
    answer: str  # what the learner typed ("" when skipped)
    value: float | None
    correct: bool
    skipped: bool
    hints: int
    seconds: float
    slip: str | None = None  # the catalog slip that reproduces a wrong answer, if one does


@dataclass(frozen=True)
class Response:
    outcome: Outcome
    question: Question | None = None
    value: float | None = None  # the learner's answer as a number
    message: str = ""  # a hint, or why the answer could not be read
    diagnosis: Diagnosis | None = None  # a wrong answer: the slip that gives it, if known


@dataclass(frozen=True)
class Summary:
    """The end of a quiz: `score` right out of `answered` (skipped ones not counted)."""

    score: int
    total: int  # questions in the quiz
    answered: int  # questions answered with a number or shape (not skipped)
    seconds: float
    missed: tuple[Attempt, ...]  # answered wrong or skipped, in order
    quit: bool
    skipped: int = 0
    not_reached: int = 0  # left when the quiz ended early


# --------------------------------------------------------------------------- tolerance


@dataclass(frozen=True)
class Tolerance:
    """When an answer counts as right.

    By default it must be right to 2 significant digits: within half a unit of the
    second significant digit of the right value (-0.5344 accepts -0.53 and -0.534,
    not -0.54). With `relative` set it uses the problem files' rule instead:
    |got - want| <= relative × max(1, |want|).
    """

    relative: float | None = None
    digits: int = 2

    def allowed(self, want: float) -> float:
        if self.relative is not None:
            return self.relative * max(1.0, abs(want))
        if want == 0:
            return 1e-9
        unit: float = 10.0 ** (math.floor(math.log10(abs(want))) - (self.digits - 1))
        return unit / 2

    def accepts(self, got: float, want: float) -> bool:
        # A hair of slack so an exactly rounded answer is not refused by float noise.
        return abs(got - want) <= self.allowed(want) * (1 + 1e-9) + 1e-12

    def describe(self) -> str:
        if self.relative is not None:
            return f"within {self.relative:g} × max(1, |answer|)"
        return f"right to {self.digits} significant digits"


def parse_tolerance(text: str | None) -> Tolerance:
    """`--tolerance`: a relative tolerance such as 0.01 (a calculation is fine: 1/100)."""
    if text is None:
        return Tolerance()
    try:
        value = evaluate_number(text)
    except InputError as exc:
        raise InputError(f"--tolerance {text!r}: {str(exc).splitlines()[0]}") from None
    if not 0 < value < 1:
        raise InputError(
            f"--tolerance must be between 0 and 1 (a relative tolerance such as 0.01), got {text}"
        )
    return Tolerance(relative=value)


# --------------------------------------------------------------------------- gate kinds


def gate_kind(gate: g.Gate) -> str:
    """The gate's name for statistics, as the trace tables write it: `*2`, `1/x`, `+1`."""
    return gate.name


# --------------------------------------------------------------------------- questions


def _refs(trace: Trace, node: Node) -> list[str]:
    return [trace.graph.nodes[j].ref for j in node.inputs]


def _numbers(trace: Trace, node: Node) -> list[str]:
    return [show(trace.values[j], DIGITS) for j in node.inputs]


def _join_equal(*parts: str) -> str:
    """`a = b = c`, leaving out a part equal to the one before it."""
    kept: list[str] = []
    for part in parts:
        if not kept or kept[-1] != part:
            kept.append(part)
    return " = ".join(kept)


def _pattern_lead(gate: g.Gate) -> str:
    """`mul switches` from the pattern sentence, or the gate's name when it has none."""
    return gate.pattern.split(":")[0] if gate.pattern else gate.name


def _is_const(trace: Trace, index: int) -> bool:
    return trace.graph.nodes[index].kind == "const"


def _step_context(trace: Trace, node: Node, *, value: bool, upstream: bool) -> str:
    assert node.gate is not None
    refs = _refs(trace, node)
    parts = [f"{node.ref} = {node.gate.computes(refs)}  [{node.gate.name}]"]
    known = [
        f"{ref} = {show(trace.values[j], DIGITS)}"
        for ref, j in zip(refs, node.inputs, strict=True)
        if not _is_const(trace, j)
    ]
    if value:
        known.append(f"{node.ref} = {show(trace.values[node.index], DIGITS)}")
    if upstream and node.index == trace.graph.output:
        known.append("upstream 1 (the output)")
    elif upstream:
        known.append(f"upstream {show(trace.grads[node.index], DIGITS)}")
    return parts[0] + ("   " + ", ".join(known) if known else "")


def forward_question(trace: Trace, node: Node) -> Question:
    assert node.gate is not None
    gate = node.gate
    value = trace.values[node.index]
    rule = _join_equal(
        f"{node.ref} = {gate.computes(_refs(trace, node))}",
        gate.computes(_numbers(trace, node)),
        show(value, DIGITS),
    )
    return Question(
        kind="forward",
        step=node.ref,
        gate=gate_kind(gate),
        asked=f"value of {node.ref}",
        context=_step_context(trace, node, value=False, upstream=False),
        answer=float(value),
        rule=rule,
        ask=Ask.forward(node.index),
    )


def local_question(trace: Trace, node: Node, position: int, *, upstream: bool) -> Question:
    assert node.gate is not None
    gate = node.gate
    refs = _refs(trace, node)
    ref = refs[position]
    formula = gate.formulas(refs, node.ref)[position]
    with_numbers = gate.formulas(_numbers(trace, node), show(trace.values[node.index]))[position]
    local = trace.locals[node.index][position]
    rule = f"{_pattern_lead(gate)}: the local gradient on {ref} is " + _join_equal(
        formula, with_numbers, show(local, DIGITS)
    )
    return Question(
        kind="local",
        step=node.ref,
        gate=gate_kind(gate),
        asked=f"local gradient ∂{node.ref}/∂{ref}",
        context=_step_context(trace, node, value=True, upstream=upstream),
        answer=float(local),
        rule=rule,
        ask=Ask.local(node.index, position),
    )


def product_question(trace: Trace, node: Node, position: int) -> Question:
    assert node.gate is not None
    ref = _refs(trace, node)[position]
    upstream = trace.grads[node.index]
    local = trace.locals[node.index][position]
    product = trace.products[node.index][position]
    places = DIGITS  # enough digits that the product shown checks on screen
    if trace.kind == "numbers" and node.gate.plain_chain:
        places = checking_digits([float(upstream), float(local)], float(product), DIGITS)
    rule = (
        f"chain rule: upstream × local = {show(upstream, places)} × {g.atom(show(local, places))}"
        f" = {show(product, places)}"
    )
    return Question(
        kind="product",
        step=node.ref,
        gate=gate_kind(node.gate),
        asked=f"gradient {node.ref} sends to {ref} (upstream × local)",
        context=_step_context(trace, node, value=True, upstream=True),
        answer=float(product),
        rule=rule,
        ask=Ask.product(node.index, position),
    )


def _sum_rule(trace: Trace, index: int) -> str:
    nodes = trace.graph.nodes
    ref = nodes[index].ref
    parts = [
        f"{show(c.amount, DIGITS)} from {nodes[c.consumer].ref}" for c in trace.contributions[index]
    ]
    total = show(trace.grads[index], DIGITS)
    if len(parts) == 1:
        sender = nodes[trace.contributions[index][0].consumer].ref
        return f"{ref} is used once: its gradient is what {sender} sends = {total}"
    return (
        f"{ref} is used {len(parts)} times, so its gradients add up: {' + '.join(parts)} = {total}"
    )


def upstream_question(trace: Trace, node: Node) -> Question:
    assert node.gate is not None
    uses = len(trace.contributions[node.index])
    return Question(
        kind="upstream",
        step=node.ref,
        gate="fork",
        asked=f"upstream gradient ∂{trace.output.ref}/∂{node.ref} (used {uses} times)",
        context=_step_context(trace, node, value=True, upstream=False),
        answer=float(trace.grads[node.index]),
        rule=_sum_rule(trace, node.index),
        ask=Ask("upstream", node.index),
    )


def gradient_question(trace: Trace, name: str, index: int) -> Question:
    forks = trace.graph.forks()
    return Question(
        kind="gradient",
        step=name,
        gate="fork" if index in forks else "",
        asked=f"gradient ∂{trace.output.ref}/∂{name}",
        context=f"{name} = {show(trace.values[index], DIGITS)}",
        answer=float(trace.grads[index]),
        rule=_sum_rule(trace, index),
        ask=Ask.gradient(index),
    )


def build_questions(trace: Trace, mode: Mode) -> list[Question]:
    """The questions of one quiz, in the order a learner works them out.

    In the backward pass the upstream gradient of a step with one consumer is the
    product the learner has just given, so it is shown rather than asked again; at
    a fork (a value used more than once) it is asked, since that is where the
    gradients add up. Constant inputs (the 0 of max(0, x)) get no questions.
    """
    if trace.kind == "symbols":
        raise InputError("a quiz needs a value for every input of the expression")
    if trace.kind == "arrays":
        return vector_questions(trace, mode)
    graph = trace.graph
    gates = graph.gate_nodes
    forks = graph.forks()
    questions: list[Question] = []
    if mode in ("forward", "full"):
        questions += [forward_question(trace, node) for node in gates]
    if mode in ("backward", "full", "local"):
        for node in reversed(gates):
            if mode != "local" and node.index in forks:
                questions.append(upstream_question(trace, node))
            for position, j in enumerate(node.inputs):
                if _is_const(trace, j):
                    continue
                questions.append(local_question(trace, node, position, upstream=mode != "local"))
                if mode != "local":
                    questions.append(product_question(trace, node, position))
        if mode != "local":
            questions += [
                gradient_question(trace, name, i) for name, i in graph.inputs.items() if i in forks
            ]
    if mode == "gradients":
        questions += [gradient_question(trace, name, i) for name, i in graph.inputs.items()]
    return questions


# --------------------------------------------------------------------------- the quiz


@dataclass
class Quiz:
    """One quiz in progress: the questions, where the learner is, what they answered."""

    problem: QuizProblem
    trace: Trace
    mode: Mode
    tolerance: Tolerance = field(default_factory=Tolerance)
    questions: list[Question] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    position: int = 0
    hints: int = 0  # hints asked for the current question
    quit: bool = False

    def __post_init__(self) -> None:
        if not self.questions:
            self.questions = build_questions(self.trace, self.mode)

    @property
    def current(self) -> Question | None:
        if self.quit or self.position >= len(self.questions):
            return None
        return self.questions[self.position]

    @property
    def done(self) -> bool:
        return self.current is None

    def respond(self, text: str, seconds: float = 0.0) -> Response:
        """Grade one line the learner typed: a number, `?`/`hint`, `skip` or `q`."""
        question = self.current
        if question is None:
            return Response("quit")
        word = text.strip().lower()
        if word in QUIT_WORDS:
            self.quit = True
            return Response("quit", question)
        if word in HINT_WORDS:
            self.hints += 1
            return Response("hint", question, message=self.hint_text(question, self.hints))
        if word in SKIP_WORDS:
            self._record(Attempt(question, "", None, False, True, self.hints, seconds))
            return Response("skipped", question)
        if not word:
            return Response(
                "invalid", question, message="type a number, ? for a hint, skip, or q to quit"
            )
        if question.shape is not None:
            return self.respond_shape(question, text, seconds)
        try:
            value = evaluate_number(text)
        except InputError as exc:
            return Response(
                "invalid",
                question,
                message=f"{exc}\nType a number or a small calculation (-1/1.37**2), "
                "? for a hint, skip, or q to quit.",
            )
        correct = self.tolerance.accepts(value, question.answer)
        found = None if correct else self.diagnose(question, value)
        slip = found.slip if found else None
        self._record(
            Attempt(question, text.strip(), value, correct, False, self.hints, seconds, slip)
        )
        return Response("right" if correct else "wrong", question, value, diagnosis=found)

    def diagnose(self, question: Question, value: float) -> Diagnosis | None:
        """The catalog slip that gives this wrong number, within the quiz's tolerance."""
        if question.ask is None:
            return None
        return diagnose(self.trace, question.ask, value, self.tolerance.accepts)

    def respond_shape(self, question: Question, text: str, seconds: float) -> Response:
        """Grade a shape: `(2, 3)`, `2x3`, `2 3`, `(2,)`, `2`, or `()` / `scalar`."""
        shape = read_shape(text)
        if shape is None:
            return Response(
                "invalid",
                question,
                message="type a shape such as (2, 3) or 2x3, (2,) for a vector, () for a "
                "plain number; ? for a hint, skip, or q to quit",
            )
        correct = shape == question.shape
        self._record(Attempt(question, text.strip(), None, correct, False, self.hints, seconds))
        return Response("right" if correct else "wrong", question, None, shape_text(shape))

    def hint_text(self, question: Question, count: int) -> str:
        """First the problem's hint, then the rule for this question."""
        if count == 1 and self.problem.hint:
            return self.problem.hint
        return _rule_hint(question)

    def _record(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)
        self.position += 1
        self.hints = 0

    def summary(self) -> Summary:
        score = sum(1 for a in self.attempts if a.correct)
        missed = tuple(a for a in self.attempts if not a.correct)
        skipped = sum(1 for a in self.attempts if a.skipped)
        return Summary(
            score=score,
            total=len(self.questions),
            answered=len(self.attempts) - skipped,
            seconds=sum(a.seconds for a in self.attempts),
            missed=missed,
            quit=self.quit or self.position < len(self.questions),
            skipped=skipped,
            not_reached=len(self.questions) - len(self.attempts),
        )


def _rule_hint(question: Question) -> str:
    """The rule without its final number, so the hint does not give the answer away."""
    rule = question.rule
    head, sep, _last = rule.rpartition(" = ")
    return f"{head} = ?" if sep else rule


def start_quiz(
    problem: QuizProblem, mode: Mode = "backward", tolerance: Tolerance | None = None
) -> Quiz:
    """Trace the problem and set up its questions."""
    from backprop_cli.pipeline import trace_text

    checked = trace_text(problem.expression, problem.bindings, check=False)
    return Quiz(problem, checked.trace, mode, tolerance or Tolerance())


def quiz_problem(
    id: str,
    expression: str,
    bindings: Mapping[str, float],
    *,
    title: str = "",
    hint: str = "",
    difficulty: int = 1,
    tags: Sequence[str] = (),
) -> QuizProblem:
    return QuizProblem(
        id=id,
        title=title or expression.strip(),
        expression=expression,
        bindings=dict(bindings),
        hint=hint,
        difficulty=difficulty,
        tags=tuple(tags),
    )


# --------------------------------------------------------------------------- vectors


# A dimension longer than this is no shape a quiz asks about (and int() of 5,000
# digits raises ValueError: that answer used to end the quiz with exit 3).
MAX_DIMENSION_DIGITS = 9
_OPEN, _CLOSE, _SEPARATORS = " \t([", " \t,)]", ",x×*"


def read_shape(text: str) -> tuple[int, ...] | None:
    """A shape as a learner types it (`(2, 3)`, `2x3`, `2 3`, `[2]`, `(2,)`), or None.

    One pass over the characters, no regular expression: the pattern this replaces
    backtracked, and `1   1   1 …!` with 18 groups took over 20 s to refuse.
    """
    word = text.strip().lower()
    if word in ("scalar", "number", "()", "( )", "[]"):
        return ()
    n, i = len(word), 0
    while i < n and word[i] in _OPEN:
        i += 1
    dims: list[int] = []
    while i < n and word[i].isdigit() and word[i].isascii():
        start = i
        while i < n and word[i].isdigit() and word[i].isascii():
            i += 1
        if i - start > MAX_DIMENSION_DIGITS:
            return None
        dims.append(int(word[start:i]))
        gap = i
        while i < n and word[i] in " \t":
            i += 1
        if i < n and word[i] in _SEPARATORS:
            times = word[i] != ","
            i += 1
            while i < n and word[i] in " \t":
                i += 1
            if times and not (i < n and word[i].isdigit()):
                return None  # 2x: a product needs its second factor
        elif i == gap:  # digits followed by neither a space nor a separator
            break
    if not dims:
        return None
    # What is left may only close the shape: spaces, commas, ) and ].
    if any(ch not in _CLOSE for ch in word[i:]):
        return None
    return tuple(dims)


def _entry(value: object) -> tuple[tuple[int, ...], float]:
    """The entry a quiz asks about: the one largest in size (the first, in a tie)."""
    import numpy as np

    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return (), float(array)
    flat = int(np.argmax(np.abs(array)))
    index = tuple(int(i) for i in np.unravel_index(flat, array.shape))
    return index, float(array[index])


FROM_ZERO = " (entries count from 0)"


def _index_text(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]"


def _shape_of(value: object) -> tuple[int, ...]:
    return tuple(getattr(value, "shape", ()))


def _vector_context(trace: Trace, node: Node) -> str:
    """The step and the shapes it works on (the values are too big to list)."""
    assert node.gate is not None and trace.kind == "arrays"
    refs = _refs(trace, node)
    shapes = [
        f"{ref} {shape_text(trace.shape(j))}"
        for ref, j in zip(refs, node.inputs, strict=True)
        if not _is_const(trace, j)
    ]
    return f"{node.ref} = {node.gate.computes(refs)}  [{node.gate.name}]   " + ", ".join(shapes)


def _matmul_terms(trace: Trace, node: Node, position: int, index: tuple[int, ...]) -> str:
    """One entry of dW = dD @ Xᵀ (or dX = Wᵀ @ dD) as a sum of products, numbers put in."""
    import numpy as np

    a, b = (np.asarray(trace.values[j], dtype=float) for j in node.inputs)
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    d2 = np.asarray(trace.grads[node.index], dtype=float).reshape(a2.shape[0], b2.shape[1])
    flat = np.zeros(a.shape if position == 0 else b.shape)
    flat[index] = 1
    if position == 0:  # dA[i, k] = Σ_j dD[i, j] · B[k, j]
        i, k = np.argwhere(flat.reshape(a2.shape))[0]
        pairs = [(d2[i, j], b2[k, j]) for j in range(d2.shape[1])]
    else:  # dB[k, j] = Σ_i A[i, k] · dD[i, j]
        k, j = np.argwhere(flat.reshape(b2.shape))[0]
        pairs = [(a2[i, k], d2[i, j]) for i in range(d2.shape[0])]
    terms = [f"{show(float(p), DIGITS)} × {g.atom(show(float(q), DIGITS))}" for p, q in pairs]
    if len(terms) > 4:
        terms = [*terms[:3], "…"]
    return " + ".join(terms)


def vector_questions(trace: Trace, mode: Mode) -> list[Question]:
    """A vector quiz asks for shapes and for single entries, never for whole arrays.

    For each step: the shape of what it computes (forward) or of the gradient it
    sends back (a gradient has its input's shape), and the entry largest in size.
    `local` mode asks what `backward` asks: a vector gate's local gradient is a
    Jacobian that is never built, so the entries of its products are what to know.
    """
    graph = trace.graph
    gates = graph.gate_nodes
    questions: list[Question] = []
    if mode in ("forward", "full"):
        for node in gates:
            assert node.gate is not None
            value = trace.values[node.index]
            kind = gate_kind(node.gate)
            context = _vector_context(trace, node)
            if _shape_of(value):
                questions.append(
                    _shape_question(node.ref, kind, f"shape of {node.ref}", context, value, "")
                )
            index, number = _entry(value)
            where = f"entry {_index_text(index)} of {node.ref}" if index else f"value of {node.ref}"
            questions.append(
                Question(
                    kind="forward",
                    step=node.ref,
                    gate=kind,
                    asked=where + (FROM_ZERO if index else ""),
                    context=context,
                    answer=number,
                    rule=f"{node.ref} = {node.gate.computes(_refs(trace, node))}: {where} = "
                    f"{show(number, DIGITS)}",
                    ask=Ask.forward(node.index, index or None),
                )
            )
    if mode in ("backward", "full", "local"):
        for node in reversed(gates):
            assert node.gate is not None
            refs = _refs(trace, node)
            formulas = node.gate.formulas(refs, node.ref)
            for position, j in enumerate(node.inputs):
                if _is_const(trace, j):
                    continue
                product = trace.products[node.index][position]
                kind = gate_kind(node.gate)
                context = _vector_context(trace, node) + (
                    f", upstream d{node.ref} {shape_text(_shape_of(trace.grads[node.index]))}"
                )
                ref = refs[position]
                if _shape_of(product):
                    questions.append(
                        _shape_question(
                            node.ref,
                            kind,
                            f"shape of the gradient {node.ref} sends to {ref}",
                            context,
                            product,
                            f"a gradient has its variable's shape: the gradient on {ref} has "
                            f"the shape of {ref}",
                        )
                    )
                index, number = _entry(product)
                where = f"entry {_index_text(index)}" if index else "the value"
                rule = f"{_pattern_lead(node.gate)}: the gradient on {ref} is {formulas[position]}"
                rule += f"; {where} = "
                if node.gate.matrix_product:  # the sum of products, numbers in
                    rule += f"{_matmul_terms(trace, node, position, index)} = "
                questions.append(
                    Question(
                        kind="product",
                        step=node.ref,
                        gate=kind,
                        asked=f"{where} of the gradient {node.ref} sends to {ref}"
                        + (FROM_ZERO if index else ""),
                        context=context,
                        answer=number,
                        rule=rule + show(number, DIGITS),
                        ask=Ask.product(node.index, position, index or None),
                    )
                )
    if mode == "gradients":
        for name, index_ in graph.inputs.items():
            gradient = trace.grads[index_]
            context = f"{name} {shape_text(_shape_of(trace.values[index_]))}"
            if _shape_of(gradient):
                questions.append(
                    _shape_question(
                        name,
                        "",
                        f"shape of ∂{trace.output.ref}/∂{name}",
                        context,
                        gradient,
                        f"a gradient has its variable's shape: the shape of {name}",
                    )
                )
            index, number = _entry(gradient)
            where = f"entry {_index_text(index)} of " if index else ""
            questions.append(
                Question(
                    kind="gradient",
                    step=name,
                    gate="",
                    asked=f"{where}∂{trace.output.ref}/∂{name}" + (FROM_ZERO if index else ""),
                    context=context,
                    answer=number,
                    rule=f"what every use of {name} sends back, added up; {where}"
                    f"∂{trace.output.ref}/∂{name} = {show(number, DIGITS)}",
                    ask=Ask.gradient(index_, index or None),
                )
            )
    return questions


def _shape_question(
    step: str, kind: str, asked: str, context: str, value: object, why: str
) -> Question:
    shape = _shape_of(value)
    size = 1
    for n in shape:
        size *= n
    rule = f"{why or asked} = {shape_text(shape)}"
    return Question(
        kind="shape",
        step=step,
        gate=kind,
        asked=asked,
        context=context,
        answer=float(size),
        rule=rule,
        shape=shape,
    )
