"""Text -> Program: the input language, parsed with Python's `ast` and an allowlist.

User text is untrusted (problem files and quiz answers come from other people), so
it never reaches eval, exec or sympy's parser. Python's `ast` builds a tree; we walk
it, keep only the node kinds listed here, and copy them into our own small tree.
Every walk is iterative, so deep input cannot hit Python's recursion limit.
"""

from __future__ import annotations

import ast
import math
import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from backprop_cli.core.text import did_you_mean
from backprop_cli.errors import InputError, caret_message

UNARY_FUNCTIONS = ("exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs")
VARIADIC_FUNCTIONS = ("max", "min")
FUNCTIONS = UNARY_FUNCTIONS + VARIADIC_FUNCTIONS
# Known only when some input is a vector or matrix (`parse_program(..., vectors=True)`);
# `W.T` becomes a call of `transpose`.
VECTOR_FUNCTIONS = (
    "sum",
    "mean",
    "dot",
    "norm2",
    "softmax",
    "log_softmax",
    "cross_entropy",
    "transpose",
)
_VECTOR_ARITY = {"dot": 2, "cross_entropy": 2}
_AXIS_FUNCTIONS = ("sum", "mean", "max", "min")  # the ones that take axis=0 or axis=1

DEFAULT_OUTPUT = "f"

# Constants a learner types without thinking (`e**x`, `2*pi*r`); a program or the
# command line that gives one a value makes it a variable instead.
CONSTANTS = {"e": math.e, "pi": math.pi}
# Module prefixes of code pasted from notes: `math.exp(x)` and `np.exp(x)` are exp(x).
_MODULES = ("math", "np", "numpy")
# numpy's names for what the language calls otherwise; "@" is the matrix product.
_NUMPY_NAMES = {"maximum": "max", "minimum": "min", "dot": "@", "matmul": "@"}
# Names from other notations, with what to write instead.
_ALIASES = {
    "ln": ("log", "log is the natural logarithm"),
    "log10": ("log", "only the natural logarithm is a gate; log10(x) is log(x)/log(10)"),
    "log2": ("log", "only the natural logarithm is a gate; log2(x) is log(x)/log(2)"),
    "sqr": ("x**2", "a square is a power"),
    "square": ("x**2", "a square is a power"),
    "power": ("x**n", "a power is written with ** or ^"),
    "pow": ("x**n", "a power is written with ** or ^"),
}

_BINARY_OPS: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.MatMult: "@",
}
_AUG_OPS = {"+": "+=", "-": "-=", "*": "*=", "/": "/=", "**": "**=", "@": "@="}

# What a learner probably meant, for node kinds we refuse.
_REFUSED: dict[type, str] = {
    ast.Attribute: "attributes (a.b) are not part of the language",
    ast.Subscript: "subscripts (a[i]) are not part of the language; name each value",
    ast.Lambda: "lambdas are not part of the language",
    ast.ListComp: "comprehensions are not part of the language",
    ast.GeneratorExp: "comprehensions are not part of the language",
    ast.Compare: "comparisons are not part of the language",
    ast.BoolOp: "'and'/'or' are not part of the language",
    ast.IfExp: "'if' expressions are not part of the language; use max, min or relu",
    ast.List: "lists are not part of the language",
    ast.Tuple: "tuples are not part of the language",
    ast.Dict: "dicts are not part of the language",
    ast.Set: "sets are not part of the language",
    ast.JoinedStr: "strings are not part of the language",
    ast.Import: "imports are not part of the language",
    ast.ImportFrom: "imports are not part of the language",
}


@dataclass(frozen=True)
class Limits:
    """Input sizes refused before any work is done. Raise them for benchmarks."""

    max_chars: int = 100_000
    max_depth: int = 1_000
    max_gates: int = 10_000
    max_exponent: float = 100.0  # a larger constant exponent is refused, never computed


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Num:
    value: float
    text: str  # the literal as typed, so sympy can hold it exactly (0.1 -> 1/10)
    line: int = 1
    col: int = 0


@dataclass(frozen=True)
class Name:
    id: str
    line: int = 1
    col: int = 0


@dataclass(frozen=True)
class BinOp:
    op: str  # one of + - * / **
    left: Expr
    right: Expr
    line: int = 1
    col: int = 0


@dataclass(frozen=True)
class Neg:
    operand: Expr
    line: int = 1
    col: int = 0


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Expr, ...]
    line: int = 1
    col: int = 0
    axis: int | None = None  # sum/mean/max/min of a matrix along one axis (vectors only)
    index: tuple[int, ...] | None = None  # `w[0]`, `W[1, 2]`: func is "index" (vectors only)


Expr = Num | Name | BinOp | Neg | Call


@dataclass(frozen=True)
class Statement:
    target: str
    op: str  # "=" or an augmented operator such as "+="
    value: Expr
    line: int = 1
    col: int = 0


@dataclass(frozen=True)
class Program:
    source: str
    statements: tuple[Statement, ...]
    output: str
    # Constant assignments at the top (`w = [2,-3,-3]`, `x = 3`), as the notes start
    # their code: values for the inputs, overridden by values given on the command line.
    bindings: dict[str, Any] = field(default_factory=dict, compare=False)
    # What a learner should know about those values (random ones drawn with a seed).
    notes: tuple[str, ...] = ()

    @property
    def is_single_expression(self) -> bool:
        return len(self.statements) == 1 and self.statements[0].target == self.output

    def inputs(self) -> list[str]:
        """Names read before they are assigned: the variables of the circuit, in order."""
        # Worked out once: parsing and every trace ask, and it walks the whole program.
        cached = self.__dict__.get("_inputs")
        if cached is None:
            cached = self.__dict__["_inputs"] = self._find_inputs()
        return list(cached)

    def _find_inputs(self) -> list[str]:
        assigned: set[str] = set()
        seen: dict[str, None] = {}
        for stmt in self.statements:
            if stmt.op != "=" and stmt.target not in assigned:
                seen.setdefault(stmt.target, None)
            for node in walk(stmt.value):
                if isinstance(node, Name) and node.id not in assigned:
                    seen.setdefault(node.id, None)
            assigned.add(stmt.target)
        return list(seen)


def walk(expr: Expr) -> list[Expr]:
    """Every node below `expr` in pre-order, without recursion."""
    out: list[Expr] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(children(node)))
    return out


def postorder(expr: Expr) -> list[Expr]:
    """Every node below `expr`, children left to right before their parent (no recursion)."""
    out: list[Expr] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(children(node))  # right child popped first, so reversed is left-first
    out.reverse()
    return out


def children(node: Expr) -> tuple[Expr, ...]:
    if isinstance(node, BinOp):
        return (node.left, node.right)
    if isinstance(node, Neg):
        return (node.operand,)
    if isinstance(node, Call):
        return node.args
    return ()


def constant_value(expr: Expr, limits: Limits = DEFAULT_LIMITS) -> float | None:
    """The float value of an expression with no names in it, or None if it has names.

    Folded in float arithmetic, so `9**9**9**9` overflows at once instead of
    building a huge integer. Raises InputError for overflow and domain errors.
    """
    values: dict[int, float | None] = {}
    for node in postorder(expr):
        if isinstance(node, Num):
            values[id(node)] = node.value
        elif isinstance(node, Name):
            values[id(node)] = None
        else:
            args = [values[id(c)] for c in children(node)]
            if any(a is None for a in args):
                values[id(node)] = None
            else:
                values[id(node)] = fold_constant(node, [a for a in args if a is not None], limits)
    return values[id(expr)]


