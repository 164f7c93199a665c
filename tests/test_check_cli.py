"""`backprop check`, `backprop problems` and `backprop trace --problem`, through Typer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.problems.sets import bundled_path

# d(x*y)/dx = y = 3 at x=2, y=3, so the first claim is wrong (2) and the value right.
WRONG = """\
[set]
title = "Wrong on purpose"

[[problem]]
id = "mul-wrong"
expression = "x * y"
bindings = { x = 2, y = 3 }

[problem.expect]
value = 6
gradients = { x = 2, y = 2 }

[[problem]]
id = "add-right"
expression = "x + y"
bindings = { x = 2, y = 3 }

[problem.expect]
value = 5
gradients = { x = 1, y = 1 }
"""


@pytest.fixture
def wrong(tmp_path: Path) -> Path:
    path = tmp_path / "wrong.toml"
    path.write_text(WRONG, encoding="utf-8")
    return path


def test_check_bundled_passes(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", str(bundled_path()), "--no-sympy"])
    assert result.exit_code == 0, result.output
    count = len(list(bundled_path().glob("*.toml")))
    assert count >= 5
    assert "61 problems: 61 passed, 0 failed, 0 errors" in result.output


def test_check_without_paths_checks_the_bundle(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", "--no-sympy", "-q"])
    assert result.exit_code == 0
    assert "passed, 0 failed, 0 errors" in result.output


def test_check_names_the_wrong_gradient(runner: CliRunner, wrong: Path) -> None:
    result = runner.invoke(app, ["check", str(wrong)])
    assert result.exit_code == 1
    assert "mul-wrong" in result.output and "fail" in result.output
    assert "∂/∂x: want 2, got 3" in result.output
    assert "∂/∂y" not in result.output  # d/dy = x = 2 is right: not shown
    assert "2 problems: 1 passed, 1 failed, 0 errors" in result.output


def test_check_quiet_shows_only_trouble(runner: CliRunner, wrong: Path) -> None:
    result = runner.invoke(app, ["check", str(wrong), "-q"])
    assert "mul-wrong" in result.output and "add-right" not in result.output


def test_check_json(runner: CliRunner, wrong: Path) -> None:
    result = runner.invoke(app, ["check", str(wrong), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["summary"] == {
        "passed": 1,
        "failed": 1,
        "errors": 0,
        "warnings": 0,
        "unreadable_files": 0,
    }
    first, second = data["problems"]
    assert {k: first[k] for k in ("id", "line", "status")} == {
        "id": "mul-wrong",
        "line": 4,
        "status": "fail",
    }
    assert first["file"].endswith("wrong.toml")
    (diff,) = first["diffs"]
    assert (diff["name"], diff["kind"], diff["want"], diff["got"]) == ("x", "gradient", 2, 3)
    assert second["status"] == "pass" and second["diffs"] == [] and second["message"] == ""


def test_check_junit(runner: CliRunner, wrong: Path) -> None:
    result = runner.invoke(app, ["check", str(wrong), "--format", "junit"])
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "1", "0")
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["mul-wrong", "add-right"]
    failure = cases[0].find("failure")
    assert failure is not None and "want 2, got 3" in (failure.text or "")
    assert cases[1].find("failure") is None


def test_check_github_annotations(runner: CliRunner, wrong: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(wrong), "--format", "github"])
    assert result.exit_code == 1
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1
    assert errors[0].startswith(f"::error file={wrong},line=4,title=backprop check mul-wrong::")
    assert "%0A" in errors[0] and "\n" not in errors[0]  # one line per annotation


def test_check_malformed_file_exits_2_with_file_and_line(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text('[[problem]]\nid = "a"\nexpression = "x"\nbindngs = { x = 1 }\n')
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert "unknown key 'bindngs'" in result.stdout and "     4   (file)   error" in result.stdout
    assert "Traceback" not in result.output


def test_check_malformed_file_is_annotated_for_github(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text('[[problem]]\nid = "a"\nexpression = "x"\ndifficulty = 9\n')
    result = runner.invoke(app, ["check", str(path), "--format", "github"])
    assert result.exit_code == 2
    assert result.stdout.startswith(f"::error file={path},line=4,title=backprop check::")
    assert "1 to 5" in result.stdout


# A folder with a broken file between two good ones (files are checked in name order).
# d(2x)/dx = 2 at x = 1 by hand; the broken file's key is misspelt on its line 3.
GOOD = '[set]\n[[problem]]\nid = "{id}"\nexpression = "2*x"\nbindings = {{ x = 1 }}\n' + (
    "[problem.expect]\ngradients = {{ x = 2 }}\n"
)
BROKEN = '[[problem]]\nid = "b"\nexpresion = "2*x"\n'


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "a.toml").write_text(GOOD.format(id="first"))
    (tmp_path / "b.toml").write_text(BROKEN)
    (tmp_path / "c.toml").write_text(GOOD.format(id="last"))
    return tmp_path


def test_one_unreadable_file_does_not_hide_the_others(runner: CliRunner, folder: Path) -> None:
    result = CliRunner().invoke(app, ["check", str(folder)], terminal_width=80)
    assert result.exit_code == 2
    out = "\n".join(line.rstrip() for line in result.stdout.splitlines())
    broken = folder / "b.toml"
    assert f"{broken}  cannot be loaded" in out
    assert (
        "  line   id       status   details\n"
        " ──────────────────────────────────────────────────────────────────────────────\n"
        "     3   (file)   error    unknown key 'expresion' in [[problem]]. Did you\n"
        "                           mean 'expression'? Known keys: id, title,\n"
        "                           expression, bindings, difficulty, tags, hint,\n"
        "                           expect\n"
    ) in out
    assert out.index("first") < out.index("cannot be loaded") < out.index("last")
    assert out.endswith("2 problems: 2 passed, 0 failed, 0 errors; 1 file cannot be loaded")
    assert result.stderr == (
        f"error: {broken}:3: unknown key 'expresion' in [[problem]]. Did you mean "
        "'expression'? Known keys: id, title, expression, bindings, difficulty, tags, hint, "
        "expect\n"
    )


def test_an_unreadable_file_in_every_format(runner: CliRunner, folder: Path) -> None:
    broken = folder / "b.toml"
    reason = "unknown key 'expresion' in [[problem]]. Did you mean 'expression'?"
    as_json = runner.invoke(app, ["check", str(folder), "--format", "json"])
    assert as_json.exit_code == 2
    data = json.loads(as_json.stdout)
    assert data["summary"] == {
        "passed": 2,
        "failed": 0,
        "errors": 0,
        "warnings": 0,
        "unreadable_files": 1,
    }
    assert [p["id"] for p in data["problems"]] == ["first", None, "last"]
    entry = data["problems"][1]
    assert (entry["file"], entry["line"], entry["status"]) == (str(broken), 3, "error")
    assert entry["message"].startswith(reason) and entry["title"] is None

    junit = runner.invoke(app, ["check", str(folder), "--format", "junit"])
    assert junit.exit_code == 2
    root = ET.fromstring(junit.stdout)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "0", "1")
    suites = root.findall("./testsuite")
    assert [s.get("errors") for s in suites] == ["0", "1", "0"]
    (case,) = suites[1].findall("testcase")
    assert (case.get("name"), case.get("line")) == ("(file cannot be loaded)", "3")
    error = case.find("error")
    assert error is not None and (error.text or "").startswith(reason)

    github = runner.invoke(app, ["check", str(folder), "--format", "github"])
    assert github.exit_code == 2
    lines = github.stdout.splitlines()
    assert lines[0].startswith(f"::error file={broken},line=3,title=backprop check::{reason}")
    assert lines[-1] == "2 problems: 2 passed, 0 failed, 0 errors; 1 file cannot be loaded"


def test_a_file_that_cannot_be_read_is_a_row_too(runner: CliRunner, folder: Path) -> None:
    (folder / "d.toml").write_bytes(b'[[problem]]\nid = "\xff"\n')
    result = runner.invoke(app, ["check", str(folder), "--format", "json"])
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["summary"]["unreadable_files"] == 2 and data["summary"]["passed"] == 2
    assert data["problems"][-1]["message"] == "not UTF-8 text; save the file as UTF-8"


def test_check_problem_error_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "domain.toml"
    path.write_text('[[problem]]\nid = "neg-log"\nexpression = "log(x)"\nbindings = { x = -1 }\n')
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert "error" in result.output and "log needs a positive input" in result.output


def test_check_missing_path_and_empty_folder(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no such file or folder" in result.stderr
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 2 and "found no problems" in result.stderr


def test_problems_lists_the_bundle(runner: CliRunner) -> None:
    result = runner.invoke(app, ["problems"])
    assert result.exit_code == 0
    assert "sum-times" in result.output and "Worked examples from the notes" in result.output
    assert "problems in 6 sets" in result.output


def test_problems_filters_and_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["problems", "--tag", "fork", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data and all("fork" in p["tags"] for p in data)
    assert {"id", "title", "set", "file", "line", "difficulty", "tags", "expression"} <= set(
        data[0]
    )
    hard = json.loads(runner.invoke(app, ["problems", "--difficulty", "4", "--json"]).stdout)
    assert all(p["difficulty"] == 4 for p in hard)


def test_problems_of_a_given_folder(runner: CliRunner, wrong: Path) -> None:
    result = runner.invoke(app, ["problems", str(wrong.parent)])
    assert result.exit_code == 0
    assert "Wrong on purpose" in result.output and "mul-wrong" in result.output


def test_trace_a_bundled_problem(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trace", "--problem", "sum-times", "--json", "--no-check"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # The notes: (x + y) z at x=-2, y=5, z=-4 is -12, with gradients -4, -4, 3.
    assert data["value"] == -12
    assert data["gradients"] == {"x": -4, "y": -4, "z": 3}


def test_trace_a_problem_with_an_override_and_header(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trace", "--problem", "sum-times", "z=2", "--no-check"])
    assert result.exit_code == 0
    assert "problem sum-times" in result.output
    assert "f = 6" in result.output  # (-2 + 5) * 2


def test_trace_a_problem_from_a_folder(runner: CliRunner, wrong: Path) -> None:
    result = runner.invoke(
        app, ["trace", "--problem", "wrong:mul-wrong", "--from", str(wrong), "--json"]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["value"] == 6


def test_trace_unknown_problem(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trace", "--problem", "sum-time"])
    assert result.exit_code == 2
    assert "Did you mean sum-times" in result.stderr


def test_trace_problem_refuses_an_expression_too(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trace", "--problem", "sum-times", "x*y"])
    assert result.exit_code == 2
    assert "only NAME=VALUE" in result.stderr


def test_commands_do_not_import_sympy_at_startup() -> None:
    code = (
        "import sys, backprop_cli.cli, backprop_cli.pytest_plugin; "
        "print('sympy' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def mixed_problems(copies: int) -> str:
    """Passing, failing, erroring, kinked and vector problems, with a duplicate id: every
    kind of verdict, `copies` times over (enough for several workers)."""
    blocks = ['[set]\ntitle = "Mixed"\n']
    for n in range(copies):
        blocks.append(
            f'[[problem]]\nid = "mul-{n}"\nexpression = "x * y"\nbindings = {{ x = {n}, y = 3 }}\n'
            f"[problem.expect]\nvalue = {3 * n}\ngradients = {{ x = 3, y = {n} }}\n"
        )
        # d(x*y)/dx = y = 3, claimed 2: a failure
        blocks.append(
            f'[[problem]]\nid = "wrong-{n}"\nexpression = "x * y"\nbindings = {{ x = 2, y = 3 }}\n'
            "[problem.expect]\ngradients = { x = 2, y = 2 }\n"
        )
        blocks.append(  # log of a negative number: an error
            f'[[problem]]\nid = "log-{n}"\nexpression = "log(x)"\nbindings = {{ x = -{n + 1} }}\n'
        )
        blocks.append(  # relu at 0: a kink warning; d(sum(W @ x))/dx = column sums of W
            f'[[problem]]\nid = "vec-{n}"\nexpression = "relu(z) + sum(W @ x)"\n'
            "bindings = { z = 0, W = [[1, 2], [3, 4]], x = [1, 1] }\n"
            "[problem.expect]\ngradients = { z = 0, x = [4, 6] }\n"
        )
    blocks.append('[[problem]]\nid = "mul-0"\nexpression = "x + 1"\nbindings = { x = 1 }\n')
    return "\n".join(blocks)


def test_jobs_give_the_same_report_as_one_process(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "mixed.toml"
    path.write_text(mixed_problems(6), encoding="utf-8")
    one = runner.invoke(app, ["check", str(path), "--format", "json", "-j", "1"])
    two = runner.invoke(app, ["check", str(path), "--format", "json", "--jobs", "2"])
    assert one.exit_code == two.exit_code == 2  # the log problems are errors
    assert json.loads(one.stdout) == json.loads(two.stdout)
    summary = json.loads(two.stdout)["summary"]
    assert (summary["passed"], summary["failed"], summary["errors"]) == (13, 6, 6)
    statuses = [p["status"] for p in json.loads(two.stdout)["problems"]]
    assert statuses[:4] == ["pass", "fail", "error", "pass"]  # in file order
    assert "used more than once" in json.loads(two.stdout)["problems"][0]["warnings"][0]


def test_jobs_give_the_same_verdicts_on_the_bundled_sets(runner: CliRunner) -> None:
    one = runner.invoke(app, ["check", "--format", "json", "-j", "1"])
    two = runner.invoke(app, ["check", "--format", "json", "-j", "2"])
    assert one.exit_code == two.exit_code == 0
    assert json.loads(one.stdout) == json.loads(two.stdout)


def test_jobs_must_be_a_positive_count(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", "-j", "0"])
    assert result.exit_code == 2
    assert "--jobs" in result.output


def test_problems_table_names_its_column_as_the_option_does(runner: CliRunner) -> None:
    result = runner.invoke(app, ["problems", "--difficulty", "2"])
    assert result.exit_code == 0
    header = next(line for line in result.stdout.splitlines() if line.strip().startswith("id"))
    assert header.split()[:2] == ["id", "difficulty"]
    rows = [line.split() for line in result.stdout.splitlines() if "★" in line]
    assert rows and all(row[1] == "2" and row[2] == "★★☆☆☆" for row in rows)


def test_one_sympy_allowance_for_the_whole_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 15: a pull request must not multiply the per-problem sympy budget by adding
    # problems. With the run's allowance spent by the first problem, the others are
    # proved by finite differences alone and say why sympy was skipped.
    from backprop_cli.problems import sets

    monkeypatch.setattr(sets, "RUN_SYMPY_SECONDS", 1e-9)
    problems = sets.load_problems([sets.bundled_path()])[:5]
    results = sets.check_problems(problems, jobs=1)
    assert [r.status for r in results] == ["pass"] * 5
    assert results[0].checks[0].status == "agree"
    for r in results[1:]:
        assert r.checks[0].status == "skipped"
        assert "sympy allowance" in r.checks[0].message
        assert r.checks[1].status == "agree"
