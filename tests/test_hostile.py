"""Known hostile inputs, as regression tests: each ends quickly with exit 2 and one
clear message on stderr, never a traceback, never a hang.

They go through the real commands (`trace`, `check`, `quiz`) with typer's CliRunner;
`result.exception` must be the SystemExit of a clean exit, nothing else.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from backprop_cli.cli import app

EVAL_ESCAPES = [
    "().__class__.__bases__",
    "().__class__.__bases__[0].__subclasses__()",
    "__import__('os').system('echo owned')",
    "exec('1')",
    "eval('x')",
    "open('/etc/passwd')",
    "x.__class__",
    "getattr(x, 'real')",
    "lambda: x",
    "[c for c in ()]",
    "x if x else y",
    "x; import os",
    "__builtins__",
    "_ + x",
    "f'{x}'",
    "b'x' * x",
    "x @ y",
    "x[0]",
    "x := 3",
    "yield x",
    "async def f(): pass",
    "del x",
    "global x",
]

HUGE_NUMBERS = [
    "9**9**9**9",
    "x**9**9**9",
    "x ** 1e308",
    "x ^ 99999",
    "2 ** 2 ** 2 ** 2 ** 2 ** 2 * x",
    "1e999 * x",
    "x * " + "9" * 5_000,  # an integer literal longer than Python converts to float
    "exp(1e6) * x",
    "x / 0",
    "x / (1 - 1)",
    "log(-1) * x",
    "sqrt(-4) * x",
    "(-8) ** 0.5 * x",
]

SIZES = [
    "(" * 50_000 + "x" + ")" * 50_000,  # 50,000 nested parentheses
    "(" * 300 + "x" + ")" * 300,  # past Python's own parenthesis limit
    "-" * 50_000 + "x",  # 50,000 unary minus signs
    "exp(" * 2_000 + "x" + ")" * 2_000,
    "+".join(f"x{i}" for i in range(10_000)),  # a 10,000-term sum on one line
    "+".join(["x"] * 3_000),
    "x" * 200_000,  # a 200,000-character name
    "x+" * 500_000 + "x",  # a megabyte of input
    "\n".join(f"s{i} = s{i - 1} * 1.0001 + x" if i else "s0 = x" for i in range(20_000)),
]

ODD_TEXT = [
    "x\x00+y",
    "\x00",
    "x +\ufeff y",
    "x + y\u202e",  # a right-to-left override
    "x + \udcff",  # a lone surrogate
    "",
    "   \n\t  ",
    "# only a comment",
    "x = ",
    "= x",
    "x ** ",
    "max(x)",
    "sin(x, y)",
    "relu()",
    "sigmoid(x=1)",
    "f = 1 + 2",
]


def assert_refused(result: Result, *words: str) -> None:
    """Exit 2, one message on stderr, no traceback and no stray exception."""
    assert result.exit_code == 2, (result.exit_code, result.stdout[-500:], result.stderr[-500:])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert len(result.stderr) < 2_000  # one clear message, not a dump of the input
    for word in words:
        assert word in result.stderr


def trace(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, ["trace", *args])


@pytest.mark.parametrize("text", EVAL_ESCAPES)
def test_no_way_out_of_the_language(runner: CliRunner, text: str) -> None:
    assert_refused(trace(runner, text, "x=1"))


@pytest.mark.parametrize("text", HUGE_NUMBERS)
def test_huge_numbers_are_refused_not_computed(runner: CliRunner, text: str) -> None:
    assert_refused(trace(runner, text, "x=1"))


def test_the_exponent_message_says_what_and_how() -> None:
    result = CliRunner().invoke(app, ["trace", "9**9**9**9", "x=1"])
    assert_refused(result, "exponent", "too large", "limit is 100")


@pytest.mark.parametrize("text", SIZES, ids=lambda t: f"{len(t)}-chars")
def test_huge_and_deep_inputs_end_quickly(runner: CliRunner, text: str, tmp_path: Path) -> None:
    assert_refused(trace(runner, "--", text, "x=1"))
    path = tmp_path / "big.txt"
    path.write_text(text)
    assert_refused(trace(runner, "--file", str(path), "x=1"))


def test_deep_nesting_says_to_break_it_into_stages(runner: CliRunner) -> None:
    assert_refused(trace(runner, "(" * 50_000 + "x" + ")" * 50_000, "x=1"), "limit")
    # `--` so that the leading minus signs are not read as an option
    assert_refused(trace(runner, "--", "-" * 50_000 + "x", "x=1"), "stages")
    assert_refused(trace(runner, "+".join(["x"] * 3_000), "x=1"), "stages")


@pytest.mark.parametrize("text", ODD_TEXT)
def test_odd_text_is_refused_clearly(runner: CliRunner, text: str) -> None:
    assert_refused(trace(runner, text, "x=1"))


def test_a_nul_byte_is_pointed_at(runner: CliRunner) -> None:
    result = trace(runner, "x\x00+y", "x=1", "y=2")
    assert_refused(result, "NUL byte")
    assert "\x00" not in result.stderr  # shown as ?, not sent to the terminal


@pytest.mark.parametrize(
    "data",
    [b"x + \xff\xfe y", b"\x80", b"x * y\n\xc3\x28", "x·y".encode("utf-16")],
    ids=["ff-fe", "lone-continuation", "bad-pair", "utf-16"],
)
def test_files_that_are_not_utf8(runner: CliRunner, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "expr.txt"
    path.write_bytes(data)
    assert_refused(trace(runner, "--file", str(path), "x=1", "y=2"), "UTF-8")


def test_a_file_over_a_megabyte(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x+" * 600_000 + b"x")
    assert_refused(trace(runner, "--file", str(path), "x=1"), "larger than")


def test_standard_input_over_a_megabyte(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trace", "-", "x=1"], input="x+" * 600_000 + "x")
    assert_refused(result, "larger than")


def test_a_directory_and_a_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    assert_refused(trace(runner, "--file", str(tmp_path), "x=1"))
    assert_refused(trace(runner, "--file", str(tmp_path / "nope.txt"), "x=1"))


@pytest.mark.parametrize(
    "binding",
    [
        "x=__import__('os')",
        "x=9**9**9**9",
        "x=1e999",
        "x=nan",
        "x=inf",
        "x=" + "(" * 50_000 + "1" + ")" * 50_000,
        "x=" + "9" * 5_000,
        "x=\x00",
        "__class__=1",
        "x==1",
        "=1",
        "x",
        "exp=1",
    ],
    ids=range(13),
)
def test_hostile_bindings(runner: CliRunner, binding: str) -> None:
    assert_refused(trace(runner, "x * 2", binding))


# --------------------------------------------------------------------------- check


def problem_file(tmp_path: Path, expression: str, bindings: str = "{ x = 1 }") -> Path:
    path = tmp_path / "set.toml"
    path.write_text(
        "[[problem]]\n"
        'id = "hostile"\n'
        f"expression = {expression!r}\n" + f"bindings = {bindings}\n"
        "[problem.expect]\nvalue = 1\n"
    )
    return path


@pytest.mark.parametrize(
    "expression",
    ["().__class__.__bases__", "__import__('os')", "exec('1')", "9**9**9**9", "x ** 1e308"],
)
def test_check_refuses_hostile_problems(runner: CliRunner, tmp_path: Path, expression: str) -> None:
    result = runner.invoke(app, ["check", str(problem_file(tmp_path, expression))])
    assert result.exit_code == 2, result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe[[problem]]",
        b'[[problem]]\nid = "a\x00"\n',
        b"[[problem\n",
        b"x = 1\n" * 200_000,
        b"a = " + b"[" * 50_000 + b"]" * 50_000 + b"\n",
        b"[[problem]]\nid = 1\nexpression = 2\nbindings = 3\n",
    ],
    ids=["not-utf8", "nul", "broken-toml", "megabytes", "deep-arrays", "wrong-types"],
)
def test_check_refuses_hostile_files(runner: CliRunner, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "set.toml"
    path.write_bytes(data)
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2, (result.stdout[-400:], result.stderr[-400:])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stdout + result.stderr


# --------------------------------------------------------------------------- quiz


def test_hostile_quiz_answers_are_unreadable_not_run(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKPROP_HOME", str(tmp_path / "home"))
    answers = [
        "__import__('os').system('echo owned')",
        "().__class__.__bases__",
        "9**9**9**9",
        "(" * 50_000 + "1" + ")" * 50_000,
        "1" * 5_000,
        "x\x00",
        "1/0",
        "-4",  # the notes' answer, after all that: ∂f/∂q = z = -4
    ]
    text = "".join(f"{a}\n" for a in answers)
    result = runner.invoke(app, ["quiz", "(x + y) * z", "x=-2", "y=5", "z=-4"], input=text)
    assert result.exit_code == 0, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "owned" not in result.stdout.split()  # echoed inside the answer, never run
    assert max(len(line) for line in result.stdout.splitlines()) < 300  # nothing echoed whole
    assert "Traceback" not in result.stdout + result.stderr
    assert "Score: 1/" in result.stdout.rstrip().splitlines()[-1]


def run_backprop(args: list[str], data: bytes, home: Path) -> subprocess.CompletedProcess[bytes]:
    """A real process, so standard input is real bytes, not CliRunner's text."""
    env = {**os.environ, "BACKPROP_HOME": str(home)}
    command = [sys.executable, "-m", "backprop_cli", *args]
    return subprocess.run(command, input=data, capture_output=True, timeout=60, env=env)


def test_bytes_that_are_not_utf8_on_standard_input(tmp_path: Path) -> None:
    traced = run_backprop(["trace", "-", "x=1"], b"x * \xff\xfe", tmp_path)
    assert traced.returncode == 2
    assert traced.stderr.startswith(b"error: ") and b"UTF-8" in traced.stderr
    quizzed = run_backprop(
        ["quiz", "(x + y) * z", "x=-2", "y=5", "z=-4"], b"\xff\xfe\x00\n-4\n", tmp_path
    )
    assert quizzed.returncode == 0, quizzed.stderr
    assert b"Traceback" not in quizzed.stdout + quizzed.stderr
    assert quizzed.stdout.rstrip().endswith(b"Score: 1/1")
