"""The sympy judge: the program rebuilt in sympy from its parsed text, differentiated.

The expression is rebuilt from the *parsed program*, not from the gate graph, with
its own small table of functions: an oracle that shared the staging code could not
catch a mistake in it. sympy objects are built by calling constructors; user text
never reaches sympy's parser.

A number is the one-entry case of an array: every input entry gets its own symbol
(`x`, or `x[1]` and `W[0,1]` in a vector trace; matrix products go through
`sympy.Matrix`), the sum of the output's entries is differentiated by each, and
every entry is compared with the same rounding allowance. One budget, the same for
numbers and arrays, bounds the work (gates, size written out, symbols, size ×
symbols, seconds); past it the check says "skipped: too large for the symbolic
check (…)" and the finite differences still run.

At a non-differentiable point (relu at 0, a max tie) neither oracle can agree or
disagree, and the check says "not differentiable here" instead.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from typing import Any

from backprop_cli.checks.numeric import all_entries, rounding_scale
from backprop_cli.checks.verdict import Check, float_range_note, not_differentiable, skipped
from backprop_cli.core import budget, engine
from backprop_cli.core.language import BinOp, Call, Name, Neg, Num, Program, exact_number, postorder

# The budget. Above this many gates the check is skipped: sympy's diff and
# evaluation of big nested expressions can take minutes, and deep ones can exhaust
# the stack.
SYMBOLIC_GATE_LIMIT = 400
# The program written out as one expression (every name replaced by what it stands
# for) is measured before sympy sees it: sympy's constructors alone (Max, Abs,
# flattening) took seconds on a 13,000-node expression, and a recurrent
# `h = tanh(W @ h) + h` doubles at every step (13 steps took over a minute).
PROGRAM_SIZE_LIMIT = 3_000
# A symbol per input entry (a number is one entry): above this many the check is
# skipped before any expression is built.
SYMPY_SYMBOL_LIMIT = 64
# The built expression and its derivatives, written out (engine.tree_size): a few
# hundred gates with forks can write out to millions of nodes.
SYMBOLIC_SIZE_LIMIT = 20_000
# sympy differentiates and evaluates once per symbol, so the work is the written-out
# size × the symbols. Measured on `sum(softmax(W @ V) * log_softmax(W @ V))`: 3×3 and
# 3×4 is 1,405 nodes × 21 symbols (29,505), 2.1 s; 4×4 and 4×4 is 75,296, 3.5 s; 4×4
# and 4×8 is 398,000, over a minute. The 44-entry cross-entropy is 6,424, 0.4 s.
SYMPY_WORK_LIMIT = 40_000
# ... and whatever slips through all of these gets this long (budget.py).
SYMPY_SECONDS = 5.0
SYMPY_RTOL = 1e-9
# The absolute floor, for values that are zero: where exact arithmetic gives 0, float
# rounding leaves a little behind (the engine's 2e-16 for (x+1)² - x² - 2x), and so can
# sympy's 30 digits where its form does not cancel symbolically (1e-30 of its terms).
SYMPY_ATOL = 1e-12
# ... but an absolute floor hides every value below it: at x = -373 the staged sigmoid's
# gradient is e^-373 = 4.4e-163, and the engine's 0 (1/s² overflowed at s = 9.8e161)
# was "agree". So where the engine itself recorded a number float64 lost
# (`trace.float_losses`, core/floatrange.py: the gradients of the inputs behind a lost
# gradient, every number after a lost value), a value that is not zero must also be
# within this share of itself: min(1e-12, 0.1·|want|) tells 0 from 4.4e-163 (and a factor
# of 1.1 or more, a sign). Only there: a value tiny because the forward pass rounded
# (3·x is 1.0 in floats at x = 0.3333333333333333, so w*(3*x - 1) sends 0 to w for an
# exact -5.6e-17) is float rounding of the gradient, which the floor is for, and it
# agreed before the share rule. Where the engine lost a local gradient (-1/s² below the
# float range at the staged sigmoid's -373, or more than 10% off) the judge disagrees,
# with the engine's warning.
SYMPY_TINY_SHARE = 0.1
# A value below the floor is evaluated again at the exact point: the binary floats the
# engine used, as exact rationals (not the decimal text: 1.0000000000000002 is
# 1 + 2^-52, and x - 1 there is 2.22e-16, not 2e-16), with evalf raising its working
# precision through cancellation (30-digit Floats give 1 − tanh(40)² as 0 or noise; the
# true value is 7.2e-35). Up to this many digits: a value below 1e-400 is 0 as a float
# (the smallest is 4.9e-324), and evalf then answers with no digits ("0.e-541"), which is
# read as 0. A true zero that sympy did not cancel symbolically takes 0.7 ms so.
TINY_DIGITS = 400
_EPS = 2.220446049250313e-16
_TINY = 1e-300

TOO_LARGE = "too large for the symbolic check"


# --------------------------------------------------------------------------- the program


def sympy_expression(program: Program, inputs: dict[str, Any] | None = None) -> Any:
    """The program's output in sympy, rebuilt from the parsed text.

    Without `inputs`: one expression in the input symbols (named as the inputs).
    With `inputs` (name -> object array of entry symbols, `entry_symbols`): an object
    array of expressions, numpy's broadcasting and shapes throughout.
    """
    import sympy

    arrays = inputs is not None
    scalar_functions: dict[str, Callable[..., Any]] = {
        "exp": sympy.exp,
        "log": sympy.log,
        "sqrt": sympy.sqrt,
        "sin": sympy.sin,
        "cos": sympy.cos,
        "tanh": sympy.tanh,
        "sigmoid": lambda x: 1 / (1 + sympy.exp(-x)),
        "relu": lambda x: sympy.Max(0, x),
        "abs": sympy.Abs,
    }
    operators: dict[str, Callable[[Any, Any], Any]] = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
        "**": lambda a, b: a**b,
        "@": _matmul,
    }
    wrap: Callable[[Any], Any] = _obj if arrays else (lambda v: v)

    def call(node: Call, args: list[Any]) -> Any:
        name = node.func
        if name in ("max", "min"):
            pick = sympy.Max if name == "max" else sympy.Min
            if len(args) == 1:  # one array: its largest entry (along an axis)
                return _along(args[0], node.axis, lambda v: pick(*v))
            return _entrywise(pick, args) if arrays else pick(*args)
        if name in scalar_functions:
            f = scalar_functions[name]
            return _entrywise(f, args) if arrays else f(*args)
        return _array_call(node, args)

    env: dict[str, Any] = dict(inputs or {})

    def lookup(name: str) -> Any:
        return env[name] if name in env else sympy.Symbol(name, real=True)

    for stmt in program.statements:
        built: dict[int, Any] = {}
        for node in postorder(stmt.value):
            if isinstance(node, Num):
                fraction = exact_number(node)
                built[id(node)] = wrap(sympy.Rational(fraction.numerator, fraction.denominator))
            elif isinstance(node, Name):
                built[id(node)] = lookup(node.id)
            elif isinstance(node, Neg):
                built[id(node)] = wrap(-built[id(node.operand)])
            elif isinstance(node, BinOp):
                left, right = built[id(node.left)], built[id(node.right)]
                built[id(node)] = wrap(operators[node.op](left, right))
            elif isinstance(node, Call):
                built[id(node)] = wrap(call(node, [built[id(a)] for a in node.args]))
        value = built[id(stmt.value)]
        if stmt.op != "=":
            value = wrap(operators[stmt.op[:-1]](lookup(stmt.target), value))
        env[stmt.target] = value
    return env[program.output]


def _array_call(node: Call, args: list[Any]) -> Any:
    """The functions only vector programs have (the parser allows them only there)."""
    import sympy

    def softmax(v: list[Any]) -> list[Any]:
        total = sympy.Add(*[sympy.exp(e) for e in v])
        return [sympy.exp(e) / total for e in v]

    def log_softmax(v: list[Any]) -> list[Any]:
        log_total = sympy.log(sympy.Add(*[sympy.exp(e) for e in v]))
        return [e - log_total for e in v]

    name, x = node.func, args[0]
    if name in ("sum", "mean"):
        count = x.size if node.axis is None else x.shape[node.axis]
        total = _along(x, node.axis, lambda v: sympy.Add(*v))
        return total if name == "sum" else total / count
    if name == "cross_entropy":
        label = node.args[1]
        assert isinstance(label, Num)
        return -log_softmax(list(x))[int(label.value)]
    if name == "index":  # numpy's own indexing of the array of entry symbols
        assert node.index is not None
        return x[node.index]
    if name == "transpose":
        return x.T
    if name == "dot":
        return sympy.Add(*[p * q for p, q in zip(x, args[1], strict=True)])
    if name == "norm2":
        return sympy.Add(*[e**2 for e in x.flat])
    if name == "softmax":
        return _rows(x, softmax)
    if name == "log_softmax":
        return _rows(x, log_softmax)
    raise AssertionError(f"no sympy form for {name}")  # pragma: no cover - parser allowlist


def entry_symbols(name: str, value: Any) -> Any:
    """An object array of sympy symbols, one per entry: x[0], x[1] or W[0,1]."""
    import numpy as np
    import sympy

    shape = np.shape(value)
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        label = f"{name}[{','.join(str(i) for i in index)}]" if index else name
        out[index] = sympy.Symbol(label, real=True)
    return out


def _obj(value: Any) -> Any:
    import numpy as np

    return np.asarray(value, dtype=object)


def _entrywise(f: Callable[..., Any], args: list[Any]) -> Any:
    import numpy as np

    return np.vectorize(f, otypes=[object])(*args)


def _matmul(a: Any, b: Any) -> Any:
    """A @ B through sympy.Matrix, with numpy's rule for vectors (row left, column right)."""
    import sympy

    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    product = sympy.Matrix(a2.tolist()) * sympy.Matrix(b2.tolist())
    shape = a.shape[:-1] + b.shape[1:]
    return _obj([product[i, j] for i in range(product.rows) for j in range(product.cols)]).reshape(
        shape
    )