def fold_constant(node: Expr, args: list[float], limits: Limits = DEFAULT_LIMITS) -> float:
    """Apply one operator or function to constant arguments, in floats."""
    try:
        if isinstance(node, Neg):
            result = -args[0]
        elif isinstance(node, BinOp):
            a, b = args
            if node.op == "@":
                raise InputError(
                    f"@ multiplies vectors and matrices, not two constants (line {node.line})"
                )
            if node.op == "**":
                check_exponent(b, node, limits)
            result = _BINARY_FOLD[node.op](a, b)
        elif isinstance(node, Call):
            if (
                node.func not in _FUNCTION_FOLD
                or node.axis is not None
                or (len(args) == 1 and node.func in VARIADIC_FUNCTIONS)
            ):
                raise InputError(
                    f"{node.func}() needs a vector or matrix argument, not a constant "
                    f"(line {node.line})"
                )
            result = _FUNCTION_FOLD[node.func](*args)
        else:  # pragma: no cover - Num and Name never reach here
            raise AssertionError(node)
    except ZeroDivisionError:
        raise InputError(f"division by zero in a constant (line {node.line})") from None
    except OverflowError:
        raise InputError(f"a constant overflowed (line {node.line}): it is too large") from None
    except ValueError:
        raise InputError(
            f"a constant is outside its function's domain (line {node.line})"
        ) from None
    if isinstance(result, complex) or not math.isfinite(result):
        raise InputError(f"a constant has no real finite value (line {node.line})")
    return float(result)


def check_exponent(exponent: float, node: Expr, limits: Limits) -> None:
    if abs(exponent) > limits.max_exponent:
        raise InputError(
            f"the constant exponent {exponent:g} (line {node.line}) is too large: "
            f"the limit is {limits.max_exponent:g}, which keeps every number printable"
        )


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


_BINARY_FOLD: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: math.pow(a, b),
}
_FUNCTION_FOLD: dict[str, Callable[..., float]] = {
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "tanh": math.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda x: max(0.0, x),
    "abs": abs,
    "max": max,
    "min": min,
}


def parse_program(
    text: str,
    *,
    output: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    vectors: bool = False,
    given: Collection[str] = (),
) -> Program:
    """Parse an expression or a staged program into a Program.

    A single expression becomes one statement `f = <expr>`. In a program the output
    is the last assigned name unless `output` names another. With `vectors` (some
    input is a vector or matrix) the language also has `@`, `W.T`, `w[0]`, the
    VECTOR_FUNCTIONS, one-argument max/min and `axis=` for sum, mean, max and min.

    Constant assignments at the top of a program (`w = [2,-3,-3]`, `x = 3`) are its
    `bindings`, as the notes' code starts; a vector among them turns `vectors` on.
    `given` names the inputs that have values from elsewhere (the command line): a
    variable called `e` or `pi` is then a variable, not the constant.
    """
    if len(text) > limits.max_chars:
        raise InputError(
            f"the input is {len(text):,} characters long; the limit is {limits.max_chars:,}. "
            "Trace a smaller circuit."
        )
    if not text.strip():
        raise InputError('the expression is empty: type one, for example  backprop trace "x*y"')
    if "\x00" in text:
        raise InputError(caret_message("the input contains a NUL byte", text, text.index("\x00")))
    source = text
    python_text = python_source(text)
    try:
        module = ast.parse(python_text, mode="exec")
    except SyntaxError as exc:
        raise InputError(_syntax_message(exc, source)) from None
    except (RecursionError, MemoryError):
        raise InputError(
            "the expression is nested too deeply to parse (a long chain such as a+b+c+… "
            "counts one level per operator). Break it into stages, one per line:  "
            "a = …  then  b = f(a) …"
        ) from None
    except ValueError as exc:  # e.g. an integer literal with too many digits
        raise InputError(f"the input cannot be read: {exc}") from None

    converter = _Converter(source, limits, vectors=vectors, given=given)
    statements: list[Statement] = []
    body = module.body
    bindings, start = converter.leading_bindings(body)
    for index, stmt in enumerate(body[start:], start):
        statements.append(converter.statement(stmt, is_last=index == len(body) - 1))
    if not statements:
        raise InputError("the input has no expression (only comments?)")

    assigned = [s.target for s in statements]
    if output is None:
        output = statements[-1].target
    elif output not in assigned:
        hint = _did_you_mean(output, assigned)
        raise InputError(
            f"the result {output!r} (--result, or output= in Python) is not assigned in the "
            f"program; assigned names: "
            f"{', '.join(dict.fromkeys(assigned))}{hint}"
        )
    program = Program(source=source, statements=tuple(statements), output=output)
    if bindings:  # a value nothing reads is dropped, as a stage nothing uses is
        variables = set(program.inputs())
        kept = {k: v for k, v in bindings.items() if k in variables}
        notes: tuple[str, ...] = ()
        if converter.drawn:
            notes = (
                f"{', '.join(converter.drawn)}: random values, drawn with seed 0 (the same "
                "every run); give the values on the command line to choose your own",
            )
        program = replace(program, bindings=kept, notes=notes)
    # max(a, b, c, …) is one gate with len(args) inputs: count it as len(args) - 1
    # pairwise gates, so a 40,000-argument max is refused like 40,000 additions.
    gates = sum(
        max(1, len(n.args) - 1) if isinstance(n, Call) else 1
        for s in statements
        for n in walk(s.value)
        if not isinstance(n, Num | Name)
    )
    gates += sum(1 for s in statements if s.op != "=")
    if gates > limits.max_gates:
        raise InputError(
            f"the circuit has {gates:,} operations; the limit is {limits.max_gates:,}. "
            "Trace a smaller circuit."
        )
    if not program.inputs():
        raise InputError(
            "the expression has no variables, so there is nothing to differentiate. "
            'Use a name, for example  backprop trace "x*2" x=3'
        )
    return program


@dataclass(frozen=True)
class BackwardLine:
    """One line of a learner's own backward pass: `dx = w[0] * ddot`, `dx += …`.

    `value` is the right-hand side; a list literal (`[w[0] * ddot, w[1] * ddot]`, a
    vector built entry by entry) is `items` instead, nested for a matrix.
    """

    target: str
    op: str  # "=" or "+=", "-=", …
    value: Expr | None
    items: tuple[Any, ...] | None
    line: int
    text: str  # the line as typed, for the report
    # `dD = np.random.randn(*D.shape)`: an upstream gradient given at random, as the
    # notes' matrix example does; the name whose shape it takes, or the shape itself.
    random: str | tuple[int, ...] | None = None
    # `dx = np.zeros_like(x)` / `np.zeros(3)` / `np.zeros(x.shape)`: a gradient started
    # at zero, to add the uses to; the name whose shape it takes, or the shape itself.
    zeros: str | tuple[int, ...] | None = None
    # `dx[0] += …`: one entry updated (the index, as `w[0]` reads one).
    entry: tuple[int, ...] | None = None


def split_backward(
    text: str, *, limits: Limits = DEFAULT_LIMITS
) -> tuple[str, tuple[BackwardLine, ...]]:
    """A program's forward part (as text) and its backward part (as lines), if any.

    The backward part starts at the first assignment to `dNAME` where NAME is a value
    of the forward part (an input or a stage): the notes' convention for ∂f/∂NAME.
    Everything after it is backward code. Without one, the backward part is empty and
    the text comes back unchanged.
    """
    if len(text) > limits.max_chars or "\x00" in text:
        return text, ()
    try:
        module = ast.parse(python_source(text), mode="exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return text, ()  # the forward parser says what is wrong
    seen: set[str] = set()
    start = None
    body = module.body
    for index, stmt in enumerate(body):
        target = _assigned_name(stmt)
        if (
            index > 0
            and target
            and target.startswith("d")
            and target[1:] in seen
            and not _read_by_forward(body[index:])
        ):
            start = index
            break
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name):
                seen.add(node.id)
    if start is None:
        return text, ()
    # `df = 1` mistyped `dff = 1` just before the first gradient line: no value is
    # called ff, so it was read as the forward pass's last stage (the output, the
    # constant 1). A d-name that reads no value of the forward pass and that the
    # forward pass does not read is a gradient line; the checker names the typo. A
    # stage that reads a value of the forward pass is the forward pass's, whatever its
    # name: `dist = diff*diff` (a d-name reading a d-name) is the output, not a typo.
    while start > 1:
        stmt = body[start - 1]
        target = _assigned_name(stmt)
        reads = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)} - {target}
        before = {n.id for s in body[: start - 1] for n in ast.walk(s) if isinstance(n, ast.Name)}
        if not (
            target
            and len(target) > 1
            and target.startswith("d")
            and not (reads - set(_MODULES)) & before
            and all(name.startswith("d") or name in _MODULES for name in reads)
            and not _read_by_forward(body[start - 1 :])
        ):
            break
        start -= 1
    lines = text.splitlines()
    first = module.body[start].lineno
    forward = "\n".join(lines[: first - 1]) + "\n"
    converter = _Converter(text, limits, vectors=True, given=seen)
    backward = []
    for stmt in module.body[start:]:
        backward.append(converter.backward_line(stmt, lines))
    return forward, tuple(backward)


