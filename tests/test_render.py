"""Rendered output at a fixed width, compared with inline expected text.

The numbers are the notes' (x + y) z example: q = 3, f = -12, gradients -4, -4, 3.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping

from rich.console import Console

from backprop_cli.core.language import parse_bindings
from backprop_cli.core.numbers import show, to_json
from backprop_cli.pipeline import trace_text
from backprop_cli.render.table import trace_view, value_lines

EXPECTED = """\
backprop trace  (x + y) * z
at x = -2, y = 5, z = -4
f = -12

Forward pass

  step   gate   computes   value
 ────────────────────────────────
  s1     add    x + y          3
  f      mul    s1 * z       -12

Backward pass (output to inputs: upstream × local = product)

  step   gate   upstream   input   local gradient   local   product
 ───────────────────────────────────────────────────────────────────
  f      mul           1   s1      z                   -4        -4
                           z       s1                   3         3
  s1     add          -4   x       1                    1        -4
                           y       1                    1        -4

Gradients (∂f/∂input)

  input   value   gradient
 ──────────────────────────
  x          -2         -4
  y           5         -4
  z          -4          3

✓ sympy: agree (largest error E)
✓ finite differences: agree (largest error E)
"""


def render(text: str, bindings: Mapping[str, object], width: int = 80) -> str:
    result = trace_text(text, bindings)
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(trace_view(result.trace, result.checks, 4, "backprop trace ..."))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    out = "\n".join(line.rstrip() for line in out.splitlines()) + "\n"
    return re.sub(r"largest error [0-9.e+-]+", "largest error E", out)


def test_sum_times_trace_renders_exactly() -> None:
    assert render("(x + y) * z", {"x": -2, "y": 5, "z": -4}) == EXPECTED


def test_a_file_of_one_statement_is_headed_as_a_program() -> None:
    # Its raw lines (a comment here) would wrap the heading; 1 statement, not "1 statements".
    out = render("# hi\nf = x*y\n", {"x": 3, "y": 4})
    assert out.splitlines()[:3] == [
        "backprop trace  a program of 1 statement, output f",
        "at x = 3, y = 4",
        "f = 12",
    ]
    assert render("f = x*y", {"x": 3, "y": 4}).startswith("backprop trace  f = x*y\n")


def test_forks_table_lists_each_contribution() -> None:
    out = render("x*y + x", {"x": 3, "y": 4})
    # d/dx (xy + x) = y + 1 = 5: 4 from the mul gate, 1 from the add gate
    assert "Forks" in out
    assert re.search(r"x\s+1 from f, 4 from s1\s+5", out)  # in backward order


def test_symbolic_note_and_values() -> None:
    out = render("x*y", {})
    assert "note: some inputs have no value" in out
    assert "backprop trace ..." in out


def test_number_formatting() -> None:
    assert show(-0.534446645388523) == "-0.5344"
    assert show(-0.534446645388523, 2) == "-0.53"
    assert show(-12.0) == "-12"
    assert show(-0.0) == "0"
    assert show(1.3678794411714423, 3) == "1.37"
    assert to_json(3) == 3.0 and isinstance(to_json(3), float)


def test_big_traces_show_the_ends_and_say_what_they_left_out() -> None:
    program = "\n".join(["s = x0*w0"] + [f"s = s + x{i}*w{i}" for i in range(1, 200)])
    bindings = {f"{v}{i}": 0.5 for i in range(200) for v in "xw"}
    out = render(program, bindings, width=120)
    assert "more steps (--json shows them all)" in out
    assert "more inputs (--json shows them all)" in out
    assert "(400 values in all)" in out
    # 399 gates: the first 60 and last 60 in each table are shown
    assert out.count("mul ") < 2 * 2 * 60 + 10


def section(out: str, title: str) -> str:
    """One titled part of a rendered trace, up to the next blank line after its table."""
    start = out.index(title)
    end = out.index("\n\nnote:", start) if "\n\nnote:" in out[start:] else len(out)
    return out[start:end]


def test_long_symbolic_gradients_go_under_the_table_whole() -> None:
    # At 80 columns the neuron's gradients wrapped in their cells, `w2)))²` alone on a
    # line. ∂/∂w0 of 1/(1 + exp(-z)), z = w0·x0 + w1·x1 + w2, is x0·exp(-z)/(1 + exp(-z))²
    # (the notes' sigmoid: σ' = (1 - σ)σ); the sympy judge's line below says it agrees.
    out = render("1/(1+exp(-(w0*x0+w1*x1+w2)))", {})
    assert section(out, "Gradients") == (
        "Gradients (∂f/∂input)\n"
        "\n"
        "  input      staged   gradient\n"
        " ──────────────────────────────\n"
        "  w0      s6·x0/s7²        (1)\n"
        "  x0      s6·w0/s7²        (2)\n"
        "  w1      s6·x1/s7²        (3)\n"
        "  x1      s6·w1/s7²        (4)\n"
        "  w2         s6/s7²        (5)\n"
        "\n"
        "  (1) ∂f/∂w0\n"
        "      x0·exp(-w0·x0 - w1·x1 - w2)/(1 + exp(-(w0·x0 + w1·x1 + w2)))²\n"
        "  (2) ∂f/∂x0\n"
        "      w0·exp(-w0·x0 - w1·x1 - w2)/(1 + exp(-(w0·x0 + w1·x1 + w2)))²\n"
        "  (3) ∂f/∂w1\n"
        "      x1·exp(-w0·x0 - w1·x1 - w2)/(1 + exp(-(w0·x0 + w1·x1 + w2)))²\n"
        "  (4) ∂f/∂x1\n"
        "      w1·exp(-w0·x0 - w1·x1 - w2)/(1 + exp(-(w0·x0 + w1·x1 + w2)))²\n"
        "  (5) ∂f/∂w2\n"
        "      exp(-w0·x0 - w1·x1 - w2)/(1 + exp(-(w0·x0 + w1·x1 + w2)))²"
    )
    assert "✓ sympy: agree" in out
    # Narrower, a formula wraps after an operator, every line of it indented under its
    # label: the line ends in `+`, so it says it goes on.
    narrow = render("1/(1+exp(-(w0*x0+w1*x1+w2)))", {}, width=50)
    assert "      x0·exp(-w0·x0 - w1·x1 - w2)/(1 +\n      exp(-(w0·x0 + w1·x1 + w2)))²\n" in (
        narrow
    )
    at_40 = render("1/(1+exp(-(w0*x0+w1*x1+w2)))", {}, width=40)
    assert "      x0·exp(-w0·x0 - w1·x1 - w2)/(1 +\n      exp(-(w0·x0 + w1·x1 + w2)))²\n" in (
        at_40
    ), at_40


def test_a_symbolic_fork_sum_stays_on_one_line() -> None:
    # At 80 columns the sum at x (35 characters) wrapped its `+ y` onto a line of its
    # own; the receiving column wraps instead, at its commas.
    forks = section(render("x*y + exp(x*y)*sin(x) + x*x*x", {}), "Forks")
    assert forks.splitlines()[4:7] == [
        "  x       s7 from s8, x² from s7, x²       s3·s4·y + s3·cos(x) + s7 + 2·x² + y",
        "          from s7, s3·cos(x) from s4,",
        "          s3·s4·y from s2, y from s1",
    ]


def test_a_matrix_heading_keeps_its_rows_whole_at_80_columns() -> None:
    # At 80 columns the heading was cut inside the last row: `[1, 2, 3, 4,` / `5]], x = …`.
    # W @ x by hand: 0.5 - 0.625 - 2 + 7 + 4 = 8.875, 4 + 2.5 - 6 + 14 + 8 = 22.5,
    # 7 + 4 - 9 + 2 + 2 = 6, 1 + 1 - 3 + 8 + 5 = 12.
    w = "[[0.5,-1.25,2,3.5,4],[4,5,6,7,8],[7,8,9,1,2],[1,2,3,4,5]]"
    out = render("W @ x", parse_bindings([f"W={w}", "x=[1,0.5,-1,2,1]"]))
    assert out.splitlines()[:7] == [
        "backprop trace  W @ x",
        "at W = [[0.5, -1.25, 2, 3.5, 4],",
        "        [4, 5, 6, 7, 8],",
        "        [7, 8, 9, 1, 2],",
        "        [1, 2, 3, 4, 5]],",
        "   x = [1, 0.5, -1, 2, 1]",
        "f = [8.875, 22.5, 6, 12]",
    ]
    # A matrix output's rows stand under its first (2W), not at the margin.
    assert render("W*2", parse_bindings(["W=[[1,2],[3,4]]"])).splitlines()[2:4] == [
        "f = [[2, 4],",
        "     [6, 8]]",
    ]
    # What fits stays on one line, as before: 1·1 + 2·1 = 3, 3·1 + 4·1 = 7.
    assert render("W @ x", parse_bindings(["W=[[1,2],[3,4]]", "x=[1,1]"])).splitlines()[1:3] == [
        "at W = [[1, 2], [3, 4]], x = [1, 1]",
        "f = [3, 7]",
    ]


def test_value_lines_break_between_values_never_inside_one() -> None:
    values = ["W = [[0.123, 2.5, 3],\n [4, 5, 6],\n [7, 8, 9]]", "x = [1, 1, 1]", "b = [0.1, 0.2]"]
    assert value_lines(values, 80) == [
        "at W = [[0.123, 2.5, 3], [4, 5, 6], [7, 8, 9]], x = [1, 1, 1], b = [0.1, 0.2]"
    ]
    assert value_lines(values, 60) == [
        "at W = [[0.123, 2.5, 3], [4, 5, 6], [7, 8, 9]],",
        "   x = [1, 1, 1], b = [0.1, 0.2]",
    ]
    assert value_lines(values, 40) == [
        "at W = [[0.123, 2.5, 3],",
        "        [4, 5, 6],",
        "        [7, 8, 9]],",
        "   x = [1, 1, 1], b = [0.1, 0.2]",
    ]


def test_value_lines_can_hang_a_long_prefix_by_a_short_indent() -> None:
    # check-backward's line: at 80 columns `dD` / `= [a (5, 3) matrix]` was split.
    values = ["W = [a (5, 10) matrix]", "X = [a (10, 3) matrix]", "dD = [a (5, 3) matrix]"]
    assert value_lines(values, 80, "forward pass: L = -0.5076 at ", indent=3) == [
        "forward pass: L = -0.5076 at W = [a (5, 10) matrix], X = [a (10, 3) matrix],",
        "   dD = [a (5, 3) matrix]",
    ]
