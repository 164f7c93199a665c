"""Crash safety of the quiz history: a quiz killed with SIGKILL loses at most the
answer it was working on, and the database stays whole for the next quiz.

A real process, since SIGKILL gives no chance to clean up: each answer must already
be committed when its feedback is printed. The answers to (x+y)z at x=-2, y=5,
z=-4 are the notes' (mul switches: -4 and 3; add distributes: -4 to x and y).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backprop_cli.quiz import history

SUM_TIMES = ["(x + y) * z", "x=-2", "y=5", "z=-4"]
NOTES_ANSWERS = ["-4", "-4", "3", "3", "1", "-4", "1", "-4"]

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def saved(path: Path) -> int:
    rows, _ = history.read_rows(path)
    return len(rows)


def wait_for(path: Path, count: int, quiz: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while saved(path) < count:
        assert quiz.poll() is None, "the quiz ended early"
        assert time.monotonic() < deadline, f"answer {count} was never saved"
        time.sleep(0.05)


def test_sigkill_mid_quiz_keeps_every_answer_given(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, history.HOME_VARIABLE: str(home), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "backprop_cli", "quiz", *SUM_TIMES]
    quiz = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    path = home / history.FILENAME
    assert quiz.stdin is not None
    try:
        for count, answer in enumerate(NOTES_ANSWERS[:3], start=1):
            quiz.stdin.write(f"{answer}\n".encode())
            quiz.stdin.flush()
            wait_for(path, count, quiz)
        quiz.stdin.write(b"3")  # half an answer, no newline: the one being worked on
        quiz.stdin.flush()
        time.sleep(0.2)
    finally:
        quiz.send_signal(signal.SIGKILL)
        quiz.wait(timeout=30)
    assert quiz.returncode == -signal.SIGKILL

    rows, notices = history.read_rows(path)
    assert notices == []
    assert [row.answer for row in rows] == NOTES_ANSWERS[:3]
    assert all(row.correct for row in rows)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    # The next quiz opens the same database and adds to it.
    answers = "".join(f"{a}\n" for a in NOTES_ANSWERS).encode()
    again = subprocess.run(command, input=answers, capture_output=True, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert b"warning" not in again.stderr and b"memory" not in again.stderr
    assert saved(path) == 3 + len(NOTES_ANSWERS)


def test_a_read_only_data_directory_still_runs_the_quiz(tmp_path: Path) -> None:
    home = tmp_path / "home"
    if os.geteuid() == 0:  # root writes anywhere: a file where the folder should be
        home.write_text("not a folder")
    else:
        home.mkdir()
        home.chmod(0o500)
    try:
        env = {**os.environ, history.HOME_VARIABLE: str(home)}
        answers = "".join(f"{a}\n" for a in NOTES_ANSWERS).encode()
        command = [sys.executable, "-m", "backprop_cli", "quiz", *SUM_TIMES]
        result = subprocess.run(command, input=answers, capture_output=True, env=env, timeout=120)
    finally:
        home.chmod(0o700)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith(b"Score: 8/8")
    assert b"not saved" in result.stderr  # says the answers are not being kept
