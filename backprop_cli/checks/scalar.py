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

from backprop_cli.core import budget, engine
from backprop_cli.core.language import BinOp, Call, Name, Neg, Num, Program, exact_number, postorder
from backprop_cli.errors import InputError

Status = Literal["agree", "disagree", "not-differentiable", "skipped"]

# Above this many gates the symbolic check is skipped: sympy's diff and evaluation of
# big nested expressions can take minutes, and deep ones can exhaust the stack.
SYMBOLIC_GATE_LIMIT = 400
# ... and above this written-out size (engine.tree_size) of the expression or of its
# derivatives: a few hundred gates with forks can write out to millions of nodes.
SYMBOLIC_SIZE_LIMIT = 20_000
# The program written out as one expression (every name replaced by what it stands for)
# is measured before sympy sees it: sympy's constructors alone (Max, Abs, flattening)
# took seconds on a 13,000-node expression.
PROGRAM_SIZE_LIMIT = 3_000
# ... and whatever slips through both gets this long (budget.py) before it is skipped.
SYMPY_SECONDS = 5.0
SYMPY_RTOL = 1e-9
SYMPY_ATOL = 1e-12  # for gradients that are zero (sympy's 30 digits leave 1e-165 behind)
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
    size = written_size(graph.program, PROGRAM_SIZE_LIMIT)
    if size > PROGRAM_SIZE_LIMIT:
        return _too_large("the expression", PROGRAM_SIZE_LIMIT)
    if trace.mode == "symbolic":
        trace.gradients  # noqa: B018 - simplified once, on the engine's own budget
    check: Check | None = None
    with budget.time_budget(SYMPY_SECONDS) as clock:
        check = _sympy_check(trace)
    if clock.expired or check is None:
        return Check(
            "sympy",
            "skipped",
            f"skipped: too large for the symbolic check (sympy needed more than "
            f"{SYMPY_SECONDS:g} s)",
        )
    return check


def _sympy_check(trace: engine.Trace) -> Check:
    import sympy

    graph = trace.graph
    try:
        expr = sympy_expression(graph.program)
        if engine.tree_size([expr], SYMBOLIC_SIZE_LIMIT) > SYMBOLIC_SIZE_LIMIT:
            return _too_large("the expression")
        symbols = {name: sympy.Symbol(name, real=True) for name in graph.inputs}
        derivatives = {name: sympy.diff(expr, s) for name, s in symbols.items()}
        if engine.tree_size(list(derivatives.values()), SYMBOLIC_SIZE_LIMIT) > (
            SYMBOLIC_SIZE_LIMIT
        ):
            return _too_large("its derivatives")
        if trace.mode == "symbolic":
            return _compare_symbolic(trace, derivatives, symbols)
        return _compare_numeric(trace, expr, derivatives, symbols)
    except RecursionError:
        return Check("sympy", "skipped", "skipped: too deep for the symbolic check")


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


def _too_large(what: str, limit: int = SYMBOLIC_SIZE_LIMIT) -> Check:
    return Check(
        "sympy",
        "skipped",
        f"skipped: too large for the symbolic check ({what} would have more than "
        f"{limit:,} terms written out)",
    )


