"""Spaced repetition by FSRS, per problem and per gate skill (quiz/schedule.py).

Oracles: the rating rules as the module states them, worked out by hand per case;
FSRS's published default parameters (a new card's stability after Again, Hard, Good,
Easy is w0..w3 = 0.212, 1.2931, 2.3065, 8.2956 days, and at 90% desired retention the
next interval is the stability, rounded to whole days); and the `fsrs` package's own
Scheduler driven directly with hand-chosen ratings, for longer histories.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsrs
import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.quiz import history
from backprop_cli.quiz.history import Row, compute_stats, open_store, read_rows
from backprop_cli.quiz.schedule import (
    AGAIN,
    EASY,
    GOOD,
    HARD,
    gate_reviews,
    problem_reviews,
    rating,
    when,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def answer(
    correct: bool = True,
    *,
    hints: int = 0,
    seconds: float = 5.0,
    problem: str = "p",
    gate: str = "mul",
    session: str = "s1",
    at: datetime = NOW,
    skipped: bool = False,
) -> Row:
    return Row(
        session=session,
        problem=problem,
        step="f",
        gate=gate,
        kind="local",
        asked="local gradient ∂f/∂x",
        answer="" if skipped else "1" if correct else "2",
        expected=1.0,
        correct=correct and not skipped,
        skipped=skipped,
        hints=hints,
        seconds=seconds,
        mode="backward",
        timestamp=at,
    )


@pytest.mark.parametrize(
    ("marks", "hints", "seconds", "expected"),
    [
        ([True] * 4, 0, 5.0, EASY),  # all right, no hint, 5 s < 10 s
        ([True] * 4, 0, 20.0, GOOD),  # all right, 20 s: neither fast nor slow
        ([True] * 4, 0, 60.0, HARD),  # all right but 60 s > 45 s an answer
        ([True] * 4, 1, 5.0, HARD),  # a hint
        ([True] * 7 + [False], 0, 5.0, HARD),  # 7 of 8 right: one slip
        ([True] * 3 + [False], 0, 5.0, HARD),  # 3 of 4: exactly 75%, not below
        ([True, True, False, False], 0, 5.0, AGAIN),  # 2 of 4 < 75%
        ([False], 0, 1.0, AGAIN),
    ],
)
def test_rating_from_correctness_hints_and_time(
    marks: list[bool], hints: int, seconds: float, expected: int
) -> None:
    run = [answer(m, seconds=seconds) for m in marks]
    if hints:
        run[0] = answer(marks[0], hints=hints, seconds=seconds)
    assert rating(run) == expected


def test_a_first_review_follows_fsrs_defaults() -> None:
    # Again and Hard stay in learning (the 10-minute step; Hard is 1.5 steps), Good
    # and Easy graduate at w2 = 2.3065 -> 2 days and w3 = 8.2956 -> 8 days.
    cases = {
        "again": ([answer(False)], timedelta(minutes=10)),
        "hard": ([answer(True, hints=1)], timedelta(minutes=15)),
        "good": ([answer(True, seconds=20)], timedelta(days=2)),
        "easy": ([answer(True, seconds=3)], timedelta(days=8)),
    }
    for name, (run, interval) in cases.items():
        review = problem_reviews(run)["p"]
        assert review.due == NOW + interval, name
        assert review.rating == name and review.sessions == 1
    again = problem_reviews(cases["again"][0])["p"]
    assert again.missed_last and again.box == 0 and again.state == "learning"
    assert problem_reviews(cases["easy"][0])["p"].stability == pytest.approx(8.2956)


def test_a_longer_history_matches_the_fsrs_scheduler_itself() -> None:
    """Five runs on one problem, replayed: the same due date as fsrs's own Scheduler
    given the ratings worked out by hand (Good, Good, Again, Good, Easy)."""
    runs = [
        ([True] * 3, 20.0, NOW),
        ([True] * 3, 20.0, NOW + timedelta(days=2)),
        ([True, False, False], 20.0, NOW + timedelta(days=9)),
        ([True] * 3, 20.0, NOW + timedelta(days=9, minutes=12)),
        ([True] * 3, 4.0, NOW + timedelta(days=11)),
    ]
    rows = [
        answer(m, seconds=s, session=f"run{i}", at=at)
        for i, (marks, s, at) in enumerate(runs)
        for m in marks
    ]
    oracle = fsrs.Scheduler(
        learning_steps=(timedelta(minutes=10),),
        relearning_steps=(timedelta(minutes=10),),
        enable_fuzzing=False,
    )
    card = fsrs.Card()
    for mark, (_, _, at) in zip(
        (fsrs.Rating.Good, fsrs.Rating.Good, fsrs.Rating.Again, fsrs.Rating.Good, fsrs.Rating.Easy),
        runs,
        strict=True,
    ):
        card, _ = oracle.review_card(card, mark, review_datetime=at)
    review = problem_reviews(rows)["p"]
    assert review.due == card.due
    assert review.stability == pytest.approx(card.stability)
    assert review.sessions == 5 and review.rating == "easy" and review.box == 2


def test_gate_skills_are_rated_on_their_own_answers() -> None:
    run = [answer(False, gate="mul"), answer(False, gate="mul"), answer(True, gate="add")]
    run += [answer(True, gate="")]  # a whole-circuit question reviews no gate
    gates = gate_reviews(run)
    assert set(gates) == {"mul", "add"}
    assert gates["mul"].rating == "again" and gates["mul"].due == NOW + timedelta(minutes=10)
    assert gates["add"].rating == "easy" and gates["add"].due == NOW + timedelta(days=8)
    # the problem: 2 of 4 right -> Again
    assert problem_reviews(run)["p"].rating == "again"


def test_stats_show_what_is_due_and_when() -> None:
    rows = [answer(False, gate="mul", problem="a"), answer(True, gate="add", problem="b")]
    stats = compute_stats(rows, NOW + timedelta(minutes=30))
    assert [r.problem for r in stats.due] == ["a"]  # 10 minutes were up
    assert [r.problem for r in stats.gates_due] == ["mul"]
    assert [(r.problem, when(r.due, stats.as_of)) for r in stats.upcoming] == [
        ("add", "in 8 days"),
        ("b", "in 8 days"),
    ]


def test_the_quiz_picks_a_problem_whose_gate_skill_is_due() -> None:
    # Both problems are new and of the same difficulty; mul missed 20 minutes ago.
    rows = [answer(False, gate="mul", problem="seen", at=NOW - timedelta(minutes=20))]
    candidates = [
        history.Candidate("uses-add", 2, ("add",)),
        history.Candidate("uses-mul", 2, ("mul",)),
    ]
    assert history.choose(candidates, rows, NOW).id == "uses-mul"


def skip(*, gate: str = "mul", problem: str = "p", session: str = "s1", at: datetime = NOW) -> Row:
    return answer(False, gate=gate, problem=problem, session=session, at=at, skipped=True)


def test_a_skipped_question_is_not_an_answer_in_the_schedule() -> None:
    # Three right in 5 s and one skipped: rated on the three, all right and fast, Easy
    # (a first Easy is due in w3 = 8.2956 -> 8 days). Counted as wrong, the skip made
    # it 3 of 4: Hard, due in 15 minutes, and no clean run.
    run = [answer(True), answer(True), answer(True), skip()]
    review = problem_reviews(run)["p"]
    assert review.rating == "easy" and review.due == NOW + timedelta(days=8)
    assert review.box == 1 and review.sessions == 1
    # A run with nothing answered is no review: nothing is scheduled...
    assert problem_reviews([skip(), skip()]) == {} and gate_reviews([skip()]) == {}
    # ... and after a Good run (20 s an answer: due in w2 = 2.3065 -> 2 days), a later
    # run of skips leaves it as it was, not relearning in 10 minutes.
    good = [answer(True, seconds=20)]
    later = [skip(session="s2", at=NOW + timedelta(days=1)) for _ in range(3)]
    review = problem_reviews(good + later)["p"]
    assert review.due == NOW + timedelta(days=2)
    assert review.sessions == 1 and review.rating == "good" and not review.missed_last


def test_skips_do_not_make_a_gate_look_weak_to_the_quiz() -> None:
    # mul: 3 right and 3 skipped 20 minutes ago. Counted as wrong, the skips made mul's
    # recent accuracy 3/6 = 0.5 (and its review Again, due after 10 minutes), so the
    # quiz chose the mul problem; on its answers mul is 3 of 3 right, and of two new
    # problems of difficulty 2 the quiz takes the first.
    then = NOW - timedelta(minutes=20)
    rows = [answer(True, gate="mul", problem="seen", at=then) for _ in range(3)]
    rows += [skip(gate="mul", problem="seen", at=then) for _ in range(3)]
    candidates = [
        history.Candidate("uses-add", 2, ("add",)),
        history.Candidate("uses-mul", 2, ("mul",)),
    ]
    assert history.choose(candidates, rows, NOW).id == "uses-add"
    assert [(t.name, t.attempts, t.recent) for t in history.tally(rows, "gate")] == [
        ("mul", 3, 1.0)
    ]


def test_when_rounds_to_the_nearest_unit() -> None:
    assert when(NOW, NOW) == "now"
    assert when(NOW + timedelta(minutes=10, seconds=-2), NOW) == "in 10 minutes"
    assert when(NOW + timedelta(hours=23, minutes=59), NOW) == "in 1 day"
    assert when(NOW + timedelta(days=2, seconds=-5), NOW) == "in 2 days"
    assert when(NOW + timedelta(seconds=20), NOW) == "in 1 minute"


# The schema of the first release (0.1.0), as its history.py created it: no slip
# column, user_version 1. A file written then must open and be scheduled now.
SCHEMA_0_1_0 = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    session TEXT NOT NULL,      -- one quiz run
    problem TEXT NOT NULL,
    step TEXT NOT NULL,
    gate TEXT NOT NULL,         -- gate kind: mul, add, *c, ...; '' for whole-circuit questions
    kind TEXT NOT NULL,         -- forward, upstream, local, product, gradient
    asked TEXT NOT NULL,
    answer TEXT NOT NULL,       -- as typed; '' when skipped
    expected REAL NOT NULL,
    correct INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    hints INTEGER NOT NULL,
    seconds REAL NOT NULL,
    mode TEXT NOT NULL,
    timestamp TEXT NOT NULL     -- ISO 8601, UTC
);
CREATE INDEX IF NOT EXISTS attempts_by_problem ON attempts (problem, timestamp);
"""


