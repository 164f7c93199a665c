"""Program -> Graph of staged gates, built from the parsed tree (never from sympy).

Constants fold into unary gates named as the notes name them (`+1`, `*-1`, `1/x`,
`x^2`), a name used twice becomes a fork, and the nodes come out in topological
order because each is created after its inputs. Nodes keep an ordered `inputs`
tuple and a stable index, so the same text always gives the same graph.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from backprop_cli.core import gates as g
from backprop_cli.core.language import (
    DEFAULT_LIMITS,
    BinOp,
    Call,
    Expr,
    Limits,
    Name,
    Neg,
    Num,
    Program,
    children,
    fold_constant,
    postorder,
)
from backprop_cli.errors import InputError


@dataclass(frozen=True)
class Node:
    index: int
    kind: Literal["input", "const", "gate"]
    ref: str  # how the trace names it: an input's name, a stage's name, or a step id
    gate: g.Gate | None = None
    inputs: tuple[int, ...] = ()
    label: str | None = None  # the name the user gave this stage, if any
    value: float | None = None  # constants only
    line: int = 1
    step: str | None = None  # gates only: s1, s2, … in forward order; a named stage's name


@dataclass(frozen=True)
class Graph:
    program: Program
    nodes: tuple[Node, ...]
    output: int
    inputs: dict[str, int]  # variable name -> node index, in order of first use
    warnings: tuple[str, ...] = ()
    consumers: tuple[tuple[tuple[int, int], ...], ...] = field(default=(), repr=False)

    @property
    def gate_nodes(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "gate"]

    def forks(self) -> dict[int, int]:
        """Nodes whose value is used more than once, with how many uses."""
        return {i: len(c) for i, c in enumerate(self.consumers) if len(c) > 1}


@dataclass(frozen=True)
class _Const:
    """A constant still waiting to be folded into a gate."""

    value: float


# An operand is a node index of the graph, or a constant.
Operand = int | _Const


@dataclass
class _Draft:
    kind: Literal["input", "const", "gate"]
    gate: g.Gate | None = None
    inputs: tuple[int, ...] = ()
    label: str | None = None
    name: str | None = None  # inputs
    value: float | None = None
    line: int = 1


class _Builder:
    def __init__(self, program: Program, limits: Limits) -> None:
        self.program = program
        self.limits = limits
        self.drafts: list[_Draft] = []
        self.env: dict[str, Operand] = {}
        self.input_index: dict[str, int] = {}

    def add(self, draft: _Draft) -> int:
        self.drafts.append(draft)
        return len(self.drafts) - 1

    def const_node(self, value: float, line: int) -> int:
        return self.add(_Draft("const", value=value, line=line))

    def read(self, name: Name) -> Operand:
        if name.id in self.env:
            return self.env[name.id]
        index = self.add(_Draft("input", name=name.id, line=name.line))
        self.input_index[name.id] = index
        self.env[name.id] = index
        return index

    def expression(self, expr: Expr) -> Operand:
        """Stage an expression bottom-up, without recursion."""
        done: dict[int, Operand] = {}
        for node in postorder(expr):
            done[id(node)] = self.stage(node, [done[id(c)] for c in children(node)])
        return done[id(expr)]

    def stage(self, node: Expr, args: list[Operand]) -> Operand:
        if isinstance(node, Num):
            return _Const(node.value)
        if isinstance(node, Name):
            return self.read(node)
        constants = [a.value for a in args if isinstance(a, _Const)]
        if len(constants) == len(args):
            return _Const(fold_constant(node, constants, self.limits))
        if isinstance(node, Neg):
            return self.gate(g.MulConst(-1.0), [args[0]], node.line)
        if isinstance(node, BinOp):
            return self.binary(node, args[0], args[1])
        if isinstance(node, Call) and (node.func not in g.FUNCTION_GATES or len(args) == 1):
            vector = self.vector_call(node, args)
            if vector is not None:
                return vector
        if isinstance(node, Call):
            gate_class = g.FUNCTION_GATES[node.func]
            return self.gate(gate_class(), args, node.line)
        raise AssertionError(node)  # pragma: no cover

    def vector_call(self, node: Call, args: list[Operand]) -> Operand | None:
        """The gates of the vector language (parsed only when some input is an array)."""
        from backprop_cli.core import vector_gates as vg

        if node.func == "index" and node.index is not None:
            if isinstance(args[0], _Const):
                raise InputError(f"line {node.line}: a plain number cannot be indexed")
            return self.gate(vg.Index(node.index), args, node.line)
        if node.func in ("sum", "mean") or node.func in ("max", "min"):
            return self.gate(vg.reduction_gate(node.func, node.axis), args, node.line)
        if node.func == "cross_entropy":
            scores, label = args
            if (
                not isinstance(label, _Const)
                or not float(label.value).is_integer()
                or isinstance(scores, _Const)
            ):
                raise InputError(
                    f"cross_entropy(scores, label) on line {node.line} needs a vector of scores "
                    "and a class index written as a number, for example cross_entropy(s, 2)"
                )
            return self.gate(vg.CrossEntropy(int(label.value)), [scores], node.line)
        if node.func in vg.VECTOR_GATES:
            return self.gate(vg.VECTOR_GATES[node.func](), args, node.line)
        return None

    def binary(self, node: BinOp, left: Operand, right: Operand) -> Operand:
        op, line = node.op, node.line
        if op == "@":
            from backprop_cli.core.vector_gates import MatMul

            if isinstance(left, _Const) or isinstance(right, _Const):
                raise InputError(
                    f"@ on line {line} has a plain number on one side: @ multiplies vectors "
                    "and matrices; use * to scale by a number"
                )
            return self.gate(MatMul(), [left, right], line)
        if isinstance(right, _Const):
            c = right.value
            if op == "/" and c == 0:
                raise InputError(f"division by zero (line {line}): the divisor is the constant 0")
            right_const: dict[str, Callable[[], g.Gate]] = {
                "+": lambda: g.AddConst(c),
                "-": lambda: g.AddConst(-c),
                "*": lambda: g.MulConst(c),
                "/": lambda: g.DivConst(c),
                "**": lambda: g.PowConst(c),
            }
            return self.gate(right_const[op](), [left], line)
        if isinstance(left, _Const):
            c = left.value
            left_const: dict[str, Callable[[], g.Gate]] = {
                "+": lambda: g.AddConst(c),
                "-": lambda: g.ConstSub(c),
                "*": lambda: g.MulConst(c),
                "/": lambda: g.ConstDiv(c),
                # e**x is exp(x): the gate the notes draw, with local gradient exp(x)
                "**": lambda: g.Exp() if c == math.e else g.ConstPow(c),
            }
            return self.gate(left_const[op](), [right], line)
        return self.gate(g.BINARY_GATES[op](), [left, right], line)

    def gate(self, gate: g.Gate, args: list[Operand], line: int) -> Operand:
        inputs = tuple(a if isinstance(a, int) else self.const_node(a.value, line) for a in args)
        return self.add(_Draft("gate", gate=gate, inputs=inputs, line=line))

    def statement_value(self, target: str, op: str, value: Expr, line: int) -> Operand:
        if op == "=":
            return self.expression(value)
        current = self.read(Name(target, line=line))
        combined = BinOp(op[:-1], Name(target, line=line), value, line=line)
        staged = self.expression(value)
        return self.stage(combined, [current, staged])


def build_graph(program: Program, *, limits: Limits = DEFAULT_LIMITS) -> Graph:
    """Stage a parsed program into a graph of gates, pruning stages the output ignores."""
    builder = _Builder(program, limits)
    label_line: dict[int, int] = {}
    aliases: list[tuple[str, int, int]] = []  # `f = x`: a name for a node made before
    for stmt in program.statements:
        before = len(builder.drafts)
        result = builder.statement_value(stmt.target, stmt.op, stmt.value, stmt.line)
        if isinstance(result, int) and result >= before and builder.drafts[result].kind == "gate":
            builder.drafts[result].label = stmt.target  # a new stage takes the user's name
            label_line[result] = stmt.line
        elif isinstance(result, int):
            aliases.append((stmt.target, result, stmt.line))
        builder.env[stmt.target] = result

    out = builder.env[program.output]
    if isinstance(out, _Const):
        raise InputError(
            f"the output {program.output!r} is the constant {g.number_text(out.value)}: "
            "it does not depend on any variable"
        )
    if builder.drafts[out].kind == "input":
        # `g = x` (or `a = x; g = a`): no gate, so the trace's tables were empty and its
        # header said ∂x/∂x. A circuit is gates; the one number there is is said here.
        name = builder.drafts[out].name
        raise InputError(
            f"the output {program.output!r} is the input {name!r} itself, with no gate "
            f"between them: there is nothing to trace (∂{program.output}/∂{name} = 1). "
            f"Give it at least one operation, for example  {program.output} = 2*{name}"
        )
    if builder.drafts[out].kind == "gate":
        # `q = x*y; g = q`: the output stage goes by the output's name, as the header
        # and --json say "output g" (an input's name stays its own).
        builder.drafts[out].label = program.output
    return _finish(program, builder.drafts, out, label_line, aliases)


def _finish(
    program: Program,
    drafts: list[_Draft],
    output: int,
    label_line: dict[int, int],
    aliases: list[tuple[str, int, int]] | None = None,
) -> Graph:
    # Keep only what the output depends on; walk backwards without recursion.
    live = [False] * len(drafts)
    live[output] = True
    for i in range(output, -1, -1):
        if live[i]:
            for j in drafts[i].inputs:
                live[j] = True
    warnings = [
        f"stage {drafts[i].label!r} (line {label_line[i]}) is not used by the output "
        f"{program.output!r}, so it is left out"
        for i in label_line
        if not live[i]
    ]
    # `f = x` names no new stage, but an unused f is as much a slip as an unused f = x*y;
    # a stage already warned about under its own name is not warned about twice.
    warnings += [
        f"stage {name!r} (line {line}) is not used by the output {program.output!r}, "
        "so it is left out"
        for name, i, line in aliases or []
        if not live[i] and i not in label_line
    ]

    kept = [i for i in range(len(drafts)) if live[i]]
    new_index = {old: new for new, old in enumerate(kept)}
    labels = [label for i in kept if (label := drafts[i].label)]
    input_names = {name for i in kept if (name := drafts[i].name)}
    prefix = _step_prefix(set(labels) | input_names)
    # A reassigned name is shown on its last stage, the one the name means at the end,
    # as in Python; earlier stages of that name go by their step ids.
    last_of_label = {drafts[i].label: i for i in kept if drafts[i].label}

    nodes: list[Node] = []
    inputs: dict[str, int] = {}
    step = 0
    for old in kept:
        d = drafts[old]
        index = new_index[old]
        if d.kind == "input":
            assert d.name is not None
            inputs[d.name] = index
            nodes.append(Node(index, "input", d.name, line=d.line))
        elif d.kind == "const":
            assert d.value is not None
            nodes.append(Node(index, "const", g.number_text(d.value), value=d.value, line=d.line))
        else:
            # Only unnamed stages take a number, so the numbers never skip (s1, s2, dot,
            # s3 …, not s1, s2, dot, s4); a named stage's step id is its name.
            named = d.label is not None and last_of_label[d.label] == old
            if named and d.label and d.label not in input_names:
                ref = step_id = d.label
            else:
                step += 1
                ref = step_id = f"{prefix}{step}"
            nodes.append(
                Node(
                    index,
                    "gate",
                    ref,
                    gate=d.gate,
                    inputs=tuple(new_index[j] for j in d.inputs),
                    label=d.label,
                    line=d.line,
                    step=step_id,
                )
            )
    consumers: list[list[tuple[int, int]]] = [[] for _ in nodes]
    for node in nodes:
        for position, j in enumerate(node.inputs):
            consumers[j].append((node.index, position))
    return Graph(
        program=program,
        nodes=tuple(nodes),
        output=new_index[output],
        inputs=inputs,
        warnings=(*program.notes, *warnings),
        consumers=tuple(tuple(c) for c in consumers),
    )


def _step_prefix(names: set[str]) -> str:
    """`s`, unless the user already has names like s1; then the next free letter."""
    for prefix in ("s", "t", "u", "v", "step", "stage"):
        pattern = re.compile(rf"{prefix}\d+")
        if not any(pattern.fullmatch(n) for n in names):
            return prefix
    return "_s"  # pragma: no cover - needs names like s1, t1, u1, v1, step1 and stage1


def replace_gates(graph: Graph, replacements: dict[int, tuple[g.Gate, tuple[int, ...]]]) -> Graph:
    """A new graph with some gates swapped for others (the fuse pass uses this).

    `replacements` maps a node index to its new gate and inputs. Nodes nothing reads
    any more are pruned, and the rest are renumbered, step ids and all, exactly as
    `build_graph` numbers them, so the order stays the forward order.
    """
    drafts: list[_Draft] = []
    for node in graph.nodes:
        gate, inputs = replacements.get(node.index, (node.gate, node.inputs))
        drafts.append(
            _Draft(
                node.kind,
                gate=gate,
                inputs=inputs,
                label=node.label,
                name=node.ref if node.kind == "input" else None,
                value=node.value,
                line=node.line,
            )
        )
    rebuilt = _finish(graph.program, drafts, graph.output, {})
    return replace(rebuilt, warnings=graph.warnings)
