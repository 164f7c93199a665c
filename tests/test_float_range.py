"""Gradients float64 cannot hold: the engine says where it lost them, the judges say so.

The notes' staged sigmoid at x = -373: s3 = 1 + e^373 = 9.8e161 is a float, but the
local gradient of 1/x there, -1/s3², is -1.04e-324, below the smallest float, so
backprop sends 0 back while the true gradient e^-373 = 1.02e-162 is a float. Every
expected number here comes from `math` (floats) or `fractions` (exact), never from the
program.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy
from typer.testing import CliRunner

from backprop_cli.checks import numeric, symbolic
from backprop_cli.cli import app
from backprop_cli.core import engine
from backprop_cli.core.language import parse_bindings
from backprop_cli.pipeline import trace_text

STAGED = "1/(1+exp(-x))"


def checked(text: str, *bindings: str) -> tuple[engine.Trace, list[str], list[str]]:
    """The trace, the two judges' statuses, and their messages."""
    result = trace_text(text, parse_bindings(list(bindings)))
    return (
        result.trace,
        [c.status for c in result.checks],
        [c.message for c in result.checks],
    )


def sigmoid_slope(x: float) -> float:
    """σ'(x) = e^-|x| / (1 + e^-|x|)², which never overflows."""
    z = math.exp(-abs(x))
    return z / (1 + z) ** 2


def wide(value: Fraction) -> str:
    """A number past the float range in 3 digits, by exact arithmetic: -1.04e-324."""
    size = abs(value)
    exponent = len(str(size.numerator)) - len(str(size.denominator))
    while size >= Fraction(10) ** (exponent + 1):
        exponent += 1
    while size < Fraction(10) ** exponent:
        exponent -= 1
    hundredths = round(size / Fraction(10) ** exponent * 100)  # 3 digits: d.dd
    if hundredths == 1000:
        hundredths, exponent = 100, exponent + 1
    sign = "-" if value < 0 else ""
    return f"{sign}{hundredths // 100}.{hundredths % 100:02d}e{exponent:+03d}"


NOTE = (
    "A number went below the smallest float at step f (see the warning): the chain "
    "rule is right, float64 is not enough for these numbers"
)


# --------------------------------------------------------------------------- the judges


def test_the_sympy_judge_disagrees_with_a_gradient_lost_below_the_float_range() -> None:
    trace, statuses, messages = checked(STAGED, "x=-373")
    want = sigmoid_slope(-373)  # e^-373 / (1 + e^-373)² = 1.02e-162, a float
    assert want > 0 and trace.gradients["x"] == 0  # the engine's 0: what was "agree"
    assert statuses == ["disagree", "disagree"]
    assert messages[0] == f"disagree on x: got 0, sympy {want:.6g}. {NOTE}"


@pytest.mark.parametrize(
    ("text", "bindings"),
    [
        ("x*0", ["x=3"]),  # true zeros: exactly 0, in floats and in sympy
        ("relu(x)", ["x=-2"]),
        ("x - x", ["x=0.3"]),
        ("(x+1)**2 - x*x - 2*x", ["x=0.1"]),  # 0 up to float rounding (2e-16)
        ("(x + y) * z", ["x=-2", "y=5", "z=-4"]),  # the notes' first circuit
        ("sigmoid(x)", ["x=20"]),  # σ'(20) = 2.1e-9: 1 - σ keeps 7 digits, within 10%
        (STAGED, ["x=-30"]),  # e^-30: far out, in range
        ("sum(relu(x))", ["x=[-1,2]"]),
    ],
)
def test_both_judges_still_agree_on_ordinary_traces_and_true_zeros(
    text: str, bindings: list[str]
) -> None:
    trace, statuses, _ = checked(text, *bindings)
    assert statuses == ["agree", "agree"]
    assert trace.float_losses == []


