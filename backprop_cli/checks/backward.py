"""A learner's own backward pass, checked line by line against the trace.

The notes' backward code is what students write in assignments:

    ddot = (1 - f) * f
    dx = [w[0] * ddot, w[1] * ddot]
    dw = [x[0] * ddot, x[1] * ddot, 1.0 * ddot]

Each `dNAME` line (∂f/∂NAME, the notes' convention) is evaluated with the same float
kit as the engine (the gates' own forward rules, `NumpyMath`), on the forward values
the trace cached and the learner's own d-values so far. Its amount should be what one
or more of NAME's uses send back (`trace.contributions`): a line that assigns the whole
gradient matches all of them, a `+=` line one more. A line that matches nothing is
wrong; the catalog of slips (`checks/slips.py`) says which mistake reproduces its
number, and the report says the gradient it should be. `dx = …` a second time, where
the notes write `dx += …`, throws away what dx held: the fork slip. A line that
updates what dx holds (`dx -= …`, `dx = dx + …`, `dx *= 2`, `dx[0] += …`) is judged by
what it adds (the table above `_accumulating`); `dx = np.zeros_like(x)` starts dx at 0.

A line that is right given the gradients it reads, but reads a wrong one, is judged
on its own rule ("right rule, but dnum is wrong"): one slip is reported once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Any, Literal

from backprop_cli.core.engine import Trace
from backprop_cli.core.language import BackwardLine, BinOp, Call, Expr, Name, Neg, Num, postorder
from backprop_cli.core.language import children as operands
from backprop_cli.core.numbers import shape_text, show
from backprop_cli.errors import InputError

Status = Literal["right", "wrong", "unchecked"]

# Learner code computes the same float64 numbers in another order: agreement to this
# relative tolerance is "the same" (the float kit's rounding is ~1e-16; a slip moves a
# number by far more than 1e-6 of it).
TOLERANCE = 1e-6
# Uses of one value searched for which subset a line adds: 2**8 subsets at most.
SUBSET_LIMIT = 8
DIGITS = 4


@dataclass(frozen=True)
class LineVerdict:
    """What one line of the learner's backward pass is."""

    line: int
    text: str
    target: str  # dx
    name: str | None  # x: the value whose gradient it is (None: a helper of the learner's)
    status: Status
    got: Any
    want: Any | None  # what the line should give (None when it is right or unchecked)
    message: str
    slip: str | None = None


@dataclass(frozen=True)
class FinalVerdict:
    """Each gradient as the learner's code leaves it, against the trace's."""

    name: str
    target: str
    got: Any
    want: Any
    right: bool