def _along(x: Any, axis: int | None, reduce: Callable[[list[Any]], Any]) -> Any:
    """Reduce the entries of x (all, or along one axis) with `reduce(list) -> expr`."""
    import numpy as np

    if axis is None:
        return _obj(reduce(list(x.flat)))
    moved = np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape[:-1], dtype=object)
    for index in np.ndindex(out.shape):
        out[index] = reduce(list(moved[index]))
    return out


def _rows(x: Any, each: Callable[[list[Any]], list[Any]]) -> Any:
    """Apply `each(list) -> list` along the last axis (a vector, or each row)."""
    import numpy as np

    out = np.empty(x.shape, dtype=object)
    for index in np.ndindex(x.shape[:-1]):
        out[index] = each(list(x[index]))
    return out


def written_size(program: Program, limit: int) -> int:
    """How many nodes the output has written out as one expression, up to `limit` + 1.

    A name counts as the size of what it stands for, so `a = x*x; b = a*a; c = b*b`
    doubles at each stage, as sympy's tree would.
    """
    sizes: dict[str, int] = {}
    for stmt in program.statements:
        total = 1 if stmt.op != "=" else 0
        if stmt.op != "=":
            total += sizes.get(stmt.target, 1)
        for node in postorder(stmt.value):
            total += sizes.get(node.id, 1) if isinstance(node, Name) else 1
        sizes[stmt.target] = min(total, limit + 1)
    return sizes.get(program.output, 0)