def _compare_numeric(
    trace: engine.Trace, expr: Any, derivatives: dict[str, Any], symbols: dict[str, Any]
) -> Check:
    import sympy

    # Floats with 30 digits, not exact fractions: x**1000000 at 1.0000001 as a fraction
    # has millions of digits.
    point = {
        symbols[name]: sympy.Float(repr(float(v)), 30)
        for name, v in trace.bindings.items()
        if name in symbols
    }
    expected: dict[str, Any] = {name: _evaluate(d, point) for name, d in derivatives.items()}
    value = _evaluate(expr, point)
    if trace.kinks:
        return Check(
            "sympy",
            "not-differentiable",
            "not differentiable here: " + "; ".join(trace.kinks),
            None,
            expected,
        )
    undefined = [name for name, v in expected.items() if v is None]
    if undefined or value is None:
        missing = ", ".join(undefined) or "the output"
        return Check("sympy", "skipped", f"sympy has no finite value for {missing} here")

    # Float rounding grows where large values cancel (x + 1e8 - 1e8): the value may be
    # off by eps times Σ|value|·|gradient| over the nodes, and the gradients computed
    # from such values by a similar relative amount, which is capped so that a real
    # mistake (a wrong rule is off by far more than 1e-6) is still caught.
    scale = rounding_scale(trace)
    size = max(abs(value), _TINY)
    lost = min(64 * _EPS * scale / size, 1e-6) if math.isfinite(scale) else 1e-6
    worst = 0.0
    failures = []
    pairs = [(trace.output.ref, float(trace.value), value, SYMPY_RTOL, 8 * _EPS * scale)]
    for name, want in expected.items():
        index = trace.graph.inputs[name]
        fork = sum(abs(float(c.amount)) for c in trace.contributions[index])
        pairs.append((name, float(trace.gradients[name]), want, SYMPY_RTOL + lost, 8 * _EPS * fork))
    for name, got, want, rtol, slack in pairs:
        error = abs(got - want)
        worst = max(worst, error / max(abs(want), 1.0))
        if error > rtol * abs(want) + slack + SYMPY_ATOL:
            failures.append(f"{name}: got {got:.6g}, sympy {want:.6g}")
    if not failures:
        return Check("sympy", "agree", f"agree (largest error {worst:.1e})", worst, expected)
    return Check("sympy", "disagree", "disagree on " + "; ".join(failures), worst, expected)


def rounding_scale(trace: engine.Trace) -> float:
    """Σ |value| · |gradient| over the nodes: how far float rounding can move the output.

    Each node's value carries a rounding error of about eps·|value|, and that error
    reaches the output multiplied by the node's gradient.
    """
    return sum(
        abs(float(v)) * abs(float(g)) for v, g in zip(trace.values, trace.grads, strict=True)
    )


def _evaluate(expr: Any, point: dict[Any, Any]) -> float | None:
    try:
        return _to_float(expr.evalf(30, subs=point))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None


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
    from backprop_cli.core.gates import SympyMath

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
    """Central differences on each input, (f(x+h) - f(x-h)) / 2h, with an error estimate.

    Each estimate is made at h and h/2 (Richardson): their difference measures the
    truncation error, and rounding noise is bounded from the trace. An unreliable
    estimate is retried with a 10 times smaller step. "agree" needs one reliable
    estimate that matches; "disagree" needs two reliable estimates, at different steps,
    that match each other and not backprop; anything else is "skipped", never "wrong".
    """
    if trace.mode == "symbolic":
        return Check(
            "numeric", "skipped", "skipped: finite differences need a value for every input"
        )
    graph, bindings = trace.graph, trace.bindings
    if trace.kinks:
        return Check(
            "numeric", "not-differentiable", "not differentiable here: " + "; ".join(trace.kinks)
        )
    base = engine.probe(graph, bindings).branches
    scale = rounding_scale(trace)
    expected: dict[str, Any] = {}
    worst = 0.0
    names = _sample_inputs(list(graph.inputs), len(graph.nodes))
    for name in names:
        got = float(trace.gradients[name])
        try:
            verdict = _judge(graph, bindings, name, got, base, scale)
        except InputError:
            return Check(
                "numeric",
                "skipped",
                f"skipped: the function is not defined near {name} = {bindings[name]:g}",
            )
        if isinstance(verdict, str):
            return Check("numeric", "skipped", f"skipped: {verdict}")
        agrees, value, uncertainty = verdict
        expected[name] = value
        worst = max(worst, abs(got - value) / max(abs(got), abs(value), _TINY))
        if not agrees:
            return Check(
                "numeric",
                "disagree",
                f"disagree on {name}: backprop {got:.6g}, finite differences {value:.6g} "
                f"(± {uncertainty:.1g})",
                worst,
                expected,
            )
    sampled = ""
    if len(names) < len(graph.inputs):
        sampled = f"; {len(names):,} of {len(graph.inputs):,} inputs checked, evenly spread"
    return Check("numeric", "agree", f"agree (largest error {worst:.1e}{sampled})", worst, expected)


