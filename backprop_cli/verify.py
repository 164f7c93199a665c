"""Trace -> Checks: sympy and central finite differences, each an independent oracle.

The sympy check rebuilds the whole expression from the *parsed program*, not from
the gate graph, with its own small table of functions: an oracle that shared the
staging code could not catch a mistake in it. sympy objects are built by calling
constructors; user text never reaches sympy's parser.

At a non-differentiable point (relu at 0, a max tie) neither oracle can agree or
disagree, and the check says "not differentiable here" instead.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Literal

from backprop_cli import engine
from backprop_cli.errors import InputError
from backprop_cli.parse import BinOp, Call, Name, Neg, Num, Program, exact_number, postorder

Status = Literal["agree", "disagree", "not-differentiable", "skipped"]

# Above this many gates the symbolic check is skipped: sympy's diff and evaluation of
# big nested expressions can take minutes, and deep ones can exhaust the stack.
SYMBOLIC_GATE_LIMIT = 400
SYMPY_RTOL = 1e-9
NUMERIC_RTOL = 1e-5


@dataclass
class Check:
    name: Literal["sympy", "numeric"]
    status: Status
    message: str
    max_error: float | None = None
    expected: dict[str, Any] = field(default_factory=dict)  # the oracle's gradients

    @property
    def failed(self) -> bool:
        return self.status == "disagree"

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "max_error": self.max_error,
            "message": self.message,
            "expected": {k: _json_number(v) for k, v in self.expected.items()},
        }


def run_checks(trace: engine.Trace, *, symbolic: bool = True, numeric: bool = True) -> list[Check]:
    if trace.shapes is not None:  # vectors and matrices: checked entry by entry
        from backprop_cli.verify_arrays import run_array_checks

        return run_array_checks(trace, symbolic=symbolic, numeric=numeric)
    checks = [
        sympy_check(trace) if symbolic else Check("sympy", "skipped", "skipped (--no-check)"),
        numeric_check(trace) if numeric else Check("numeric", "skipped", "skipped (--no-check)"),
    ]
    return checks


# --------------------------------------------------------------------------- sympy


def sympy_expression(program: Program) -> Any:
    """The program's output as one sympy expression in its input symbols."""
    import sympy

    functions = {
        "exp": sympy.exp,
        "log": sympy.log,
        "sqrt": sympy.sqrt,
        "sin": sympy.sin,
        "cos": sympy.cos,
        "tanh": sympy.tanh,
        "sigmoid": lambda x: 1 / (1 + sympy.exp(-x)),
        "relu": lambda x: sympy.Max(0, x),
        "abs": sympy.Abs,
        "max": sympy.Max,
        "min": sympy.Min,
    }
    operators = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
        "**": sympy.Pow,
    }
    env: dict[str, Any] = {}

    def lookup(name: str) -> Any:
        return env[name] if name in env else sympy.Symbol(name, real=True)

    for stmt in program.statements:
        built: dict[int, Any] = {}
        for node in postorder(stmt.value):
            if isinstance(node, Num):
                fraction = exact_number(node)
                built[id(node)] = sympy.Rational(fraction.numerator, fraction.denominator)
            elif isinstance(node, Name):
                built[id(node)] = lookup(node.id)
            elif isinstance(node, Neg):
                built[id(node)] = -built[id(node.operand)]
            elif isinstance(node, BinOp):
                built[id(node)] = operators[node.op](built[id(node.left)], built[id(node.right)])
            elif isinstance(node, Call):
                built[id(node)] = functions[node.func](*(built[id(a)] for a in node.args))
        value = built[id(stmt.value)]
        if stmt.op != "=":
            value = operators[stmt.op[:-1]](lookup(stmt.target), value)
        env[stmt.target] = value
    return env[program.output]


def sympy_check(trace: engine.Trace) -> Check:
    graph = trace.graph
    if len(graph.gate_nodes) > SYMBOLIC_GATE_LIMIT:
        return Check(
            "sympy",
            "skipped",
            f"skipped: too large for the symbolic check ({len(graph.gate_nodes)} gates; "
            f"the limit is {SYMBOLIC_GATE_LIMIT})",
        )
    import sympy

    try:
        expr = sympy_expression(graph.program)
        symbols = {name: sympy.Symbol(name, real=True) for name in graph.inputs}
        derivatives = {name: sympy.diff(expr, s) for name, s in symbols.items()}
        if trace.mode == "symbolic":
            return _compare_symbolic(trace, derivatives, symbols)
        return _compare_numeric(trace, expr, derivatives, symbols)
    except RecursionError:
        return Check("sympy", "skipped", "skipped: too deep for the symbolic check")