def test_a_zero_that_sympy_leaves_a_residue_of_is_still_zero() -> None:
    # tanh(x) - (2σ(2x) - 1) is 0 for every x, but sympy does not cancel it: 30 digits
    # leave a residue about 1e-30 of its terms. At the exact point (0.3's binary value as
    # a rational) evalf raises its precision and finds no digits: 0.
    x = sympy.Symbol("x", real=True)
    zero = sympy.diff(sympy.tanh(x) - 2 / (1 + sympy.exp(-2 * x)) + 1, x)
    residue = float(zero.xreplace({x: sympy.Float("0.3", 30)}).evalf(30))
    assert abs(residue) < 1e-25
    exact = {x: symbolic._exact_rational(0.3)}
    assert exact[x] == sympy.Rational(5404319552844595, 2**54)  # 0.3 in binary, by hand
    assert symbolic._tiny_value(zero, exact, residue) == 0
    # e^-x at 373 is 1.02e-162 at any precision: not a zero
    real = sympy.exp(-x)
    assert symbolic._tiny_value(real, {x: sympy.Integer(373)}, 0.0) == pytest.approx(
        math.exp(-373), rel=1e-15
    )
    # 1 - tanh(40)² = 4/(e^40 + e^-40)²: 7.2e-35, which 30-digit Floats give as 0
    slope = sympy.diff(sympy.tanh(x), x)
    assert float(slope.xreplace({x: sympy.Float(40, 30)}).evalf(30)) == 0
    assert symbolic._tiny_value(slope, {x: sympy.Integer(40)}, 0.0) == pytest.approx(
        4 / (math.exp(40) + math.exp(-40)) ** 2, rel=1e-15
    )


@pytest.mark.parametrize(
    ("text", "x", "gradient"),
    [
        # 3·x is 1.0 in floats (the forward pass rounds), so w gets 0; exactly, x is
        # 6004799503160661/2^54 and 3x - 1 = -2^-54 = -5.6e-17: float rounding, under
        # the 1e-12 floor
        ("w*(3*x - 1)", 0.3333333333333333, lambda x: 3 * x - 1),
        # x = 1 + 2^-52 exactly: x - 1 = 2^-52 = 2.22e-16, the engine's number (the
        # decimal text "1.0000000000000002" makes it 2e-16)
        ("w*(x - 1)", 1.0000000000000002, lambda x: x - 1),
        # x² - 2 at the binary x nearest √2 is 2.7e-16; x*x in floats is 2 + 2^-51
        ("w*(x**2 - 2)", 1.4142135623730951, lambda x: x**2 - 2),
    ],
)
def test_a_gradient_tiny_from_forward_rounding_agrees_and_exits_0(
    runner: CliRunner, text: str, x: float, gradient: Callable[[Fraction], Fraction]
) -> None:
    exact, typed = gradient(Fraction(x)), gradient(Fraction(repr(x)))
    assert 0 < abs(exact) < Fraction(1, 10**15) and exact != typed  # tiny, not a zero
    trace, statuses, _ = checked(text, f"x={x!r}", "w=1")
    assert trace.float_losses == []  # nothing float64 lost: forward rounding
    assert statuses[0] == "agree"
    # No loss recorded, so the value is not evaluated again at the binary point (that
    # costs 1.8 ms a value): sympy's is its 30 digits at the decimal text, and both it
    # and the engine's are under the floor
    result = trace_text(text, parse_bindings([f"x={x!r}", "w=1"]))
    assert result.checks[0].expected["w"] == pytest.approx(float(typed), rel=1e-12, abs=0)
    assert runner.invoke(app, ["trace", text, f"x={x!r}", "w=2"]).exit_code == 0


def test_the_share_rule_holds_only_the_inputs_behind_a_lost_gradient() -> None:
    # The staged sigmoid at y = -373 loses y's gradient (σ'(-373) = 1.02e-162: 1/s² of
    # s = 1 + e^373 is below the smallest float); w's -2^-54 from the forward rounding
    # of 3·x is not behind that step and still agrees under the floor
    trace, statuses, messages = checked(
        "w*(3*x - 1) + 1/(1+exp(-y))", "x=0.3333333333333333", "w=2", "y=-373"
    )
    (loss,) = trace.float_losses
    assert loss.reaches == frozenset({"y"})
    assert statuses[0] == "disagree"
    assert messages[0].startswith(f"disagree on y: got 0, sympy {sigmoid_slope(-373):.6g}.")
    # after a lost value (u*v = 1e-400 is 0) every number is held to the share rule
    trace, _, messages = checked(
        "w*(3*x - 1) + u*v*z", "x=0.3333333333333333", "w=2", "u=1e-200", "v=1e-200", "z=1e200"
    )
    assert [loss.reaches for loss in trace.float_losses] == [None]
    assert "disagree on w: got 0" in messages[0]


