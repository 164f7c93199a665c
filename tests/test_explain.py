"""`--explain`: the backward pass in sentences, read against the notes.

The expected sentences are the notes' own wording (the neuron's 1/x gate passes
-1/1.37² = -0.53) and the staged example of the notes (x = 3, y = -4), where x
is used three times and receives 1.58 from xpy, -0.04 from sigx and 0.51 from num.
"""

from __future__ import annotations

import io
import math
import re

import pytest
from notes import NEURON, NEURON_VALUES, STAGED
from rich.console import Console

from backprop_cli.pipeline import trace_text
from backprop_cli.render.explain import explain, explain_view, words


def sentences(text: str, values: dict[str, float], **kw: object) -> list[str]:
    """The sentences about numbers (the pattern reminders are tested on their own)."""
    trace = trace_text(text, values, check=False, **kw).trace  # type: ignore[arg-type]
    return [s.text for s in explain(trace) if s.kind != "pattern"]


def test_the_notes_patterns_are_named_once_each() -> None:
    trace = trace_text("1/(1+exp(-(w0*x0+w1*x1+w2)))", NEURON_VALUES, check=False).trace
    said = explain(trace)
    patterns = [s.text for s in said if s.kind == "pattern"]
    # +1 passes through, *-1 scales, add distributes, mul switches: each said once.
    assert patterns == [
        "Adding a constant passes the upstream gradient through unchanged.",
        "Multiplying by a constant scales the gradient by -1.",
        "Add distributes: each input receives the upstream gradient unchanged.",
        "Mul switches: each input's local gradient is the other input's value.",
    ]
    # Each follows the first gate it describes.
    kinds = [s.kind for s in said]
    first_add = next(i for i, s in enumerate(said) if s.text.startswith("The add gate"))
    assert kinds[first_add + 1] == "pattern" and said[first_add + 1].text.startswith("Add")


def test_the_neurons_1_over_x_gate_reads_as_the_notes() -> None:
    said = sentences(NEURON, NEURON_VALUES)
    assert said[1] == (
        "The 1/x gate receives upstream 1.00; its local gradient is -1/s7² = -1/1.37² = -0.53, "
        "so it passes -0.53 to its input s7."
    )
    # "The increment node does not change the gradient on its input": -0.53 again.
    assert said[2] == (
        "The +1 gate receives upstream -0.53; its local gradient is 1, "
        "so it passes -0.53 to its input s6."
    )
    # "The exp node input gradient will be exp(-1) * -0.53 = -0.2"
    assert said[3] == (
        "The exp gate receives upstream -0.53; its local gradient is exp(s5) = exp(-1.00) = 0.37, "
        "so it passes -0.20 to its input s5."
    )
    # "The negative gain node will be -1 * -0.2 = 0.2"
    assert said[4] == (
        "The *-1 gate receives upstream -0.20; its local gradient is -1, "
        "so it passes 0.20 to its input s4."
    )
    # "dw0 will be 0.2 * -1 = -0.2, dx0 will be 0.2 * 2 = 0.4": at two decimals
    # 0.20 × 2.00 = 0.40 is not the 0.39 passed (0.1966 × 2 = 0.3932), so the sentence
    # shows the digits its arithmetic needs.
    assert said[-2] == (
        "The mul gate receives upstream 0.1966; its local gradients are x0 = -1.00 for w0 and "
        "w0 = 2.00 for x0, so it passes -0.1966 to w0 and 0.3932 to x0."
    )


def test_start_and_result_sentences() -> None:
    said = sentences(NEURON, NEURON_VALUES)
    assert (
        said[0] == "The backward pass starts at the output f = 0.73 with the gradient ∂f/∂f = 1.00."
    )
    assert said[-1] == (
        "So ∂f/∂w0 = -0.20, ∂f/∂x0 = 0.39, ∂f/∂w1 = -0.39, ∂f/∂x1 = -0.59 and ∂f/∂w2 = 0.20."
    )
    assert len(said) == 1 + 8 + 1  # start, one per gate, result


