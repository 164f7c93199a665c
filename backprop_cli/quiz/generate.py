"""Random practice circuits from the gate catalog, friendly to hand arithmetic.

`generate(difficulty, seed)` gives the same problem for the same seed (Python's
`random.Random` with a string seed is stable across runs and platforms). Inputs
are small integers, or numbers with one decimal from difficulty 3 on. A draw is
traced and thrown away unless it is clear of every kink (relu at 0, a max tie),
of every domain error, and of values too large or too small to work by hand.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from backprop_cli.core import gates as g
from backprop_cli.core.engine import Trace
from backprop_cli.errors import InputError
from backprop_cli.quiz.questions import QuizProblem

MAX_DIFFICULTY = 5
NAMES = ("x", "y", "z", "w", "u", "v", "a", "b")
STAGE = "q"  # the shared intermediate of a level-5 program

# Infix templates wrap a compound operand in parentheses; function templates need not.
BINARY = {
    "add": "{a} + {b}",
    "sub": "{a} - {b}",
    "mul": "{a} * {b}",
    "max": "max({a}, {b})",
    "min": "min({a}, {b})",
    "div": "{a} / {b}",
}
UNARY = {
    "+c": "{a} + {c}",
    "*c": "{c} * {a}",
    "neg": "-{a}",
    "relu": "relu({a})",
    "square": "{a}**2",
    "inv": "1 / {a}",
    "exp": "exp({a})",
    "sigmoid": "sigmoid({a})",
    "tanh": "tanh({a})",
    "log": "log({a})",
}
FUNCTION_TEMPLATES = {"max", "min", "relu", "exp", "sigmoid", "tanh", "log"}


@dataclass(frozen=True)
class Level:
    gates: tuple[int, int]  # fewest and most gates
    binary: tuple[str, ...]  # a name listed twice is drawn twice as often
    unary: tuple[str, ...]
    forks: int  # variables used twice
    decimals: bool  # values with one decimal as well as integers
    featured: tuple[str, ...] = ()  # the level's new gates: every draw uses one of them
    staged: bool = False  # an intermediate used twice (a program with a stage q)


COMMON = ("add", "add", "mul", "mul", "sub")
LEVELS: dict[int, Level] = {
    1: Level((1, 1), ("add", "sub", "mul", "max"), (), 0, False),
    2: Level((2, 2), (*COMMON, "max", "min"), ("+c", "*c", "neg"), 0, False),
    3: Level(
        (3, 4),
        (*COMMON, "max"),
        ("+c", "*c", "neg", "relu", "square", "inv"),
        1,
        True,
        featured=("relu", "square", "inv"),
    ),
    4: Level(
        (4, 5),
        (*COMMON, "max", "min"),
        ("+c", "*c", "relu", "square", "inv", "exp", "sigmoid", "tanh"),
        1,
        True,
        featured=("exp", "sigmoid", "tanh"),
    ),
    5: Level(
        (5, 7),
        (*COMMON, "max", "min", "div"),
        ("+c", "*c", "neg", "relu", "square", "inv", "exp", "sigmoid", "tanh", "log"),
        1,
        True,
        staged=True,
    ),
}
LIMIT = 50.0  # largest value, local gradient or gradient a generated problem may have
SMALLEST = 1e-3  # a nonzero number smaller than this is no fun by hand
MARGIN = g.KINK_MARGIN  # how far from a kink every relu input and max/min contest must stay
MAX_DRAWS = 2000


@dataclass(frozen=True)
class _Term:
    text: str
    compound: bool


def _wrap(term: _Term) -> str:
    return f"({term.text})" if term.compound else term.text


def _apply(template: str, *terms: _Term, c: str = "") -> _Term:
    is_function = template.split("(")[0] in FUNCTION_TEMPLATES
    args = [t.text if is_function else _wrap(t) for t in terms]
    text = template.format(a=args[0], b=args[1] if len(args) > 1 else "", c=c)
    return _Term(text, compound=not is_function)  # f(...) needs no parentheses


def _expression(rng: random.Random, level: Level, gates: int, leaves: list[str]) -> str:
    """A random expression with `gates` gates whose leaves are `leaves`, left to right."""
    binary = len(leaves) - 1
    ops = ["binary"] * binary + ["unary"] * (gates - binary)
    rng.shuffle(ops)
    terms = [_Term(name, False) for name in leaves]
    featured = level.featured
    for op in ops:
        if op == "binary":
            i = rng.randrange(len(terms) - 1)
            name = rng.choice(level.binary)
            terms[i : i + 2] = [_apply(BINARY[name], terms[i], terms[i + 1])]
        else:
            i = rng.randrange(len(terms))
            name = rng.choice(featured or level.unary)  # the first unary is a featured one
            featured = ()
            c = str(rng.choice((2, 3, -2)) if name == "*c" else rng.choice((1, 2, 3)))
            terms[i] = _apply(UNARY[name], terms[i], c=c)
    assert len(terms) == 1
    return terms[0].text


def _leaves(rng: random.Random, count: int, forks: int, names: list[str]) -> list[str]:
    """`count` leaves over fresh names, `forks` of them repeating an earlier name."""
    distinct = max(1, count - forks)
    chosen = names[:distinct]
    leaves = chosen + [rng.choice(chosen) for _ in range(count - distinct)]
    rng.shuffle(leaves)
    return leaves


def _draw(rng: random.Random, level: Level) -> str:
    gates = rng.randint(*level.gates)
    if not level.staged:
        most = gates - 1 if level.featured else gates  # room for a featured gate
        binary = gates if not level.unary else rng.randint(max(1, (gates + 1) // 2), most)
        leaves = _leaves(rng, binary + 1, level.forks, list(NAMES))
        return _expression(rng, level, gates, leaves)
    # A staged program: q = (2 gates), f = (the rest), q used twice in f.
    first = _expression(rng, level, 2, _leaves(rng, 2, 0, list(NAMES[:2])))
    rest = gates - 2
    binary = max(2, rest - 1)
    others = [name for name in NAMES[2:]][: binary - 1]
    leaves = [STAGE, STAGE, *others]
    rng.shuffle(leaves)
    second = _expression(rng, level, max(rest, binary), leaves)
    return f"{STAGE} = {first}\nf = {second}"


def _value(rng: random.Random, decimals: bool) -> float:
    if decimals and rng.random() < 0.5:
        return rng.choice([v for v in range(-30, 31) if v % 10]) / 10
    return float(rng.choice([v for v in range(-5, 6) if v]))


def _friendly(number: float) -> bool:
    return math.isfinite(number) and (number == 0 or SMALLEST <= abs(number) <= LIMIT)


def clear_of_trouble(trace: Trace) -> bool:
    """No kink within MARGIN, no awkward division or log (each gate says, in
    `hard_by_hand`), every number workable by hand."""
    if trace.kinks:
        return False
    values = trace.values
    for node in trace.graph.gate_nodes:
        gate = node.gate
        xs = [values[j] for j in node.inputs]
        assert gate is not None
        if gate.hard_by_hand(xs):  # near a kink or tie, a small divisor, a log near 0
            return False
        if gate.cancels_itself and node.inputs[0] == node.inputs[1]:
            return False  # x - x and x / x are constants in disguise
        numbers = [values[node.index], trace.grads[node.index]]
        numbers += [*trace.locals[node.index], *trace.products[node.index]]
        if not all(_friendly(float(v)) for v in numbers):
            return False
    forks = trace.graph.forks()
    for index in trace.graph.inputs.values():
        if index in forks and trace.grads[index] == 0:
            return False  # uses that cancel, as in (y + x) - y: not a fork worth adding up
    return all(_friendly(float(v)) for v in trace.gradients.values())


def _hint(trace: Trace) -> str:
    """The patterns of the gates used, and a word on forks if there are any."""
    seen: dict[str, str] = {}
    for node in trace.graph.gate_nodes:
        assert node.gate is not None
        if node.gate.pattern and node.gate.name not in seen:
            seen[node.gate.name] = node.gate.pattern
    parts = [f"{p[0].upper()}{p[1:]}." for p in seen.values()]
    forked = [trace.graph.nodes[i].ref for i in trace.graph.forks()]
    if forked:
        parts.append(f"{', '.join(forked)} used more than once: its gradients add up.")
    return " ".join(parts) or "Work backwards from the output: upstream × local, gate by gate."


def generate(difficulty: int, seed: int) -> QuizProblem:
    """A random circuit at `difficulty` (1 to 5), the same one for the same seed."""
    from backprop_cli.pipeline import trace_text

    if difficulty not in LEVELS:
        raise InputError(
            f"--difficulty must be 1 to {MAX_DIFFICULTY} (1: one gate, 5: a staged program "
            f"with a shared stage), got {difficulty}"
        )
    level = LEVELS[difficulty]
    rng = random.Random(f"backprop-generate:{difficulty}:{seed}")
    for _ in range(MAX_DRAWS):
        text = _draw(rng, level)
        names = [n for n in NAMES if n in _names_in(text)]
        bindings = {name: _value(rng, level.decimals) for name in names}
        try:
            trace = trace_text(text, bindings, check=False).trace
        except InputError:
            continue
        if clear_of_trouble(trace):
            return QuizProblem(
                id=f"gen-{difficulty}-{seed}",
                title=f"generated, difficulty {difficulty}, seed {seed}",
                expression=text,
                bindings=bindings,
                hint=_hint(trace),
                difficulty=difficulty,
                tags=("generated",),
            )
    raise AssertionError(f"no workable circuit at difficulty {difficulty}")  # pragma: no cover


def _names_in(text: str) -> set[str]:
    import re

    return set(re.findall(r"[A-Za-z_]\w*", text))