def _compare_numeric(
    trace: engine.Trace, expr: Any, derivatives: dict[str, Any], symbols: dict[str, Any]
) -> Check:
    k = _kit()
    point = {symbols[name]: k.const(v) for name, v in trace.bindings.items() if name in symbols}
    expected: dict[str, Any] = {}
    worst = 0.0
    for name, derivative in derivatives.items():
        value = _to_float(derivative.xreplace(point))
        expected[name] = value
        if value is None:
            continue
        worst = max(worst, _relative_error(trace.gradients[name], value))
    value = _to_float(expr.xreplace(point))
    if value is not None:
        worst = max(worst, _relative_error(trace.value, value))
    undefined = [name for name, v in expected.items() if v is None]
    if trace.kinks:
        return Check(
            "sympy",
            "not-differentiable",
            "not differentiable here: " + "; ".join(trace.kinks),
            None,
            expected,
        )
    if undefined or value is None:
        missing = ", ".join(undefined) or "the output"
        return Check("sympy", "skipped", f"sympy has no finite value for {missing} here")
    if worst <= SYMPY_RTOL:
        return Check("sympy", "agree", f"agree (largest error {worst:.1e})", worst, expected)
    return Check("sympy", "disagree", f"disagree (largest error {worst:.3g})", worst, expected)


def _compare_symbolic(
    trace: engine.Trace, derivatives: dict[str, Any], symbols: dict[str, Any]
) -> Check:
    """Symbols against symbols: the difference must vanish at random points."""
    k = _kit()
    rng = random.Random(0)  # the same points every run
    gradients = trace.gradients
    expected = {name: d for name, d in derivatives.items()}
    worst = 0.0
    tested = 0
    for _ in range(12):
        if tested == 3:
            break
        point = {s: k.const(round(rng.uniform(0.3, 2.5), 3)) for s in symbols.values()}
        point.update({symbols[n]: k.const(v) for n, v in trace.bindings.items() if n in symbols})
        errors = []
        for name, derivative in derivatives.items():
            want = _to_float(derivative.xreplace(point))
            got = _to_float(engine.as_sympy(gradients[name]).xreplace(point))
            if want is None or got is None:
                break
            errors.append(_relative_error(got, want))
        else:
            tested += 1
            worst = max([worst, *errors])
    if tested == 0:
        return Check("sympy", "skipped", "sympy could not evaluate the gradients at test points")
    if worst <= SYMPY_RTOL:
        message = f"agree (equal at {tested} random points, largest error {worst:.1e})"
        return Check("sympy", "agree", message, worst, expected)
    return Check("sympy", "disagree", f"disagree (largest error {worst:.3g})", worst, expected)


def _kit() -> Any:
    from backprop_cli.gates import SympyMath

    return SympyMath()


def _to_float(value: Any) -> float | None:
    try:
        number = complex(value.evalf(30))
    except (TypeError, ValueError, AttributeError):
        return None
    if abs(number.imag) > 1e-12 or not math.isfinite(number.real):
        return None
    return number.real


# --------------------------------------------------------------------------- numeric


def numeric_check(trace: engine.Trace) -> Check:
    """Central differences on each input: (f(x+h) - f(x-h)) / 2h."""
    if trace.mode == "symbolic":
        return Check(
            "numeric", "skipped", "skipped: finite differences need a value for every input"
        )
    graph, bindings = trace.graph, trace.bindings
    if trace.kinks:
        return Check(
            "numeric", "not-differentiable", "not differentiable here: " + "; ".join(trace.kinks)
        )
    base_branches = engine.branches(graph, bindings)
    f0 = abs(float(trace.value))
    expected: dict[str, Any] = {}
    worst = 0.0
    for name in graph.inputs:
        x = bindings[name]
        h = 6e-6 * max(1.0, abs(x))  # about cbrt(machine epsilon), scaled
        try:
            up, down = dict(bindings), dict(bindings)
            up[name], down[name] = x + h, x - h
            if (
                engine.branches(graph, up) != base_branches
                or engine.branches(graph, down) != base_branches
            ):
                return Check(
                    "numeric",
                    "skipped",
                    f"skipped: a kink lies within the step {h:.1e} of {name} = {x:g}, "
                    "so finite differences straddle it",
                )
            estimate = (engine.forward_value(graph, up) - engine.forward_value(graph, down)) / (
                2 * h
            )
        except InputError:
            return Check(
                "numeric", "skipped", f"skipped: the function is not defined near {name} = {x:g}"
            )
        expected[name] = estimate
        got = float(trace.gradients[name])
        # Rounding in f(x±h) costs about eps·|f|/h; allow for it on top of the tolerance.
        allowance = NUMERIC_RTOL * max(1.0, abs(got)) + 8 * 2.2e-16 * max(1.0, f0) / h
        error = abs(got - estimate)
        worst = max(worst, error / max(1.0, abs(got)))
        if error > allowance:
            return Check(
                "numeric",
                "disagree",
                f"disagree on {name}: backprop {got:.6g}, finite differences {estimate:.6g}",
                worst,
                expected,
            )
    return Check("numeric", "agree", f"agree (largest error {worst:.1e})", worst, expected)


def _relative_error(got: Any, want: float) -> float:
    return abs(float(got) - want) / max(1.0, abs(want))


def _json_number(value: Any) -> Any:
    if value is None or isinstance(value, int | float):
        return value
    if hasattr(value, "tolist"):  # a numpy array (or number): nested lists
        return value.tolist()
    return str(value)