def old_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(SCHEMA_0_1_0)
    conn.execute("PRAGMA user_version = 1")
    values = [
        ("s1", "sum-times", "f", "mul", "local", "∂f/∂s1", "4", -4.0, 0, 0, 0, 3.0, "backward"),
        ("s1", "sum-times", "s1", "add", "local", "∂s1/∂x", "1", 1.0, 1, 0, 0, 3.0, "backward"),
    ]
    with conn:
        conn.executemany(
            "INSERT INTO attempts (session, problem, step, gate, kind, asked, answer, "
            "expected, correct, skipped, hints, seconds, mode, timestamp) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*v, (NOW - timedelta(hours=1)).isoformat()) for v in values],
        )
    conn.close()


def test_a_database_of_the_first_release_is_read_and_scheduled(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    old_database(path)
    rows, notices = read_rows(path)  # what `stats` does: read only, nothing changed
    assert notices == [] and len(rows) == 2
    stats = compute_stats(rows, NOW)
    # 1 of 2 right: Again, 10 minutes after the run an hour ago -> due
    assert [r.problem for r in stats.due] == ["sum-times"]
    assert [r.problem for r in stats.gates_due] == ["mul"]
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone() == (1,)

    store = open_store(path)  # what `quiz` does: brought up to the current schema
    assert store.notices == [] and len(store.rows()) == 2
    store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (history.SCHEMA_VERSION,)
    assert len(conn.execute("SELECT * FROM attempts").fetchall()) == 2


def test_stats_command_on_an_old_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKPROP_HOME", str(tmp_path))
    old_database(tmp_path / "history.sqlite3")
    result = CliRunner().invoke(app, ["stats", "--json"], env={"BACKPROP_HOME": str(tmp_path)})
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.stdout)
    assert data["attempts"] == 2
    assert [d["problem"] for d in data["due"]] == ["sum-times"]
    assert data["due"][0]["rating"] == "again" and data["due"][0]["state"] == "learning"
    assert [d["gate"] for d in data["gates_due"]] == ["mul"]
    assert [d["name"] for d in data["upcoming"]] == ["add"]