@pytest.mark.parametrize(
    ("text", "x", "want"),
    [
        # 1 - tanh(x)² = 1/cosh(x)²: 1.7e-17, 1.2e-29, 7.2e-35, 5.5e-87. The notes' form
        # 1 - t² gave 0 from |x| ≈ 19 (t rounds to 1) and σ(1 - σ) from x ≈ 37; the
        # engine computes both without the cancellation (gates.FloatMath.tanh_slope)
        ("tanh(x)", 20, 1 / math.cosh(20) ** 2),
        ("tanh(x)", 34, 1 / math.cosh(34) ** 2),
        ("tanh(x)", 40, 1 / math.cosh(40) ** 2),
        ("tanh(x)", 100, 1 / math.cosh(100) ** 2),
        ("sigmoid(x)", 40, sigmoid_slope(40)),
        ("sigmoid(x)", 80, sigmoid_slope(80)),
        ("sigmoid(x)", -373, sigmoid_slope(-373)),  # the one gate the warnings advise
    ],
)
def test_a_saturated_gradient_far_out_keeps_its_digits_and_agrees(
    text: str, x: int, want: float
) -> None:
    trace, statuses, _ = checked(text, f"x={x}")
    assert trace.gradients["x"] == pytest.approx(want, rel=1e-13)
    assert trace.float_losses == []
    assert statuses[0] == "agree"
    assert statuses[1] != "disagree"  # finite differences cannot resolve it: skipped


def test_the_numpy_kit_keeps_them_too() -> None:
    trace, statuses, _ = checked("sum(tanh(x))", "x=[20,40]")
    want = [1 / math.cosh(20) ** 2, 1 / math.cosh(40) ** 2]
    assert list(trace.gradients["x"]) == pytest.approx(want, rel=1e-13)
    assert trace.float_losses == [] and statuses[0] == "agree"


def test_a_gradient_below_the_float_range_is_float64s_best_0() -> None:
    # tanh at 1000: 1 - tanh² = 4e^-2000 ≈ 1e-868, below 4.9e-324 / 1.8e308 = 2.7e-632:
    # no upstream brings it back into range at this step, and the true gradient is no
    # float either, so 0 is float64's nearest number: no warning, both judges agree
    assert -2000 * math.log10(math.e) + math.log10(4) < math.log10(5e-324) - math.log10(
        1.7976931348623157e308
    )
    trace, statuses, _ = checked("tanh(x)", "x=1000")
    assert trace.float_losses == []
    assert statuses == ["agree", "agree"]
    # the edge, 4e^-2x = 2.7e-632, is at x = 727.8: 727 is said, 729 is not
    edge = math.log10(5e-324) - math.log10(1.7976931348623157e308)
    assert math.log10(4) - 2 * 727 * math.log10(math.e) > edge
    assert math.log10(4) - 2 * 729 * math.log10(math.e) < edge
    assert len(checked("tanh(x)", "x=727")[0].float_losses) == 1
    assert checked("tanh(x)", "x=729")[0].float_losses == []
    # (1e-200)**1e300 is 2.4e-200000…0: no number is built of it (it took minutes)
    trace, statuses, _ = checked("x**y", "x=1e-200", "y=1e300")
    assert trace.float_losses == [] and statuses == ["agree", "agree"]
    # at 400 the local, 4e^-800 = 1.5e-347, is above that edge: said, as at -373; the
    # judges agree, since the true gradient is itself below the smallest float
    trace, statuses, _ = checked("tanh(x)", "x=400")
    (loss,) = trace.float_losses
    assert loss.beyond_range and "is below the smallest float (x = 400)" in loss.message
    assert statuses == ["agree", "agree"]


