"""`backprop quiz` at a real pseudo-terminal: Rich's prompt, Ctrl-C and Ctrl-D.

Spawns `python -m backprop_cli quiz …` with pexpect and answers like a person,
with the notes' numbers for (x+y)z at x=-2, y=5, z=-4.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

from backprop_cli.quiz.history import open_store  # noqa: E402

SUM_TIMES = ["(x + y) * z", "x=-2", "y=5", "z=-4"]
NOTES_ANSWERS = ["-4", "-4", "3", "3", "1", "-4", "1", "-4"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def spawn(home: Path, *args: str):  # type: ignore[no-untyped-def]
    env = {**os.environ, "BACKPROP_HOME": str(home), "COLUMNS": "100"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "backprop_cli", "quiz", *args],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 100),
    )
    return child


def saved(home: Path) -> int:
    store = open_store(home / "history.sqlite3")
    try:
        return len(store.rows())
    finally:
        store.close()


def test_a_whole_quiz_at_a_terminal(tmp_path: Path) -> None:
    child = spawn(tmp_path, *SUM_TIMES)
    child.expect("8 questions on the backward pass")
    prompts = [
        "local gradient ∂f/∂s1",
        "gradient f sends to s1",
        "local gradient ∂f/∂z",
        "gradient f sends to z",
        "local gradient ∂s1/∂x",
        "gradient s1 sends to x",
        "local gradient ∂s1/∂y",
        "gradient s1 sends to y",
    ]
    for prompt, answer in zip(prompts, NOTES_ANSWERS, strict=True):
        child.expect_exact(prompt)
        child.expect_exact(": ")  # Rich's prompt waits here
        child.sendline(answer)
        child.expect("right")
    child.expect(r"Score: 8/8")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert saved(tmp_path) == 8


def test_feedback_at_the_terminal(tmp_path: Path) -> None:
    child = spawn(tmp_path, "x * y", "x=3", "y=-4")
    child.expect_exact("local gradient ∂f/∂x: ")
    child.sendline("3")
    child.expect_exact("gradient f sends to x")
    text = ANSI.sub("", child.before or "")
    assert "mul switches: the local gradient on x is y = -4" in text
    child.sendline("q")
    child.expect(r"Score: 0/1")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ctrl_c_saves_and_exits_cleanly(tmp_path: Path) -> None:
    child = spawn(tmp_path, *SUM_TIMES)
    child.expect_exact("local gradient ∂f/∂s1: ")
    child.sendline("-4")
    child.expect_exact("gradient f sends to s1")
    child.expect_exact(": ")
    child.sendline("?")
    child.expect("hint")
    child.expect_exact(": ")
    child.sendintr()
    child.expect("interrupted")
    child.expect(r"Score: 1/1")
    child.expect(pexpect.EOF)
    rest = child.before or ""
    child.close()
    assert "Traceback" not in rest
    assert child.exitstatus == 130
    assert saved(tmp_path) == 1


def test_ctrl_d_ends_the_quiz(tmp_path: Path) -> None:
    child = spawn(tmp_path, *SUM_TIMES)
    child.expect_exact("local gradient ∂f/∂s1: ")
    child.sendline("-4")
    child.expect_exact("gradient f sends to s1")
    child.expect_exact(": ")
    child.sendeof()
    child.expect(r"Score: 1/1")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert saved(tmp_path) == 1
