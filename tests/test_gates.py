"""Each gate's local gradients against sympy's derivative of the gate's own forward rule.

The oracle is sympy.diff of the gate's sympy form at a few points, compared with the
hand-written local gradient evaluated in floats.
"""

from __future__ import annotations

import math

import pytest
import sympy

from backprop_cli.core import gates as g

K = g.FloatMath
S = g.SympyMath()

# (gate, points away from kinks and domain edges)
SMOOTH_CASES: list[tuple[g.Gate, list[tuple[float, ...]]]] = [
    (g.Add(), [(1.5, -2.0), (0.0, 3.0)]),
    (g.Sub(), [(1.5, -2.0), (-4.0, 0.5)]),
    (g.Mul(), [(1.5, -2.0), (-4.0, 0.5)]),
    (g.Div(), [(1.5, -2.0), (-4.0, 0.5)]),
    (g.Pow(), [(1.5, 2.0), (2.0, -0.5), (0.7, 3.3)]),
    (g.AddConst(1.0), [(0.3,), (-2.0,)]),
    (g.AddConst(-2.5), [(0.3,), (-2.0,)]),
    (g.ConstSub(3.0), [(0.3,), (-2.0,)]),
    (g.MulConst(-1.0), [(0.3,), (-2.0,)]),
    (g.MulConst(2.5), [(0.3,), (-2.0,)]),
    (g.DivConst(4.0), [(0.3,), (-2.0,)]),
    (g.ConstDiv(1.0), [(1.37,), (-2.0,)]),
    (g.ConstDiv(-3.0), [(1.37,), (-2.0,)]),
    (g.PowConst(2.0), [(0.3,), (-2.0,)]),
    (g.PowConst(3.0), [(0.3,), (-2.0,)]),
    (g.PowConst(0.5), [(0.3,), (2.0,)]),
    (g.PowConst(-1.0), [(0.3,), (-2.0,)]),
    (g.ConstPow(2.0), [(0.3,), (-2.0,)]),
    (g.Exp(), [(-1.0,), (2.0,)]),
    (g.Log(), [(0.5,), (3.0,)]),
    (g.Sqrt(), [(0.5,), (3.0,)]),
    (g.Sin(), [(0.5,), (-3.0,)]),
    (g.Cos(), [(0.5,), (-3.0,)]),
    (g.Tanh(), [(0.5,), (-3.0,)]),
    (g.Sigmoid(), [(1.0,), (-3.0,), (0.0,)]),
    (g.Relu(), [(1.0,), (-3.0,)]),
    (g.Abs(), [(1.0,), (-3.0,)]),
    (g.Max(), [(1.0, -2.0), (-3.0, 0.5), (1.0, 2.0, 3.0)]),
    (g.Min(), [(1.0, -2.0), (-3.0, 0.5), (3.0, 1.0, 2.0)]),
]


def case_id(case: tuple[g.Gate, list[tuple[float, ...]]]) -> str:
    return f"{type(case[0]).__name__}-{case[0].name}"


@pytest.mark.parametrize("case", SMOOTH_CASES, ids=case_id)
def test_local_gradients_match_sympy(case: tuple[g.Gate, list[tuple[float, ...]]]) -> None:
    gate, points = case
    for point in points:
        symbols = sympy.symbols(f"a0:{len(point)}", real=True)
        form = gate.forward(S, list(symbols))  # the gate's sympy form
        subs = {s: sympy.Rational(str(v)) for s, v in zip(symbols, point, strict=True)}
        out = gate.forward(K, list(point))
        assert out == pytest.approx(float(form.subs(subs).evalf()), rel=1e-12)
        local = gate.local(K, list(point), out)
        assert len(local) == len(point)
        for s, got in zip(symbols, local, strict=True):
            want = float(sympy.diff(form, s).subs(subs).evalf())
            assert float(got) == pytest.approx(want, rel=1e-12, abs=1e-15), (gate, point, s)


@pytest.mark.parametrize("case", SMOOTH_CASES, ids=case_id)
def test_symbolic_local_gradients_match_sympy(case: tuple[g.Gate, list[tuple[float, ...]]]) -> None:
    gate, points = case
    if gate.kink(list(points[0])) is not None or isinstance(gate, g.Max | g.Min):
        pytest.skip("piecewise gates are compared numerically above")
    symbols = list(sympy.symbols(f"a0:{len(points[0])}", positive=True))
    form = gate.forward(S, symbols)
    local = gate.local(S, symbols, form)
    for s, got in zip(symbols, local, strict=True):
        assert sympy.simplify(sympy.diff(form, s) - got) == 0


def test_pytorch_conventions_at_kinks() -> None:
    assert g.Relu().local(K, [0.0], 0.0) == (0.0,)
    assert g.Abs().local(K, [0.0], 0.0) == (0.0,)
    assert g.Max().local(K, [2.0, 2.0], 2.0) == (0.5, 0.5)
    assert g.Max().local(K, [2.0, 2.0, 2.0], 2.0) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert g.Max().local(K, [2.0, 2.0, 1.0], 2.0) == (0.5, 0.5, 0.0)
    assert g.Min().local(K, [1.0, 2.0, 1.0], 1.0) == (0.5, 0.0, 0.5)
    for gate, xs in [(g.Relu(), [0.0]), (g.Abs(), [0.0]), (g.Max(), [1.0, 1.0])]:
        assert gate.kink(xs) is not None
    assert g.Relu().kink([0.1]) is None and g.Max().kink([1.0, 2.0]) is None


def test_patterns_in_the_notes_words() -> None:
    assert g.Add().pattern.startswith("add distributes")
    assert g.Mul().pattern.startswith("mul switches")
    assert g.Max().pattern.startswith("max routes")


