"""Slips in the history: saved with each attempt, counted by `stats`, old files kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from backprop_cli.quiz import history
from backprop_cli.quiz.questions import quiz_problem, start_quiz

# The version-1 table, as 0.1.0 wrote it (no slip column).
VERSION_1 = """
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY, session TEXT NOT NULL, problem TEXT NOT NULL,
    step TEXT NOT NULL, gate TEXT NOT NULL, kind TEXT NOT NULL, asked TEXT NOT NULL,
    answer TEXT NOT NULL, expected REAL NOT NULL, correct INTEGER NOT NULL,
    skipped INTEGER NOT NULL, hints INTEGER NOT NULL, seconds REAL NOT NULL,
    mode TEXT NOT NULL, timestamp TEXT NOT NULL
);
INSERT INTO attempts VALUES (1, 's', 'p', 'f', 'mul', 'local', 'local gradient', '3', -4.0,
    0, 0, 0, 1.5, 'backward', '2026-01-01T10:00:00+00:00');
PRAGMA user_version = 1;
"""


def old_file(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(VERSION_1)
    conn.close()
    return path


def test_a_version_1_file_reads_as_it_is_and_gains_the_column(tmp_path: Path) -> None:
    path = old_file(tmp_path / "history.sqlite3")
    rows, notices = history.read_rows(path)  # read-only: the file is not changed
    assert notices == [] and len(rows) == 1 and rows[0].slip == ""
    columns = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(attempts)")]
    assert "slip" not in columns

    store = history.open_store(path)
    try:
        assert store.notices == [] and not store.in_memory
        quiz = start_quiz(quiz_problem("t", "x * y", {"x": 3, "y": -4}))
        quiz.respond("3")  # ∂f/∂x is y = -4; 3 is x's own value
        store.record(history.attempt_row("s2", "t", "backward", quiz.attempts[-1]))
        rows = store.rows()
    finally:
        store.close()
    assert [r.slip for r in rows] == ["", "mul-no-switch"]
    assert history.compute_stats(rows).slips == {"mul-no-switch": 1}


def test_slip_counts_most_frequent_first() -> None:
    quiz = start_quiz(quiz_problem("t", "(x + y) * z", {"x": -2, "y": 5, "z": -4}))
    # ∂f/∂s1 = z = -4: 3 is s1's own value; the product 1 × -4: 4 has the sign flipped;
    # ∂f/∂z = s1 = 3: -4 is z's own value.
    for answer in ("3", "4", "-4"):
        quiz.respond(answer)
    rows = [history.attempt_row("s", "t", "backward", a) for a in quiz.attempts]
    assert [a.slip for a in quiz.attempts] == ["mul-no-switch", "sign", "mul-no-switch"]
    assert history.compute_stats(rows).slips == {"mul-no-switch": 2, "sign": 1}