def stray_gradient(
    text: str, *, limits: Limits = DEFAULT_LIMITS
) -> tuple[str, int, tuple[str, ...]] | None:
    """Why `split_backward` found no backward part, when a line looks like one: the first
    `dNAME = …` whose NAME is no value before it (`dz = 1` after `f = x*y`, a typo), as
    (dNAME, its line, the values before it). Only after a stage (or on the first line):
    `x = 2; y = 3; dist = x*y` is a forward pass whose output starts with d. None when
    no line looks like a gradient."""
    if len(text) > limits.max_chars or "\x00" in text:
        return None
    try:
        module = ast.parse(python_source(text), mode="exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None
    seen: dict[str, None] = {}  # the values so far, in order, for the did-you-mean hint
    staged = False  # a stage that computes from values came before
    for index, stmt in enumerate(module.body):
        target = _assigned_name(stmt)
        if (
            target
            and len(target) > 1
            and target.startswith("d")
            and target[1:] not in seen
            and (index == 0 or staged)
            and not _read_by_forward(module.body[index:])
        ):
            return target, stmt.lineno, tuple(seen)
        modules = {  # math in math.exp is not a value
            n.value.id
            for n in ast.walk(stmt)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
        }
        names = [n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)]
        staged = staged or (target is not None and len(names) > 1)
        for name in names:
            if name not in modules:
                seen.setdefault(name)
    return None


def _read_by_forward(rest: list[ast.stmt]) -> bool:
    """Whether a stage that is not a gradient reads a d-name assigned here: then the
    d-name is a forward value (`dx = x - x0; f = dx*y`), not a gradient."""
    d_names = {t for stmt in rest if (t := _assigned_name(stmt)) and t.startswith("d")}
    for stmt in rest:
        target = _assigned_name(stmt)
        if target is None or target.startswith("d"):
            continue
        if any(isinstance(n, ast.Name) and n.id in d_names for n in ast.walk(stmt)):
            return True
    return False


def _assigned_name(stmt: ast.stmt) -> str | None:
    target: ast.expr | None = None
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0]
    elif isinstance(stmt, ast.AugAssign):
        target = stmt.target
    # `dx[0] += …`: an update of dx (the forward language has no such statement)
    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
        return target.value.id
    return target.id if isinstance(target, ast.Name) else None


# Characters copied from notes and slides that mean plain ASCII operators; each maps
# to one character, so columns in error messages stay right.
_LOOKALIKES = str.maketrans({"−": "-", "–": "-", "×": "*", "·": "*", "\u00a0": " "})


def python_source(text: str) -> str:
    """The user's text as Python reads it: ^ is power (Python's ^ is xor), − is minus."""
    return text.translate(_LOOKALIKES).replace("^", "**")


def _parse_constant_expr(text: str, limits: Limits) -> Expr:
    if len(text) > limits.max_chars:
        raise InputError(f"the input is longer than {limits.max_chars:,} characters")
    text = text.strip()  # "x= 1" is fine: spaces around a value mean nothing
    if not text:
        raise InputError("the value is empty")
    try:
        module = ast.parse(python_source(text), mode="exec")
    except SyntaxError as exc:
        raise InputError(_syntax_message(exc, text)) from None
    except (RecursionError, MemoryError, ValueError):
        raise InputError("the value is nested too deeply or cannot be read") from None
    if len(module.body) != 1 or not isinstance(module.body[0], ast.Expr):
        raise InputError(f"expected a number or a small calculation, got {elide(text)!r}")
    return _Converter(text, limits).expr(module.body[0].value)


def evaluate_number(text: str, *, limits: Limits = DEFAULT_LIMITS) -> float:
    """A number or a small constant calculation (`-1/1.37**2`), safely evaluated."""
    expr = _parse_constant_expr(text, limits)
    value = constant_value(expr, limits)
    if value is None:  # pragma: no cover - _parse_constant_expr refuses names
        raise InputError(f"{text.strip()!r} is not a number")
    return value


