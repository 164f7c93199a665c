"""A history database from someone else (issue 15): opened defensively, never hangs,
never exits 3, says what is true, and loses nothing when many quizzes start at once.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.core.budget import time_budget
from backprop_cli.quiz import history
from backprop_cli.quiz.history import Row, open_store, read_rows

RECURSIVE = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"


def a_row(gate: str = "mul", answer: str = "1") -> Row:
    return Row(
        session="s1",
        problem="p",
        step="f",
        gate=gate,
        kind="local",
        asked="local gradient ∂f/∂x",
        answer=answer,
        expected=1.0,
        correct=True,
        skipped=False,
        hints=0,
        seconds=2.0,
        mode="backward",
        timestamp=datetime(2026, 3, 10, 12, 0, tzinfo=UTC),
    )


def saved(path: Path, count: int, gate: str = "mul") -> None:
    store = open_store(path)
    assert not store.in_memory, store.notices
    for _ in range(count):
        store.record(a_row(gate))
    store.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BACKPROP_HOME", str(tmp_path))
    return tmp_path


def test_progress_handler_ends_a_runaway_query(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.sqlite3")
    history._arm(conn, 1_000_000)
    with time_budget(30) as budget, pytest.raises(sqlite3.OperationalError, match="interrupt"):
        conn.execute(RECURSIVE).fetchall()  # never ends by itself
    assert not budget.expired


def test_a_view_of_a_recursive_cte_is_refused(home: Path) -> None:
    path = home / "history.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE VIEW attempts AS {RECURSIVE}")
    conn.close()
    with time_budget(30) as budget:
        rows, notices = read_rows(path)
        result = CliRunner().invoke(app, ["stats"])
    assert not budget.expired
    assert rows == [] and "view 'attempts' that backprop did not make" in notices[0]
    assert result.exit_code == 2
    assert "No quiz answers saved yet" not in result.output
    store = open_store(path)  # the quiz: moved aside (kept), a new one started
    assert not store.in_memory and "is not one backprop made" in store.notices[0]
    store.record(a_row())
    assert len(store.rows()) == 1
    assert list(home.glob("history.sqlite3.corrupt-*"))


def test_a_planted_trigger_is_never_run(home: Path) -> None:
    path = home / "history.sqlite3"
    saved(path, 2)
    conn = sqlite3.connect(path)
    conn.execute(
        f"CREATE TRIGGER t AFTER INSERT ON attempts BEGIN SELECT count(*) FROM ({RECURSIVE}); END"
    )
    conn.close()
    with time_budget(30) as budget:
        store = open_store(path)
        store.record(a_row())
    assert not budget.expired
    assert "trigger 't'" in store.notices[0]
    assert len(store.rows()) == 1  # a new file; the old one (2 answers) moved aside


@pytest.mark.parametrize(
    "schema",
    [
        "ALTER TABLE attempts ADD COLUMN extra TEXT DEFAULT 'x'",
        "CREATE INDEX heavy ON attempts (length(zeroblob(1000000000)))",
        "CREATE TABLE other (x)",
    ],
)
def test_schema_objects_we_did_not_make_are_refused(home: Path, schema: str) -> None:
    path = home / "history.sqlite3"
    saved(path, 1)
    conn = sqlite3.connect(path)
    conn.execute(schema)
    conn.close()
    rows, notices = read_rows(path)
    assert rows == [] and "backprop did not make" in notices[0]


def test_a_trigger_named_like_sqlites_own_is_still_refused(home: Path) -> None:
    path = home / "history.sqlite3"
    saved(path, 1)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TRIGGER t AFTER INSERT ON attempts BEGIN SELECT 1; END")
    conn.commit()
    # writable_schema lets a file claim SQLite's reserved sqlite_ prefix for it.
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET name = 'sqlite_t' WHERE name = 't'")
    conn.commit()
    conn.close()
    rows, notices = read_rows(path)
    assert rows == [] and "sqlite_t" in notices[0]  # ours refuses it, or SQLite does
    store = open_store(path)  # the quiz: moved aside, a new file, the trigger never run
    assert not store.in_memory and "moved to" in store.notices[0]


def test_a_fifo_as_the_history_file(home: Path) -> None:
    path = home / "history.sqlite3"
    os.mkfifo(path)
    with time_budget(30) as budget:
        rows, notices = read_rows(path)
        store = open_store(path)
        result = CliRunner().invoke(app, ["quiz", "x*y", "x=2", "y=3"], input="3\n2\n")
    assert not budget.expired
    assert rows == [] and "not a regular file" in notices[0]
    assert store.in_memory and "not a regular file" in store.notices[0]
    assert result.exit_code == 0
    assert "answers are not saved" in result.stdout  # not "your answers are saved"
    assert "(not saved)" in result.stdout


def test_a_fifo_as_the_wal_file(home: Path) -> None:
    path = home / "history.sqlite3"
    saved(path, 1)
    os.mkfifo(path.with_name(path.name + "-wal"))
    with time_budget(30) as budget:
        rows, notices = read_rows(path)
    assert rows == []
    assert not budget.expired and "not a regular file" in notices[0]


def test_bad_rows_are_skipped_with_one_warning(home: Path) -> None:
    path = home / "history.sqlite3"
    saved(path, 3)
    saved(path, 1, gate="[/]")  # Rich markup as a gate name
    conn = sqlite3.connect(path)
    conn.execute("UPDATE attempts SET timestamp = 'yesterday' WHERE id = 1")
    conn.execute("UPDATE attempts SET expected = 'lots' WHERE id = 2")
    conn.execute("UPDATE attempts SET timestamp = '2026-03-10T12:00:00' WHERE id = 3")  # no zone
    conn.execute("UPDATE attempts SET correct = 0, slip = '[/]' WHERE id = 4")  # markup
    conn.commit()
    conn.close()
    result = CliRunner().invoke(app, ["stats"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("warning:") == 1
    assert "skipped 2 saved answers" in result.stderr
    assert "2 answers" in result.stdout and "[/]" in result.stdout
    result = CliRunner().invoke(app, ["quiz", "x*y", "x=2", "y=3"], input="3\n2\n")
    assert result.exit_code == 0 and "skipped 2 saved answers" in result.stderr


def test_an_unreadable_history_folder(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Path) -> bool:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "exists", refuse)
    result = CliRunner().invoke(app, ["stats"])
    assert result.exit_code == 2
    assert "Permission denied" in result.stderr
    assert "No quiz answers saved yet" not in result.output


def test_a_read_only_history_with_answers_in_its_wal_is_read_from_a_copy(
    home: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = home / "history.sqlite3"
    store = open_store(path)
    for _ in range(8):
        store.record(a_row())
    # A snapshot taken while the quiz runs: the answers are still in the -wal file.
    frozen = tmp_path_factory.mktemp("frozen")
    shutil.copyfile(path, frozen / path.name)
    shutil.copyfile(path.with_name(path.name + "-wal"), frozen / (path.name + "-wal"))
    store.close()
    notices: list[str] = []
    assert len(history._read_copy(frozen / path.name, 5.0, notices)) == 8
    assert "read from a copy" in notices[0]
    if os.geteuid() == 0:
        pytest.skip("root ignores modes: the read-only open succeeds, no copy needed")
    for file in frozen.iterdir():
        file.chmod(0o444)
    frozen.chmod(0o555)
    try:
        rows, notices = read_rows(frozen / path.name)
    finally:
        frozen.chmod(0o755)
    assert len(rows) == 8


def _quiz_worker(path: str, barrier: object, answers: int) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    store = open_store(Path(path))
    for _ in range(answers):
        store.record(a_row())
    store.close()
    os._exit(0 if not store.in_memory and not store.notices else 1)


def test_eight_quizzes_at_once_on_a_new_history_all_save(tmp_path: Path) -> None:
    """Seven of eight used to warn "database is locked" and keep nothing (8 of 64)."""
    path = tmp_path / "new" / "history.sqlite3"
    context = multiprocessing.get_context("fork")
    for _ in range(3):  # three fresh folders: the race is at creation
        shutil.rmtree(path.parent, ignore_errors=True)
        barrier = context.Barrier(8)
        workers = [
            context.Process(target=_quiz_worker, args=(str(path), barrier, 8)) for _ in range(8)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        assert [w.exitcode for w in workers] == [0] * 8
        rows, notices = read_rows(path)
        assert (len(rows), notices) == (64, [])