def test_a_product_lost_in_one_broadcast_entry_is_kept_by_the_sum() -> None:
    # ∂/∂b of sum(c·x·b) = c·(x0 + x1) = 1e-200·(1e-200 + 1) = 1e-200 + 1e-400: the
    # engine's sum over the broadcast entries is 1e-200, which keeps it; entry 0's
    # product 1e-400 is lost, the gradient sent back to b is not
    trace, statuses, _ = checked("sum(c*(x*b))", "c=1e-200", "x=[1e-200,1]", "b=1")
    assert trace.gradients["b"] == 1e-200
    assert statuses == ["agree", "agree"]
    assert not any("sends back" in loss.message for loss in trace.float_losses)
    # the one warning left is true: the value c·s1 at entry 0 is 1e-400, 0 in floats
    (value,) = trace.float_losses
    assert value.message.startswith("the value of s2 = c * s1 (entry [0]) is below")


def test_a_broadcast_input_whose_sum_is_lost_is_named() -> None:
    # x = [1e-200, 1e-200]: b gets 1e-400 + 1e-400 = 2e-400 exactly, 0 in floats
    trace, _, _ = checked("sum(c*(x*b))", "c=1e-200", "x=[1e-200,1e-200]", "b=1")
    assert trace.gradients["b"] == 0
    sent = [loss.message for loss in trace.float_losses if "sends back to b" in loss.message]
    assert len(sent) == 1
    assert sent[0].startswith(
        "at s1 the product upstream 1e-200 × local 1e-200 = 1.00e-400 is below the smallest "
        "float: it is 0 in floats (entry [0], one of 2 entries this small), so the gradient "
        "it sends back to b is 0"
    )


def test_a_broadcast_sum_past_the_budget_is_said_unlooked() -> None:
    # b's one entry sums 10,001 products: none recomputed, and the note says why
    x = np.full(10_001, 1e-200)
    trace = trace_text("sum(c*(x*b))", {"c": 1e-200, "x": x, "b": 1.0}, check=False).trace
    notes = [loss for loss in trace.float_losses if loss.unsure]
    assert [note.message for note in notes] == [
        "at s1, 10,001 entries of the gradient sent back to b are small enough that float64 "
        "may have lost them; none were recomputed: each entry of b is a sum of 10,001 of "
        "them (a budget of 10,000)"
    ]


def test_an_exact_denormal_is_not_said_to_be_lost() -> None:
    # a = a*0.1, 300 times from 1e-300: the values pass through the denormals. A value
    # whose float is its exact value is kept; the losses said are only those whose
    # float differs from the exact product of the gate's float inputs.
    text = "; ".join(["a = x*0.1"] + ["a = a*0.1"] * 299)
    trace = trace_text(text, parse_bindings(["x=1e-300"])).trace
    said = [loss.message for loss in trace.float_losses if "in exact arithmetic" in loss.message]
    assert said
    for message in said:
        found = re.search(r"it is (\S+) in exact arithmetic and (\S+) in floats", message)
        assert found is not None
        assert found[1] != found[2], message
    # by hand: a value is lost where its float is 0 or off by more than 0.1% of
    # 0.1 × its float input, exactly; every step named is lost, the first lost is named
    values = trace.values
    lost = []
    for node in trace.graph.gate_nodes:
        (j,) = node.inputs  # a = a*0.1 is one gate: times a constant
        exact = Fraction(1, 10) * Fraction(values[j])
        got = values[node.index]
        if got == 0 or abs(Fraction(got) - exact) > abs(exact) / 1000:
            lost.append(node.ref)
    named = [loss.step for loss in trace.float_losses]
    assert named[0] == lost[0]
    assert set(named) <= set(lost)


