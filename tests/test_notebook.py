"""A real notebook, executed on a real kernel (nbclient + ipykernel): the result of
`bp.trace` shows itself, and `%backprop` / `%%backprop` trace the notes' examples.

Numbers: the neuron's are the notes' (f = 0.73, dw = [-0.20, -0.39, 0.20],
dx = [0.39, -0.59]); the staged example's come from sympy, differentiating the
program's formula written out here by hand. The README's cells run here as written,
among them the notes' own Python code (w = [2,-3,-3] … math.exp) pasted into
`%%backprop` as it stands.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from htmlview import svg_lines, table
from notes import NEURON, NEURON_VALUES, NOTES_CODE, STAGED

nbformat = pytest.importorskip("nbformat", reason="the notebook tests need nbformat (.[test])")
nbclient = pytest.importorskip("nbclient", reason="the notebook tests need nbclient (.[test])")
pytest.importorskip("ipykernel", reason="the notebook tests need ipykernel (.[test])")

VALUES = " ".join(f"{k}={v}" for k, v in NEURON_VALUES.items())
README = Path(__file__).resolve().parent.parent / "README.md"


def readme_cells() -> list[str]:
    """The code cells of the README's "In a notebook" section, as written there."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## In a notebook", 1)[1].split("\n## ", 1)[0]
    return [block.rstrip("\n") for block in re.findall(r"```python\n(.*?)```", section, re.S)]


API, LOAD, README_LINE, PASTED, FUSED = readme_cells()

CELLS = {
    "api": API,
    "load": LOAD,
    "readme line": README_LINE,
    "pasted": PASTED,
    "fused": FUSED,
    "line": f'%backprop "{NEURON}" {VALUES} --explain --digits 3',
    "unquoted": "%backprop (x + y) * z x=-2 y=5 z=-4",
    "staged": f"%%backprop x=3 y=-4\n{STAGED}",
    "kept": "kept = %backprop x*y x=2 y=3\nprint(kept.gradients)",
    "bad value": "%backprop log(x) x=-1",
    "bad line": '%backprop "x*y x=1',
    "bad option": "%backprop x*y x=1 y=2 --digits many",
    "hostile": "%backprop \"__import__('os').system('echo pwned')\"",
    "hostile cell": "%%backprop x=1\nimport os\nf = x",
    "help": "%backprop --help",
}


def test_the_readme_cells_are_the_notes_examples() -> None:
    assert NEURON in API and "w0=2, x0=-1, w1=-3, x1=-2, w2=-3" in API
    assert FUSED.split("\n", 1)[1] + "\n" == STAGED
    assert "%%backprop\n" + NOTES_CODE.rstrip("\n") == PASTED


