"""`--format markdown|latex`: the tables and the chain-rule equations for homework.

Numbers are the notes' (x + y) z at x = -2, y = 5, z = -4: q = 3, f = -12,
∂f/∂q = z = -4, ∂f/∂x = ∂f/∂y = -4, ∂f/∂z = q = 3.
"""

from __future__ import annotations

import re

from backprop_cli.pipeline import trace_text
from backprop_cli.render.explain import explain
from backprop_cli.render.markdown import (
    chain_equations,
    explain_latex,
    explain_markdown,
    latex_math,
    to_latex,
    to_markdown,
)


def notes_example():
    return trace_text("(x + y) * z", {"x": -2, "y": 5, "z": -4})


def table(markdown: str, heading: str) -> list[list[str]]:
    """The rows of the Markdown table under a heading."""
    part = markdown.split(heading, 1)[1].split("\n\n", 2)[1]
    rows = [line.strip("|").split("|") for line in part.splitlines()]
    return [[cell.strip() for cell in row] for row in rows[2:]]


def test_markdown_tables() -> None:
    result = notes_example()
    text = to_markdown(result.trace, result.checks)
    assert text.startswith("## Backpropagation through `(x + y) * z`")
    assert "At x = -2, y = 5, z = -4: **f = -12**." in text
    assert table(text, "### Forward pass") == [
        ["s1", "add", "`x + y`", "3"],
        ["f", "mul", "`s1 * z`", "-12"],
    ]
    assert table(text, "### Backward pass") == [
        ["f", "mul", "1", "s1", "`z`", "-4", "-4"],
        ["", "", "", "z", "`s1`", "3", "3"],
        ["s1", "add", "-4", "x", "`1`", "1", "-4"],
        ["", "", "", "y", "`1`", "1", "-4"],
    ]
    assert table(text, "### Gradients") == [["x", "-2", "-4"], ["y", "5", "-4"], ["z", "-4", "3"]]
    assert "- sympy: agree" in text


def test_chain_rule_equations() -> None:
    trace = notes_example().trace
    equations = chain_equations(trace)
    assert equations[0] == (
        "\\frac{\\partial f}{\\partial s_{1}} &= \\frac{\\partial f}{\\partial f} \\, "
        "\\frac{\\partial f}{\\partial s_{1}} = 1 \\cdot (-4) = -4 \\quad "
        "\\left(\\frac{\\partial f}{\\partial s_{1}} = z\\right)"
    )
    assert equations[2].startswith("\\frac{\\partial f}{\\partial x} &= ")
    assert equations[2].endswith("= (-4) \\cdot 1 = -4")
    assert len(equations) == 4  # one per chain-rule product, no forks here


def test_fork_equations_sum_the_shares() -> None:
    # x*y + x at x = 3, y = 2: ∂f/∂x = y + 1 = 3, from the add (1) and the mul (2).
    trace = trace_text("x*y + x", {"x": 3, "y": 2}, check=False).trace
    equations = chain_equations(trace)
    assert equations[-1] == "\\frac{\\partial f}{\\partial x} &= 1 + 2 = 3"
    shares = [e for e in equations if "\\text{via }" in e]
    assert len(shares) == 2


def test_latex_document_is_balanced() -> None:
    result = trace_text("1/(1+exp(-(w0*x0+w1*x1+w2)))", dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3))
    text = to_latex(result.trace, result.checks, 2)
    for env in ["tabular", "align*", "itemize"]:
        assert text.count(f"\\begin{{{env}}}") == text.count(f"\\end{{{env}}}") >= 1
    assert text.count("{") == text.count("}")
    assert text.count("$") % 2 == 0
    # The notes' numbers at 2 significant digits: 1/x passes -0.53 back, x0 gets 0.39.
    assert "$-0.53$" in text and "$0.39$" in text and "$-0.59$" in text
    assert "\\exp" in text and "w_{0}" in text
    assert "²" not in text and "σ" not in text  # Unicode math became LaTeX


def test_latex_math() -> None:
    assert latex_math("-1/s7²") == "-1/s_{7}^{2}"
    assert latex_math("σ(x)·(1 - σ(x))") == "\\sigma(x) \\cdot (1 - \\sigma(x))"
    assert latex_math("𝟙(a is the largest)") == "\\mathbb{1}(a \\text{ is the largest})"
    assert latex_math("b·a^(b - 1)") == "b \\cdot a^{(b - 1)}"
    assert latex_math("x**2 + invden") == "x^{2} + \\mathit{invden}"
    assert latex_math("a_b & c%") == "\\mathit{a\\_b} \\& c\\%"


def test_explanations_for_homework() -> None:
    trace = notes_example().trace
    said = explain(trace)
    md = explain_markdown(said)
    assert md.startswith("### The backward pass in words")
    assert "1. **s1**: The add gate receives upstream -4.00;" in md
    tex = explain_latex(said)
    assert tex.count("\\item") == len(said)
    assert "∂" not in tex and "$\\partial$" in tex


def test_symbolic_markdown() -> None:
    trace = trace_text("x * y", {}, check=False).trace
    text = to_markdown(trace, [])
    assert "**f = x·y** (symbolic)" in text
    assert re.search(r"\| f \| mul \| 1 \| x \| `y` \| y \| y \|", text)


def test_symbolic_powers_in_one_notation_become_latex() -> None:
    # Symbolic values are written s7², x³, x^(1/3) (never **); LaTeX gets superscripts.
    assert latex_math("x³ + s7²·w0 - x^(1/3)") == "x^{3} + s_{7}^{2} \\cdot w_{0} - x^{(1/3)}"
