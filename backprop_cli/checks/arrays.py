"""Cross-checks for traces with vectors and matrices, entry by entry.

- Finite differences nudge every entry of every input, one at a time.
- The sympy check gives every entry its own symbol (W[0,1], x[1]) and rebuilds the
  program from the *parsed text*, with its own table of operations on arrays of
  sympy expressions (matrix products through `sympy.Matrix`), never through the
  gate classes; then it differentiates the sum of the output's entries by each
  symbol. It grows with the number of entries, so above a size limit it is skipped
  with a note.
"""

from __future__ import annotations

from typing import Any

from backprop_cli.checks.scalar import NUMERIC_RTOL, SYMPY_RTOL, Check, _to_float
from backprop_cli.core import engine
from backprop_cli.core.language import BinOp, Call, Name, Neg, Num, Program, exact_number, postorder
from backprop_cli.errors import InputError

# Above this many entries (all inputs together) the sympy check is skipped, and also
# when the expression's size × the number of symbols passes SYMPY_WORK_LIMIT: a softmax
# of a matrix product grows fast (4×4 @ 4×8 is 5,000 operations, 25 s to check).
SYMPY_ENTRY_LIMIT = 64
SYMPY_WORK_LIMIT = 40_000


# --------------------------------------------------------------------------- numeric


def numeric_check(trace: engine.Trace) -> Check:
    """Central differences on every entry of every input."""
    import numpy as np

    graph, bindings = trace.graph, trace.bindings
    if trace.kinks:
        return Check(
            "numeric", "not-differentiable", "not differentiable here: " + "; ".join(trace.kinks)
        )
    base = engine.array_branches(graph, bindings)
    f0 = abs(float(np.sum(trace.value)))
    expected: dict[str, Any] = {}
    worst = 0.0
    for name in graph.inputs:
        x = np.asarray(bindings[name], dtype=float)
        got_all = np.asarray(trace.gradients[name], dtype=float)
        estimates = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            h = 6e-6 * max(1.0, abs(float(x[index])))  # about cbrt(machine epsilon), scaled
            where = f"{name}{list(index) if index else ''} = {float(x[index]):g}"
            up, down = dict(bindings), dict(bindings)
            up[name], down[name] = x.copy(), x.copy()
            up[name][index] += h
            down[name][index] -= h
            try:
                f_up, branches_up = engine.array_probe(graph, up)
                f_down, branches_down = engine.array_probe(graph, down)
                if branches_up != base or branches_down != base:
                    return Check(
                        "numeric",
                        "skipped",
                        f"skipped: a kink lies within the step {h:.1e} of {where}, "
                        "so finite differences straddle it",
                    )
                estimate = (f_up - f_down) / (2 * h)
            except InputError:
                return Check(
                    "numeric", "skipped", f"skipped: the function is not defined near {where}"
                )
            estimates[index] = estimate
            got = float(got_all[index])
            allowance = NUMERIC_RTOL * max(1.0, abs(got)) + 8 * 2.2e-16 * max(1.0, f0) / h
            error = abs(got - estimate)
            worst = max(worst, error / max(1.0, abs(got)))
            if error > allowance:
                expected[name] = estimates
                return Check(
                    "numeric",
                    "disagree",
                    f"disagree on {where}: backprop {got:.6g}, finite differences {estimate:.6g}",
                    worst,
                    expected,
                )
        expected[name] = estimates
    entries = sum(int(np.size(bindings[name])) for name in graph.inputs)
    return Check(
        "numeric",
        "agree",
        f"agree on all {entries} entries (largest error {worst:.1e})",
        worst,
        expected,
    )


# --------------------------------------------------------------------------- sympy


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


def _along(x: Any, axis: int | None, reduce: Any) -> Any:
    """Reduce the entries of x (all, or along one axis) with `reduce(list) -> expr`."""
    import numpy as np

    if axis is None:
        return _obj(reduce(list(x.flat)))
    moved = np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape[:-1], dtype=object)
    for index in np.ndindex(out.shape):
        out[index] = reduce(list(moved[index]))
    return out


def _rows(x: Any, each: Any) -> Any:
    """Apply `each(list) -> list` along the last axis (a vector, or each row)."""
    import numpy as np

    out = np.empty(x.shape, dtype=object)
    for index in np.ndindex(x.shape[:-1]):
        out[index] = each(list(x[index]))
    return out