@pytest.fixture(scope="module")
def notebook() -> dict[str, object]:
    """Run every cell once (a kernel takes seconds to start); the cells by name."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS.values()]
    # allow_errors=False: a traceback in any cell fails the test.
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return dict(zip(CELLS, nb.cells, strict=True))


def result(cell: object, mime: str) -> str:
    outputs = [o for o in cell.outputs if o.output_type in ("execute_result", "display_data")]
    assert len(outputs) == 1, cell.outputs
    return outputs[0].data[mime]


def stream(cell: object, name: str) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == name)


def test_no_cell_raised(notebook: dict[str, object]) -> None:
    for name, cell in notebook.items():
        assert not [o for o in cell.outputs if o.output_type == "error"], name


def notes_gradients(rows: list[dict[str, str]]) -> dict[str, float]:
    return {row["input"]: round(float(row["gradient"]), 2) for row in rows}


def test_a_trace_shows_itself_with_the_notes_numbers(notebook: dict[str, object]) -> None:
    html = result(notebook["api"], "text/html")
    grads = notes_gradients(table(html, "Gradients"))
    assert [grads[n] for n in ("w0", "w1", "w2")] == [-0.20, -0.39, 0.20]
    assert [grads[n] for n in ("x0", "x1")] == [0.39, -0.59]
    # The picture: the output's value and each input's gradient, at the notes' 2 decimals.
    lines = svg_lines(html)
    assert "f = 0.73" in lines
    for name, gradient in [("w0", "-0.20"), ("x0", "0.39"), ("w1", "-0.39"), ("x1", "-0.59")]:
        assert lines[lines.index(f"{name} = {NEURON_VALUES[name]:.2f}") + 1] == f"∂ {gradient}"
    forward = table(html, "Forward pass")
    assert [row["gate"] for row in forward] == [
        "mul",
        "mul",
        "add",
        "add",
        "*-1",
        "exp",
        "+1",
        "1/x",
    ]
    assert "sympy" in html and "agree" in html


def test_the_notes_code_pasted_into_a_cell(notebook: dict[str, object]) -> None:
    # The notes: f = 0.73, dw = [-0.20, -0.39, 0.20], dx = [0.39, -0.59], here as vectors.
    html = result(notebook["pasted"], "text/html")
    grads = {row["input"]: row["gradient"] for row in table(html, "Gradients")}
    rounded = {
        name: [round(float(v), 2) for v in text.strip("[]").split(",")]
        for name, text in grads.items()
    }
    assert rounded == {"w": [-0.20, -0.39, 0.20], "x": [0.39, -0.59]}
    lines = svg_lines(html)
    assert "∂ [-0.20, -0.39, 0.20]" in lines and "∂ [0.39, -0.59]" in lines
    assert "f = 0.73" in lines


def test_plain_text_is_the_terminal_tables(notebook: dict[str, object]) -> None:
    text = result(notebook["api"], "text/plain")
    assert "Forward pass" in text and "Backward pass" in text and "Gradients (∂f/∂input)" in text
    assert "✓ sympy: agree" in text
    rows = dict(line.split()[:3:2] for line in text.splitlines() if line.startswith("  w"))
    assert round(float(rows["w1"]), 2) == -0.39


def test_the_line_magic_with_explain_and_digits(notebook: dict[str, object]) -> None:
    html = result(notebook["line"], "text/html")
    grads = {row["input"]: row["gradient"] for row in table(html, "Gradients")}
    assert grads["x1"] == "-0.59"  # 3 significant digits of -0.5898
    assert grads["w0"] == "-0.197"
    # The notes' sentence for the 1/x gate (README, --explain).
    assert "-1/s7² = -1/1.37² = -0.53" in html


@pytest.mark.parametrize("cell", ["unquoted", "readme line"])
def test_the_notes_first_circuit(notebook: dict[str, object], cell: str) -> None:
    grads = {
        r["input"]: float(r["gradient"])
        for r in table(result(notebook[cell], "text/html"), "Gradients")
    }
    assert grads == {"x": -4.0, "y": -4.0, "z": 3.0}  # the notes' first circuit


def staged_oracle() -> dict[str, float]:
    """f = (x + σ(y)) / (σ(x) + (x + y)²) at x = 3, y = -4, differentiated by sympy."""
    import sympy

    x, y = sympy.symbols("x y")
    sig = lambda z: 1 / (1 + sympy.exp(-z))  # noqa: E731
    f = (x + sig(y)) / (sig(x) + (x + y) ** 2)
    at = {x: 3, y: -4}
    return {
        "f": float(f.subs(at)),
        "x": float(sympy.diff(f, x).subs(at)),
        "y": float(sympy.diff(f, y).subs(at)),
    }


@pytest.mark.parametrize("cell", ["staged", "fused"])
def test_the_cell_magic_runs_the_notes_staged_program(
    notebook: dict[str, object], cell: str
) -> None:
    html = result(notebook[cell], "text/html")
    want = staged_oracle()
    grads = {row["input"]: float(row["gradient"]) for row in table(html, "Gradients")}
    assert grads["x"] == pytest.approx(want["x"], rel=1e-3)
    assert grads["y"] == pytest.approx(want["y"], rel=1e-3)
    forward = table(html, "Forward pass")
    assert float(forward[-1]["value"]) == pytest.approx(want["f"], rel=1e-3)
    gates = [row["gate"] for row in forward]
    assert ("sigmoid" in gates) == (cell == "fused")
    assert [row["step"] for row in forward][-1] == "f"


def test_the_magic_returns_the_result(notebook: dict[str, object]) -> None:
    assert stream(notebook["kept"], "stdout").strip() == "{'x': 3.0, 'y': 2.0}"


@pytest.mark.parametrize(
    ("cell", "says"),
    [
        ("bad value", "log needs a positive input"),
        ("bad line", "no closing quotation"),
        ("bad option", "--digits takes a whole number from 1 to 17"),
        ("hostile", "error:"),
        ("hostile cell", "error:"),
    ],
)
def test_bad_input_is_one_clear_line_not_a_traceback(
    notebook: dict[str, object], cell: str, says: str
) -> None:
    outputs = notebook[cell].outputs
    err = stream(notebook[cell], "stderr")
    assert err.startswith("error: ") and says in err
    assert "Traceback" not in err and "InputError" not in err
    assert not [o for o in outputs if o.output_type in ("execute_result", "display_data")]
    assert "pwned" not in stream(notebook[cell], "stdout")


def test_help(notebook: dict[str, object]) -> None:
    out = stream(notebook["help"], "stdout")
    assert "%%backprop NAME=VALUE" in out and "--fuse sigmoid|all" in out