@pytest.mark.parametrize(
    ("gate", "name"),
    [
        (g.AddConst(1.0), "+1"),
        (g.AddConst(-1.0), "-1"),
        (g.MulConst(-1.0), "*-1"),
        (g.MulConst(2.0), "*2"),
        (g.ConstDiv(1.0), "1/x"),
        (g.PowConst(2.0), "x^2"),
        (g.DivConst(0.5), "/0.5"),
    ],
)
def test_constant_gates_are_named_as_the_notes_name_them(gate: g.Gate, name: str) -> None:
    assert gate.name == name


def test_formulas_read_like_the_notes() -> None:
    assert g.ConstDiv(1.0).formulas(["x"], "f") == ("-1/x²",)
    assert g.Mul().formulas(["x", "y"], "f") == ("y", "x")
    assert g.Exp().formulas(["x"], "f") == ("exp(x)",)
    assert g.Sigmoid().formulas(["x"], "f") == ("f·(1 - f)",)  # from the cached output
    assert g.Tanh().formulas(["x"], "t") == ("1 - t²",)
    assert g.Tanh().formulas(["0.5"], "-0.46") == ("1 - (-0.46)²",)
    # numbers substituted, negative ones wrapped
    assert g.ConstDiv(1.0).formulas([g.atom("-1.37")], "f") == ("-1/(-1.37)²",)


def test_domain_errors_say_what_the_gate_needs() -> None:
    with pytest.raises(g.DomainError, match="positive"):
        g.Log().forward(K, [-2.0])
    with pytest.raises(g.DomainError, match="≥ 0"):
        g.Sqrt().forward(K, [-1.0])
    with pytest.raises(g.DomainError, match="fractional"):
        g.PowConst(0.5).forward(K, [-4.0])
    with pytest.raises(OverflowError):
        g.Exp().forward(K, [1000.0])


def test_sigmoid_is_stable_for_large_inputs() -> None:
    assert g.Sigmoid().forward(K, [-800.0]) == pytest.approx(0.0, abs=1e-300)
    assert g.Sigmoid().forward(K, [800.0]) == 1.0
    assert g.Sigmoid().forward(K, [-1.0]) == pytest.approx(1 / (1 + math.e))


# --------------------------------------------------------------------------- what a gate says


def test_a_gate_says_what_it_is() -> None:
    from backprop_cli.core import vector_gates as vg

    assert g.Mul().plain_chain and g.Relu().plain_chain
    assert not vg.MatMul().plain_chain and not vg.Softmax().plain_chain
    assert g.MulConst(3.0).scale == 3.0 and g.DivConst(4.0).scale == 0.25
    assert g.Mul().scale is None and g.AddConst(3.0).scale is None
    assert g.Sigmoid().squashes == "σ(1−σ)" and g.Tanh().squashes == "1−tanh²"
    assert not g.Exp().squashes
    assert [type(x).__name__ for x in (g.Relu(), g.Abs(), g.Max(), g.Min()) if x.kinked] == [
        "Relu",
        "Abs",
        "Max",
        "Min",
    ]
    assert not g.Sqrt().kinked and g.Sqrt().singular_points
    # near a kink or a tie, or dividing by (or the log of) a small number
    assert g.Relu().hard_by_hand([0.01]) and not g.Relu().hard_by_hand([0.3])
    assert g.Max().hard_by_hand([1.0, 1.02, -3.0]) and not g.Max().hard_by_hand([1.0, 2.0])
    assert g.Div().hard_by_hand([1.0, 0.2]) and not g.Div().hard_by_hand([0.2, 1.0])
    assert g.Log().hard_by_hand([0.05]) and not g.Mul().hard_by_hand([0.0, 0.0])
    # the same gate: the same kind with the same constant
    assert g.ConstDiv(1.0) == g.ConstDiv(1) and g.ConstDiv(1.0) != g.ConstDiv(2.0)
    assert g.Exp() == g.Exp() and g.Mul() != g.Div()


def test_entry_branches_agree_with_branch_entry_by_entry() -> None:
    import numpy as np

    xs = [np.array([[0.5, -1.0], [0.0, 2.0]]), np.array([[0.7, -2.0], [0.0, 1.0]])]
    for gate in (g.Relu(), g.Abs()):
        fast = gate.entry_branches(np, xs[:1])
        slow = g.Gate.entry_branches(gate, np, xs[:1])
        assert np.frombuffer(fast, dtype=bool).tolist() == list(slow)
    for gate in (g.Max(), g.Min()):
        fast = gate.entry_branches(np, xs)
        slow = g.Gate.entry_branches(gate, np, xs)
        assert np.frombuffer(fast, dtype=np.int64).tolist() == list(slow)


def test_no_module_asks_isinstance_of_a_gate() -> None:
    """A gate answers for itself: only the catalog may test gate classes."""
    import re
    from pathlib import Path

    import backprop_cli

    catalog = {"gates.py", "vector_gates.py"}
    classes = "|".join(
        name for name, value in vars(g).items() if isinstance(value, type) and name[0].isupper()
    )
    asks = re.compile(
        rf"isinstance\([^)]*\b(?:g|gates|vg|vector_gates)\.(?:{classes}|[A-Z]\w*Gate)\b"
        r"|isinstance\(\s*[\w.]*gate\b|type\([\w.]*gate\)|gate\)\.__name__|getattr\([\w.]*gate\b"
    )
    root = Path(backprop_cli.__file__).parent
    found = [
        f"{path.relative_to(root)}:{n}"
        for path in root.rglob("*.py")
        if path.name not in catalog
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if asks.search(line)
    ]
    assert found == []