def test_finite_differences_no_longer_round_a_tiny_gradient_to_agreement() -> None:
    # 1/(x*x) at x = 1e102: the true gradient -2/x³ = -2e-306 is a float, backprop's 0
    # (1/s² of s = 1e204) is not it. The old floor of 1e-300 made their difference a
    # "relative error" of 2e-6, under the 1e-5 tolerance: "agree".
    trace, statuses, messages = checked("1/(x*x)", "x=1e102")
    want = -2 / 1e102**3
    assert trace.gradients["x"] == 0
    assert statuses == ["disagree", "disagree"]
    assert messages[1].startswith(f"disagree on x: backprop 0, finite differences {want:.6g}")
    assert numeric._TINY == 5e-324  # only for 0/0


# --------------------------------------------------------------------------- the warning


def test_the_warning_names_the_stage_and_the_numbers() -> None:
    trace, _, _ = checked(STAGED, "x=-373")
    s3 = 1 + math.exp(373)  # the float the engine has at s3
    local = -Fraction(1) / Fraction(s3) ** 2  # -1/s3², exactly
    assert [(loss.step, loss.beyond_range) for loss in trace.float_losses] == [("f", True)]
    assert trace.float_losses[0].message == (
        f"the local gradient at f, -1/s3², is below the smallest float (s3 = {s3:.3g}): "
        f"it is {wide(local)} in exact arithmetic and -0.0 in floats, so the gradient it "
        "sends back to s3 is 0 in float arithmetic, not in exact arithmetic. The rule is "
        "right; float64 cannot hold the number. Keep every stage in range: one gate "
        "instead of a staged form that overflows (sigmoid(x) for 1/(1+exp(-x)), x**-2 "
        "for 1/(x*x)), or smaller inputs"
    )
    assert wide(local) == "-1.04e-324"  # the oracle's own formatting, checked once


def test_a_product_below_the_float_range_is_named() -> None:
    # d/dx of (x·1e-200)·1e-200 = 1e-400: upstream 1e-200 × local 1e-200 at s1
    trace, statuses, _ = checked("(x*1e-200)*1e-200", "x=1")
    assert statuses == ["agree", "agree"]  # 1e-400 is 0 in floats for sympy too
    messages = [loss.message for loss in trace.float_losses]
    assert any(
        m.startswith(
            "at s1 the product upstream 1e-200 × local 1e-200 = 1.00e-400 is below the "
            "smallest float: it is 0 in floats, so the gradient it sends back to x is 0"
        )
        for m in messages
    )


def test_a_value_below_the_float_range_is_named() -> None:
    # x*y at x = y = 1e-200 is 1e-400 exactly, 0 in floats: f = x*y*z is 0, not 1e-200
    trace, statuses, messages = checked("x*y*z", "x=1e-200", "y=1e-200", "z=1e200")
    assert statuses[0] == "disagree"
    assert messages[0].startswith(f"disagree on f: got 0, sympy {1e-200:.6g}. A number went")
    assert trace.float_losses[0].step == "s1"
    assert trace.float_losses[0].message.startswith(
        "the value of s1 = x * y is below the smallest float (x = 1e-200, y = 1e-200): it "
        "is 1.00e-400 in exact arithmetic and 0 in floats."
    )


def test_a_value_lost_to_forward_rounding_is_float_rounding_not_a_loss() -> None:
    # 1 - tanh(20)² written out: tanh(20) rounds to 1.0, so the value is 0 where it is
    # sech²(20) = 1.7e-17 exactly: rounding of a forward value, as 3·x - 1 above, held
    # to the floor; the gradient -2·tanh·sech² = -3.4e-17 keeps its digits
    trace, statuses, _ = checked("1 - tanh(x)**2", "x=20")
    assert trace.value == 0
    want = -2 * math.tanh(20) / math.cosh(20) ** 2
    assert trace.gradients["x"] == pytest.approx(want, rel=1e-13)
    assert statuses[0] == "agree"


def test_an_upstream_zero_is_reported_once_where_it_was_lost() -> None:
    # 1/(x*x) at 1e100: lost at f (1/s1² of 1e200); s1 then gets an upstream 0 and
    # says nothing more
    trace, _, _ = checked("1/(x*x)", "x=1e100")
    assert [loss.step for loss in trace.float_losses] == ["f"]


# --------------------------------------------------------------------------- arrays