# --------------------------------------------------------------------------- the check


def sympy_check(trace: engine.Trace) -> Check:
    """sympy's derivative of the rebuilt program, compared with every gradient entry."""
    graph = trace.graph
    gates = len(graph.gate_nodes)
    if gates > SYMBOLIC_GATE_LIMIT:
        return skipped("sympy", f"{TOO_LARGE} ({gates} gates; the limit is {SYMBOLIC_GATE_LIMIT})")
    if written_size(graph.program, PROGRAM_SIZE_LIMIT) > PROGRAM_SIZE_LIMIT:
        return _too_large("the expression", PROGRAM_SIZE_LIMIT)
    entries = all_entries(trace)
    if len(entries) > SYMPY_SYMBOL_LIMIT:
        what = "entries" if trace.kind == "arrays" else "inputs"
        return skipped(
            "sympy",
            f"{TOO_LARGE} ({len(entries):,} {what}, a symbol each; the limit is "
            f"{SYMPY_SYMBOL_LIMIT}); finite differences still run",
        )
    if trace.kind == "symbols":
        trace.gradients  # noqa: B018 - simplified once, on the engine's own budget
    check: Check | None = None
    with budget.time_budget(SYMPY_SECONDS) as clock:
        check = _sympy_check(trace)
    if clock.expired or check is None:
        return skipped("sympy", f"{TOO_LARGE} (sympy needed more than {SYMPY_SECONDS:g} s)")
    return check