def hand_staged(x: float, y: float) -> dict[str, float]:
    """The staged example's backward pass by hand, as the notes write it."""
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    sigy, sigx = sig(y), sig(x)
    num, xpy = x + sigy, x + y
    den = sigx + xpy**2
    invden = 1 / den
    dnum, dinvden = invden, num
    dden = -1 / den**2 * dinvden
    dsigx = dxpysqr = dden
    dxpy = 2 * xpy * dxpysqr
    return {
        "x_from_xpy": dxpy,
        "x_from_sigx": (1 - sigx) * sigx * dsigx,
        "x_from_num": dnum,
        "dsigy": dnum,
        "y_from_sigy": (1 - sigy) * sigy * dnum,
    }


def test_staged_example_fork_reads_as_the_notes() -> None:
    hand = hand_staged(3, -4)
    said = sentences(STAGED, {"x": 3, "y": -4}, fuse="sigmoid")
    fork = next(s for s in said if s.startswith("x receives"))
    assert fork == (
        "x receives 1.58319 from xpy, -0.03576 from sigx and 0.51214 from num: "
        "they add up to 2.05957."
    )
    # The same numbers, by hand; at 2 decimals they would read 1.58 - 0.04 + 0.51 = 2.06,
    # which does not add up (nor does it at 3 or 4), so the sentence shows 5.
    parts = [hand["x_from_xpy"], hand["x_from_sigx"], hand["x_from_num"]]
    assert [f"{p:.5f}" for p in parts] == ["1.58319", "-0.03576", "0.51214"]
    assert f"{sum(parts):.5f}" == "2.05957"
    assert round(sum(round(p, 2) for p in parts), 2) != round(sum(parts), 2)


def test_staged_example_sentences_use_the_stage_names() -> None:
    said = sentences(STAGED, {"x": 3, "y": -4}, fuse="sigmoid")
    assert said[1] == (
        "The mul gate receives upstream 1.00; its local gradients are invden = 0.51 for num "
        "and num = 3.02 for invden, so it passes 0.51 to num and 3.02 to invden."
    )
    assert said[2] == (
        "The 1/x gate receives upstream 3.02; its local gradient is -1/den² = -1/1.95² = -0.26, "
        "so it passes -0.79 to its input den."
    )
    assert (
        "The sigmoid gate receives upstream -0.79; its local gradient is "
        "sigx·(1 - sigx) = 0.95·(1 - 0.95) = 0.05, so it passes -0.04 to its input x."
    ) in said
    assert "y receives 1.58 from xpy and 0.01 from sigy: they add up to 1.59." in said
    # A fork sentence comes before the forked value's own gate, once all shares are in.
    assert said.index("y receives 1.58 from xpy and 0.01 from sigy: they add up to 1.59.") > (
        next(
            i for i, s in enumerate(said) if s.startswith("The sigmoid gate receives upstream 0.51")
        )
    )


def test_fork_on_a_gate_comes_before_its_sentence() -> None:
    # q = x*y = 6 is used three times (q*q reads it twice): d(q² + q)/dq = 2q + 1 = 13,
    # and q gathers all of it before passing anything on.
    said = sentences("q = x*y; f = q*q + q", {"x": 2, "y": 3})
    fork = said.index(
        "q receives 1.00 from f, 6.00 from s1 and 6.00 from s1: they add up to 13.00."
    )
    own = next(
        i for i, s in enumerate(said) if s.startswith("The mul gate receives upstream 13.00")
    )
    assert fork == own - 1


def test_negative_values_are_parenthesised_once() -> None:
    said = sentences("1/x", {"x": -2})
    assert "-1/x² = -1/(-2.00)² = -0.25" in said[1]


def test_tiny_numbers_are_not_shown_as_zero() -> None:
    said = sentences("sigmoid(x)", {"x": 12})
    assert "0.00 " not in " ".join(said)
    assert "6.1e-06" in said[1]  # σ(12)(1 − σ(12)) = 6.144e-06


