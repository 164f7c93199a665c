"""The engine against the lecture notes' worked examples and independent oracles."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backprop_cli.core.engine import Trace, run
from backprop_cli.core.graph import build_graph
from backprop_cli.core.language import parse_program
from backprop_cli.errors import InputError

NEURON = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
NEURON_AT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
STAGED = """\
sigy = 1/(1+exp(-y))
num = x + sigy
sigx = 1/(1+exp(-x))
xpy = x + y
xpysqr = xpy^2
den = sigx + xpysqr
invden = 1/den
f = num*invden
"""


def trace(text: str, bindings: dict[str, float] | None = None) -> Trace:
    return run(build_graph(parse_program(text)), bindings or {})


def by_ref(t: Trace) -> dict[str, int]:
    return {n.ref: n.index for n in t.graph.nodes}


def test_sum_times_example_from_the_notes() -> None:
    t = trace("(x + y) * z", {"x": -2, "y": 5, "z": -4})
    assert t.value == -12
    assert t.gradients == {"x": -4, "y": -4, "z": 3}
    q = t.graph.gate_nodes[0]
    assert t.values[q.index] == 3  # q = x + y
    assert t.grads[q.index] == -4  # df/dq = z


def test_sigmoid_neuron_from_the_notes_to_the_digit() -> None:
    t = trace(NEURON, NEURON_AT)
    assert round(t.value, 2) == 0.73
    grads = {k: round(v, 2) for k, v in t.gradients.items()}
    # the notes: dw = [-0.20, -0.39, 0.20], dx = [0.39, -0.59]
    assert grads == {"w0": -0.20, "x0": 0.39, "w1": -0.39, "x1": -0.59, "w2": 0.20}
    steps = {n.gate.name: n.index for n in t.graph.gate_nodes if n.gate}
    # the notes' stage values: 1/x of 1.37, -0.53 into the +1 gate, -0.20 after exp, 0.20 after *-1
    assert round(t.values[steps["+1"]], 2) == 1.37
    assert round(t.grads[steps["+1"]], 2) == -0.53
    assert round(t.grads[steps["exp"]], 2) == -0.53
    assert round(t.grads[steps["*-1"]], 2) == -0.20
    assert round(t.products[steps["*-1"]][0], 2) == 0.20


def test_neuron_matches_the_notes_closed_form() -> None:
    # the notes' code: ddot = (1 - f) * f; dx = [w0*ddot, w1*ddot]; dw = [x0*ddot, x1*ddot, ddot]
    t = trace(NEURON, NEURON_AT)
    dot = 2 * -1 + -3 * -2 + -3
    f = 1 / (1 + math.exp(-dot))
    ddot = (1 - f) * f
    want = {"w0": -1 * ddot, "x0": 2 * ddot, "w1": -2 * ddot, "x1": -3 * ddot, "w2": ddot}
    for name, value in want.items():
        assert t.gradients[name] == pytest.approx(value, rel=1e-14)


def test_fused_sigmoid_gate_gives_the_same_gradients() -> None:
    fused = trace("sigmoid(w0*x0+w1*x1+w2)", NEURON_AT)
    staged = trace(NEURON, NEURON_AT)
    assert [n.gate.name for n in fused.graph.gate_nodes if n.gate][-1] == "sigmoid"
    for name in NEURON_AT:
        assert fused.gradients[name] == pytest.approx(staged.gradients[name], rel=1e-14)


def test_staged_program_from_the_notes() -> None:
    t = trace(STAGED, {"x": 3, "y": -4})
    x, y = sympy.symbols("x y")
    sig = lambda v: 1 / (1 + sympy.exp(-v))  # noqa: E731
    f = (x + sig(y)) / (sig(x) + (x + y) ** 2)
    at = {x: 3, y: -4}
    assert t.value == pytest.approx(float(f.subs(at)), rel=1e-14)
    assert t.gradients["x"] == pytest.approx(float(sympy.diff(f, x).subs(at)), rel=1e-12)
    assert t.gradients["y"] == pytest.approx(float(sympy.diff(f, y).subs(at)), rel=1e-12)
    refs = by_ref(t)
    for name in ("sigy", "num", "sigx", "xpy", "xpysqr", "den", "invden", "f"):
        assert name in refs


def test_forks_add_up_and_each_contribution_is_kept() -> None:
    t = trace("x*x", {"x": 3})
    assert t.gradients["x"] == 6  # d(x²)/dx = 2x
    amounts = [c.amount for c in t.contributions[t.graph.inputs["x"]]]
    assert amounts == [3, 3]
    t = trace("a + a", {"a": 5})
    assert t.gradients["a"] == 2
    t = trace(STAGED, {"x": 3, "y": -4})
    contributions = t.contributions[t.graph.inputs["x"]]
    assert len(contributions) == 3  # from xpy, sigx's *-1 and num
    assert sum(c.amount for c in contributions) == pytest.approx(t.gradients["x"])


def test_augmented_assignment_accumulates() -> None:
    t = trace("f = x*y\nf += x\nf *= 2", {"x": 3, "y": 4})
    # f = 2(xy + x): df/dx = 2(y + 1) = 10, df/dy = 2x = 6
    assert t.value == 30
    assert t.gradients == {"x": 10, "y": 6}


@pytest.mark.parametrize(
    ("text", "bindings", "want"),
    [
        ("relu(x)", {"x": 0.0}, {"x": 0.0}),
        ("abs(x)", {"x": 0.0}, {"x": 0.0}),
        ("max(x, y)", {"x": 2.0, "y": 2.0}, {"x": 0.5, "y": 0.5}),
        ("min(x, y, z)", {"x": 1.0, "y": 1.0, "z": 1.0}, {"x": 1 / 3, "y": 1 / 3, "z": 1 / 3}),
    ],
)
def test_kinks_follow_pytorch_and_warn(text: str, bindings: dict, want: dict) -> None:
    t = trace(text, bindings)
    assert t.gradients == pytest.approx(want)
    assert (t.kinks and "not differentiable" in t.kinks[0]) or "tie" in t.kinks[0]


def test_max_routes_the_gradient_to_the_larger_input() -> None:
    t = trace("max(x, y) * z", {"x": 4, "y": 1, "z": 2})
    assert t.gradients == {"x": 2, "y": 0, "z": 4}


@pytest.mark.parametrize(
    ("text", "bindings", "message"),
    [
        ("log(x)", {"x": -2.0}, "log at step f got -2"),
        ("x + log(y - 3)", {"x": 1.0, "y": 1.0}, "log at step s2 got -2"),
        ("1/x", {"x": 0.0}, "division by zero at step f"),
        ("y/x", {"x": 0.0, "y": 1.0}, "division by zero at step f"),
        ("exp(x)", {"x": 1000.0}, "exp overflowed at step f"),
        ("sqrt(x)", {"x": -1.0}, "sqrt at step f"),
        ("x*y", {"x": 1e200, "y": 1e200}, "mul overflowed at step f"),
    ],
)
def test_math_errors_name_the_gate_and_step(text: str, bindings: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        trace(text, bindings)


def test_a_binding_for_an_unknown_name_is_refused() -> None:
    with pytest.raises(InputError, match=r"[Dd]id you mean"):
        trace("x*y", {"x": 1.0, "yy": 2.0})


def test_symbolic_trace_matches_sympy() -> None:
    t = trace(NEURON)
    assert t.mode == "symbolic"
    w0, x0, w1, x1, w2 = sympy.symbols("w0 x0 w1 x1 w2", real=True)
    f = 1 / (1 + sympy.exp(-(w0 * x0 + w1 * x1 + w2)))
    assert sympy.simplify(t.value - f) == 0
    for name, symbol in zip(["w0", "x0", "w1", "x1", "w2"], [w0, x0, w1, x1, w2], strict=True):
        assert sympy.simplify(t.gradients[name] - sympy.diff(f, symbol)) == 0
    # the stage view stays short: the last gate's local gradient reads -1/s7**2
    last = t.graph.gate_nodes[-1]
    assert str(t.locals[last.index][0]) == "-1/s7**2"


def test_partly_bound_trace_is_symbolic_in_the_rest() -> None:
    t = trace("(x + y) * z", {"x": -2, "y": 5})
    assert t.mode == "symbolic"
    z = sympy.Symbol("z", real=True)
    assert t.gradients["x"] == z and t.gradients["z"] == 3


# --------------------------------------------------------------------------- property


@dataclass(frozen=True)
class Tree:
    """A random expression: its text, its sympy form, and a float function."""

    text: str
    sym: sympy.Expr
    fn: Callable[[dict[str, float]], float]
    kink: Callable[[dict[str, float]], float]  # distance to the nearest kink (inf if none)


X, Y, Z = (sympy.Symbol(n, real=True) for n in "xyz")
SYMS = {"x": X, "y": Y, "z": Z}


def leaf() -> st.SearchStrategy[Tree]:
    names = st.sampled_from("xyz").map(
        lambda n: Tree(n, SYMS[n], lambda v, n=n: v[n], lambda v: math.inf)
    )
    consts = st.sampled_from([1, 2, 3, 0.5]).map(
        lambda c: Tree(str(c), sympy.nsimplify(c), lambda v, c=c: c, lambda v: math.inf)
    )
    return st.one_of(names, consts)


def combine(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    def unary(a: Tree, kind: str) -> Tree:
        if kind == "tanh":
            return Tree(f"tanh({a.text})", sympy.tanh(a.sym), lambda v: math.tanh(a.fn(v)), a.kink)
        if kind == "sigmoid":
            return Tree(
                f"sigmoid({a.text})",
                1 / (1 + sympy.exp(-a.sym)),
                lambda v: 1 / (1 + math.exp(-a.fn(v))),
                a.kink,
            )
        if kind == "sin":
            return Tree(f"sin({a.text})", sympy.sin(a.sym), lambda v: math.sin(a.fn(v)), a.kink)
        if kind == "log1p2":
            return Tree(
                f"log(1 + ({a.text})^2)",
                sympy.log(1 + a.sym**2),
                lambda v: math.log(1 + a.fn(v) ** 2),
                a.kink,
            )
        if kind == "relu":
            return Tree(
                f"relu({a.text})",
                sympy.Max(0, a.sym),
                lambda v: max(0.0, a.fn(v)),
                lambda v: min(a.kink(v), abs(a.fn(v))),
            )
        return Tree(f"-({a.text})", -a.sym, lambda v: -a.fn(v), a.kink)

    def binary(a: Tree, b: Tree, kind: str) -> Tree:
        kink = lambda v: min(a.kink(v), b.kink(v))  # noqa: E731
        if kind == "+":
            return Tree(
                f"({a.text}) + ({b.text})", a.sym + b.sym, lambda v: a.fn(v) + b.fn(v), kink
            )
        if kind == "-":
            return Tree(
                f"({a.text}) - ({b.text})", a.sym - b.sym, lambda v: a.fn(v) - b.fn(v), kink
            )
        if kind == "*":
            return Tree(
                f"({a.text}) * ({b.text})", a.sym * b.sym, lambda v: a.fn(v) * b.fn(v), kink
            )
        if kind == "/":
            return Tree(
                f"({a.text}) / (1 + ({b.text})^2)",
                a.sym / (1 + b.sym**2),
                lambda v: a.fn(v) / (1 + b.fn(v) ** 2),
                kink,
            )
        return Tree(
            f"max({a.text}, {b.text})",
            sympy.Max(a.sym, b.sym),
            lambda v: max(a.fn(v), b.fn(v)),
            lambda v: min(kink(v), abs(a.fn(v) - b.fn(v))),
        )

    unaries = st.sampled_from(["tanh", "sigmoid", "sin", "log1p2", "relu", "neg"])
    binaries = st.sampled_from(["+", "-", "*", "/", "max"])
    return st.one_of(
        st.builds(unary, children, unaries),
        st.builds(binary, children, children, binaries),
    )


trees = st.recursive(leaf(), combine, max_leaves=8)
points = st.fixed_dictionaries({n: st.integers(-20, 20).map(lambda i: i / 10) for n in "xyz"})


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(trees, points)
def test_backprop_equals_sympy_equals_finite_differences(tree: Tree, at: dict[str, float]) -> None:
    names = [n for n in "xyz" if SYMS[n] in tree.sym.free_symbols]
    assume(names)
    assume(tree.text.strip("()") not in ("x", "y", "z"))  # a variable alone has no gate: refused
    assume(tree.kink(at) > 1e-3)  # away from kinks, where all three must agree
    t = trace(tree.text, {n: at[n] for n in names})
    assert t.value == pytest.approx(tree.fn(at), rel=1e-9, abs=1e-12)
    subs = {SYMS[n]: sympy.Rational(str(at[n])) for n in "xyz"}
    for name in names:
        want = float(sympy.diff(tree.sym, SYMS[name]).subs(subs).evalf())
        got = t.gradients[name]
        assert got == pytest.approx(want, rel=1e-8, abs=1e-10), (tree.text, name)
        h = 1e-6
        up, down = dict(at), dict(at)
        up[name] += h
        down[name] -= h
        estimate = (tree.fn(up) - tree.fn(down)) / (2 * h)
        assert got == pytest.approx(estimate, rel=1e-4, abs=1e-6), (tree.text, name)


def test_x_to_the_zero_has_gradient_zero_even_at_zero() -> None:
    assert trace("x**0", {"x": 0.0}).gradients == {"x": 0.0}


def test_tiny_divisor_overflows_rather_than_dividing_by_zero() -> None:
    # -1/x² at 1e-300 is -1e600: an overflow, not a division by zero (x is not 0)
    with pytest.raises(InputError, match="overflowed at step f"):
        trace("1/x", {"x": 1e-300})