@dataclass
class BackwardReport:
    output: str
    lines: list[LineVerdict] = field(default_factory=list)
    finals: list[FinalVerdict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # inputs with no dNAME line
    note: str = ""  # how the circuit was read (an upstream gradient given by the code)

    @property
    def failed(self) -> bool:
        return any(v.status == "wrong" for v in self.lines) or any(not f.right for f in self.finals)


# --------------------------------------------------------------------------- evaluating


def evaluate(expr: Expr, env: Mapping[str, Any], line: int) -> Any:
    """An expression of the language on numbers and arrays, with the gates' own forward
    rules and the engine's float kit: the learner's line computes what the engine would."""
    import numpy as np

    from backprop_cli.core import gates as g
    from backprop_cli.core import vector_gates as vg

    kit = g.NumpyMath()
    values: dict[int, Any] = {}
    with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
        for node in postorder(expr):
            if isinstance(node, Num):
                values[id(node)] = np.float64(node.value)
                continue
            if isinstance(node, Name):
                if node.id not in env:
                    raise InputError(
                        f"line {line}: {node.id} has no value here: it is not a value of the "
                        "forward pass, nor a gradient assigned on an earlier line"
                    )
                values[id(node)] = env[node.id]
                continue
            children = operands(node)
            args = [values[id(child)] for child in children]
            gate = _gate_for(node, g, vg)
            if not gate.elementwise:  # shapes that do not fit, said as the trace says them
                refs = [c.id if isinstance(c, Name) else "(…)" for c in children]
                try:
                    gate.shape([np.shape(a) for a in args], refs)
                except InputError as exc:
                    raise InputError(f"line {line}: {exc}") from None
            try:
                values[id(node)] = np.asarray(gate.forward(kit, args), dtype=float)
            except (ArithmeticError, ValueError, FloatingPointError, g.DomainError) as exc:
                reason = _reason(exc)
                raise InputError(f"line {line}: {gate.name} cannot be computed: {reason}") from None
    return values[id(expr)]


def _gate_for(node: Expr, g: Any, vg: Any) -> Any:
    """The gate whose forward rule computes this node (the graph builder's choice)."""
    if isinstance(node, Neg):
        return g.MulConst(-1.0)
    if isinstance(node, BinOp):
        return vg.MatMul() if node.op == "@" else g.BINARY_GATES[node.op]()
    assert isinstance(node, Call)
    if node.func == "index":
        return vg.Index(node.index or ())
    if node.func in ("sum", "mean") or (node.func in ("max", "min") and len(node.args) == 1):
        return vg.reduction_gate(node.func, node.axis)
    if node.func in g.FUNCTION_GATES:
        return g.FUNCTION_GATES[node.func]()
    if node.func in vg.VECTOR_GATES:
        return vg.VECTOR_GATES[node.func]()
    raise InputError(f"line {node.line}: {node.func}() cannot be used in a backward line")


def line_value(line: BackwardLine, env: Mapping[str, Any]) -> Any:
    """The right-hand side of a line: an expression, or a list built entry by entry."""
    import numpy as np

    if line.value is not None:
        return evaluate(line.value, env, line.line)
    if line.zeros is not None:
        if isinstance(line.zeros, tuple):
            return np.zeros(line.zeros)
        if line.zeros not in env:
            raise InputError(
                f"line {line.line}: {line.zeros} has no value here, so np.zeros_like"
                f"({line.zeros}) has no shape: give the name of a value of the forward pass"
            )
        return np.zeros(np.shape(env[line.zeros]))
    assert line.items is not None

    def entry(expr: Expr) -> float:
        value = np.asarray(evaluate(expr, env, line.line), dtype=float)
        if value.ndim != 0:
            raise InputError(
                f"line {line.line}: each entry of [ … ] must be a number; one has shape "
                f"{value.shape}"
            )
        return float(value)

    rows = [
        [entry(e) for e in item] if isinstance(item, tuple) else entry(item) for item in line.items
    ]
    if any(isinstance(r, list) for r in rows) and not all(isinstance(r, list) for r in rows):
        raise InputError(f"line {line.line}: mixes numbers and rows in one list")
    try:
        return np.array(rows, dtype=float)
    except ValueError:
        raise InputError(f"line {line.line}: the rows have different lengths") from None


def _update(line: BackwardLine, old: Any, amount: Any) -> Any:
    """What the target holds after the line: `dx = …`, `dx += …`, or one entry of it
    (`dx[0] += …`, the other entries kept)."""
    import numpy as np

    if line.entry is None:
        return _apply(line.op, old, amount, line.line)
    where = f"{line.target}[{', '.join(str(i) for i in line.entry)}]"
    if old is None:
        name = line.target[1:] or "x"
        raise InputError(
            f"line {line.line}: {where} {line.op} … changes one entry of {line.target}, which "
            f"has no value yet: start it first, on a line before, with  "
            f"{line.target} = np.zeros_like({name})"
        )
    new = np.array(old, dtype=float, copy=True)
    if np.ndim(amount) != 0:
        raise InputError(
            f"line {line.line}: {where} is one entry, so it takes one number; this line "
            f"gives shape {shape_text(amount)}"
        )
    try:
        if new.ndim != len(line.entry):
            raise IndexError
        new[line.entry] = _apply(line.op, new[line.entry], amount, line.line)
    except IndexError:
        has = f"has shape {shape_text(new)}" if new.ndim else "is a plain number"
        raise InputError(
            f"line {line.line}: {where}: {line.target} {has}, so there is no such entry "
            "(entries count from 0)"
        ) from None
    return new


def _apply(op: str, old: Any, amount: Any, line: int = 0) -> Any:
    if op == "=":
        return amount
    import numpy as np

    from backprop_cli.core import gates as g

    gate = g.BINARY_GATES[op[:-1]]()
    # Under the same errstate as `evaluate`: `dx /= 0` printed numpy's RuntimeWarning.
    with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
        try:
            return gate.forward(g.NumpyMath(), [old, amount])
        except (ArithmeticError, ValueError, FloatingPointError, g.DomainError) as exc:
            raise InputError(
                f"line {line}: {gate.name} cannot be computed: {_reason(exc)}"
            ) from None


def _reason(exc: BaseException) -> str:
    """numpy's words for a float error ("divide by zero encountered in scalar divide")
    said as a learner would: what went wrong and that the line should not do it."""
    text = str(exc) or type(exc).__name__
    if "divide by zero" in text:
        return "it divides by zero"
    if "overflow" in text:
        return "the number is too large for a float (over 1.8e308)"
    if "invalid value" in text:
        return "the result is not a number (0/0, inf - inf or the like)"
    return text


# How a line that updates a gradient it already holds is judged (decided here, once):
#
# - `dx += a` adds a: right when a is what one or more uses not yet counted send back.
#   The notes accumulate so ("use += ... to accumulate the gradient").
# - `dx -= a` adds -a, and is judged as `dx += -a`: `dx -= dq` is right at a
#   subtraction gate written that way (f = p - x sends -dq to x), and `dx -= …` where a
#   use sends +a back is the sign slip.
# - `dx = dx + a`, `dx = a + dx`, `dx = dx - a`, `dx = dx + a - b`: dx plus a signed
#   sum, written out; judged exactly as the `+=`/`-=` they are.
# - Any other update reads what dx holds and rewrites it: `dx *= 2`, `dx = 2*dx`,
#   `dx = dx * 2`, `dx /= 2`, `dx = a - dx`. It adds (after - before), and is right
#   only when that is what the uses not yet counted send back: `dx = x*df` then
#   `dx *= 2` at f = x*x (both uses send x*df). A rescale that adds anything else
#   changes the gradient by no rule, and is wrong; one that adds nothing is a no-op.
# - `dx[0] += a` (and `dx[0] = a`, `dx[0] -= a`) changes one entry: it adds a vector
#   that is a there and 0 elsewhere, which is what a use that read x[0] sends back.
#   Where x is used as a whole (f = sum(x*y)), no use sends one entry alone: the
#   entry is judged against that entry of the gradient (`_entry_verdict`).
# - `dx = np.zeros_like(x)` (or `dx = 0`) as a first line, with lines after it, starts
#   dx at zero: right, whatever the uses send.
# - `dx = …` that does not read dx replaces what dx held: the fork slip when it held
#   some uses already.


def _accumulating(line: BackwardLine) -> BackwardLine:
    """`dx = dx + …`, `dx = … - b + dx` and `dx -= …` as the `dx += …` they are (the
    amount signed), so they are judged alike; any other line comes back as it is."""
    if line.op == "-=" and line.value is not None:  # dx -= a, dx[0] -= a
        return replace(line, op="+=", value=Neg(line.value, line.line))
    if line.op == "-=" and line.items is not None:  # dx -= [a, b]
        return replace(line, op="+=", items=_negated(line.items, line.line))
    if line.op != "=" or line.value is None or line.entry is not None:
        return line
    terms: list[tuple[int, Expr]] = []  # (sign, term) of a sum written with + and -
    stack: list[tuple[int, Expr]] = [(1, line.value)]
    while stack:
        sign, expr = stack.pop()
        if isinstance(expr, BinOp) and expr.op in ("+", "-"):
            stack.append((sign if expr.op == "+" else -sign, expr.right))
            stack.append((sign, expr.left))
        else:
            terms.append((sign, expr))
    own = [t for t in terms if isinstance(t[1], Name) and t[1].id == line.target]
    if len(own) != 1 or own[0][0] != 1 or len(terms) < 2:
        return line
    amount: Expr | None = None
    for sign, term in terms:
        if term is own[0][1]:
            continue
        if amount is None:
            amount = term if sign == 1 else Neg(term, line.line)
        else:
            amount = BinOp("+" if sign == 1 else "-", amount, term, line.line)
    return replace(line, op="+=", value=amount)


def _negated(items: tuple[Any, ...], line: int) -> tuple[Any, ...]:
    return tuple(
        tuple(Neg(e, line) for e in item) if isinstance(item, tuple) else Neg(item, line)
        for item in items
    )


def _reads_itself(line: BackwardLine) -> bool:
    return any(
        isinstance(n, Name) and n.id == line.target
        for expr in _exprs(line)
        for n in postorder(expr)
    )


# --------------------------------------------------------------------------- comparing


def _close(got: Any, want: Any, tolerance: float = TOLERANCE) -> bool:
    import numpy as np

    a, b = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if a.shape != b.shape:
        return False
    return bool(np.all(np.abs(a - b) <= tolerance * np.maximum(1.0, np.abs(b))))


# Arrays with more entries than this are named by their shape in a sentence.
SHOWN_ENTRIES = 12


def _n(value: Any) -> str:
    return number_text(value)


def number_text(value: Any) -> str:
    """A value in a sentence: a number, a short array, or a big array's shape."""
    size = getattr(value, "size", 1)
    if size > SHOWN_ENTRIES:
        shape = ", ".join(str(n) for n in value.shape)
        return f"[a ({shape}) {'matrix' if value.ndim == 2 else 'array'}]"
    return show(value, DIGITS).replace("\n", "")


def _forward_env(trace: Trace) -> dict[str, Any]:
    """The forward pass by name, as Python has it at the end: inputs and named stages."""
    import numpy as np

    env: dict[str, Any] = {}
    for node in trace.graph.nodes:
        if node.kind == "input":
            env[node.ref] = np.asarray(trace.bindings[node.ref], dtype=float)
        elif node.kind == "gate" and node.label is not None and node.ref == node.label:
            env[node.ref] = np.asarray(trace.values[node.index], dtype=float)
    return env


def _node_of(trace: Trace, name: str) -> int | None:
    graph = trace.graph
    if name in graph.inputs:
        return graph.inputs[name]
    for node in graph.nodes:
        if node.kind == "gate" and node.label == name and node.ref == name:
            return node.index
    return None


@dataclass
class _Wire:
    """What the learner's lines for one value have added up so far."""

    index: int
    parts: dict[tuple[int, int], Any]  # (consumer, position) -> what that use sends back
    left: set[tuple[int, int]]  # uses not yet accounted for
    first_line: int | None = None
    said: list[str] = field(default_factory=list)  # who the lines so far accounted for


def check_backward(
    trace: Trace,
    lines: tuple[BackwardLine, ...] | list[BackwardLine],
    *,
    tolerance: float = TOLERANCE,
    diagnose: Callable[..., Any] | None = None,
    given: Mapping[str, Any] | None = None,
) -> BackwardReport:
    """Judge each line of a learner's backward pass against the trace (numbers or arrays)."""
    import numpy as np

    if trace.kind == "symbols":
        missing = [n for n in trace.graph.inputs if n not in trace.bindings]
        raise InputError(
            "the backward pass is checked on numbers: give a value for "
            + ", ".join(missing)
            + " (in the program's first lines, or on the command line)"
        )
    if diagnose is None:
        from backprop_cli.checks.slips import diagnose as catalog_diagnose

        diagnose = catalog_diagnose
    graph = trace.graph
    output = trace.output.ref
    forward = _forward_env(trace)
    learner: dict[str, Any] = {}  # the learner's d-values, as their code computes them
    true: dict[str, Any] = {}  # the trace's d-values, for judging one line on its own
    seed = np.ones(np.shape(trace.values[graph.output]))
    learner[f"d{output}"] = true[f"d{output}"] = seed if seed.ndim else np.float64(1.0)
    wires: dict[str, _Wire] = {}
    wrong_names: set[str] = set()  # d-names whose learner value is wrong after some line
    last_line = {line.target: line.line for line in lines}
    report = BackwardReport(output)

    program = graph.program
    values = [*program.inputs(), *dict.fromkeys(st.target for st in program.statements)]
    for number, typed in enumerate(lines):
        before = learner.get(typed.target)
        line = _accumulating(typed) if before is not None else typed
        name = line.target[1:] if line.target.startswith("d") else None
        index = _node_of(trace, name) if name else None
        if given and line.target in given:  # the upstream gradient the code starts from
            value = np.asarray(given[line.target], dtype=float)
            learner[line.target] = true[line.target] = value
            said = f"given: the upstream gradient on {name}, {_shape_words(value)}"
            report.lines.append(
                LineVerdict(line.line, line.text, line.target, name, "unchecked", value, None, said)
            )
            continue
        if line.random is not None:
            raise InputError(
                f"line {line.line}: random values can only be the upstream gradient of the "
                f"output, d{output} (the gradients are worked out from it)"
            )
        if name and name not in values and not _read_later(line.target, lines[number + 1 :]):
            raise InputError(_no_such_value(line, values))
        got = line_value(line, {**forward, **learner})
        got = np.asarray(got, dtype=float)
        if line.op != "=" and before is None and line.entry is None:
            raise InputError(
                f"line {line.line}: {line.target} {line.op} … needs a value in "
                f"{line.target} first: its first line is {line.target} = …"
            )
        after = np.asarray(_update(line, before, got), dtype=float)
        learner[line.target] = after
        if index is None or name is None:  # the learner's own helper: computed, not judged
            report.lines.append(
                LineVerdict(line.line, line.text, line.target, None, "unchecked", got, None, "")
            )
            continue
        if index == graph.output:
            ok = _close(after, 1.0)
            report.lines.append(
                LineVerdict(
                    line.line,
                    line.text,
                    line.target,
                    name,
                    "right" if ok else "wrong",
                    got,
                    None if ok else seed,
                    f"∂{output}/∂{output} = 1"
                    if ok
                    else f"the output's gradient is 1, not {_n(after)}",
                )
            )
            continue
        wire = wires.get(line.target)
        if wire is None:
            parts: dict[tuple[int, int], Any] = {}
            for c in trace.contributions[index]:
                parts[(c.consumer, c.position)] = np.asarray(c.amount, dtype=float)
            wire = wires[line.target] = _Wire(index, parts, set(parts))
        true_total = np.asarray(trace.grads[index], dtype=float)
        true[line.target] = true_total
        # The line judged on its own: the gradients it reads taken from the trace, but
        # its own target as the learner's lines left it (`dx *= 2` doubles that).
        own = {line.target: before} if before is not None else {}
        alone = np.asarray(line_value(line, {**forward, **learner, **true, **own}), dtype=float)
        kind = _kind(line, before)
        added = alone
        if kind == "add" and line.entry is not None:
            added = np.asarray(_update(line, np.zeros_like(before), alone), dtype=float)
        elif kind == "update":
            added = np.asarray(_update(line, before, alone), dtype=float) - before
        verdict = _judge(
            trace, line, kind, name, wire, got, added, before, after, last_line, diagnose, tolerance
        )
        if verdict.status == "wrong" or not _close(got, alone, tolerance):
            wrong_names.add(line.target)
        reads = [
            n.id
            for expr in _exprs(line)
            for n in postorder(expr)
            if isinstance(n, Name) and n.id in wrong_names and n.id != line.target
        ]
        if verdict.status == "right" and reads and not _close(got, alone, tolerance):
            verdict = LineVerdict(
                line.line,
                line.text,
                line.target,
                name,
                "right",
                got,
                None,
                f"{verdict.message}; but it reads {', '.join(dict.fromkeys(reads))}, which is "
                "wrong above, so the number here is off too",
            )
        report.lines.append(verdict)

    for target, wire in wires.items():
        name = target[1:]
        want = np.asarray(trace.grads[wire.index], dtype=float)
        got = learner[target]
        report.finals.append(FinalVerdict(name, target, got, want, _close(got, want, tolerance)))
    assigned = {line.target for line in lines}
    report.missing = [n for n in graph.inputs if f"d{n}" not in assigned and n not in (given or {})]
    return report


Kind = Literal["set", "add", "update"]


def _kind(line: BackwardLine, before: Any) -> Kind:
    """How a line changes its gradient (the table above `_accumulating`): it sets it,
    adds to it (`+=`, and `-=` and `dx = dx ± …` made `+=`), or otherwise updates what
    it holds (`*=`, `dx = 2*dx`, an entry set with `dx[0] = …`)."""
    if before is None:
        return "set"
    if line.op == "+=":
        return "add"
    if line.op != "=" or line.entry is not None or _reads_itself(line):
        return "update"
    return "set"


def _entry_verdict(
    trace: Trace,
    line: BackwardLine,
    wire: _Wire,
    added: Any,
    before: Any,
    lhs: str,
    tolerance: float,
) -> tuple[Status, str] | None:
    """One entry updated where no use sends back that entry alone: right when the entry
    now holds its gradient, or what some uses not yet counted send to it; else None
    (judged as any other line). A gradient whose every entry is right has every use
    counted."""
    import numpy as np

    assert line.entry is not None
    output, name = trace.output.ref, line.target[1:]
    where = ", ".join(str(i) for i in line.entry)
    total = np.asarray(trace.grads[wire.index], dtype=float)
    now = np.asarray(before + added, dtype=float)
    if _close(now[line.entry], total[line.entry], tolerance):
        if _close(now, total, tolerance):
            wire.left.clear()
            wire.first_line = wire.first_line or line.line
            return "right", f"right: with the lines above, ∂{output}/∂{name} = {_n(total)}"
        return "right", f"right: ∂{output}/∂{name}[{where}] = {_n(total[line.entry])}"
    left = sorted(wire.left)
    for size in range(1, min(len(left), SUBSET_LIMIT) + 1):
        for subset in combinations(left, size):
            part = sum((wire.parts[c] for c in subset), np.zeros(np.shape(total)))
            if _close(added[line.entry], part[line.entry], tolerance):
                senders = _words(list(dict.fromkeys(_user(trace, c) for c, _ in subset)))
                sends = "sends" if size == 1 else "send"
                return "right", f"right: what {senders} {sends} back to {name}[{where}]"
    return None


def _read_later(target: str, rest: tuple[BackwardLine, ...] | list[BackwardLine]) -> bool:
    """Whether a later line reads `target`: then it is a helper of the learner's."""
    return any(
        isinstance(n, Name) and n.id == target
        for line in rest
        for expr in _exprs(line)
        for n in postorder(expr)
    ) or any(line.zeros == target for line in rest)


def _no_such_value(line: BackwardLine, values: list[str]) -> str:
    """`dxx = 1`: a gradient's name, but no value of the forward pass is called xx."""
    from backprop_cli.core.text import did_you_mean

    name = line.target[1:]
    hint = did_you_mean(line.target, [f"d{v}" for v in values], lead="; d") or "."
    listed = ", ".join(values)
    return (
        f"line {line.line}: {line.target}: there is no input or stage named {name}{hint} "
        f"A gradient is d and the name of a value of the forward pass ({listed}); a helper "
        f"of your own that starts with d is read by a later line"
    )


@dataclass(frozen=True)
class _EntrySlip:
    slip: str
    message: str


def _entry_slip(
    trace: Trace,
    index: int,
    got: Any,
    want: Any,
    diagnose: Callable[..., Any],
    tolerance: float,
) -> _EntrySlip | None:
    """A vector written entry by entry (`dx = [w[0] * ddot, …]`): the first wrong entry's
    slip, found where that entry was read (`x[0]`), in the names the learner wrote."""
    import numpy as np

    from backprop_cli.checks.slips import Ask

    graph = trace.graph
    readers = {c for c, _ in graph.consumers[index]}
    shown = {  # every entry read by index, as the learner wrote it: s1 is w[0]
        node.ref: node.gate.computes([graph.nodes[node.inputs[0]].ref])
        for node in graph.gate_nodes
        if node.gate is not None and node.gate.picks is not None
    }
    for entry in np.ndindex(np.shape(want)):
        if _close(got[entry], want[entry], tolerance):
            continue
        for c in sorted(readers):
            gate = graph.nodes[c].gate
            if gate is None or gate.picks is None or tuple(gate.picks) != tuple(entry):
                continue
            try:
                found = diagnose(trace, Ask.gradient(c), float(got[entry]), tolerance * 100)
            except (ArithmeticError, ValueError, TypeError, KeyError, IndexError):
                found = None
            if found is not None:
                message = found.message
                for ref, text in shown.items():  # s2 is the learner's x[0]
                    message = re.sub(rf"(?<![\w\[]){re.escape(ref)}(?![\w\]])", text, message)
                where = ", ".join(str(i) for i in entry)
                return _EntrySlip(found.slip, f"Entry {where}: {message}")
        break  # the first wrong entry is the one to explain
    return None


def _user(trace: Trace, consumer: int) -> str:
    """The stage a learner would name for a use: a gate they did not name (the -x inside
    sigx = 1/(1 + exp(-x))) is followed forward to the named stage it is part of."""
    nodes, graph = trace.graph.nodes, trace.graph
    index = consumer
    for _ in range(len(nodes)):
        node = nodes[index]
        if node.label is not None and node.ref == node.label:
            return node.ref
        readers = {c for c, _ in graph.consumers[index]}
        if len(readers) != 1:
            break
        index = readers.pop()
    return nodes[consumer].ref


def _words(items: list[str]) -> str:
    """a, b and c."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _shape_words(value: Any) -> str:
    shape = getattr(value, "shape", ())
    if not shape:
        return _n(value)
    return "random, seed 1, shape (" + ", ".join(str(n) for n in shape) + ")"


def _exprs(line: BackwardLine) -> list[Expr]:
    if line.value is not None:
        return [line.value]
    out: list[Expr] = []
    for item in line.items or ():
        out.extend(item if isinstance(item, tuple) else (item,))
    return out


def _judge(
    trace: Trace,
    line: BackwardLine,
    kind: Kind,
    name: str,
    wire: _Wire,
    got: Any,
    added: Any,
    before: Any,
    after: Any,
    last_line: dict[str, int],
    diagnose: Callable[..., Any],
    tolerance: float,
) -> LineVerdict:
    """Right, or wrong with the slip and what it should be. `added` is what the line
    puts into the gradient, judged on its own (the whole value for a line that sets it)."""
    import numpy as np

    output = trace.output.ref
    forks = len(wire.parts)
    users = list(dict.fromkeys(_user(trace, c) for c, _ in wire.parts))
    lhs = line.target + (f"[{', '.join(str(i) for i in line.entry)}]" if line.entry else "")

    def verdict(
        status: Status, message: str, want: Any = None, slip: str | None = None
    ) -> LineVerdict:
        return LineVerdict(
            line.line, line.text, line.target, name, status, got, want, message, slip
        )

    def sum_of(consumers: tuple[tuple[int, int], ...] | set[tuple[int, int]]) -> Any:
        return sum((wire.parts[c] for c in consumers), np.zeros(trace.shape(wire.index)))

    # Which of the uses not yet accounted for does this line add? All of them first.
    left = sorted(wire.left)
    match: tuple[tuple[int, int], ...] | None = None
    if left and _close(added, sum_of(set(left)), tolerance):
        match = tuple(left)
    elif 1 < len(left) <= SUBSET_LIMIT:
        for size in range(1, len(left)):
            for subset in combinations(left, size):
                if _close(added, sum_of(subset), tolerance):
                    match = subset
                    break
            if match:
                break
    # `dx *= 1`, `dx += 0*x`: no rule, but nothing changes either, so nothing is wrong.
    nothing = np.zeros(np.shape(added))
    if kind != "set" and (match is None or kind == "update") and _close(added, nothing, tolerance):
        return verdict("right", f"right: changes nothing, {line.target} stays {_n(after)}")
    if line.entry is not None and match is None:
        # `dx[0] += y*df` where x is used as a whole (f = sum(x*y)): no use sends back
        # one entry alone, so the entry is judged on its own, against the gradient's.
        entry = _entry_verdict(trace, line, wire, added, before, lhs, tolerance)
        if entry is not None:
            return verdict(*entry)
    if kind == "update" and match is None and line.entry is None:
        should = _n(sum_of(set(left))) if left else "nothing (every use is counted above)"
        message = (
            f"{lhs} {'=' if line.op == '=' else line.op} … rewrites what {line.target} holds "
            f"({_n(before)} to {_n(before + added)}), adding {_n(added)}; what is left to "
            f"add is {should}. No rule rescales a gradient: gradients add up, so write "
            f"{line.target} += …"
        )
        return verdict("wrong", message)

    total = np.asarray(trace.grads[wire.index], dtype=float)
    partial = f"∂{output}/∂{name}"
    if match is not None:
        senders = _words(list(dict.fromkeys(_user(trace, c) for c, _ in match)))
        if kind == "set" and before is not None and wire.first_line is not None:
            held = " and ".join(wire.said) or "an earlier line"
            want_total = np.asarray(_apply("+=", before, added), dtype=float)
            wire.left -= set(match)
            wire.said.append(senders)
            message = (
                f"{line.target} = … throws away what {line.target} already holds (what "
                f"{held} sent back, line {wire.first_line}). {name} is used {forks} times "
                f"(by {_words(users)}), so its gradients add up: write {line.target} += …"
            )
            return verdict("wrong", message, want_total, "fork-one-branch")
        wire.left -= set(match)
        wire.said.append(senders)
        if wire.first_line is None:
            wire.first_line = line.line
        sends = "sends" if len(match) == 1 else "send"
        how = f"{lhs} {line.op} … adds {_n(added)}: " if kind == "update" else ""
        if not wire.left and len(match) == forks and not how:
            message = f"right: {partial} = {_n(added)}"
        elif not wire.left and _close(after, total, tolerance):
            message = (
                f"right: {how}what {senders} {sends} back; with the lines above, "
                f"{partial} = {_n(total)}"
            )
        elif not wire.left:
            message = f"right: {how}what {senders} {sends} back to {name}"
        else:
            rest = list(dict.fromkeys(_user(trace, c) for c, _ in sorted(wire.left)))
            message = (
                f"right: {how}what {senders} {sends} back to {name} ({name} is used {forks} "
                f"times: add what {_words(rest)} {'sends' if len(rest) == 1 else 'send'} "
                "with +=)"
            )
        return verdict("right", message)

    if not left:  # every use of the value is already in the gradient
        if kind == "set" and _close(added, total, tolerance):
            return verdict("right", f"right: {partial} = {_n(total)} (again)")
        if kind == "add":
            return verdict(
                "wrong",
                f"{line.target} already holds all of {partial} (line {wire.first_line}): "
                f"{name} is used {forks} time{'s' if forks != 1 else ''}, every use counted "
                f"above, so this adds a use twice",
                total,
                "fork-one-branch" if forks > 1 else None,
            )

    # `dx = np.zeros_like(x)` (or `dx = 0`) before the lines that add each use.
    starts = kind == "set" and before is None and last_line.get(line.target) != line.line
    if starts and np.shape(added) == np.shape(total) and _close(added, nothing, tolerance):
        shape = f"shape {shape_text(total)}" if np.ndim(total) else "a number"
        return verdict(
            "right",
            f"starts {line.target} at 0 ({shape}): add what each use of {name} sends back "
            f"with {line.target} += …",
        )

    # Wrong: which slip gives this number? Asked as the whole gradient when this line
    # is the only one for the name, else as what one use sends back.
    from backprop_cli.checks.slips import Ask

    expected = sum_of(set(left)) if left else total
    found = None
    asks = []
    whole_line = kind == "set" and before is None and last_line.get(line.target) == line.line
    if whole_line:
        asks.append(Ask.gradient(wire.index))
    for consumer, position in left:
        asks.append(Ask.product(consumer, position))
    for ask in asks:
        try:
            found = diagnose(trace, ask, added if added.ndim else float(added), tolerance * 100)
        except (ArithmeticError, ValueError, TypeError, KeyError, IndexError):
            found = None
        if found is not None:
            if ask.kind == "product":
                expected = np.asarray(trace.products[ask.node][ask.position], dtype=float)
            break
    if whole_line:
        expected = total
    if found is None and added.ndim >= 1 and added.shape == np.shape(expected):
        found = _entry_slip(trace, wire.index, added, expected, diagnose, tolerance)
    should = f"it should {'add' if kind == 'add' else 'be'} {_n(expected)}"
    if not whole_line and len(left) > 1 and found is None:
        options = ", ".join(f"{_n(wire.parts[c])} from {_user(trace, c[0])}" for c in left)
        should = f"each use sends back one part: {options} (together {_n(sum_of(set(left)))})"
    if found is not None:
        # A line that adds (`dx += …`, `dx -= …`) is told what it should add, not what
        # dx should be: `dx -= df` at an add gate "should be 1" read as dx's value.
        op = "=" if line.op == "=" and kind == "set" else line.op
        should_be = (
            f"{lhs} {op} … adds {_n(added)}; it should add {_n(expected)}"
            if kind == "add"
            else f"{line.target} should be {_n(expected)}"
        )
        return verdict("wrong", f"{found.message} ({should_be})", expected, found.slip)
    if np.shape(added) != np.shape(total):
        shape = ", ".join(str(n) for n in np.shape(total))
        wanted = f"shape ({shape})" if np.ndim(total) else "a plain number"
        return verdict(
            "wrong",
            f"{line.target} gives {_n(added)}, but a gradient has its variable's shape: "
            f"{name} is {wanted}, and {partial} = {_n(total)}",
            total,
        )
    if line.entry is not None:  # one entry: said as that entry, not as the vector
        e, where = line.entry, ", ".join(str(i) for i in line.entry)
        now = np.asarray(before + added, dtype=float)[e]
        return verdict(
            "wrong",
            f"{lhs} {line.op} … makes {lhs} {_n(now)}; {partial}[{where}] = {_n(total[e])}",
            total,
        )
    gives = f"{line.target} gives" if kind == "set" else f"{lhs} {line.op} … adds"
    return verdict("wrong", f"{gives} {_n(added)}; {should}", expected)