def test_a_vector_loses_and_says_it_as_a_number_does() -> None:
    trace, statuses, messages = checked(f"sum({STAGED})", "x=[-373,1]")
    gradient = trace.gradients["x"]
    assert gradient[0] == 0
    assert gradient[1] == pytest.approx(sigmoid_slope(1), rel=1e-12)  # the other entry
    assert statuses[0] == "disagree"
    assert messages[0].startswith(f"disagree on x[0]: got 0, sympy {sigmoid_slope(-373):.6g}.")
    assert NOTE.replace("step f", "step s4") in messages[0]  # the 1/x gate is s4 here
    (loss,) = trace.float_losses
    assert loss.step == "s4"
    assert "-1/s3², is below the smallest float" in loss.message
    assert "(entry [0])" in loss.message


def test_many_lost_entries_are_counted() -> None:
    trace, _, _ = checked(f"sum({STAGED})", "x=[-373,-380,-390,1]")
    (loss,) = trace.float_losses
    assert "(entry [0], one of 3 entries this small)" in loss.message
    assert np.count_nonzero(trace.gradients["x"]) == 1


# --------------------------------------------------------------------------- the commands


def screen(result_output: str) -> str:
    lines = [line.rstrip() for line in result_output.splitlines()]
    return re.sub(r"\(± [0-9.e+-]+\)", "(± U)", "\n".join(lines))