class _Converter:
    """Copies an allowed Python ast into our tree, refusing everything else."""

    def __init__(
        self, source: str, limits: Limits, *, vectors: bool = False, given: Collection[str] = ()
    ) -> None:
        self.source = source
        self.python_text = python_source(source)
        # Split once: splitting per node made a long program quadratic to parse.
        self.lines = source.splitlines()
        self.python_lines = re.split(r"\r\n|\r|\n", self.python_text)  # as ast counts lines
        self.limits = limits
        self.vectors = vectors
        # Names that are variables or stages so far: a function's name or `e` read as a
        # name means the variable once the program has given it a value.
        self.known: set[str] = set(given)
        # What each call and subscript resolved to (`math.exp`, `W.dot`, `w[0]`).
        self.calls: dict[int, tuple[str, list[ast.expr]]] = {}
        self.indices: dict[int, tuple[int, ...]] = {}
        self.rng: Any = None  # np.random values at the top: one generator, seed 0
        self.drawn: list[str] = []

    @property
    def functions(self) -> tuple[str, ...]:
        return FUNCTIONS + VECTOR_FUNCTIONS if self.vectors else FUNCTIONS

    def random_value(self, node: ast.expr) -> Any:
        """`np.random.randn(5, 10)` (or `rand`) at the top of a program, as the notes'
        matrix example starts: values drawn from a generator seeded with 0, the same
        every run, and said so. None for anything else."""
        func = node.func if isinstance(node, ast.Call) else None
        if not (
            isinstance(func, ast.Attribute)
            and func.attr in ("randn", "rand")
            and isinstance(func.value, ast.Attribute)
            and func.value.attr == "random"
            and isinstance(func.value.value, ast.Name)
            and func.value.value.id in ("np", "numpy")
        ):
            return None
        assert isinstance(node, ast.Call)
        dims: list[int] = [
            a.value for a in node.args if isinstance(a, ast.Constant) and type(a.value) is int
        ]
        if node.keywords or len(dims) != len(node.args) or not 1 <= len(dims) <= 2 or min(dims) < 1:
            raise self.fail(
                node,
                "np.random.randn takes the shape as one or two whole numbers here, "
                "for example np.random.randn(5, 10)",
            )
        if dims[0] * (dims[1] if len(dims) == 2 else 1) > MAX_ARRAY_ELEMENTS:
            raise self.fail(node, f"more than {MAX_ARRAY_ELEMENTS:,} entries")
        import numpy as np

        if self.rng is None:
            self.rng = np.random.default_rng(0)
        draw = self.rng.standard_normal if func.attr == "randn" else self.rng.random
        self.vectors = True
        self.drawn.append(self.segment(node) or f"np.random.{func.attr}(…)")
        return draw(tuple(dims))

    def leading_bindings(self, body: list[ast.stmt]) -> tuple[dict[str, Any], int]:
        """The constant assignments a program starts with, as values; and where it goes on.

        `w = [2,-3,-3]` or `x = -1` (any calculation without names) at the top of a
        program gives an input its value, as the notes' code does. The last statement
        is always the circuit, never a value.
        """
        bindings: dict[str, Any] = {}
        start = 0
        while start < len(body) - 1:
            stmt = body[start]
            if not (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
            ):
                break
            name = stmt.targets[0].id
            value = self.constant_assignment(stmt.value)
            if value is None:
                break
            self.check_name(stmt.targets[0])
            bindings[name] = value
            self.known.add(name)
            start += 1
        return bindings, start

    def constant_assignment(self, node: ast.expr) -> Any:
        """The value of a constant right-hand side (a number, or a vector or matrix
        literal), or None if it reads a variable or is not a constant."""
        random = self.random_value(node)
        if random is not None:
            return random
        listed = self.array_literal(node)  # w = np.array([2, -3, -3]) is w = [2, -3, -3]
        if listed is not None:
            node = listed
        if isinstance(node, ast.List):
            text = ast.get_source_segment(self.python_text, node) or ""
            try:
                array = parse_array(text, limits=self.limits)
            except InputError as exc:
                raise self.fail(node, f"this value cannot be read: {exc}") from None
            self.vectors = True  # a vector value: the vector language is on
            return array
        nodes = list(ast.walk(node))
        called = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
        for inner in nodes:
            if (
                isinstance(inner, ast.Name)
                and id(inner) not in called
                and (inner.id in self.known or inner.id not in _MODULES + tuple(CONSTANTS))
            ):
                return None
            if isinstance(inner, ast.Subscript | ast.List):
                return None
        return constant_value(self.expr(node), self.limits)

    def fail(self, node: ast.AST, what: str, hint: str = "") -> InputError:
        line = getattr(node, "lineno", 1)
        col = _original_col(self.source, line, getattr(node, "col_offset", 0), self.lines)
        return InputError(caret_message(what, self.source, col, line=line, hint=hint))

    def statement(self, stmt: ast.stmt, *, is_last: bool) -> Statement:
        col = _original_col(self.source, stmt.lineno, stmt.col_offset, self.lines)
        pos = {"line": stmt.lineno, "col": col}
        if isinstance(stmt, ast.Expr):
            if not is_last:
                raise self.fail(
                    stmt,
                    "an expression on its own can only be the last line",
                    "Give it a name, for example  q = x + y",
                )
            return Statement(DEFAULT_OUTPUT, "=", self.expr(stmt.value), **pos)
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                raise self.fail(stmt, "assign to one name at a time, for example  q = x + y")
            target = self.target_name(stmt.targets[0])
            value = self.expr(stmt.value)
            self.known.add(target)
            return Statement(target, "=", value, **pos)
        if isinstance(stmt, ast.AugAssign):
            if not isinstance(stmt.target, ast.Name):
                raise self.fail(stmt, "assign to one name at a time, for example  q += x")
            op = _BINARY_OPS.get(type(stmt.op))
            if op == "@" and not self.vectors:
                raise self.fail(stmt, _VECTORS_ONLY.format(what="@="))
            if op is None:
                raise self.fail(stmt, "only += -= *= /= and **= are supported")
            target = self.target_name(stmt.target)
            value = self.expr(stmt.value)
            self.known.add(target)
            return Statement(target, _AUG_OPS[op], value, **pos)
        what = _REFUSED.get(type(stmt), f"'{type(stmt).__name__}' statements are not supported")
        raise self.fail(stmt, what, "Write assignments like  q = x + y , one per line or with ;")

    def backward_line(self, stmt: ast.stmt, lines: list[str]) -> BackwardLine:
        """One statement of a backward part: `dNAME = …` or `dNAME += …`, a list
        literal allowed on the right."""
        target = _assigned_name(stmt)
        if target is None or not isinstance(stmt, ast.Assign | ast.AugAssign):
            raise self.fail(
                stmt,
                "the backward part takes assignments only, one name each",
                "Write each gradient as  dNAME = …  or  dNAME += …",
            )
        assigned = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
        entry: tuple[int, ...] | None = None
        if isinstance(assigned, ast.Subscript):  # dx[0] += …: one entry of dx
            entry = self.index_of(assigned)
            assigned = assigned.value
        assert isinstance(assigned, ast.Name)
        self.check_name(assigned)
        op = "="
        if isinstance(stmt, ast.AugAssign):
            symbol = _BINARY_OPS.get(type(stmt.op))
            if symbol is None or symbol == "@":
                raise self.fail(stmt, "only += -= *= /= and **= are supported")
            op = _AUG_OPS[symbol]
        value: Expr | None = None
        items: tuple[Any, ...] | None = None
        text = lines[stmt.lineno - 1] if stmt.lineno <= len(lines) else target
        text = text.split("#", 1)[0].strip()
        random = self.random_shape(stmt.value)
        zeros = self.zeros_shape(stmt.value)
        if (random is not None or zeros is not None) and (entry is not None or op != "="):
            what = "np.random.randn(…)" if random is not None else "np.zeros(…)"
            raise self.fail(
                stmt,
                f"{what} gives a whole gradient: write it as  {target} = {what}",
            )
        if random is not None or zeros is not None:
            self.known.add(target)
            return BackwardLine(
                target, op, None, None, stmt.lineno, text, random=random, zeros=zeros
            )
        self.sliced_line(stmt, target)
        listed = self.array_literal(stmt.value)
        if listed is not None:
            items = self.list_items(listed)
        else:
            value = self.expr(stmt.value)
        self.known.add(target)
        return BackwardLine(target, op, value, items, stmt.lineno, text, entry=entry)

    def array_literal(self, node: ast.expr) -> ast.List | None:
        """`[…]` or `np.array([…])` (with `dtype=float` at most): a vector or matrix
        written entry by entry. None for anything else."""
        if isinstance(node, ast.List):
            return node
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "array"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in _MODULES
        ):
            return None
        if len(node.args) != 1 or not isinstance(node.args[0], ast.List):
            raise self.fail(node, "np.array takes one list here, for example np.array([1, 2])")
        self.float_dtype_only(node)
        return node.args[0]

    def float_dtype_only(self, node: ast.Call) -> None:
        """`dtype=float` changes nothing here (every value is a float): allowed alone."""
        for keyword in node.keywords:
            dtype = keyword.value
            floats = (isinstance(dtype, ast.Name) and dtype.id == "float") or (
                isinstance(dtype, ast.Attribute) and dtype.attr in ("float64", "float_")
            )
            if keyword.arg != "dtype" or not floats:
                raise self.fail(
                    node, f"{self.segment(node.func)}() takes no keyword here but dtype=float"
                )

    def zeros_shape(self, node: ast.expr) -> str | tuple[int, ...] | None:
        """`np.zeros_like(x)` and `np.zeros(x.shape)` -> "x"; `np.zeros(3)` -> (3,),
        `np.zeros((2, 3))` -> (2, 3): a gradient started at zero. None for anything else."""
        func = node.func if isinstance(node, ast.Call) else None
        if not (
            isinstance(node, ast.Call)
            and isinstance(func, ast.Attribute)
            and func.attr in ("zeros", "zeros_like")
            and isinstance(func.value, ast.Name)
            and func.value.id in _MODULES
        ):
            return None
        self.float_dtype_only(node)
        arg = node.args[0] if len(node.args) == 1 else None
        if func.attr == "zeros_like":
            if isinstance(arg, ast.Name):
                return arg.id
            raise self.fail(node, "np.zeros_like takes one name, for example np.zeros_like(x)")
        if (
            isinstance(arg, ast.Attribute)
            and arg.attr == "shape"
            and isinstance(arg.value, ast.Name)
        ):
            return arg.value.id
        dims = arg.elts if isinstance(arg, ast.Tuple | ast.List) else [arg]
        sizes = [d.value for d in dims if isinstance(d, ast.Constant) and type(d.value) is int]
        if arg is not None and len(sizes) == len(dims) and 1 <= len(sizes) <= 2 and min(sizes) > 0:
            if math.prod(sizes) > MAX_ARRAY_ELEMENTS:  # as np.random.randn(…) is refused
                raise self.fail(node, f"more than {MAX_ARRAY_ELEMENTS:,} entries")
            return tuple(sizes)
        raise self.fail(
            node,
            "write the shape as np.zeros(3), np.zeros((2, 3)) or np.zeros(x.shape), or "
            "use np.zeros_like(x)",
        )

    def random_shape(self, node: ast.expr) -> str | tuple[int, ...] | None:
        """`np.random.randn(*D.shape)` -> "D"; `np.random.randn(5, 3)` -> (5, 3)."""
        func = node.func if isinstance(node, ast.Call) else None
        if not (
            isinstance(node, ast.Call)
            and isinstance(func, ast.Attribute)
            and func.attr == "randn"
            and isinstance(func.value, ast.Attribute)
            and func.value.attr == "random"
        ):
            return None
        args = node.args
        if (
            len(args) == 1
            and isinstance(args[0], ast.Starred)
            and isinstance(args[0].value, ast.Attribute)
            and args[0].value.attr == "shape"
            and isinstance(args[0].value.value, ast.Name)
        ):
            return args[0].value.value.id
        sizes: list[int] = [
            a.value for a in args if isinstance(a, ast.Constant) and type(a.value) is int
        ]
        if sizes and len(sizes) == len(args) and min(sizes) > 0:
            return tuple(sizes)
        raise self.fail(
            node, "write the shape as np.random.randn(*D.shape) or np.random.randn(5, 3)"
        )

    def list_items(self, node: ast.List) -> tuple[Any, ...]:
        """A vector or matrix written entry by entry: nested tuples of expressions."""
        out: list[Any] = []
        for item in node.elts:
            if isinstance(item, ast.List):
                if any(isinstance(inner, ast.List) for inner in item.elts):
                    raise self.fail(item, "only vectors and matrices, not deeper nesting")
                out.append(tuple(self.expr(inner) for inner in item.elts))
            else:
                out.append(self.expr(item))
        if not out:
            raise self.fail(node, "the list is empty")
        return tuple(out)

    def target_name(self, node: ast.Name) -> str:
        # A function's name is a fine stage name (`dot = w[0]*x[0] + …` in the notes);
        # a call still means the function.
        self.check_name(node)
        return node.id

    def check_name(self, node: ast.Name) -> None:
        if node.id.startswith("_"):
            raise self.fail(node, f"names starting with '_' are not allowed ({node.id!r})")

    def expr(self, root: ast.expr) -> Expr:
        """Convert iteratively: a stack of (node, depth), results filled children first."""
        order: list[ast.expr] = []
        stack: list[tuple[ast.expr, int]] = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > self.limits.max_depth:
                raise self.fail(
                    node,
                    f"the expression is nested more than {self.limits.max_depth} levels deep "
                    "(a chain of that many terms counts too)",
                    "Break it into stages, one per line:  a = …  then  b = f(a) …",
                )
            order.append(node)
            for child in self.allowed_children(node):
                stack.append((child, depth + 1))
        built: dict[int, Expr] = {}
        for node in reversed(order):
            built[id(node)] = self.build(node, built)
        return built[id(root)]

    def allowed_children(self, node: ast.expr) -> list[ast.expr]:
        if isinstance(node, ast.Constant | ast.Name):
            return []
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.MatMult) and not self.vectors:
                raise self.fail(node.right, _VECTORS_ONLY.format(what="the operator @"))
            if type(node.op) not in _BINARY_OPS:
                symbol = _OP_SYMBOLS.get(type(node.op), type(node.op).__name__)
                raise self.fail(
                    self.operator_position(node, symbol),
                    f"the operator {symbol} is not supported",
                    "Use + - * / and ** (or ^) for power.",
                )
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                raise self.fail(node, "only unary minus is supported here")
            return [node.operand]
        if isinstance(node, ast.Call):
            name, args = self.resolve_call(node)
            self.check_call(node, name, args)
            self.calls[id(node)] = (name, args)
            return args
        if isinstance(node, ast.Subscript):
            self.indices[id(node)] = self.index_of(node)
            return [node.value]
        if isinstance(node, ast.Attribute) and self.module_constant(node) is not None:
            return []
        if isinstance(node, ast.Attribute) and node.attr == "T":
            if not self.vectors:
                raise self.fail(node, _VECTORS_ONLY.format(what="the transpose .T"))
            return [node.value]
        if isinstance(node, ast.Attribute) and self.vectors:
            raise self.fail(node, f"only the transpose .T is allowed, not .{node.attr}")
        if isinstance(node, ast.List):
            raise self.fail(
                node,
                "a list can only be a value: put it at the top of the program "
                "(w = [2, -3, -3]) or give it on the command line (w=[2,-3,-3])",
            )
        what = _REFUSED.get(type(node), f"'{type(node).__name__}' is not part of the language")
        raise self.fail(node, what, self.allowed())

    def allowed(self) -> str:
        vector = ", ".join(VECTOR_FUNCTIONS[:-1]) + ", w[0], W.T and @"
        return (
            "Allowed: numbers, names, + - * / ** ^, e, pi, and "
            + ", ".join(FUNCTIONS)
            + f"; with vector or matrix values also {vector}"
        )

    def module_constant(self, node: ast.Attribute) -> float | None:
        """`math.pi`, `np.e`: the constants, written with their module."""
        if isinstance(node.value, ast.Name) and node.value.id in _MODULES:
            return CONSTANTS.get(node.attr)
        return None

    def resolve_call(self, node: ast.Call) -> tuple[str, list[ast.expr]]:
        """The function a call means, and its arguments: `math.exp(x)` is exp(x), as are
        `np.exp(x)` and `numpy.exp(x)`; `W.dot(X)` and `np.dot(W, X)` are `W @ X` ("@")."""
        func = node.func
        args = list(node.args)
        if isinstance(func, ast.Name):
            if func.id in _ALIASES:
                name, why = _ALIASES[func.id]
                raise self.fail(node, f"there is no {func.id}(); write {name}(…): {why}")
            return func.id, args
        if isinstance(func, ast.Attribute):
            base = func.value
            if isinstance(base, ast.Name) and base.id in _MODULES:
                attr = _NUMPY_NAMES.get(func.attr, func.attr)
                if attr == "@":
                    if not self.vectors:
                        raise self.fail(node, _VECTORS_ONLY.format(what=f"{base.id}.dot"))
                    if len(args) != 2 or node.keywords:
                        raise self.fail(node, f"{base.id}.{func.attr}() takes two arguments")
                    return "@", args
                if attr in _ALIASES:
                    name, why = _ALIASES[attr]
                    raise self.fail(node, f"write {name}(…), not {base.id}.{func.attr}(): {why}")
                if attr in ("zeros", "zeros_like", "array"):
                    raise self.fail(node, _ARRAY_MAKERS[attr].format(m=base.id))
                if attr not in FUNCTIONS + VECTOR_FUNCTIONS:
                    hint = _did_you_mean(attr, self.functions)
                    raise self.fail(
                        node,
                        f"{base.id}.{func.attr}() is not a known function{hint}",
                        "Known functions: " + ", ".join(self.functions),
                    )
                return attr, args
            if func.attr == "dot":  # W.dot(X), W.T.dot(dD), (W @ x).dot(v)
                if not self.vectors:
                    raise self.fail(node, _VECTORS_ONLY.format(what="the method .dot"))
                if len(args) != 1 or node.keywords:
                    raise self.fail(node, "A.dot(B) takes one argument: it is A @ B")
                return "@", [base, *args]
        if isinstance(func, ast.Constant | ast.BinOp | ast.UnaryOp | ast.Subscript | ast.Call):
            # 3(x+1), (a+b)(c): a product as written on paper
            raise self.fail(
                node, f"cannot read this: write {self.product_of_call(node)} (a product needs *)"
            )
        raise self.fail(
            node,
            "only the listed functions can be called",
            "Known functions: " + ", ".join(self.functions),
        )

    def product_of_call(self, node: ast.Call) -> str:
        """`x(y+1)` as the product it means on paper, `x*(y+1)`."""
        text = self.segment(node)
        cut = (node.func.end_col_offset or 0) - node.col_offset
        if not text or node.func.end_lineno != node.lineno or not 0 < cut < len(text):
            return "a*(b) for a product"
        while cut < len(text) and text[cut] in ") ":  # (a)(b): after the parenthesis
            cut += 1
        return f"{text[:cut].rstrip()}*{text[cut:]}"

    def index_of(self, node: ast.Subscript) -> tuple[int, ...]:
        """`w[0]`, `W[1, 2]`, `w[-1]`: entries count from 0, as in Python."""
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        index: list[int] = []
        if isinstance(node.slice, ast.Slice):
            raise self.fail(node, self.slice_words(node, node.slice))
        for item in items:
            sign = 1
            if isinstance(item, ast.UnaryOp) and isinstance(item.op, ast.USub):
                sign, item = -1, item.operand
            number = item.value if isinstance(item, ast.Constant) else None
            if isinstance(number, bool) or not isinstance(number, int):
                raise self.fail(
                    node,
                    "an index is a whole number written out, for example w[0] or W[1, 2]; "
                    "slices (w[0:2]) and computed indices are not supported",
                )
            index.append(sign * number)
        if not self.vectors:
            base = self.segment(node.value) or "w"
            shown = self.segment(node) or f"{base}[…]"
            if isinstance(node.value, ast.Name) and node.value.id in self.known:
                raise self.fail(
                    node,
                    f"{shown} indexes a vector, but {base} is a plain number here",
                    f"Give {base} a vector value (for example {base}=[1, 2]), or name each "
                    f"value on its own: {base}{index[0]} = …",
                )
            raise self.fail(
                node,
                f"{shown} indexes a vector: give {base} a vector value, for example "
                f"{base}=[2, -3, -3] (on the command line, or as the first line of the "
                "program)",
            )
        return tuple(index)

    def sliced_line(self, stmt: ast.Assign | ast.AugAssign, target: str) -> None:
        """`dx = w[:2] * ddot`: the line written out entry by entry, as a list, when the
        slice's entries are known (`dx = [w[0] * ddot, w[1] * ddot]`); else nothing here
        (`index_of` says what to write)."""
        rhs = self.segment(stmt.value)
        slices = [
            n
            for n in ast.walk(stmt.value)
            if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Slice)
        ]
        if len(slices) != 1 or not rhs or stmt.value.lineno != stmt.value.end_lineno:
            return
        node, part = slices[0], slices[0].slice
        assert isinstance(part, ast.Slice)
        bounds = [part.lower or ast.Constant(0), part.upper]
        numbers = [b.value if isinstance(b, ast.Constant) else None for b in bounds]
        low, high = numbers
        if part.step is not None or type(low) is not int or type(high) is not int:
            return
        if not 0 <= low < high or high - low > 12:
            return
        base, shown = self.segment(node.value), self.segment(node)
        if not base or not shown or rhs.count(shown) != 1:
            return
        entries = ", ".join(rhs.replace(shown, f"{base}[{i}]") for i in range(low, high))
        op = "=" if isinstance(stmt, ast.Assign) else _AUG_OPS[_BINARY_OPS[type(stmt.op)]]
        raise self.fail(
            node,
            f"{shown} is a slice, and slices are not supported: write the line entry by "
            f"entry, as a list:  {target} {op} [{entries}]",
        )

    def slice_words(self, node: ast.Subscript, part: ast.Slice) -> str:
        """What to write for `w[:2]`: its entries one by one (a slice would need a gate
        of its own; the language reads one entry at a time, `w[0]`)."""
        base = self.segment(node.value) or "w"
        shown = self.segment(node) or f"{base}[…]"

        def bound(value: ast.expr | None) -> int | None:
            if value is None:
                return None
            number = value.value if isinstance(value, ast.Constant) else None
            return number if type(number) is int and number >= 0 else -1

        low, high = bound(part.lower), bound(part.upper)
        step = part.step is None
        if step and low != -1 and high is not None and high != -1 and high - (low or 0) <= 12:
            entries = ", ".join(f"{base}[{i}]" for i in range((low or 0), high))
            if not entries:
                return f"{shown} is an empty slice"
            return (
                f"{shown} is a slice, and slices are not supported: write its entries one "
                f"by one, {entries} (in a backward line, a list of them: [{entries}])"
            )
        if step and low is not None and low != -1 and high is None:
            return (
                f"{shown} is a slice, and slices are not supported: write its entries one "
                f"by one, {base}[{low}], {base}[{low + 1}], … up to the last "
                f"(in a backward line, a list of them: [{base}[{low}], …])"
            )
        return (
            f"{shown} is a slice, and slices are not supported: write the entries one by "
            f"one, as {base}[0] reads one"
        )

    def segment(self, node: ast.expr) -> str | None:
        """ast.get_source_segment without re-splitting the whole text for every node."""
        line = node.lineno
        if node.end_lineno != line or node.end_col_offset is None or line > len(self.python_lines):
            return ast.get_source_segment(self.python_text, node)
        encoded = self.python_lines[line - 1].encode("utf-8")  # ast offsets count bytes
        return encoded[node.col_offset : node.end_col_offset].decode("utf-8", "replace")

    def operator_position(self, node: ast.BinOp, symbol: str) -> ast.AST:
        """A stand-in node at the operator itself, which ast does not record."""
        line, start = node.left.end_lineno or 1, node.left.end_col_offset or 0
        lines = self.python_lines
        text = lines[line - 1] if line <= len(lines) else ""
        found = text.find(symbol, start)
        marker = ast.Name(id=symbol)
        marker.lineno = line
        marker.col_offset = found if found >= 0 else node.right.col_offset
        return marker

    def check_call(self, node: ast.Call, name: str, args: list[ast.expr]) -> None:
        if name == "@":
            return
        if name in VECTOR_FUNCTIONS and not self.vectors:
            raise self.fail(node, _VECTORS_ONLY.format(what=f"{name}()"))
        if name not in self.functions:
            hint = _did_you_mean(name, self.functions)
            if not hint and (name in self.known or len(name) <= 2):
                hint = f": to multiply, write {self.product_of_call(node)}"
            raise self.fail(
                node,
                f"unknown function {name!r}{hint}",
                "Known functions: " + ", ".join(self.functions),
            )
        if self.vectors and name in VECTOR_FUNCTIONS + VARIADIC_FUNCTIONS:
            self.check_vector_call(node, name)
            return
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, f"{name}() takes plain arguments only")
        if name in UNARY_FUNCTIONS and len(node.args) != 1:
            raise self.fail(node, f"{name}() takes exactly one argument, got {len(node.args)}")
        if name in VARIADIC_FUNCTIONS and len(node.args) < 2:
            raise self.fail(node, f"{name}() takes two or more arguments, got {len(node.args)}")

    def check_vector_call(self, node: ast.Call, name: str) -> None:
        """Arguments of a vector function, or of max/min, which may reduce one vector."""
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, f"{name}() takes plain arguments only")
        keywords = [k.arg for k in node.keywords]
        if keywords and (name not in _AXIS_FUNCTIONS or keywords != ["axis"]):
            allowed = "; sum, mean, max and min take axis=0 or axis=1" if keywords else ""
            raise self.fail(node, f"{name}() takes no keyword {keywords[0]!r}{allowed}")
        count = len(node.args)
        if name in VARIADIC_FUNCTIONS:
            if keywords and count > 1:
                raise self.fail(
                    node,
                    f"{name}(…, axis=…) reduces one matrix; to compare values entry by entry, "
                    "leave out axis",
                )
            if count == 0:
                raise self.fail(
                    node,
                    f"{name}() takes one vector (its {'largest' if name == 'max' else 'smallest'}"
                    " entry), or two or more values compared entry by entry",
                )
        elif count != _VECTOR_ARITY.get(name, 1):
            want = _VECTOR_ARITY.get(name, 1)
            raise self.fail(
                node,
                f"{name}() takes exactly {'one argument' if want == 1 else f'{want} arguments'}"
                f", got {count}",
            )
        if keywords:
            self.axis_of(node)

    def axis_of(self, node: ast.Call) -> int | None:
        if not node.keywords:
            return None
        value = node.keywords[0].value
        if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
            value, sign = value.operand, -1
        else:
            sign = 1
        number = value.value if isinstance(value, ast.Constant) else None
        if isinstance(number, bool) or not isinstance(number, int) or sign * number not in (0, 1):
            raise self.fail(node, "axis must be 0 (down the columns) or 1 (along the rows)")
        return sign * number

    def build(self, node: ast.expr, built: dict[int, Expr]) -> Expr:
        line = getattr(node, "lineno", 1)
        pos = {"line": line, "col": _original_col(self.source, line, node.col_offset, self.lines)}
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(node, f"{value!r} is not a number")
            text = self.segment(node) or repr(value)
            try:
                number = float(value)
            except OverflowError:
                raise self.fail(node, "this number is too large") from None
            if not math.isfinite(number):
                raise self.fail(node, "this number is too large")
            if number == 0 and any(ch in "123456789" for ch in text.split("e")[0]):
                raise self.fail(node, f"{text} is too small: it rounds to 0 in float64")
            return Num(number, text, **pos)
        if isinstance(node, ast.Name):
            self.check_name(node)
            if node.id in self.known:
                return Name(node.id, **pos)
            if node.id in CONSTANTS:  # e and pi, unless the program makes them variables
                return Num(CONSTANTS[node.id], node.id, **pos)
            if node.id in self.functions:
                raise self.fail(
                    node, f"{node.id!r} is a function; call it, for example {node.id}(x)"
                )
            return Name(node.id, **pos)
        if isinstance(node, ast.BinOp):
            left, right = built[id(node.left)], built[id(node.right)]
            result = BinOp(_BINARY_OPS[type(node.op)], left, right, **pos)
            if result.op == "**":
                exponent = constant_value(right, self.limits)
                if exponent is not None:
                    check_exponent(exponent, result, self.limits)
            return result
        if isinstance(node, ast.UnaryOp):
            operand = built[id(node.operand)]
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(operand, Num):  # -2 is a number, not a gate
                return Num(-operand.value, "-" + operand.text, **pos)
            return Neg(operand, **pos)
        if isinstance(node, ast.Call):
            name, arg_nodes = self.calls[id(node)]
            args = tuple(built[id(a)] for a in arg_nodes)
            if name == "@":
                return BinOp("@", args[0], args[1], **pos)
            return Call(name, args, pos["line"], pos["col"], axis=self.axis_of(node))
        if isinstance(node, ast.Subscript):
            index = self.indices[id(node)]
            return Call("index", (built[id(node.value)],), pos["line"], pos["col"], index=index)
        if isinstance(node, ast.Attribute):
            constant = self.module_constant(node)
            if constant is not None:
                return Num(constant, node.attr, pos["line"], pos["col"])
            return Call("transpose", (built[id(node.value)],), pos["line"], pos["col"])  # .T
        raise self.fail(node, "not part of the language")  # pragma: no cover