def _sympy_check(trace: engine.Trace) -> Check:
    import sympy

    graph = trace.graph
    arrays = trace.kind == "arrays"
    try:
        if arrays:
            import numpy as np

            grids = {name: entry_symbols(name, trace.bindings[name]) for name in graph.inputs}
            output = sympy_expression(graph.program, grids)
            expr = sympy.Add(*list(np.asarray(output, dtype=object).flat))
            symbols = {(name, index): grids[name][index] for name, index in all_entries(trace)}
        else:
            expr = sympy_expression(graph.program)
            symbols = {(name, ()): sympy.Symbol(name, real=True) for name in graph.inputs}
        size = engine.tree_size([expr], SYMBOLIC_SIZE_LIMIT)
        if size > SYMBOLIC_SIZE_LIMIT:
            return _too_large("the expression")
        if size * len(symbols) > SYMPY_WORK_LIMIT:
            return skipped(
                "sympy",
                f"{TOO_LARGE} ({size:,} nodes to differentiate by each of {len(symbols)} "
                "symbols); finite differences still run",
            )
        derivatives = {entry: sympy.diff(expr, s) for entry, s in symbols.items()}
        if engine.tree_size(list(derivatives.values()), SYMBOLIC_SIZE_LIMIT) > (
            SYMBOLIC_SIZE_LIMIT
        ):
            return _too_large("its derivatives")
        if trace.kind == "symbols":
            return _compare_symbolic(trace, derivatives, symbols)
        return _compare_numeric(trace, expr, derivatives, symbols)
    except RecursionError:
        return skipped("sympy", "too deep for the symbolic check")


Entry = tuple[str, tuple[int, ...]]


def _too_large(what: str, limit: int = SYMBOLIC_SIZE_LIMIT) -> Check:
    return skipped(
        "sympy", f"{TOO_LARGE} ({what} would have more than {limit:,} terms written out)"
    )


def _where(entry: Entry) -> str:
    name, index = entry
    return f"{name}{list(index) if index else ''}"