def test_symbolic_explain_names_the_formulas() -> None:
    said = sentences("x*y", {})
    assert said[1] == (
        "The mul gate receives upstream 1; its local gradients are y for x and x for y, "
        "so it passes y to x and x to y."
    )


def test_words() -> None:
    assert words([]) == ""
    assert words(["a"]) == "a"
    assert words(["a", "b"]) == "a and b"
    assert words(["a", "b", "c"]) == "a, b and c"


def test_view_at_a_fixed_width() -> None:
    trace = trace_text("(x + y) * z", {"x": -2, "y": 5, "z": -4}, check=False).trace
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(explain_view(trace))
    out = "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())  # type: ignore[attr-defined]
    assert out == (
        "The backward pass, step by step\n"
        "f   The backward pass starts at the output f = -12.00 with the gradient ∂f/∂f = 1.00.\n"
        "f   The mul gate receives upstream 1.00; its local gradients are z = -4.00 for s1 and "
        "s1 = 3.00 for\n"
        "    z, so it passes -4.00 to s1 and 3.00 to z.\n"
        "    Mul switches: each input's local gradient is the other input's value.\n"
        "s1  The add gate receives upstream -4.00; its local gradients are 1 for x and 1 for y, "
        "so it passes\n"
        "    -4.00 to x and -4.00 to y.\n"
        "    Add distributes: each input receives the upstream gradient unchanged.\n"
        "f   So ∂f/∂x = -4.00, ∂f/∂y = -4.00 and ∂f/∂z = 3.00."
    )


def test_formulas_use_the_wire_names_never_a_generic_x() -> None:
    # relu(w*x + b) at x = 3: the relu reads s2 = w*x + b = -5, and an input is called x
    said = sentences("relu(w*x + b)", {"x": 3, "w": -2, "b": 1})
    relu = next(s for s in said if s.startswith("The relu gate"))
    assert "𝟙(s2 > 0) = 𝟙(-5.00 > 0) = 0.00" in relu and "𝟙(x > 0)" not in relu
    assert relu.endswith("to its input s2.")
    square = sentences("q = x + y; f = q**2", {"x": 1, "y": 2})
    assert "its local gradient is 2·q = 2·3.00 = 6.00" in square[1]


def test_the_fused_sigmoid_reads_from_its_cached_output() -> None:
    said = sentences("sigmoid(x)", {"x": 1})
    f = 1 / (1 + math.exp(-1))  # 0.7311; f(1 - f) = 0.1966
    assert f"{f:.2f}" == "0.73" and f"{f * (1 - f):.2f}" == "0.20"
    assert "its local gradient is f·(1 - f) = 0.73·(1 - 0.73) = 0.20" in said[1]


NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.(\d+))?(?:e-?\d+)?(?![\w²])")


def _numbers(text: str) -> list[tuple[float, int]]:
    """Each number written in a sentence, with how many decimals it is shown with."""
    return [(float(m.group()), len(m.group(1) or "")) for m in NUMBER.finditer(text)]


@pytest.mark.parametrize(
    ("text", "values"),
    [
        (NEURON, NEURON_VALUES),
        (STAGED, {"x": 3, "y": -4}),
        ("a*b*c + a/b", {"a": 0.37, "b": -1.9, "c": 2.6}),
    ],
)
def test_the_arithmetic_in_every_sentence_checks_on_screen(
    text: str, values: dict[str, float]
) -> None:
    checked = 0
    for s in sentences(text, values):
        if s.startswith("The ") and " gate receives upstream " in s and "local gradients" not in s:
            said = s.split("receives upstream", 1)[1]  # after the gate's name (+1, *-1)
            (upstream, _), *_, (local, _), (passed, places) = _numbers(said)
            assert abs(upstream * local - passed) <= 0.5 * 10**-places + 1e-12, s
            checked += 1
        if " receives " in s and "add up to" in s:
            *parts, (total, places) = _numbers(s)
            assert abs(sum(p for p, _ in parts) - total) <= 0.5 * 10**-places + 1e-12, s
            checked += 1
    assert checked >= 2