# np.zeros and np.array inside an expression: where they can be written instead.
_ARRAY_MAKERS = {
    "zeros": (
        "{m}.zeros(…) can only start a gradient, on a line of its own after the forward "
        "pass: dx = {m}.zeros_like(x), then dx += … for each use (a value of zeros is a "
        "list at the top: b = [0, 0, 0])"
    ),
    "zeros_like": (
        "{m}.zeros_like(x) can only start a gradient, on a line of its own after the forward "
        "pass: dx = {m}.zeros_like(x), then dx += … for each use"
    ),
    "array": (
        "{m}.array([…]) can only be a value of its own: put it at the top of the program "
        "(w = {m}.array([2, -3, -3])), or make it a gradient (dx = {m}.array([…]))"
    ),
}

_VECTORS_ONLY = (
    "{what} works on vectors and matrices: give array values, for example  W=[[1,2],[3,4]] x=[1,2]"
)

_OP_SYMBOLS = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
}


def exact_number(num: Num) -> Fraction:
    """The literal as an exact fraction: `0.1` is 1/10, not the nearest float."""
    text = num.text.replace("_", "")
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return Fraction(num.value)


def _did_you_mean(name: str, options: tuple[str, ...] | list[str]) -> str:
    return did_you_mean(name, options, lead=": d")