def test_backprop_trace_at_minus_373_exits_1_and_says_why(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trace", STAGED, "x=-373"], terminal_width=80)
    assert result.exit_code == 1
    want = f"{sigmoid_slope(-373):.6g}"  # 1.01896e-162
    s3 = f"{1 + math.exp(373):.3g}"  # 9.81e+161
    local = wide(-Fraction(1) / Fraction(1 + math.exp(373)) ** 2)  # -1.04e-324
    tail = screen(result.stdout).split("Gradients (∂f/∂input)\n", 1)[1]
    assert tail == (
        "\n"
        "  input   value   gradient\n"
        " ──────────────────────────\n"
        "  x        -373          0\n"
        "\n"
        "warning: the local gradient at f, -1/s3², is below the smallest float (s3 =\n"
        f"{s3}): it is {local} in exact arithmetic and -0.0 in floats, so the\n"
        "gradient it sends back to s3 is 0 in float arithmetic, not in exact arithmetic.\n"
        "The rule is right; float64 cannot hold the number. Keep every stage in range:\n"
        "one gate instead of a staged form that overflows (sigmoid(x) for 1/(1+exp(-x)),\n"
        "x**-2 for 1/(x*x)), or smaller inputs\n"
        "warning: the sigmoid 1/(1+exp(-z)) ending at step f (σ(1−σ)) is saturated: its\n"
        f"input is -373, so its local gradient is {sigmoid_slope(-373):.3g} (below 0.001) "
        "and the gradient\n"
        "vanishes behind it\n"
        f"✗ sympy: disagree on x: got 0, sympy {want}. A number went below the\n"
        "smallest float at step f (see the warning): the chain rule is right, float64 is\n"
        "not enough for these numbers\n"
        f"✗ finite differences: disagree on x: backprop 0, finite differences {want}\n"
        "(± U). A number went below the smallest float at step f (see the warning):\n"
        "the chain rule is right, float64 is not enough for these numbers"
    )
    assert "float64's range, not the rule" in result.stderr


def test_the_fused_sigmoid_keeps_the_gradient_in_range(runner: CliRunner) -> None:
    # what the warning advises: one gate, whose local gradient σ(1-σ) = 1.02e-162 is a float
    result = runner.invoke(app, ["trace", STAGED, "x=-373", "--fuse", "sigmoid", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert not any("float" in warning for warning in document["warnings"])
    assert document["gradients"]["x"] == pytest.approx(sigmoid_slope(-373), rel=1e-12)


def test_the_json_warnings_carry_the_loss(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trace", "1/(x*x)", "x=1e100", "--json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["warnings"][0].startswith(
        "the local gradient at f, -1/s1², is below the smallest float (s1 = 1e+200)"
    )
    assert document["checks"]["sympy"]["status"] == "disagree"


LOST = """\
[set]
title = "Far out"

[[problem]]
id = "staged-sigmoid-far"
expression = "1/(1+exp(-x))"
bindings = { x = -373 }
"""


def test_a_problem_row_shows_the_warning(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "far.toml"
    path.write_text(LOST, encoding="utf-8")
    result = runner.invoke(app, ["check", str(path), "--format", "json"])
    assert result.exit_code == 1
    (row,) = json.loads(result.stdout)["problems"]
    assert row["status"] == "fail"
    assert "A number went below the smallest float at step f" in row["message"]
    assert row["warnings"][0].startswith(
        "the local gradient at f, -1/s3², is below the smallest float"
    )
    table = runner.invoke(app, ["check", str(path)], terminal_width=200)
    assert table.exit_code == 1
    assert "warning: the local gradient at f, -1/s3², is below the smallest float" in " ".join(
        table.stdout.split()
    )


# --------------------------------------------------------------------------- overflow, many


@pytest.mark.parametrize(
    ("text", "value"),
    [("(1/x)*1e-300", "x=1e-200"), ("sum((1/x)*1e-300)", "x=[1e-200,1]")],
)
def test_a_local_gradient_past_the_largest_float_is_said_as_such(
    runner: CliRunner, text: str, value: str
) -> None:
    # -1/x² at x = 1e-200 is -1e400, past 1.8e308 (1/x itself, 1e200, is a float). The
    # array case said "division by zero": numpy's "overflow encountered in divide".
    assert math.isinf(-1 / 1e-200 / 1e-200)
    result = runner.invoke(app, ["trace", text, value])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: the local gradient of 1/x overflowed at step s1 (it got "
    )
    assert result.stderr.rstrip().endswith("past the largest float, about 1.8e308")


def test_a_zero_divisor_is_still_a_division_by_zero(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trace", "sum(1/x)", "x=[0,1]"])
    assert result.exit_code == 2
    assert "division by zero at step s1" in result.stderr


def test_many_losses_are_said_three_in_full_and_the_rest_counted() -> None:
    # six staged sigmoids at -373, …, -378: six local gradients 1/s² below the float range
    text = " + ".join(f"1/(1+exp(-x{i}))" for i in range(6))
    trace, _, _ = checked(text, *(f"x{i}={-373 - i}" for i in range(6)))
    assert len(trace.float_losses) == 4
    assert all("below the smallest float" in loss.message for loss in trace.float_losses[:3])
    assert trace.float_losses[3].message.startswith("float64 lost 3 more numbers in the same way")


def test_repeated_entries_are_looked_at_once() -> None:
    # cos'(0) = -sin(0) = 0 exactly, forty times: one recomputation, nothing said
    trace = trace_text("sum(cos(x))", {"x": np.zeros(40)}).trace
    assert trace.float_losses == []


def test_the_budget_says_what_it_did_not_look_at() -> None:
    # d/dx cos(x)·y = -sin(0)·y_i = 0 for 40 different upstreams y_i (y_0 = 0 is no
    # suspect): 16 recomputed, true zeros all, the other 23 not looked at
    result = trace_text("sum(cos(x)*y)", {"x": np.zeros(40), "y": np.arange(40.0)})
    (note,) = result.trace.float_losses
    assert note.unsure and not note.beyond_range
    assert note.message == (
        "at s1, 39 entries of the gradient sent back to x are small enough that float64 "
        "may have lost them; 16 different ones, recomputed in 30 digits, lost nothing, and "
        "the rest were not recomputed (a budget of 16 a gate input)"
    )
    assert all("float64" not in check.message for check in result.checks)


def test_the_stepper_and_the_page_show_the_loss_with_the_other_warnings() -> None:
    from backprop_cli.render.steps import build_steps

    trace = trace_text(STAGED, {"x": -373.0}, check=False).trace
    model = build_steps(trace)
    assert model.warnings[0] == trace.float_losses[0].message  # before the advice
    assert model.warnings[1].startswith("the sigmoid 1/(1+exp(-z)) ending at step f")
