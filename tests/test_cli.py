"""`backprop trace` through typer's CliRunner: every option and every error path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.core import gates

NEURON = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
NEURON_ARGS = ["w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"]


def trace(runner: CliRunner, *args: str, input: str | None = None):
    return runner.invoke(app, ["trace", *args], input=input)


def test_neuron_table(runner: CliRunner) -> None:
    result = trace(runner, NEURON, *NEURON_ARGS)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for heading in ("Forward pass", "Backward pass", "Gradients", "sympy: agree"):
        assert heading in out
    for gate in ("mul", "add", "*-1", "exp", "+1", "1/x"):
        assert f" {gate} " in out
    # the notes' numbers, at 4 significant digits
    for number in ("0.7311", "1.368", "-0.5344", "-0.1966", "0.3932", "-0.3932", "-0.5898"):
        assert number in out
    assert "-1/s7²" in out  # the 1/x gate's local gradient as a formula
    assert "finite differences: agree" in out


def test_symbolic_trace_without_values(runner: CliRunner) -> None:
    result = trace(runner, NEURON)
    assert result.exit_code == 0, result.stderr
    assert "symbolic" in result.stdout
    assert "backprop trace" in result.stdout and "w0=1" in result.stdout  # how to add values
    assert "-1/s7²" in result.stdout and "**" not in result.stdout  # one power notation
    assert "sympy: agree" in result.stdout


def test_staged_program_shows_its_own_names(runner: CliRunner, tmp_path: Path) -> None:
    program = tmp_path / "staged.txt"
    program.write_text(
        "sigy = 1/(1+exp(-y))\nnum = x + sigy\nsigx = 1/(1+exp(-x))\nxpy = x + y\n"
        "xpysqr = xpy^2\nden = sigx + xpysqr\ninvden = 1/den\nf = num*invden\n"
    )
    result = trace(runner, "--file", str(program), "x=3", "y=-4")
    assert result.exit_code == 0, result.stderr
    for name in ("sigy", "num", "sigx", "xpy", "xpysqr", "den", "invden"):
        assert name in result.stdout
    assert "Forks" in result.stdout


def test_semicolon_program_and_output_option(runner: CliRunner) -> None:
    result = trace(runner, "q = x + y; f = q * z", "x=-2", "y=5", "z=-4", "--json")
    assert json.loads(result.stdout)["value"] == -12
    result = trace(runner, "q = x + y; f = q * z", "x=-2", "y=5", "--result", "q", "--json")
    data = json.loads(result.stdout)
    assert data["output"] == "q" and data["value"] == 3


def test_standard_input(runner: CliRunner) -> None:
    result = trace(runner, "-", "x=2", "--json", input="x*x + 3*x\n")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["gradients"] == {"x": 7.0}  # 2x + 3 at 2


def test_json_output(runner: CliRunner) -> None:
    result = trace(runner, "(x + y) * z", "x=-2", "y=5", "z=-4", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["expression"] == "(x + y) * z"
    assert data["output"] == "f" and data["mode"] == "numeric"
    assert data["value"] == -12
    assert data["bindings"] == {"x": -2, "y": 5, "z": -4}
    assert data["gradients"] == {"x": -4, "y": -4, "z": 3}
    first, last = data["steps"]
    assert first == {
        "id": "s1",
        "name": "s1",
        "label": None,
        "gate": "add",
        "inputs": ["x", "y"],
        "computes": "x + y",
        "value": 3,
        "upstream": -4,
        "local": [1, 1],
        "local_formulas": ["1", "1"],
        "products": [-4, -4],
        "pattern": gates.Add.pattern,
    }
    assert last["gate"] == "mul" and last["local"] == [-4, 3] and last["products"] == [-4, 3]
    assert data["checks"]["sympy"]["status"] == "agree"
    assert data["checks"]["numeric"]["status"] == "agree"


def test_json_symbolic_values_are_strings(runner: CliRunner) -> None:
    data = json.loads(trace(runner, "x*y", "--json").stdout)
    assert data["mode"] == "symbolic"
    assert data["value"] == "x*y"
    assert data["gradients"] == {"x": "y", "y": "x"}


def test_json_forks(runner: CliRunner) -> None:
    data = json.loads(trace(runner, "x*x", "x=3", "--json").stdout)
    assert data["forks"] == {"x": {"from": [{"step": "f", "amount": 3}] * 2, "sum": 6}}


def test_digits(runner: CliRunner) -> None:
    out = trace(runner, NEURON, *NEURON_ARGS, "--digits", "2").stdout
    assert "0.73" in out and "-0.53" in out and "1.4" in out
    assert "0.7311" not in out


def test_no_check(runner: CliRunner) -> None:
    result = trace(runner, "x*y", "x=1", "y=2", "--no-check", "--json")
    checks = json.loads(result.stdout)["checks"]
    assert checks["sympy"]["status"] == "skipped" and checks["numeric"]["status"] == "skipped"


def test_a_disagreeing_check_exits_1(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gates.Mul, "local", lambda self, k, xs, out: (xs[0], xs[1]))
    result = trace(runner, "(x + y) * z", "x=-2", "y=5", "z=-4")
    assert result.exit_code == 1
    assert "disagree" in result.stdout
    assert "cross-check disagreed" in result.stderr


def test_kink_warns_and_says_not_differentiable(runner: CliRunner) -> None:
    result = trace(runner, "relu(x) * y", "x=0", "y=2")
    assert result.exit_code == 0
    assert "warning" in result.stdout and "relu'(0) = 0" in result.stdout
    assert "not differentiable here" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give an expression"),
        ([""], "empty"),
        (["x.y"], "attributes"),
        (["sigmod(x)", "x=1"], "did you mean sigmoid"),
        (["x*y", "x=1", "y=abc"], "must be a number"),
        (["x*y", "x=nan"], "finite"),
        (["x*y", "x=inf"], "finite"),
        (["x*y", "x==1"], "name=value"),
        (["x*y", "z=1"], "not a variable"),
        (["x*y", "x=1", "x=2"], "twice"),
        (["log(x)", "x=-2"], "log at step f got -2"),
        (["1/x", "x=0"], "division by zero at step f"),
        (["exp(x)", "x=1000"], "exp overflowed at step f"),
        (["9**9**9**9"], "too large"),
        (["x", "--result", "g"], "not assigned"),
        (["--file", "/nonexistent/file.txt"], "no such file"),
        (["__import__('os').system('echo hi')"], "only the listed functions"),
    ],
)
def test_bad_input_exits_2_with_a_message(runner: CliRunner, args: list[str], message: str) -> None:
    result = trace(runner, *args)
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


def test_non_utf8_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"x * \xff\xfe")
    result = trace(runner, "--file", str(path), "x=1")
    assert result.exit_code == 2
    assert "not UTF-8" in result.stderr


def test_a_byte_order_mark_is_dropped_from_a_file_and_stdin(
    runner: CliRunner, tmp_path: Path
) -> None:
    """Windows editors save UTF-8 with a BOM; x = 2, f = x·x gives f = 4, df/dx = 2x = 4."""
    path = tmp_path / "bom.py"
    path.write_bytes(b"\xef\xbb\xbfx = 2\nf = x*x\n")
    for result in (
        trace(runner, "--file", str(path), "--json"),
        trace(runner, "--file", "-", "--json", input="\ufeffx = 2\nf = x*x\n"),
    ):
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["value"] == 4 and data["gradients"]["x"] == 4


def test_an_unassigned_result_names_the_option(runner: CliRunner) -> None:
    result = trace(runner, "q = x; f = q", "--result", "z", "x=1")
    assert result.exit_code == 2
    assert "--result" in result.stderr and "--output" not in result.stderr


def test_help_teaches(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trace", "--help"])
    assert result.exit_code == 0
    for text in ("Examples", "backprop trace", "--digits", "--json", "--no-check", "Exit codes"):
        assert text in result.stdout


def test_root_help_and_version(runner: CliRunner) -> None:
    assert "trace" in runner.invoke(app, ["--help"]).stdout
    from backprop_cli import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.stdout


def test_help_does_not_import_sympy_or_numpy() -> None:
    code = (
        "import sys\n"
        "from backprop_cli.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('sympy' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_module_entry_point_and_no_traceback_on_bad_input() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "backprop_cli", "trace", "log(x)", "x=-1"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "log at step f" in out.stderr and "Traceback" not in out.stderr


def test_output_is_named_by_its_last_assignment(runner: CliRunner) -> None:
    result = trace(runner, "q = x*2; q = q+1; f = q", "--result", "q", "x=1", "--json")
    data = json.loads(result.stdout)
    assert data["output"] == "q" and data["value"] == 3  # 2·1 + 1


def test_a_folder_is_not_a_file(runner: CliRunner, tmp_path: Path) -> None:
    result = trace(runner, "--file", str(tmp_path))
    assert result.exit_code == 2 and "is a folder" in result.stderr


def test_o_is_the_output_file_as_in_graph_and_code(runner: CliRunner, tmp_path: Path) -> None:
    """-o FILE writes what the screen would show; the output's name is --result NAME."""
    target = tmp_path / "trace.json"
    result = trace(
        runner, "q = x + y; f = q * z", "x=-2", "y=5", "z=-4", "--json", "-o", str(target)
    )
    assert result.exit_code == 0 and result.stdout == ""
    assert f"wrote the JSON to {target}" in result.stderr
    assert json.loads(target.read_text())["gradients"] == {"x": -4, "y": -4, "z": 3}
    table = tmp_path / "trace.txt"
    assert trace(runner, "(x + y) * z", "x=-2", "y=5", "z=-4", "-o", str(table)).exit_code == 0
    lines = table.read_text(encoding="utf-8").splitlines()
    assert lines[:3] == ["backprop trace  (x + y) * z", "at x = -2, y = 5, z = -4", "f = -12"]
    assert "\x1b" not in table.read_text() and all(line == line.rstrip() for line in lines)
    for command in ("trace", "graph", "code"):
        help_text = runner.invoke(app, [command, "--help"]).stdout
        assert "--out" in help_text and "FILE" in help_text and "--result" in help_text


