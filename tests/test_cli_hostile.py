"""Issue 15, parts 3 and 4: exits and files. A closed pipe, the host's alarm, special
files, outputs that must not replace what they should not, NFKC binding names.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.core.budget import time_budget

# --------------------------------------------------------------------------- broken pipe


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["problems"], 0),
        (["trace", "--file", "CHAIN", "x=1", "--json", "--no-check"], 0),
        (["trace", "--file", "CHAIN", "x=1", "--no-check"], 0),
        (["check", "WRONG", "--no-sympy", "--format", "json"], 1),  # its own status kept
        (["check", "WRONG", "--no-sympy"], 1),
    ],
)
def test_a_closed_pipe_ends_quietly_with_the_commands_own_status(
    tmp_path: Path, args: list[str], status: int
) -> None:
    chain = tmp_path / "chain.txt"
    # 3,000 stages: far more output than a pipe holds, so the write meets the closed end.
    chain.write_text("\n".join(["a0 = x"] + [f"a{i} = a{i - 1}*1.0001" for i in range(1, 3000)]))
    wrong = tmp_path / "wrong.toml"
    tables = [
        f'[[problem]]\nid = "p{i}"\nexpression = "x*x + 3*x"\nbindings = {{ x = 2 }}\n'
        f"[problem.expect]\ngradients = {{ x = 4 }}\n"
        for i in range(400)
    ]
    wrong.write_text("\n".join(tables))
    args = [str(chain) if a == "CHAIN" else str(wrong) if a == "WRONG" else a for a in args]
    process = subprocess.Popen(
        [sys.executable, "-m", "backprop_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()  # `| head -1`
    process.stdout.close()
    err = process.stderr.read().decode()
    process.wait(120)
    assert process.returncode == status, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "internal error" not in err


# --------------------------------------------------------------------------- the host's alarm


@pytest.fixture
def host_alarm() -> list[int]:
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    yield fired
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def test_a_budget_gives_the_host_alarm_back(host_alarm: list[int]) -> None:
    signal.setitimer(signal.ITIMER_REAL, 30.0)  # pytest-timeout's, say
    with time_budget(0.05) as budget:
        while not budget.expired:
            time.sleep(0.01)
    remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    assert 25.0 < remaining <= 30.0  # it was cancelled before: 0
    assert host_alarm == []


def test_the_host_alarm_fires_on_time_inside_a_budget(host_alarm: list[int]) -> None:
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    with time_budget(20.0) as budget:
        while not host_alarm and not budget.expired:
            time.sleep(0.01)
    assert host_alarm == [signal.SIGALRM] and not budget.expired


# --------------------------------------------------------------------------- special files


def test_check_dev_zero_says_what_it_is(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", "/dev/zero"])
    assert result.exit_code == 2
    assert "/dev/zero is not a regular file" in result.stderr
    assert "no such file" not in result.stderr


def test_trace_file_dev_zero_is_too_large_not_missing(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trace", "--file", "/dev/zero"])
    assert result.exit_code == 2
    assert "larger than 1,000,000 bytes" in result.stderr


# --------------------------------------------------------------------------- outputs


def test_code_never_writes_over_its_input(runner: CliRunner, tmp_path: Path) -> None:
    program = tmp_path / "prog.txt"
    program.write_text("q = x + y\nf = q * z\n")
    for extra in ([], ["--force"]):
        result = runner.invoke(
            app, ["code", "--file", str(program), "x=1", "y=2", "z=3", "-o", str(program), *extra]
        )
        assert result.exit_code == 2
        assert "is the input this command reads" in result.stderr
        assert program.read_text() == "q = x + y\nf = q * z\n"


def test_export_svg_does_not_replace_someone_elses_file(runner: CliRunner, tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# My notes on backprop\n")
    args = ["trace", "x*y", "x=2", "y=3", "--export-svg", str(notes)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "exists and was not written by backprop; give --force" in result.stderr
    assert notes.read_text() == "# My notes on backprop\n"
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0
    assert 'class="rich-terminal"' in notes.read_text()
    assert runner.invoke(app, args).exit_code == 0  # ours now: replaced again freely


@pytest.mark.parametrize("suffix", [".py", ".dot", ".mmd", ".svg", ".png", ".md"])
def test_our_own_outputs_are_replaced_freely(
    runner: CliRunner, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"circuit{suffix}"
    if suffix == ".py":
        args = ["code", "x*y", "x=2", "y=3", "-o", str(out)]
    elif suffix == ".md":
        args = ["trace", "x*y", "x=2", "y=3", "--format", "markdown", "--out", str(out)]
    else:
        if suffix in (".svg", ".png") and shutil.which("dot") is None:
            pytest.skip("Graphviz's dot is not installed (CI installs it)")
        args = ["graph", "x*y", "x=2", "y=3", "-o", str(out)]
    for _ in range(2):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.stderr


def test_output_through_a_symlink_needs_force(runner: CliRunner, tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    link = tmp_path / "circuit.dot"
    link.symlink_to(precious)
    args = ["graph", "x*y", "x=2", "y=3", "-o", str(link)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "is a symbolic link" in result.stderr
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0
    assert precious.read_text() == "keep me\n"  # the link was replaced, not followed
    assert not link.is_symlink() and "digraph backprop" in link.read_text()


# --------------------------------------------------------------------------- NFKC names


def test_binding_names_in_toml_are_nfkc_normalised(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "set.toml"
    path.write_text(
        '[[problem]]\nid = "a"\nexpression = "x*y"\nbindings = { "ｘ" = 2, y = 3 }\n'
        '[problem.expect]\ngradients = { "ｘ" = 3, y = 2 }\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["check", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stdout
    assert '"warnings": []' in result.stdout  # not "ｘ is given a value but not used"


def test_two_spellings_of_one_name_are_refused(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "set.toml"
    path.write_text(
        '[[problem]]\nid = "a"\nexpression = "x"\nbindings = { x = 1, "ｘ" = 2 }\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert "given twice" in result.stderr