def _compare_numeric(
    trace: engine.Trace, expr: Any, derivatives: dict[Entry, Any], symbols: dict[Entry, Any]
) -> Check:
    import sympy

    arrays = trace.kind == "arrays"
    # Floats with 30 digits, not exact fractions: x**1000000 at 1.0000001 as a fraction
    # has millions of digits.
    point = {
        s: sympy.Float(repr(_entry(trace.bindings[name], index)), 30)
        for (name, index), s in symbols.items()
    }
    wanted = {entry: _evaluate(d, point) for entry, d in derivatives.items()}
    value = _evaluate(expr, point)
    # The share rule only where the engine recorded a loss: for the gradients of the
    # inputs behind a lost gradient, and for every number after a lost value.
    found = [loss for loss in trace.float_losses if not loss.unsure]
    strict_all = any(loss.reaches is None for loss in found)
    strict = {name for loss in found for name in (loss.reaches or ())}
    # Only there does a value below the floor decide the verdict, so only there is it
    # evaluated again with the digits its cancellation needs. evalf(subs=…) at the
    # exact point costs about 1.8 ms a value: done for every value below the floor it
    # made `backprop check` on 1,000 generated problems (relu, max and min give many
    # zeros) 8.6 s of CPU instead of 6.4 s.
    tiny = [
        e
        for e, v in wanted.items()
        if v is not None and abs(v) < SYMPY_ATOL and (strict_all or e[0] in strict)
    ]
    small_value = strict_all and value is not None and abs(value) < SYMPY_ATOL
    if tiny or small_value:  # rare: not on the common path
        exact = {s: _exact_rational(_entry(trace.bindings[n], i)) for (n, i), s in symbols.items()}
        for entry in tiny:
            wanted[entry] = _tiny_value(derivatives[entry], exact, wanted[entry])
        if small_value:
            value = _tiny_value(expr, exact, value)
    expected = _expected(trace, wanted)
    if trace.kinks:
        return not_differentiable("sympy", trace.kinks, expected=expected)
    undefined = [_where(entry) for entry, v in wanted.items() if v is None]
    if undefined or value is None:
        missing = ", ".join(undefined[:3]) or "the output"
        return Check("sympy", "skipped", f"sympy has no finite value for {missing} here")

    # Float rounding grows where large values cancel (x + 1e8 - 1e8): the value may be
    # off by eps times Σ|value|·|gradient| over the nodes, and the gradients computed
    # from such values by a similar relative amount, which is capped so that a real
    # mistake (a wrong rule is off by far more than 1e-6) is still caught.
    scale = rounding_scale(trace)
    lost = min(64 * _EPS * scale / max(abs(value), _TINY), 1e-6) if math.isfinite(scale) else 1e-6
    got_value = _total(trace.value)
    pairs = [(trace.output.ref, got_value, value, SYMPY_RTOL, 8 * _EPS * scale)]
    for entry, want in wanted.items():
        assert want is not None
        name, index = entry
        node = trace.graph.inputs[name]
        fork = sum(abs(_entry(c.amount, index)) for c in trace.contributions[node])
        got = _entry(trace.gradients[name], index)
        slack = 8 * _EPS * fork
        pairs.append((_where(entry), got, want, SYMPY_RTOL + lost, slack))
    worst = 0.0
    failures = []
    owners: list[str | None] = [None, *(entry[0] for entry in wanted)]  # f, then inputs
    for (where, got, want, rtol, slack), owner in zip(pairs, owners, strict=True):
        error = abs(got - want)
        worst = max(worst, error / max(abs(want), 1.0))
        share = strict_all or owner in strict
        floor = min(SYMPY_ATOL, SYMPY_TINY_SHARE * abs(want)) if share else SYMPY_ATOL
        if error <= rtol * abs(want) + slack + floor:
            continue
        failures.append(f"{where}: got {got:.6g}, sympy {want:.6g}")
    if not failures:
        how = f"a symbol per entry, {len(symbols)} entries, " if arrays else ""
        return Check("sympy", "agree", f"agree ({how}largest error {worst:.1e})", worst, expected)
    near = engine.near_kinks(trace)
    if near:  # the two sides of a kink that float rounding put the engine on
        return not_differentiable("sympy", near, expected=expected)
    shown = "; ".join(failures[:3]) + ("; …" if len(failures) > 3 else "")
    return Check(
        "sympy", "disagree", f"disagree on {shown}{float_range_note(trace)}", worst, expected
    )


def _exact_rational(x: float) -> Any:
    """The binary float the engine used, exactly."""
    import sympy

    return sympy.Rational(*x.as_integer_ratio())


def _tiny_value(form: Any, exact_point: dict[Any, Any], want: float | None) -> float | None:
    """A value below the floor, evaluated at the exact point with evalf's adaptive
    precision (up to TINY_DIGITS): 0 for a true zero, or for one below 1e-400 (0 as a
    float); `want` itself where sympy cannot evaluate it."""
    try:
        number = form.evalf(30, subs=exact_point, maxn=TINY_DIGITS)
        real, imag = (_digits(part) for part in number.as_real_imag())
    except (*SYMPY_FAILURES, RuntimeError):  # NotImplementedError, RecursionError
        return want
    if real is None or imag is None or abs(imag) > 1e-12 or not math.isfinite(real):
        return want
    return real