# Each input costs at least 4 forward passes; past this many node evaluations in all,
# an evenly spread sample of the inputs is checked (and the message says so).
NUMERIC_WORK_BUDGET = 1_000_000


def _sample_inputs(names: list[str], nodes: int) -> list[str]:
    most = max(1, NUMERIC_WORK_BUDGET // (4 * max(1, nodes)))
    if len(names) <= most:
        return names
    step = len(names) / most
    return [names[int(i * step)] for i in range(most)]


_EPS = 2.220446049250313e-16
_TINY = 1e-300
NUMERIC_TRIES = 12  # step sizes tried, each 10 times smaller, before giving up
NOISY = 0.05  # an estimate less sure than this share of the gradient is not used


def _judge(
    graph: Any,
    bindings: dict[str, float],
    name: str,
    got: float,
    base: tuple[Any, ...],
    scale: float,
) -> tuple[bool, float, float] | str:
    """(agrees, estimate, uncertainty) for d output / d name, or why no verdict."""
    x = bindings[name]
    h = 6e-6 * max(1.0, abs(x))  # about cbrt(machine epsilon), on x's scale
    floor = 64 * _EPS * abs(engine.probe(graph, bindings).value) / max(1.0, abs(x))
    reliable: tuple[float, float] | None = None  # a previous reliable estimate
    for _ in range(NUMERIC_TRIES):
        values = {}
        for step in (h, -h, h / 2, -h / 2):
            point = dict(bindings)
            point[name] = x + step
            probe = engine.probe(graph, point)
            if probe.branches != base:
                return (
                    f"a kink lies within the step {h:.1e} of {name} = {x:g}, "
                    "so finite differences straddle it"
                )
            values[step] = probe.value
        wide = (values[h] - values[-h]) / (2 * h)
        narrow = (values[h / 2] - values[-h / 2]) / h
        value = (4 * narrow - wide) / 3  # Richardson: the h² error cancels
        noise = 4 * _EPS * scale / h
        uncertainty = abs(wide - narrow) + noise
        size = max(abs(got), abs(value), _TINY)
        if wide == narrow == 0.0:
            # The output did not move: a true zero, or a step lost to rounding (x + 1e10).
            if got == 0.0:
                return True, 0.0, noise
            sure = noise <= NOISY * max(abs(got), floor)  # only a small rounding bound
        else:
            # Sure relative to the estimate itself: an aliased step gives a small, steady,
            # wrong estimate, which must not count as sure.
            sure = uncertainty <= NOISY * max(abs(value), floor)
        if sure:
            if abs(got - value) <= NUMERIC_RTOL * size + 3 * uncertainty:
                return True, value, uncertainty
            if (
                reliable is not None
                and abs(reliable[0] - value)
                <= 3 * (reliable[1] + uncertainty) + NUMERIC_RTOL * size
            ):
                return False, value, uncertainty
            reliable = (value, uncertainty)
        h /= 10
        if h < 8 * _EPS * max(1.0, abs(x)):
            break
    return (
        f"finite differences cannot estimate the gradient on {name} = {x:g} reliably "
        "here (rounding or fast variation)"
    )


def _relative_error(got: Any, want: float) -> float:
    return abs(float(got) - want) / max(1.0, abs(want))


def _json_number(value: Any) -> Any:
    if value is None or isinstance(value, int | float):
        return value
    if hasattr(value, "tolist"):  # a numpy array (or number): nested lists
        return value.tolist()
    return str(value)