def _original_col(source: str, line: int, python_col: int, lines: list[str] | None = None) -> int:
    """Map a column in the `^`->`**` rewritten text back to the user's text."""
    if lines is None:
        lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return python_col
    if "^" not in lines[line - 1]:
        return python_col  # nothing was rewritten on this line
    col = 0
    shift = 0
    for ch in lines[line - 1]:
        if col + shift >= python_col:
            break
        shift += 1 if ch == "^" else 0
        col += 1
    return col


def elide(text: str, width: int = 60) -> str:
    """Long user text shortened for a message: its start, an ellipsis, its end."""
    return text if len(text) <= width else f"{text[: width - 15]}…{text[-10:]}"


def _syntax_message(exc: SyntaxError, source: str) -> str:
    line = exc.lineno or 1
    col = _original_col(source, line, max((exc.offset or 1) - 1, 0))
    reason = (exc.msg or "invalid syntax").replace("'**'", "'^'")
    if "integer string conversion" in reason:  # Python's own limit on digits
        reason = "a number has thousands of digits; write a big number as 1e300"
    if isinstance(exc, IndentationError):
        return caret_message(
            f"cannot read the program: {reason}",
            source,
            col,
            line=line,
            hint="Start every line of a program at its first column (no indentation).",
        )
    if "null bytes" in reason:
        reason = "the input contains a NUL byte"
    lines = source.splitlines()
    text = lines[line - 1] if 1 <= line <= len(lines) else ""
    keyword_hint = _keyword_name(text)
    if keyword_hint is not None:
        at, word = keyword_hint
        return caret_message(
            f"cannot read the expression: {word} is a Python keyword: rename it "
            f"(for example {_KEYWORD_RENAMES.get(word, word + '_')})",
            source,
            at,
            line=line,
        )
    juxtaposed = _juxtaposition(text)
    if juxtaposed is not None:
        at, fixed = juxtaposed
        return caret_message(
            f"cannot read the expression: write {fixed}: a product needs its * (as in Python)",
            source,
            at,
            line=line,
        )
    return caret_message(
        f"cannot read the expression: {reason}",
        source,
        col,
        line=line,
        hint="Check the operators and that every '(' has its ')'.",
    )


