"""`--graph` in the terminal: the circuit as a tree, each wire with value and gradient.

Numbers are the notes': (x + y) z at x = -2, y = 5, z = -4 (q = 3, f = -12, the
gradients -4, -4 and 3) and the neuron's 0.73, 1.37, -0.53, 0.39, -0.59.
"""

from __future__ import annotations

import io

from rich.console import Console

from backprop_cli.pipeline import trace_text
from backprop_cli.render.tree import tree_rows, tree_view


def render(text: str, values: dict[str, float], **kw: object) -> str:
    trace = trace_text(text, values, check=False, **kw).trace  # type: ignore[arg-type]
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(tree_view(trace))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in out.splitlines()) + "\n"


def test_sum_times_tree_renders_exactly() -> None:
    assert render("(x + y) * z", {"x": -2, "y": 5, "z": -4}) == (
        "The circuit, from the output f back to the inputs\n"
        "\n"
        " wire from        gate     value      ∂f\n"
        "────────────────────────────────────────────\n"
        " f = s1 * z       mul     -12.00    1.00\n"
        " ├── s1 = x + y   add       3.00   -4.00\n"
        " │   ├── x        input    -2.00   -4.00\n"
        " │   └── y        input     5.00   -4.00\n"
        " └── z            input    -4.00    3.00\n"
    )


def test_neuron_tree_carries_the_notes_numbers() -> None:
    out = render("1/(1+exp(-(w0*x0+w1*x1+w2)))", dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3))
    lines = out.splitlines()
    assert any(line.split()[:3] == ["f", "=", "1"] and "0.73" in line for line in lines)
    plus = next(line for line in lines if "s7 = s6 + 1" in line)
    assert plus.split()[-2:] == ["1.37", "-0.53"]
    x0 = next(line for line in lines if "x0 " in line and "input" in line)
    x1 = next(line for line in lines if "x1 " in line and "input" in line)
    assert x0.split()[-2:] == ["-1.00", "0.39"] and x1.split()[-2:] == ["-2.00", "-0.59"]


def test_forks_show_each_share_and_the_sum() -> None:
    # x*y + x at x = 3, y = 2: x receives y = 2 through the mul and 1 through the add.
    trace = trace_text("x*y + x", {"x": 3, "y": 2}, check=False).trace
    rows = tree_rows(trace)
    x_rows = [r for r in rows if trace.graph.nodes[r.node].ref == "x"]
    assert sorted(r.gradient for r in x_rows) == ["1.00", "2.00"]
    assert all("gradients add up to 3.00" in r.note for r in x_rows)


def test_a_shared_stage_is_drawn_once() -> None:
    trace = trace_text("q = x*y; f = q*q + q", {"x": 2, "y": 3}, check=False).trace
    rows = tree_rows(trace)
    q_rows = [r for r in rows if trace.graph.nodes[r.node].ref == "q"]
    assert len(q_rows) == 3  # q is read three times
    assert sum("drawn above" in r.note for r in q_rows) == 2
    # Its inputs appear only under the first drawing.
    assert sum(trace.graph.nodes[r.node].ref == "x" for r in rows) == 1


def test_deep_circuits_do_not_recurse() -> None:
    text = "x" + " + x" * 400
    trace = trace_text(text, {"x": 1}, check=False).trace
    rows = tree_rows(trace)
    assert len(rows) == 400 + 401  # 400 add gates, each with x beside it (and x at the end)


def test_fused_tree() -> None:
    out = render(
        "1/(1+exp(-(w0*x0+w1*x1+w2)))", dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3), fuse="sigmoid"
    )
    assert "f = sigmoid(s4)" in out and "exp" not in out


def test_an_array_too_wide_for_its_cell_goes_under_the_tree() -> None:
    # At 80 columns a 4×5 W wrapped each row over two lines of its cell. By hand:
    # W @ x = [8.875, 22.5, 6, 12], sum 49.375; ∂f/∂W = ones(4) xᵀ (each row x), and
    # ∂f/∂x = Wᵀ ones(4), W's column sums [12.5, 13.75, 20, 15.5, 19].
    from backprop_cli.core.language import parse_bindings

    bindings = parse_bindings(
        ["W=[[0.5,-1.25,2,3.5,4],[4,5,6,7,8],[7,8,9,1,2],[1,2,3,4,5]]", "x=[1,0.5,-1,2,1]"]
    )
    trace = trace_text("sum(W @ x)", bindings, check=False).trace
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(tree_view(trace))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert [line.rstrip() for line in out.splitlines()] == [
        "The circuit, from the output f back to the inputs",
        "",
        " wire from        gate     value     ∂f",
        "───────────────────────────────────────────",
        " f = sum(s1)      sum      49.38   1.00",
        " └── s1 = W @ x   matmul     (1)    (2)",
        "     ├── W        input      (3)    (4)",
        "     └── x        input      (5)    (6)",
        "",
        "  (1) s1, shape (4,)",
        "      [8.88, 22.50, 6.00, 12.00]",
        "  (2) ∂f along s1 → f, shape (4,)",
        "      [1.00, 1.00, 1.00, 1.00]",
        "  (3) W, shape (4, 5)",
        "      [[0.50, -1.25, 2.00, 3.50, 4.00],",
        "       [4.00, 5.00, 6.00, 7.00, 8.00],",
        "       [7.00, 8.00, 9.00, 1.00, 2.00],",
        "       [1.00, 2.00, 3.00, 4.00, 5.00]]",
        "  (4) ∂f along W → s1, shape (4, 5)",
        "      [[1.00, 0.50, -1.00, 2.00, 1.00],",
        "       [1.00, 0.50, -1.00, 2.00, 1.00],",
        "       [1.00, 0.50, -1.00, 2.00, 1.00],",
        "       [1.00, 0.50, -1.00, 2.00, 1.00]]",
        "  (5) x, shape (5,)",
        "      [1.00, 0.50, -1.00, 2.00, 1.00]",
        "  (6) ∂f along x → s1, shape (5,)",
        "      [12.50, 13.75, 20.00, 15.50, 19.00]",
        "",
    ]