def _digits(part: Any) -> float | None:
    """A real sympy number as a float: 0 for a Float evalf gave no digits (it stayed
    below 10^-TINY_DIGITS), None for what is not a number."""
    if part.is_Float and part._prec < 10:  # "0.e-541": 1 bit, a zero to that precision
        return 0.0
    try:
        return float(part)
    except SYMPY_FAILURES:
        return None


def _entry(value: Any, index: tuple[int, ...]) -> float:
    return float(value[index]) if index else float(value)


def _total(value: Any) -> float:
    """A value, or the sum of its entries (the output of a vector trace)."""
    total = getattr(value, "sum", None)
    return float(total()) if total is not None else float(value)


def _expected(trace: engine.Trace, wanted: dict[Entry, float | None]) -> dict[str, Any]:
    """sympy's gradients by input: numbers, or arrays of the input's shape (None: undefined)."""
    if trace.kind != "arrays":
        return {name: v for (name, _), v in wanted.items()}
    import numpy as np

    out: dict[str, Any] = {}
    for name, i in trace.graph.inputs.items():
        indices = list(itertools.product(*(range(n) for n in trace.shape(i))))
        whole = all(wanted[(name, index)] is not None for index in indices)
        grid = np.zeros(trace.shape(i)) if whole else np.full(trace.shape(i), None, dtype=object)
        for index in indices:
            grid[index] = wanted[(name, index)]
        out[name] = grid
    return out


def _evaluate(expr: Any, point: dict[Any, Any]) -> float | None:
    # xreplace, then evalf: evalf(subs=…) took 80 ms a derivative with 42 symbols,
    # xreplace 1 ms; the Floats carry 30 digits, far below the tolerance.
    try:
        return _to_float(expr.xreplace(point))
    except SYMPY_FAILURES:
        return None


def _compare_symbolic(
    trace: engine.Trace, derivatives: dict[Entry, Any], symbols: dict[Entry, Any]
) -> Check:
    """Symbols against symbols: the difference must vanish at random points."""
    from backprop_cli.core.gates import SympyMath

    k = SympyMath()
    rng = random.Random(0)  # the same points every run
    gradients = trace.gradients
    expected = {name: d for (name, _), d in derivatives.items()}
    worst = 0.0
    tested = 0
    for _ in range(12):
        if tested == 3:
            break
        point = {s: k.const(round(rng.uniform(0.3, 2.5), 3)) for s in symbols.values()}
        point.update(
            {symbols[(n, ())]: k.const(v) for n, v in trace.bindings.items() if (n, ()) in symbols}
        )
        errors = []
        for name, derivative in expected.items():
            try:
                want = _to_float(derivative.xreplace(point))
                got = _to_float(engine.as_sympy(gradients[name]).xreplace(point))
            except SYMPY_FAILURES:  # sympy refuses this point (Max of zoo, log of < 0)
                break
            if want is None or got is None:
                break
            errors.append(abs(got - want) / max(1.0, abs(want)))
        else:
            tested += 1
            worst = max([worst, *errors])
    if tested == 0:
        return Check("sympy", "skipped", "sympy could not evaluate the gradients at test points")
    if worst <= SYMPY_RTOL:
        message = f"agree (equal at {tested} random points, largest error {worst:.1e})"
        return Check("sympy", "agree", message, worst, expected)
    return Check("sympy", "disagree", f"disagree (largest error {worst:.3g})", worst, expected)


# What sympy raises at a point outside an expression's domain: comparing zoo or I in
# a Max ("Invalid comparison of non-real zoo"), a real-only function given a complex
# number, a value too large for a float (exp(exp(exp(exp(exp(x)))))): each ended a
# symbolic trace with exit 3.
SYMPY_FAILURES = (TypeError, ValueError, ArithmeticError, AttributeError)


def _to_float(value: Any) -> float | None:
    try:
        number = complex(value.evalf(30))
    except SYMPY_FAILURES:
        return None
    if abs(number.imag) > 1e-12 or not math.isfinite(number.real):
        return None
    return number.real