def array_expression(program: Program, inputs: dict[str, Any]) -> Any:
    """The program's output as an object array of sympy expressions in the entry symbols."""
    import numpy as np
    import sympy

    def elementwise(f: Any) -> Any:
        return lambda x: _obj(np.vectorize(f, otypes=[object])(x))

    def softmax(v: list[Any]) -> list[Any]:
        total = sympy.Add(*[sympy.exp(e) for e in v])
        return [sympy.exp(e) / total for e in v]

    def log_softmax(v: list[Any]) -> list[Any]:
        log_total = sympy.log(sympy.Add(*[sympy.exp(e) for e in v]))
        return [e - log_total for e in v]

    functions: dict[str, Any] = {
        "exp": elementwise(sympy.exp),
        "log": elementwise(sympy.log),
        "sqrt": elementwise(sympy.sqrt),
        "sin": elementwise(sympy.sin),
        "cos": elementwise(sympy.cos),
        "tanh": elementwise(sympy.tanh),
        "sigmoid": elementwise(lambda x: 1 / (1 + sympy.exp(-x))),
        "relu": elementwise(lambda x: sympy.Max(0, x)),
        "abs": elementwise(sympy.Abs),
        "transpose": lambda x: x.T,
        "dot": lambda a, b: _obj(sympy.Add(*[p * q for p, q in zip(a, b, strict=True)])),
        "norm2": lambda x: _obj(sympy.Add(*[e**2 for e in x.flat])),
        "softmax": lambda x: _rows(x, softmax),
        "log_softmax": lambda x: _rows(x, log_softmax),
    }
    operators = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
        "**": lambda a, b: a**b,
        "@": _matmul,
    }
    env: dict[str, Any] = dict(inputs)

    def call(node: Call, args: list[Any]) -> Any:
        name = node.func
        if name in ("sum", "mean"):
            x = args[0]
            count = x.size if node.axis is None else x.shape[node.axis]
            total = _along(x, node.axis, lambda v: sympy.Add(*v))
            return total if name == "sum" else _obj(total / count)
        if name in ("max", "min"):
            pick = sympy.Max if name == "max" else sympy.Min
            if len(args) == 1:
                return _along(args[0], node.axis, lambda v: pick(*v))
            return _obj(np.vectorize(lambda *v: pick(*v), otypes=[object])(*args))
        if name == "cross_entropy":
            label = node.args[1]
            assert isinstance(label, Num)
            return _obj(-log_softmax(list(args[0]))[int(label.value)])
        return _obj(functions[name](*args))

    for stmt in program.statements:
        built: dict[int, Any] = {}
        for node in postorder(stmt.value):
            if isinstance(node, Num):
                fraction = exact_number(node)
                built[id(node)] = _obj(sympy.Rational(fraction.numerator, fraction.denominator))
            elif isinstance(node, Name):
                built[id(node)] = env[node.id]
            elif isinstance(node, Neg):
                built[id(node)] = _obj(-built[id(node.operand)])
            elif isinstance(node, BinOp):
                left, right = built[id(node.left)], built[id(node.right)]
                built[id(node)] = _obj(operators[node.op](left, right))
            elif isinstance(node, Call):
                built[id(node)] = call(node, [built[id(a)] for a in node.args])
        value = built[id(stmt.value)]
        if stmt.op != "=":
            value = _obj(operators[stmt.op[:-1]](env[stmt.target], value))
        env[stmt.target] = value
    return env[program.output]


def sympy_check(trace: engine.Trace) -> Check:
    import numpy as np
    import sympy

    graph = trace.graph
    entries = sum(int(np.size(trace.bindings[name])) for name in graph.inputs)
    if entries > SYMPY_ENTRY_LIMIT:
        return Check(
            "sympy",
            "skipped",
            f"skipped: {entries} entries is too many for the symbolic check (a symbol per "
            f"entry; the limit is {SYMPY_ENTRY_LIMIT}); finite differences still check "
            "every entry",
        )
    symbols = {name: entry_symbols(name, trace.bindings[name]) for name in graph.inputs}
    point: dict[Any, Any] = {}
    for name, syms in symbols.items():
        values = np.asarray(trace.bindings[name], dtype=float)
        for index in np.ndindex(syms.shape):
            # 30 digits of the float exactly: evaluating in Floats is several times
            # faster than in exact rationals, and far below the tolerance.
            point[syms[index]] = sympy.Float(float(values[index]), 30)
    try:
        output = array_expression(graph.program, symbols)
    except RecursionError:
        return Check("sympy", "skipped", "skipped: too deep for the symbolic check")
    total = sympy.Add(*list(np.asarray(output, dtype=object).flat))
    work = sympy.count_ops(total) * entries  # diff and evaluate once per symbol
    if work > SYMPY_WORK_LIMIT:
        return Check(
            "sympy",
            "skipped",
            f"skipped: too large for the symbolic check ({sympy.count_ops(total):,} operations "
            f"to differentiate by each of {entries} symbols); finite differences still check "
            "every entry",
        )
    expected: dict[str, Any] = {}
    worst = 0.0
    undefined = False
    for name, syms in symbols.items():
        want = np.zeros(syms.shape)
        got = np.asarray(trace.gradients[name], dtype=float)
        for index in np.ndindex(syms.shape):
            value = _to_float(sympy.diff(total, syms[index]).xreplace(point))
            if value is None:
                undefined = True
                continue
            want[index] = value
            worst = max(worst, abs(float(got[index]) - value) / max(1.0, abs(value)))
        expected[name] = want
    value = _to_float(total.xreplace(point))
    if value is not None:
        worst = max(worst, abs(float(np.sum(trace.value)) - value) / max(1.0, abs(value)))
    if trace.kinks:
        return Check(
            "sympy",
            "not-differentiable",
            "not differentiable here: " + "; ".join(trace.kinks),
            None,
            expected,
        )
    if undefined or value is None:
        return Check("sympy", "skipped", "sympy has no finite value for some entry here")
    message = f"(a symbol per entry, {entries} entries, largest error {worst:.1e})"
    if worst <= SYMPY_RTOL:
        return Check("sympy", "agree", f"agree {message}", worst, expected)
    return Check("sympy", "disagree", f"disagree {message}", worst, expected)