def test_symbolic_gradients_staged_then_expanded_in_one_power_notation() -> None:
    said = sentences("q = x*y; f = q*q + q", {})
    assert (
        said[-1]
        == "So ∂f/∂x = y·(2·q + 1) = y·(2·x·y + 1) and ∂f/∂y = x·(2·q + 1) = x·(2·x·y + 1)."
    )
    neuron = sentences("1/(1+exp(-(w0*x0+w1*x1+w2)))", {})
    assert "**" not in " ".join(neuron) and "s7²" in " ".join(neuron)


def test_inputs_in_the_order_typed() -> None:
    said = sentences(STAGED, {"x": 3, "y": -4})  # y is used first, x typed first
    assert said[-1].startswith("So ∂f/∂x = 2.06 and ∂f/∂y = 1.59")


def view_at(width: int, text: str, values: dict[str, object]) -> str:
    trace = trace_text(text, values, check=False).trace  # type: ignore[arg-type]
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(explain_view(trace))
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())  # type: ignore[attr-defined]


def test_a_max_tie_says_the_gradient_is_split() -> None:
    """max(1, 1) gives each tied input half of the upstream 3 (the kink warning's rule):
    the pattern line said "the whole gradient goes to the largest input, none to the
    others" right after the sentence that passed 1.50 to each."""
    out = view_at(80, "max(x,y)*z", {"x": 1, "y": 1, "z": 3})
    assert out.split("\n")[6:] == [
        "s1  The max gate receives upstream 3.00; its local gradients are 𝟙(x is the",
        "    largest) = 𝟙(1.00 is the largest) = 0.50 for x and 𝟙(y is the largest) =",
        "    𝟙(1.00 is the largest) = 0.50 for y, so it passes 1.50 to x and 1.50 to y.",
        "    Max routes: the whole gradient goes to the largest input, none to the",
        "    others; where inputs tie for the largest, as here, it is split evenly among",
        "    them.",
        "f   So ∂f/∂x = 1.50, ∂f/∂y = 1.50 and ∂f/∂z = 1.00.",
    ]
    # Away from a tie the notes' words hold as they are.
    apart = view_at(80, "max(x,y)*z", {"x": 2, "y": 1, "z": 3})
    assert "none to the\n    others.\n" in apart and "tie" not in apart


def test_a_tie_in_a_vectors_min_says_the_gradient_is_split() -> None:
    from backprop_cli.core.language import parse_bindings

    tie = trace_text("min(v)", parse_bindings(["v=[2,1,1]"]), check=False).trace
    said = explain(tie)
    patterns = [s.text for s in said if s.kind == "pattern"]
    assert patterns == [
        "Min routes: the whole gradient goes to the smallest entry; where entries tie, "
        "it is split evenly among them."
    ]
    said = explain(trace_text("min(v)", parse_bindings(["v=[2,1,3]"]), check=False).trace)
    assert [s.text for s in said if s.kind == "pattern"] == [
        "Min routes: the whole gradient goes to the smallest entry."
    ]


def test_the_json_pattern_is_the_explanations_at_a_tie() -> None:
    """`--json` carries the same pattern words as `--explain`: at max(1, 1) the split."""
    from backprop_cli.render.json import trace_dict

    tie = trace_text("max(x,y)*z", {"x": 1, "y": 1, "z": 3}, check=False).trace
    apart = trace_text("max(x,y)*z", {"x": 2, "y": 1, "z": 3}, check=False).trace
    assert trace_dict(tie, [])["steps"][0]["pattern"] == (
        "max routes: the whole gradient goes to the largest input, none to the others; "
        "where inputs tie for the largest, as here, it is split evenly among them"
    )
    assert trace_dict(apart, [])["steps"][0]["pattern"] == (
        "max routes: the whole gradient goes to the largest input, none to the others"
    )