# Python keywords a learner may use as a name (λ is often written lambda).
_KEYWORD_RENAMES = {"lambda": "lam", "in": "x_in", "is": "x_is", "as": "a_s", "from": "src"}
_NAME_TOKEN = re.compile(r"[^\W\d]\w*")
# `2x`, `(x+y)z`, `(a)(b)`, `3(x+1)`: two operands side by side, a product on paper.
_JUXTAPOSED = re.compile(
    r"(?<![\w.])\d+(?:\.\d*)?(?:[eE][-+]?\d+)?(?=\s*[^\W\d]|\s*\()"  # 2x, 3(x+1)
    r"|\)(?=\s*[\w(])"  # (x+y)z, (a)(b)
    r"|(?<![\w.])[^\W\d]\w*(?=\s+[\w(])"  # q z
)


def _keyword_name(text: str) -> tuple[int, str] | None:
    """A Python keyword written where a name goes (`lambda*x`), with its column."""
    import keyword

    for match in _NAME_TOKEN.finditer(text):
        word = match.group()
        if keyword.iskeyword(word) and word not in ("if", "else", "and", "or", "not"):
            if word in ("True", "False", "None"):
                continue
            return match.start(), word
    return None


def _juxtaposition(text: str) -> tuple[int, str] | None:
    """Where a `*` is missing between two operands side by side, and the line with
    every missing `*` put in; or None."""
    import keyword

    code = text.split("#", 1)[0]
    found = [m for m in _JUXTAPOSED.finditer(code) if not keyword.iskeyword(m.group().strip())]
    if not found:
        return None
    fixed = code
    for m in reversed(found):
        fixed = fixed[: m.end()].rstrip() + "*" + fixed[m.end() :].lstrip()
    return found[0].end(), fixed.strip()


