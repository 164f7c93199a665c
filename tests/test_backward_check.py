"""Your own backward pass, checked (issue 11, section 4).

The programs are the notes' own code (examples/notes-*.py); the gradients they should
give are worked out here by hand with `math`, from the notes' formulas.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.errors import InputError
from backprop_cli.pipeline import check_backward_text

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NEURON = (EXAMPLES / "notes-neuron-backward.py").read_text()
STAGED = (EXAMPLES / "notes-staged-backward.py").read_text()
BROKEN = (EXAMPLES / "notes-staged-broken.py").read_text()


def sig(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def staged_by_hand(x: float = 3.0, y: float = -4.0) -> dict[str, float]:
    """f = (x + σ(y)) / (σ(x) + (x + y)²), differentiated by hand."""
    num, den = x + sig(y), sig(x) + (x + y) ** 2
    dnum, dden = 1 / den, -num / den**2
    dxpy = 2 * (x + y) * dden
    return {
        "x": dnum + sig(x) * (1 - sig(x)) * dden + dxpy,
        "y": sig(y) * (1 - sig(y)) * dnum + dxpy,
        "xpy_part": dxpy,
        "sigx_part": sig(x) * (1 - sig(x)) * dden,
    }


def render(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args, terminal_width=80)
    return result.exit_code, "\n".join(line.rstrip() for line in result.stdout.splitlines())


def test_the_notes_neuron_backward_pass_is_all_right() -> None:
    code, out = render(["check-backward", str(EXAMPLES / "notes-neuron-backward.py")])
    assert code == 0
    body = out.split("\n", 1)[1]  # the first line names the file
    assert body == (
        "forward pass: f = 0.7311 at w = [2, -3, -3], x = [-1, -2]\n"
        "\n"
        " line 9   ddot = (1 - f) * f\n"
        "        ✓ right: ∂f/∂dot = 0.1966\n"
        "line 10   dx = [w[0] * ddot, w[1] * ddot]\n"
        "        ✓ right: ∂f/∂x = [0.3932, -0.5898]\n"
        "line 11   dw = [x[0] * ddot, x[1] * ddot, 1.0 * ddot]\n"
        "        ✓ right: ∂f/∂w = [-0.1966, -0.3932, 0.1966]\n"
        "\n"
        "Your gradients: dx = [0.3932, -0.5898], dw = [-0.1966, -0.3932, 0.1966] (the\n"
        "trace's)\n"
        "3 of 3 lines right"
    )
    # the numbers, by hand: ddot = σ(1)(1 − σ(1)), dx = w·ddot, dw = [x, 1]·ddot
    ddot = sig(1) * (1 - sig(1))
    assert f"{ddot:.4f}" == "0.1966" and f"{-3 * ddot:.4f}" == "-0.5898"


def test_the_notes_staged_backward_pass_is_all_right() -> None:
    checked = check_backward_text(STAGED, {})
    assert not checked.failed
    assert [v.status for v in checked.report.lines] == ["right"] * 12
    want = staged_by_hand()
    finals = {f.name: f for f in checked.report.finals}
    assert float(finals["x"].got) == pytest.approx(want["x"])  # 2.06
    assert float(finals["y"].got) == pytest.approx(want["y"])  # 1.59
    said = {v.line: v.message for v in checked.report.lines}
    assert said[25] == (
        "right: what xpy sends back to x (x is used 3 times: add what num and sigx send with +=)"
    )
    assert said[30] == "right: what num sends back; with the lines above, ∂f/∂x = 2.06"


def test_the_broken_copy_names_the_fork_slip() -> None:
    code, out = render(["check-backward", str(EXAMPLES / "notes-staged-broken.py")])
    assert code == 1
    assert (
        "line 28   dx = ((1 - sigx) * sigx) * dsigx\n"
        "        ✗ wrong [fork-one-branch]: dx = … throws away what dx already holds\n"
        "          (what xpy sent back, line 25). x is used 3 times (by xpy, sigx and\n"
        "          num), so its gradients add up: write dx += …\n"
    ) in out
    assert out.endswith("dx ends as 0.4764, but ∂f/∂x = 2.06\n11 of 12 lines right")
    want = staged_by_hand()
    # what the broken code leaves in dx: the sigx part and the num part, xpy's lost
    assert f"{want['x'] - want['xpy_part']:.4f}" == "0.4764"


def test_json_report() -> None:
    result = CliRunner().invoke(
        app, ["check-backward", str(EXAMPLES / "notes-staged-broken.py"), "--json"]
    )
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["failed"] is True
    wrong = [line for line in data["lines"] if line["status"] == "wrong"]
    assert [(w["line"], w["target"], w["slip"]) for w in wrong] == [(28, "dx", "fork-one-branch")]
    want = staged_by_hand()
    assert wrong[0]["want"] == pytest.approx(want["xpy_part"] + want["sigx_part"])
    assert data["gradients"]["x"]["right"] is False
    assert data["gradients"]["x"]["want"] == pytest.approx(want["x"])


@pytest.mark.parametrize(
    ("program", "old", "new", "slip"),
    [
        (NEURON, "ddot = (1 - f) * f", "ddot = f", "sigmoid-not-derivative"),
        (
            NEURON,
            "dx = [w[0] * ddot, w[1] * ddot]",
            "dx = [x[0] * ddot, x[1] * ddot]",
            "mul-no-switch",
        ),
        (NEURON, "dx = [w[0] * ddot, w[1] * ddot]", "dx = [w[0] * ddot, -w[1] * ddot]", "sign"),
        (STAGED, "dden = (-1.0 / (den**2)) * dinvden", "dden = (1.0 / (den**2)) * dinvden", "sign"),
        (STAGED, "dxpy = (2 * xpy) * dxpysqr", "dxpy = (xpy) * dxpysqr", "power-rule"),
        (STAGED, "dnum = invden", "dnum = num", "mul-no-switch"),
        (
            STAGED,
            "dy += ((1 - sigy) * sigy) * dsigy",
            "dy += sigy * dsigy",
            "sigmoid-not-derivative",
        ),
    ],
)
def test_a_wrong_line_is_named_by_its_slip(program: str, old: str, new: str, slip: str) -> None:
    assert old in program
    checked = check_backward_text(program.replace(old, new), {})
    wrong = [v for v in checked.report.lines if v.status == "wrong"]
    assert len(wrong) == 1 and wrong[0].slip == slip, wrong
    assert checked.failed


def test_a_line_reading_a_wrong_gradient_is_judged_on_its_own_rule() -> None:
    broken = STAGED.replace("dnum = invden", "dnum = num")
    lines = {v.line: v for v in check_backward_text(broken, {}).report.lines}
    assert lines[30].status == "right"  # dx += (1) * dnum: the rule is right
    assert "it reads dnum, which is wrong above" in lines[30].message


def test_values_on_the_command_line_override_the_files() -> None:
    checked = check_backward_text(STAGED, {"x": 1.0, "y": 2.0})
    assert not checked.failed
    finals = {f.name: float(f.got) for f in checked.report.finals}
    want = staged_by_hand(1.0, 2.0)
    assert finals["x"] == pytest.approx(want["x"]) and finals["y"] == pytest.approx(want["y"])


def test_helper_names_are_computed_not_judged() -> None:
    program = "f = x*y\ndx = y\nscale = 2\ndy = x * scale / 2"
    checked = check_backward_text(program, {"x": 3.0, "y": -4.0})
    assert [v.status for v in checked.report.lines] == ["right", "unchecked", "right"]


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ("f = x*y", "found no backward pass"),
        ("f = x*y\ndx += y", "needs a value in dx first"),
        ("f = x*y\ndx = q", "q has no value here"),
        ("f = x*y\ndx = [y, [1]]", "mixes numbers and rows"),
    ],
)
def test_bad_backward_code_says_what_to_fix(program: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_backward_text(program, {"x": 3.0, "y": -4.0})


def test_bad_input_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "p.py"
    path.write_text("f = x*y\ndx += y\n")
    result = CliRunner().invoke(app, ["check-backward", str(path), "x=1", "y=2"])
    assert result.exit_code == 2 and "needs a value in dx first" in result.stderr


MATRIX = (EXAMPLES / "notes-matrix-backward.py").read_text()


def test_the_notes_matrix_example_with_its_given_upstream_gradient() -> None:
    # W, X and dD are drawn at random (seeded); the rule is the notes': dW = dD Xᵀ.
    checked = check_backward_text(MATRIX, {})
    assert not checked.failed
    trace = checked.result.trace
    W, X, dD = (np.asarray(trace.bindings[n]) for n in ("W", "X", "dD"))
    assert W.shape == (5, 10) and X.shape == (10, 3) and dD.shape == (5, 3)
    finals = {f.name: f for f in checked.report.finals}
    np.testing.assert_allclose(finals["W"].got, dD @ X.T)
    np.testing.assert_allclose(finals["W"].want, dD @ X.T)
    np.testing.assert_allclose(finals["X"].want, W.T @ dD)
    assert [v.status for v in checked.report.lines] == ["unchecked", "right", "right"]
    assert checked.report.lines[0].message.startswith("given: the upstream gradient on D")
    # the same values every run
    again = check_backward_text(MATRIX, {}).result.trace.bindings
    np.testing.assert_array_equal(again["W"], W)


def test_a_transposed_matrix_gradient_is_named() -> None:
    broken = MATRIX.replace("dW = dD.dot(X.T)", "dW = X.dot(dD.T)")
    checked = check_backward_text(broken, {})
    wrong = [v for v in checked.report.lines if v.status == "wrong"]
    assert [(v.target, v.slip) for v in wrong] == [("dW", "transpose")]


def test_shapes_that_do_not_fit_in_a_backward_line() -> None:
    broken = MATRIX.replace("dX = W.T.dot(dD)", "dX = W.dot(dD)")
    with pytest.raises(InputError, match=r"line 9: W @ dD: the shapes \(5, 10\) and \(5, 3\)"):
        check_backward_text(broken, {})


def test_random_values_at_the_top_are_seeded_and_said() -> None:
    import backprop_cli as bp

    result = bp.trace("W = np.random.randn(2, 3)\nx = [1, 2, 3]\nf = sum(W @ x)")
    assert any("random values, drawn with seed 0" in w for w in result.circuit.graph.warnings)
    W = np.asarray(result.circuit.bindings["W"])
    np.testing.assert_allclose(result.gradients["W"], np.outer(np.ones(2), [1, 2, 3]))
    assert float(result.value) == pytest.approx(float(np.sum(W @ np.array([1, 2, 3]))))
    given = bp.trace("W = np.random.randn(2, 3)\nx = [1, 2, 3]\nf = sum(W @ x)", W=np.ones((2, 3)))
    assert float(given.value) == 12.0


@pytest.mark.parametrize(
    ("program", "status", "slip", "words"),
    [
        ("f = x*y\ndx = y\ndx = y\ndy = x", "right", None, "(again)"),
        ("f = x*y\ndx = y\ndx += y\ndy = x", "wrong", None, "this adds a use twice"),
        ("f = x*x\ndx = x\ndx += x\ndx += x", "wrong", "fork-one-branch", "adds a use twice"),
        ("f = x*y\ndx = [y]\ndy = x", "wrong", None, "x is a plain number"),
    ],
)
def test_lines_after_the_whole_gradient_and_shapes(
    program: str, status: str, slip: str | None, words: str
) -> None:
    report = check_backward_text(
        program, {"x": 3.0, "y": -4.0} if "y" in program else {"x": 3.0}
    ).report
    judged = [v for v in report.lines if v.target == "dx"][-1]
    assert (judged.status, judged.slip) == (status, slip)
    assert words in judged.message


def test_a_forward_stage_called_dx_is_not_a_backward_pass() -> None:
    from backprop_cli.core.language import split_backward

    text = "y = x + 1\ndx = x - 2\nf = dx*y"
    assert split_backward(text) == (text, ())
    forward, lines = split_backward("f = x*y\ndx = y\nscale = 2\ndy = x * scale / 2")
    assert forward == "f = x*y\n" and [line.target for line in lines] == ["dx", "scale", "dy"]


def test_code_and_graph_take_the_forward_part() -> None:
    result = CliRunner().invoke(app, ["code", "--file", str(EXAMPLES / "notes-staged-backward.py")])
    assert result.exit_code == 0
    assert "lines 15–33 are a backward pass" in result.stderr
    assert 'print("df/dx =", dx)' in result.stdout
    drawn = CliRunner().invoke(app, ["graph", "--file", str(EXAMPLES / "notes-neuron-backward.py")])
    assert drawn.exit_code == 0 and "backward pass" in drawn.stderr


def test_the_products_in_slip_messages_check_on_screen() -> None:
    import re

    broken = STAGED.replace("dy += ((1 - sigy) * sigy) * dsigy", "dy += sigy * dsigy")
    [wrong] = [v for v in check_backward_text(broken, {}).report.lines if v.status == "wrong"]
    match = re.search(r"gets (\S+) × \(?([^ )]+)\)? = (-?[\d.]*\d)", wrong.message)
    assert match is not None, wrong.message
    a, b, c = (float(g) for g in match.groups())
    places = len(match.group(3).split(".")[1])
    # 0.5121 × 0.01766 = 0.009044, not the 0.009046 that four digits of each would say
    assert abs(a * b - c) <= 0.5 * 10**-places


# f = x*y + x at x = 2, y = 3, by hand: ∂f/∂x = y + 1 = 4 (x is used twice), ∂f/∂y = x = 2.
FORK = "x = 2\ny = 3\nf = x*y + x\ndf = 1\ndx = y*df\n"


@pytest.mark.parametrize("line", ["dx = dx + df", "dx = df + dx", "dx = dx + 0.5*df + 0.5*df"])
def test_dx_equals_dx_plus_is_judged_as_plus_equals(line: str) -> None:
    checked = check_backward_text(f"{FORK}{line}\ndy = x*df\n", {})
    assert [v.status for v in checked.report.lines] == ["right"] * 4
    assert not checked.failed
    finals = {f.name: float(f.got) for f in checked.report.finals}
    assert finals == {"x": 4.0, "y": 2.0}


def test_the_notes_staged_pass_with_dx_equals_dx_plus_is_all_right() -> None:
    program = STAGED.replace("dx += ", "dx = dx + ")
    assert program.count("dx = dx + ") == 2
    checked = check_backward_text(program, {})
    assert not checked.failed
    assert all(v.status == "right" for v in checked.report.lines)
    finals = {f.name: float(f.got) for f in checked.report.finals}
    assert finals["x"] == pytest.approx(staged_by_hand()["x"])


@pytest.mark.parametrize("noop", ["dx *= 1", "dx += 0*x", "dx /= 1", "dx -= 0"])
def test_a_line_that_changes_nothing_is_not_wrong(noop: str) -> None:
    program = f"{FORK}{noop}\ndx += df\n{noop}\ndy = x*df\n"
    checked = check_backward_text(program, {})
    statuses = [v.status for v in checked.report.lines]
    assert statuses == ["right"] * 6 and not checked.failed
    assert checked.report.lines[2].message == "right: changes nothing, dx stays 3"
    assert checked.report.lines[4].message == "right: changes nothing, dx stays 4"


def test_a_line_that_changes_the_gradient_by_another_rule_is_still_wrong() -> None:
    checked = check_backward_text(f"{FORK}dx *= 2\ndx += df\ndy = x*df\n", {})
    assert checked.report.lines[2].status == "wrong" and checked.failed


@pytest.mark.parametrize(("line", "nth"), [("dx = 1/0", 4), ("dx = y\ndx /= 0", 5)])
def test_division_by_zero_is_a_clear_error_without_numpy_warnings(line: str, nth: int) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's RuntimeWarning would fail the test
        with pytest.raises(
            InputError, match=f"^line {nth}: div cannot be computed: it divides by zero$"
        ):
            check_backward_text(f"x = 2\ny = 3\nf = x*y\n{line}\n", {})


@pytest.mark.parametrize("text", ["", "\n", "# a comment only\n"])
def test_an_empty_file_is_said_to_be_empty(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.py"
    path.write_text(text)
    result = CliRunner().invoke(app, ["check-backward", str(path)])
    assert result.exit_code == 2
    assert "the file is empty" in result.stderr and "found no backward pass" not in result.stderr


@pytest.mark.parametrize(
    ("program", "message"),
    [
        (
            "x = 2\ny = 3\nf = x*y\ndz = 1\n",
            "line 4: dz looks like a gradient, but z is not a name of the forward pass "
            "(x, y, f), so there is no backward pass to check.",
        ),
        (
            "x = 2\ny = 3\nf = x*y\ndff = 1\n",
            "line 4: dff looks like a gradient, but ff is not a name of the forward pass "
            "(x, y, f), so there is no backward pass to check. Did you mean df?",
        ),
    ],
)
def test_a_gradient_of_a_name_the_forward_pass_lacks_is_named(program: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        check_backward_text(program, {})
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("last", "where"),
    [("dy = x +", "invalid syntax (line 5, column 9)"), ("dy = x)", "(line 5, column 7)")],
)
def test_a_syntax_error_in_the_backward_pass_says_where_not_no_backward_pass(
    last: str, where: str
) -> None:
    with pytest.raises(InputError) as caught:
        check_backward_text(f"x = 2\ny = 3\nf = x*y\ndx = y\n{last}\n", {})
    assert where in str(caught.value) and "no backward pass" not in str(caught.value)


def test_a_forward_output_that_starts_with_d_is_not_taken_for_a_gradient() -> None:
    with pytest.raises(InputError, match=r"^found no backward pass"):
        check_backward_text("x = 2\ny = 3\ndist = x*y\n", {})


# --------------------------------------------------------------------------- updates

# f = x*y - x at x = 2, y = 3, by hand: ∂f/∂x = y - 1 = 2 (the subtraction sends -1).
SUB = "x = 2\ny = 3\nf = x*y - x\ndf = 1\ndx = y*df\n"


@pytest.mark.parametrize("line", ["dx -= df", "dx = dx - df", "dx = -df + dx", "dx += -df"])
def test_minus_at_a_subtraction_gate_is_right(line: str) -> None:
    checked = check_backward_text(f"{SUB}{line}\ndy = x*df\n", {})
    assert [v.status for v in checked.report.lines] == ["right"] * 4
    assert (
        checked.report.lines[2].message
        == "right: what f sends back; with the lines above, ∂f/∂x = 2"
    )
    finals = {f.name: float(f.got) for f in checked.report.finals}
    assert finals == {"x": 2.0, "y": 2.0} and not checked.failed


@pytest.mark.parametrize("line", ["dx -= df", "dx = dx - df"])
def test_minus_where_the_use_sends_plus_is_the_sign_slip(line: str) -> None:
    # FORK: f = x*y + x sends +1 to x from the add; taking it away is a sign slip.
    code, out = render_text(f"{FORK}{line}\ndy = x*df\n")
    assert code == 1
    assert (
        f"line 6   {line}\n"
        "       ✗ wrong [sign]: Right size, wrong sign. x gets 1 × 1 = 1. (dx += … adds\n"
        "         -1; it should add 1)\n"
    ) in out
    assert "dx ends as 2, but ∂f/∂x = 4" in out  # 3 - 1, where 3 + 1 is right


# f = x*x at x = 3, by hand: ∂f/∂x = 2x = 6; each use of x sends x·df = 3.
SQUARE = "x = 3\nf = x*x\ndf = 1\ndx = x*df\n"


@pytest.mark.parametrize(
    ("line", "op"), [("dx *= 2", "*="), ("dx = 2*dx", "="), ("dx = dx * 2", "=")]
)
def test_a_rescale_that_adds_the_uses_left_is_right(line: str, op: str) -> None:
    checked = check_backward_text(f"{SQUARE}{line}\n", {})
    assert [v.status for v in checked.report.lines] == ["right"] * 3
    assert checked.report.lines[2].message == (
        f"right: dx {op} … adds 3: what f sends back; with the lines above, ∂f/∂x = 6"
    )
    assert float(checked.report.finals[0].got) == 6.0


@pytest.mark.parametrize(
    ("line", "op"), [("dx *= 2", "*="), ("dx = 2*dx", "="), ("dx = dx * 2", "=")]
)
def test_a_rescale_that_adds_anything_else_is_wrong(line: str, op: str) -> None:
    # FORK: dx holds 3 (from x*y); the add's use sends 1, doubling adds 3.
    checked = check_backward_text(f"{FORK}{line}\ndy = x*df\n", {})
    verdict = checked.report.lines[2]
    assert verdict.status == "wrong" and checked.failed
    assert verdict.message == (
        f"dx {op} … rewrites what dx holds (3 to 6), adding 3; what is left to add is 1. "
        "No rule rescales a gradient: gradients add up, so write dx += …"
    )


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("program", "message"),
    [
        (  # dff before the backward pass was read as the forward pass's output
            "x = 2\ny = 3\nf = x*y\ndff = 1\ndx = y*df\ndy = x*df\n",
            "line 4: dff: there is no input or stage named ff; did you mean df? A gradient "
            "is d and the name of a value of the forward pass (x, y, f); a helper of your "
            "own that starts with d is read by a later line",
        ),
        (
            "x = 2\ny = 3\nf = x*y\ndf = 1\ndxx = y*df\ndy = x*df\n",
            "line 5: dxx: there is no input or stage named xx; did you mean dx? A gradient "
            "is d and the name of a value of the forward pass (x, y, f); a helper of your "
            "own that starts with d is read by a later line",
        ),
        (
            "x = 2\ny = 3\nf = x*y\ndf = 1\ndx = y*df\ndzzz = x*df\n",
            "line 6: dzzz: there is no input or stage named zzz. A gradient is d and the "
            "name of a value of the forward pass (x, y, f); a helper of your own that "
            "starts with d is read by a later line",
        ),
    ],
)
def test_a_mistyped_gradient_name_is_named(program: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        check_backward_text(program, {})
    assert str(caught.value) == message


def test_an_output_named_with_a_d_that_reads_the_forward_pass_stays_its_output() -> None:
    # dist = (a - b)² at a = 3, b = 1: dist = 4, ∂dist/∂diff = 2·diff = 4, so
    # ∂dist/∂a = 4 and ∂dist/∂b = -4. `dist` reads `diff`, a value of the forward pass:
    # it is the output, not a mistyped gradient (it was refused as "no stage named ist").
    program = (
        "a = 3.0\nb = 1.0\ndiff = a - b\ndist = diff*diff\n"
        "ddist = 1\nddiff = 2*diff*ddist\nda = ddiff\ndb = -ddiff\n"
    )
    checked = check_backward_text(program, {})
    assert [v.status for v in checked.report.lines] == ["right"] * 4
    assert checked.result.trace.gradients == {"a": 4.0, "b": -4.0}


def test_a_d_helper_read_by_a_later_line_is_computed_not_refused() -> None:
    program = "x = 2\ny = 3\nf = x*y\ndf = 1\ndtmp = df\ndx = y*dtmp\ndy = x*df\n"
    checked = check_backward_text(program, {})
    assert [v.status for v in checked.report.lines] == ["right", "unchecked", "right", "right"]


# --------------------------------------------------------------------------- numpy forms

NEURON_TOP = (
    "w = [2,-3,-3]\nx = [-1, -2]\ndot = w[0]*x[0] + w[1]*x[1] + w[2]\n"
    "f = 1.0 / (1 + math.exp(-dot))\nddot = (1 - f) * f\n"
)


def neuron_by_hand() -> tuple[list[float], list[float]]:
    ddot = sig(1) * (1 - sig(1))  # dot = 2·(-1) + (-3)·(-2) - 3 = 1
    return [2 * ddot, -3 * ddot], [-1 * ddot, -2 * ddot, ddot]


def test_zeros_then_entry_updates_are_the_notes_neuron() -> None:
    program = NEURON_TOP + (
        "dx = np.zeros_like(x)\ndx[0] += w[0] * ddot\ndx[1] += w[1] * ddot\n"
        "dw = np.zeros(3)\ndw[0] = x[0] * ddot\ndw[1] = x[1] * ddot\ndw[2] = 1.0 * ddot\n"
    )
    code, out = render_text(program)
    assert code == 0
    assert out.split("\n", 1)[1] == (
        "forward pass: f = 0.7311 at w = [2, -3, -3], x = [-1, -2]\n"
        "\n"
        " line 5   ddot = (1 - f) * f\n"
        "        ✓ right: ∂f/∂dot = 0.1966\n"
        " line 6   dx = np.zeros_like(x)\n"
        "        ✓ starts dx at 0 (shape (2,)): add what each use of x sends back with dx\n"
        "          += …\n"
        " line 7   dx[0] += w[0] * ddot\n"
        "        ✓ right: what dot sends back to x (x is used 2 times: add what dot sends\n"
        "          with +=)\n"
        " line 8   dx[1] += w[1] * ddot\n"
        "        ✓ right: what dot sends back; with the lines above, ∂f/∂x = [0.3932,\n"
        "          -0.5898]\n"
        " line 9   dw = np.zeros(3)\n"
        "        ✓ starts dw at 0 (shape (3,)): add what each use of w sends back with dw\n"
        "          += …\n"
        "line 10   dw[0] = x[0] * ddot\n"
        "        ✓ right: dw[0] = … adds [-0.1966, 0, 0]: what dot sends back to w (w is\n"
        "          used 3 times: add what dot sends with +=)\n"
        "line 11   dw[1] = x[1] * ddot\n"
        "        ✓ right: dw[1] = … adds [0, -0.3932, 0]: what dot sends back to w (w is\n"
        "          used 3 times: add what dot sends with +=)\n"
        "line 12   dw[2] = 1.0 * ddot\n"
        "        ✓ right: dw[2] = … adds [0, 0, 0.1966]: what dot sends back; with the\n"
        "          lines above, ∂f/∂w = [-0.1966, -0.3932, 0.1966]\n"
        "\n"
        "Your gradients: dx = [0.3932, -0.5898], dw = [-0.1966, -0.3932, 0.1966] (the\n"
        "trace's)\n"
        "8 of 8 lines right"
    )
    finals = {f.name: f.got for f in check_backward_text(program, {}).report.finals}
    dx, dw = neuron_by_hand()
    np.testing.assert_allclose(finals["x"], dx)
    np.testing.assert_allclose(finals["w"], dw)


@pytest.mark.parametrize(
    "start",
    [
        "dx = np.zeros_like(x)",
        "dx = np.zeros(2)",
        "dx = np.zeros(x.shape)",
        "dx = np.zeros((2,))",
        "dx = np.zeros_like(x, dtype=float)",
    ],
)
def test_every_zeros_form_starts_a_gradient(start: str) -> None:
    program = NEURON_TOP + f"{start}\ndx += np.array([w[0] * ddot, w[1] * ddot])\n"
    checked = check_backward_text(program, {})
    assert [v.status for v in checked.report.lines] == ["right"] * 3
    finals = {f.name: f.got for f in checked.report.finals}
    np.testing.assert_allclose(finals["x"], neuron_by_hand()[0])


def test_np_array_values_and_gradients() -> None:
    program = (
        NEURON_TOP.replace("w = [2,-3,-3]", "w = np.array([2, -3, -3])").replace(
            "x = [-1, -2]", "x = np.array([-1.0, -2.0], dtype=float)"
        )
        + "dx = np.array([w[0] * ddot, w[1] * ddot])\n"
        + "dw = np.array([x[0] * ddot, x[1] * ddot, 1.0 * ddot])\n"
    )
    checked = check_backward_text(program, {})
    assert [v.status for v in checked.report.lines] == ["right"] * 3
    dx, dw = neuron_by_hand()
    finals = {f.name: f.got for f in checked.report.finals}
    np.testing.assert_allclose(finals["x"], dx)
    np.testing.assert_allclose(finals["w"], dw)


def test_an_entry_update_to_a_wrong_number_is_wrong() -> None:
    program = NEURON_TOP + "dx = np.zeros_like(x)\ndx[0] += x[0] * ddot\ndx[1] += w[1] * ddot\n"
    checked = check_backward_text(program, {})
    assert [v.status for v in checked.report.lines] == ["right", "right", "wrong", "right"]
    assert checked.report.lines[2].slip == "mul-no-switch" and checked.failed


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            "dx[0] += w[0] * ddot",
            "line 6: dx[0] += … changes one entry of dx, which has no value yet: start it "
            "first, on a line before, with  dx = np.zeros_like(x)",
        ),
        (
            "dx = np.zeros_like(x)\ndx[2] += ddot",
            "line 7: dx[2]: dx has shape (2,), so there is no such entry (entries count from 0)",
        ),
        (
            "dx = np.zeros_like(x)\ndx[0] += w",
            "line 7: dx[0] is one entry, so it takes one number; this line gives shape (3,)",
        ),
        (
            "dx = np.zeros_like(q)",
            "line 6: q has no value here, so np.zeros_like(q) has no shape: give the name of "
            "a value of the forward pass",
        ),
    ],
)
def test_entry_and_zeros_mistakes_say_what_to_write(lines: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        check_backward_text(NEURON_TOP + lines + "\n", {})
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "dx = w[:2] * ddot",
            "w[:2] is a slice, and slices are not supported: write the line entry by entry, "
            "as a list:  dx = [w[0] * ddot, w[1] * ddot] (line 6, column 6):",
        ),
        (
            "dx = np.zeros_like(x) + 1",
            "np.zeros_like(x) can only start a gradient, on a line of its own after the "
            "forward pass: dx = np.zeros_like(x), then dx += … for each use (line 6, column 6):",
        ),
        (
            "dx = np.zeros(3, dtype=int)",
            "np.zeros() takes no keyword here but dtype=float (line 6, column 6):",
        ),
    ],
)
def test_forms_that_cannot_be_read_say_what_to_write(line: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        check_backward_text(NEURON_TOP + line + "\n", {})
    assert str(caught.value).split("\n")[0] == message


def render_text(program: str) -> tuple[int, str]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.py"
        path.write_text(program)
        return render(["check-backward", str(path)])


# f = sum(x*y) at x = [1, 2], y = 3, by hand: ∂f/∂x = [y, y] = [3, 3], ∂f/∂y = 1 + 2 = 3.
# x is used once, as a whole, so no use sends back one entry alone.
WHOLE = "x = [1.0, 2.0]\ny = 3\nf = sum(x*y)\ndf = 1\ndx = np.zeros_like(x)\n"


def test_entries_of_a_vector_used_as_a_whole_are_judged_entry_by_entry() -> None:
    checked = check_backward_text(f"{WHOLE}dx[1] += y*df\ndx[0] = y*df\ndy = sum(x)*df\n", {})
    said = [(v.status, v.message) for v in checked.report.lines]
    assert said[2:] == [
        ("right", "right: ∂f/∂x[1] = 3"),
        ("right", "right: with the lines above, ∂f/∂x = [3, 3]"),
        ("right", "right: ∂f/∂y = 3"),
    ]
    assert not checked.failed


def test_a_wrong_entry_is_said_as_that_entry() -> None:
    checked = check_backward_text(f"{WHOLE}dx[1] += x[1]*df\ndx[0] += y*df\n", {})
    wrong = checked.report.lines[2]
    assert (wrong.status, wrong.message) == ("wrong", "dx[1] += … makes dx[1] 2; ∂f/∂x[1] = 3")


def test_a_huge_zeros_is_refused_before_it_is_made() -> None:
    with pytest.raises(InputError, match=r"^more than 10,000 entries"):
        check_backward_text(f"{WHOLE}dx = np.zeros(100000000000)\n", {})


def test_minus_a_list_is_plus_its_negation() -> None:
    # FORK at x = 2: the add sends 1 to x; `dx -= [-df]` adds +1, right.
    program = "x = [2.0]\ny = 3\nf = sum(x*y + x)\ndf = 1\ndx = [y*df]\ndx -= [-df]\n"
    checked = check_backward_text(program, {})
    assert [v.status for v in checked.report.lines] == ["right"] * 3
    assert checked.report.finals[0].got.tolist() == [4.0]  # y + 1