def test_piped_tables_have_no_trailing_spaces_and_paths_stay_whole(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = trace(runner, "(x + y) * z", "x=-2", "y=5", "z=-4")
    assert result.stdout.count("\n") > 20
    assert [line for line in result.stdout.splitlines() if line != line.rstrip()] == []
    deep = tmp_path / ("a-long-folder-name-" * 4) / "sets"
    deep.mkdir(parents=True)
    (deep / "week1.toml").write_text(
        '[set]\ntitle = "Week one"\n[[problem]]\nid = "p"\nexpression = "x*y"\n'
        "bindings = { x = 2, y = 3 }\n[problem.expect]\ngradients = { x = 2, y = 2 }\n",
        encoding="utf-8",
    )
    out = runner.invoke(app, ["check", str(deep), "--no-sympy"]).stdout
    assert len(str(deep / "week1.toml")) > 80  # longer than the 80 columns of a pipe
    assert str(deep / "week1.toml") in out.splitlines()[0]


def test_check_backward_keeps_a_long_path_on_its_first_line(
    runner: CliRunner, tmp_path: Path
) -> None:
    """A clone in a deep folder (CI's) pushed the path to a second line at 80 columns."""
    deep = tmp_path / ("a-long-folder-name-" * 4)
    deep.mkdir()
    source = Path(__file__).resolve().parent.parent / "examples" / "notes-neuron-backward.py"
    target = deep / source.name
    target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    result = runner.invoke(app, ["check-backward", str(target)], terminal_width=80)
    first, second = result.stdout.splitlines()[:2]
    assert first == f"backprop check-backward  {target}"
    assert second.startswith("forward pass: f = 0.7311")


def test_a_problems_file_is_never_broken_at_80_columns(tmp_path: Path) -> None:
    # An installed bundle lives at …/site-packages/backprop_cli/problem_sets/: its path
    # was cut in the middle of the file's name at 80 columns (`…/02` / `-worked-…`).
    deep = tmp_path / ".venv" / "lib" / "python3.12" / "site-packages" / "backprop_cli"
    deep = deep / "problem_sets"
    deep.mkdir(parents=True)
    (deep / "02-worked-examples.toml").write_text(
        '[[problem]]\nid = "times"\ntitle = "x times y"\nexpression = "x*y"\n'
        "bindings = { x = 3, y = 4 }\n"
        'hint = "The mul gate swaps its inputs: x gets y, y gets x."\n'
    )
    result = CliRunner().invoke(
        app, ["trace", "-p", "times", "--from", str(deep)], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    where = f"from {deep / '02-worked-examples.toml'}:1"
    assert len(where) > 80
    assert result.stdout.splitlines()[:3] == [
        "problem times  x times y",
        where,
        "hint: The mul gate swaps its inputs: x gets y, y gets x.",
    ]


@pytest.mark.parametrize("program", ["g = x", "a = x; g = a"])
def test_an_output_that_is_an_input_exits_2_and_says_the_one_gradient(
    runner: CliRunner, program: str
) -> None:
    result = runner.invoke(app, ["trace", program, "x=3"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "(∂g/∂x = 1)" in result.stderr and "g = 2*x" in result.stderr