def parse_bindings(pairs: list[str], *, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """`name=value` pairs from the command line, each value a finite number.

    A value may be a small calculation (`x=1/3`, `y=-2^2`), evaluated safely, or a
    vector or matrix literal (`x=[0.2,0.4]`, `W=[[1,2],[3,4]]`): a numpy array.
    """
    bindings: dict[str, Any] = {}
    for typed in pairs:
        name, sep, text = typed.partition("=")
        pair = elide(typed)  # as shown in messages: a megabyte of value is not echoed
        name = unicodedata.normalize("NFKC", name.strip())  # as Python reads identifiers
        example = "write name=value, for example  x=2  or  w0=-0.5"
        if not sep or not name.isidentifier() or text.startswith("="):
            raise InputError(f"cannot read the value {pair!r}: {example}")
        if name.startswith("_") or name in FUNCTIONS:
            raise InputError(f"{name!r} cannot be a variable name ({pair!r})")
        if name in bindings:
            raise InputError(f"{name!r} is given a value twice")
        if text.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise InputError(
                f"{pair}: the value must be a finite number, not {elide(text.strip())}"
            )
        if text.lstrip().startswith("["):
            try:
                bindings[name] = parse_array(text, limits=limits)
            except InputError as exc:
                raise InputError(f"the value of {name} cannot be read: {exc}") from None
            continue
        try:
            value = evaluate_number(text, limits=limits)
        except InputError as exc:
            reason = str(exc).splitlines()[0]
            raise InputError(
                f"{pair}: the value must be a number (like 2, -0.5, 1e-3 or 1/3); {reason}"
            ) from None
        bindings[name] = value
    return bindings


def read_values(values: Any, *, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Values given from Python (the public API): numbers, lists, numpy arrays or text.

    Text goes through the same reader as the command line (`"1/3"`, `"[1, 2]"`); a
    list or array becomes a float64 array; anything else must be a real number. Every
    refusal is an InputError naming the value, as on the command line.
    """
    import numbers

    out: dict[str, Any] = {}
    for raw_name, value in values.items():
        if not isinstance(raw_name, str):
            raise InputError(f"a variable name must be text, not {raw_name!r}")
        if isinstance(value, str):
            out.update(parse_bindings([f"{raw_name}={value}"], limits=limits))
            continue
        # The name is checked as the command line checks it, with a harmless value.
        name = next(iter(parse_bindings([f"{raw_name}=0"], limits=limits)))
        if name in out:
            raise InputError(f"{name!r} is given a value twice")
        if isinstance(value, bool) or value is None:
            raise InputError(f"the value of {name} must be a number, not {value!r}")
        if isinstance(value, list | tuple) or is_array(value):
            rows = value.tolist() if hasattr(value, "tolist") else list(value)
            if not isinstance(rows, list):  # a 0-d numpy array: a plain number
                value = rows
            else:
                try:
                    out[name] = parse_array(rows, limits=limits)
                except InputError as exc:
                    raise InputError(f"the value of {name} cannot be read: {exc}") from None
                continue
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise InputError(
                f"the value of {name} must be a number, a list of numbers or a numpy array, "
                f"not {type(value).__name__}"
            )
        number = float(value)
        if not math.isfinite(number):
            raise InputError(f"the value of {name} must be a finite number, not {number}")
        out[name] = number
    return out


MAX_ARRAY_ELEMENTS = 10_000
_ARRAY_EXAMPLE = "write a vector as [0.2, 0.4] or a matrix as [[0.1, 0.5], [-0.3, 0.8]]"


def parse_array(text: Any, *, limits: Limits = DEFAULT_LIMITS) -> Any:
    """A vector or matrix literal as a float64 numpy array, read with `ast`, never eval.

    `text` is the literal as typed, or an already-loaded list (from a TOML or JSON
    file). Each entry is a number or a small constant calculation (`1/3`). Ragged,
    empty, deeper than a matrix, or non-numeric input is refused with what to write.
    """
    import numpy as np

    if isinstance(text, str):
        if len(text) > limits.max_chars:
            raise InputError(f"the value is longer than {limits.max_chars:,} characters")
        try:
            tree: Any = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as exc:
            raise InputError(f"{exc.msg}; {_ARRAY_EXAMPLE}") from None
        except (RecursionError, MemoryError, ValueError):
            raise InputError(f"it is nested too deeply; {_ARRAY_EXAMPLE}") from None
        rows = _literal_rows(tree, text, limits)
    else:
        rows = _loaded_rows(text)
    if not rows:
        raise InputError(f"the vector is empty; {_ARRAY_EXAMPLE}")
    if all(isinstance(r, list) for r in rows):
        widths = {len(r) for r in rows}
        if 0 in widths:
            raise InputError(f"a row of the matrix is empty; {_ARRAY_EXAMPLE}")
        if len(widths) > 1:
            lengths = ", ".join(str(len(r)) for r in rows)
            raise InputError(
                f"the rows have different lengths ({lengths}); every row of a matrix needs "
                "the same number of entries"
            )
        if any(isinstance(v, list) for r in rows for v in r):
            raise InputError(
                f"only vectors and matrices are supported, not deeper nesting; {_ARRAY_EXAMPLE}"
            )
    elif any(isinstance(r, list) for r in rows):
        raise InputError(
            "mixes numbers and lists at the same level; a matrix is a list of rows, "
            "each a list of numbers"
        )
    array = np.array(rows, dtype=float)
    if array.size > MAX_ARRAY_ELEMENTS:
        raise InputError(f"it has {array.size:,} entries; the limit is {MAX_ARRAY_ELEMENTS:,}")
    if not np.all(np.isfinite(array)):
        raise InputError("every entry must be a finite number")
    return array


def _literal_rows(tree: ast.expr, text: str, limits: Limits) -> list[Any]:
    """The nested lists of a literal, each leaf a float; at most two levels deep."""
    if not isinstance(tree, ast.List):
        raise InputError(f"expected a list in [ ]; {_ARRAY_EXAMPLE}")
    # Counted before any entry is read, so a huge literal is refused at once.
    entries = sum(len(i.elts) if isinstance(i, ast.List) else 1 for i in tree.elts)
    if entries > MAX_ARRAY_ELEMENTS:
        raise InputError(f"it has {entries:,} entries; the limit is {MAX_ARRAY_ELEMENTS:,}")
    lines = text.strip().splitlines()
    out: list[Any] = []
    for item in tree.elts:
        if isinstance(item, ast.List):
            row: list[Any] = []
            for leaf in item.elts:
                if isinstance(leaf, ast.List):
                    row.append([])  # refused as deeper nesting by the caller
                    continue
                row.append(_literal_number(leaf, lines, limits))
            out.append(row)
        else:
            out.append(_literal_number(item, lines, limits))
    return out


def _literal_number(node: ast.expr, lines: list[str], limits: Limits) -> float:
    sign = 1.0
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
    ):  # -1.25: a signed number, as common as a plain one
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if isinstance(node, ast.Constant):  # the common case, read without re-parsing
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"the entry {_segment(lines, node)} is not a number; {_ARRAY_EXAMPLE}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise InputError(f"the entry {_segment(lines, node)} is too large")
        return sign * number
    segment = _segment(lines, node)
    if isinstance(node, ast.Name):
        raise InputError(f"the entry {segment} is a name, not a number; {_ARRAY_EXAMPLE}")
    try:
        return evaluate_number(segment, limits=limits)
    except InputError as exc:
        raise InputError(
            f"the entry {segment!r} is not a number ({str(exc).splitlines()[0]})"
        ) from None


def _segment(lines: list[str], node: ast.expr) -> str:
    """The text of one entry (ast's offsets count UTF-8 bytes)."""
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    start, end = node.col_offset, node.end_col_offset
    chunk = "\n".join(lines[first : last + 1]).encode()
    if end is None:  # pragma: no cover - Python always sets it for expressions
        return chunk.decode(errors="replace")
    cut = len(chunk) - len(lines[last].encode()) + end
    return chunk[start:cut].decode(errors="replace") or "?"


def _loaded_rows(data: Any) -> list[Any]:
    """Lists already loaded from TOML or JSON: check every leaf is a real number."""
    if not isinstance(data, list):
        raise InputError(f"expected a list; {_ARRAY_EXAMPLE}")
    out: list[Any] = []
    for item in data:
        if isinstance(item, list):
            row: list[Any] = []
            for leaf in item:
                row.append([] if isinstance(leaf, list) else _loaded_number(leaf))
            out.append(row)
        else:
            out.append(_loaded_number(item))
    return out


def _loaded_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"the entry {value!r} is not a number; {_ARRAY_EXAMPLE}")
    return float(value)


def is_array(value: Any) -> bool:
    """A vector or matrix value (a numpy array), as opposed to a plain number."""
    return hasattr(value, "shape") and hasattr(value, "ndim")


def has_arrays(bindings: Any) -> bool:
    """Whether some value is a vector or matrix: then `parse_program(..., vectors=True)`."""
    return any(is_array(v) for v in bindings.values())
