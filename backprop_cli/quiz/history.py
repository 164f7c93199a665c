"""Saved progress: every quiz attempt in SQLite, statistics, and what to practise next.

The database lives in the user's data directory (platformdirs), or in
`$BACKPROP_HOME` when that is set (tests, shared machines). Each attempt is
committed as soon as it is answered, so Ctrl-C or the end of input loses nothing;
WAL mode and a busy timeout let two quizzes write to one file at once. A file that
is not a database is moved aside (never deleted) and a new one started; a store
that cannot be written (locked, read-only) is reported and the quiz runs in memory.

The statistics and the choice of the next problem are plain functions over the
rows, so they are tested without a database.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import stat
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from backprop_cli.quiz.questions import Attempt
from backprop_cli.quiz.schedule import Review, gate_reviews, problem_reviews

__all__ = ["Review", "gate_reviews", "problem_reviews"]  # the schedule, re-exported

HOME_VARIABLE = "BACKPROP_HOME"
FILENAME = "history.sqlite3"
# 2: the `slip` column (the catalog slip of a wrong answer); a version-1 file gains
# it on open (ALTER TABLE, '' for the old rows) and stays readable as it is.
SCHEMA_VERSION = 2
SCHEMA = """
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
    timestamp TEXT NOT NULL,    -- ISO 8601, UTC
    slip TEXT NOT NULL DEFAULT ''  -- checks/slips id of a wrong answer; '' for none
);
CREATE INDEX IF NOT EXISTS attempts_by_problem ON attempts (problem, timestamp);
"""
COLUMNS = (
    "session, problem, step, gate, kind, asked, answer, expected, correct, skipped, hints, "
    "seconds, mode, timestamp, slip"
)
# A version-1 file read without changing it (`stats` opens read-only) has no slip column.
OLD_COLUMNS = COLUMNS.replace(", slip", ", '' AS slip")

# Spaced repetition is FSRS, per problem and per gate skill: quiz/schedule.py.
UPCOMING = 5  # reviews listed in `stats` as coming due next
# A gate skill that is due counts as at most this recent accuracy when the quiz picks a
# problem: it pulls the problems using it forward by half a difficulty level.
DUE_GATE_WEIGHT = 0.75
RECENT = 20  # attempts per gate that count as "recent"
WEAK = 0.9  # below this recent accuracy a gate is worth practising
MIN_ATTEMPTS = 3  # fewer attempts than this say nothing about a gate


def data_dir() -> Path:
    """Where the history lives: $BACKPROP_HOME, else the platform's user data directory."""
    home = os.environ.get(HOME_VARIABLE)
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("backprop", appauthor=False))


def default_path() -> Path:
    return data_dir() / FILENAME


def shown_path(path: Path) -> str:
    """`path` as a user types it: under the home folder, from ~ (the README's
    `~/.local/share/backprop/history.sqlite3`, where the screen said `/home/ana/…`)."""
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except (ValueError, RuntimeError):  # elsewhere, or no home folder known
        return str(path)


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Row:
    session: str
    problem: str
    step: str
    gate: str
    kind: str
    asked: str
    answer: str
    expected: float
    correct: bool
    skipped: bool
    hints: int
    seconds: float
    mode: str
    timestamp: datetime
    slip: str = ""  # the catalog slip that gave a wrong answer; "" for none

    @classmethod
    def from_db(cls, values: Sequence[Any]) -> Row:
        (session, problem, step, gate, kind, asked, answer, expected) = values[:8]
        correct, skipped, hints, seconds, mode, stamp = values[8:14]
        slip = values[14] if len(values) > 14 else ""
        return cls(
            session,
            problem,
            step,
            gate,
            kind,
            asked,
            answer,
            float(expected),
            bool(correct),
            bool(skipped),
            int(hints),
            float(seconds),
            mode,
            _utc(datetime.fromisoformat(stamp)),
            str(slip or ""),
        )


def _utc(moment: datetime) -> datetime:
    """A stamp without a zone is read as UTC (comparing it with aware ones raised)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def rows_from(cursor: Iterable[Sequence[Any]], notices: list[str], path: Path | None) -> list[Row]:
    """Rows a cursor gives, a row that cannot be read (a bad timestamp or number, from
    an old or edited file) skipped with one notice for all of them."""
    rows: list[Row] = []
    bad = 0
    for values in cursor:
        try:
            rows.append(Row.from_db(values))
        except (TypeError, ValueError, OverflowError, IndexError):
            bad += 1
    if bad:
        where = f" in {path}" if path is not None else ""
        notices.append(
            f"skipped {bad} saved {'answer' if bad == 1 else 'answers'}{where} that could not "
            "be read (a bad timestamp or number); the others are used"
        )
    return rows


def attempt_row(
    session: str, problem: str, mode: str, attempt: Attempt, when: datetime | None = None
) -> Row:
    q = attempt.question
    return Row(
        session=session,
        problem=problem,
        step=q.step,
        gate=q.gate,
        kind=q.kind,
        asked=q.asked,
        answer=attempt.answer,
        expected=q.answer,
        correct=attempt.correct,
        skipped=attempt.skipped,
        hints=attempt.hints,
        seconds=attempt.seconds,
        mode=mode,
        timestamp=when or datetime.now(UTC),
        slip=attempt.slip or "",
    )


def new_session() -> str:
    return uuid.uuid4().hex


# --------------------------------------------------------------------------- the store


@dataclass
class Store:
    """The attempts table, on disk or (when the file cannot be used) in memory."""

    conn: sqlite3.Connection
    path: Path | None  # None: in memory, nothing is saved
    notices: list[str] = field(default_factory=list)  # what the user should be told

    @property
    def in_memory(self) -> bool:
        return self.path is None

    def record(self, row: Row) -> None:
        """Save one attempt now, in its own transaction, so nothing waits for the end."""
        values = (
            row.session,
            row.problem,
            row.step,
            row.gate,
            row.kind,
            row.asked,
            row.answer,
            row.expected,
            int(row.correct),
            int(row.skipped),
            row.hints,
            row.seconds,
            row.mode,
            row.timestamp.isoformat(),
            row.slip,
        )
        sql = f"INSERT INTO attempts ({COLUMNS}) VALUES ({', '.join('?' * 15)})"
        try:
            _arm(self.conn)
            with self.conn:
                self.conn.execute(sql, values)
        except sqlite3.Error as exc:
            if self.in_memory:
                raise
            self.notices.append(
                f"could not save to the history database {self.path} ({exc}); the rest of "
                "this quiz is kept in memory only"
            )
            self._fall_back_to_memory()
            with self.conn:
                self.conn.execute(sql, values)

    def rows(self) -> list[Row]:
        try:
            _arm(self.conn)
            cursor = self.conn.execute(f"SELECT {COLUMNS} FROM attempts ORDER BY timestamp, id")
            return rows_from(cursor, self.notices, self.path)
        except sqlite3.Error as exc:  # interrupted by the budget, or unreadable
            self.notices.append(f"cannot read the saved answers in {self.path} ({exc})")
            return []

    def close(self) -> None:
        self.conn.close()

    def _fall_back_to_memory(self) -> None:
        with contextlib.suppress(sqlite3.Error):  # closing a broken connection
            self.conn.close()
        self.conn = _memory()
        self.path = None


# --------------------------------------------------------------------------- opening defensively
# A history file can be anyone's (copied, restored, planted): nothing in it runs. Its
# schema must be ours (no view, no trigger, no column or index we did not make), it
# must be a regular file (a FIFO as the file hung `stats`), and every statement runs
# under a budget of steps of SQLite's virtual machine (its progress handler, called
# every PROGRESS_STEPS steps, ends the statement past QUERY_STEPS): a count, not a
# clock, so a slow machine reads the same history as a fast one.

PROGRESS_STEPS = 10_000
# Reading 100,000 saved answers for `stats` takes 4 million steps (BENCHMARKS.md):
# the budget reads a history 25 times that size, and stops a runaway query (a
# recursive CTE) after about 6 s here (400 million steps took 24 s).
QUERY_STEPS = 100_000_000
COPY_LIMIT = 100_000_000  # bytes: a read-only history larger than this is not copied
_INDEX_SQL = "create index attempts_by_problem on attempts (problem, timestamp)"
_COLUMNS_V2 = [c.strip() for c in COLUMNS.split(",")]
_UNSAFE_SQL = re.compile(r"\b(check|generated|references)\b|\bas\s*\(", re.IGNORECASE)


class NotOurs(sqlite3.DatabaseError):
    """The file is a database, but holds schema objects backprop did not make."""


def _arm(conn: sqlite3.Connection, steps: int = QUERY_STEPS) -> None:
    """Give the connection's next statements `steps` steps before SQLite interrupts
    them (a view of a recursive CTE, a planted trigger that slipped past the schema
    check)."""
    calls = [0]
    limit = max(steps // PROGRESS_STEPS, 1)

    def over_budget() -> int:
        calls[0] += 1
        return int(calls[0] > limit)

    conn.set_progress_handler(over_budget, PROGRESS_STEPS)


def refuse_special_files(path: Path) -> None:
    """OSError unless the database (and its -wal and -shm files) are regular files or
    absent: SQLite opening a FIFO waits for a writer forever."""
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = os.stat(candidate).st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(mode):
            raise OSError(0, f"{candidate.name} is not a regular file (a FIFO, device or folder)")


def check_schema(conn: sqlite3.Connection) -> None:
    """NotOurs unless the file holds only our table and index, as we make them."""
    _arm(conn)
    for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master"):
        if name.startswith("sqlite_") and (kind == "table" or (kind == "index" and sql is None)):
            continue  # SQLite's own: stat tables, and automatic indexes (which have no SQL)
        if kind == "index" and name == "attempts_by_problem":
            if " ".join(str(sql).lower().replace("if not exists ", "").split()) == _INDEX_SQL:
                continue
        elif kind == "table" and name == "attempts":
            _check_table(conn, str(sql))
            continue
        raise NotOurs(f"it holds a {kind} {name!r} that backprop did not make")


def _check_table(conn: sqlite3.Connection, sql: str) -> None:
    columns = list(conn.execute("PRAGMA table_xinfo(attempts)"))
    names = [c[1] for c in columns]
    if names not in (["id", *_COLUMNS_V2], ["id", *_COLUMNS_V2[:-1]]):
        raise NotOurs(
            f"its attempts table has columns backprop did not make ({', '.join(names)[:200]})"
        )
    code = re.sub(r"--[^\n]*", "", sql)  # our own comments say "as typed"
    hidden = any(c[6] for c in columns)
    defaults = any(c[4] is not None and (c[1], c[4]) != ("slip", "''") for c in columns)
    if hidden or defaults or _UNSAFE_SQL.search(code):
        raise NotOurs("its attempts table has constraints or defaults backprop did not make")


@contextlib.contextmanager
def _creation_lock(path: Path, timeout: float) -> Iterator[None]:
    """Hold `history.sqlite3.lock` while the file is created or brought up to date.

    Eight quizzes started at once on a new folder all switched the new file to WAL and
    created the table together; seven got "database is locked" and kept nothing. The
    lock makes them take turns (a few milliseconds each). Where there is no flock
    (Windows), or the lock cannot be had within `timeout`, the retries in
    `open_store` do the same job more slowly.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError:
        yield  # a read-only folder: nothing will be created anyway
        return
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    refuse_special_files(path)
    conn = sqlite3.connect(path, timeout=timeout)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("PRAGMA trusted_schema = OFF")
        check_schema(conn)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)
        _migrate(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("SELECT count(*) FROM attempts").fetchone()
        # Take the write lock once now: a locked or read-only file shows up here,
        # before the quiz starts, rather than at the first answer.
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except BaseException:
        conn.close()
        raise
    return conn


def _has_slip_column(conn: sqlite3.Connection) -> bool:
    return any(row[1] == "slip" for row in conn.execute("PRAGMA table_info(attempts)"))


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring an older file up to SCHEMA_VERSION, keeping every row (version 1: no slip)."""
    if not _has_slip_column(conn):
        with conn:
            conn.execute("ALTER TABLE attempts ADD COLUMN slip TEXT NOT NULL DEFAULT ''")


def _connect_retrying(path: Path, timeout: float) -> sqlite3.Connection:
    """_connect under the creation lock, retried while another process holds the file."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with _creation_lock(path, timeout):
                return _connect(path, timeout)
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _memory() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    return conn


def open_store(path: Path | None = None, *, timeout: float = 5.0) -> Store:
    """Open (or create) the history database; never fails, falls back to memory."""
    path = path or default_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return Store(_connect_retrying(path, timeout), path)
    except sqlite3.OperationalError as exc:  # locked, read-only, cannot open
        reason = str(exc)
    except sqlite3.DatabaseError as exc:  # not a database, a damaged one, or not ours
        try:
            moved = move_aside(path)
        except OSError as failed:
            return Store(_memory(), None, [_memory_notice(path, f"{exc}; {failed.strerror}")])
        what = "is not one backprop made" if isinstance(exc, NotOurs) else "is damaged"
        notice = (
            f"the history database {path} {what} ({exc}); it was moved to {moved} "
            "(not deleted) and a new one started"
        )
        try:
            return Store(_connect_retrying(path, timeout), path, [notice])
        except sqlite3.Error as again:
            return Store(_memory(), None, [notice, _memory_notice(path, str(again))])
    except OSError as exc:
        reason = exc.strerror or str(exc)
    return Store(_memory(), None, [_memory_notice(path, reason)])


def read_rows(path: Path | None = None, *, timeout: float = 5.0) -> tuple[list[Row], list[str]]:
    """Every saved attempt, for `stats`: read only, so a quiz writing meanwhile is no
    obstacle (WAL lets readers in) and no file is created where there is none."""
    path = path or default_path()
    try:
        if not path.exists():
            return [], []
        refuse_special_files(path)
    except OSError as exc:  # an unreadable folder, a FIFO
        return [], [f"cannot read the history database {path} ({exc.strerror or exc})"]
    notices: list[str] = []
    try:
        return _read_rows(path, timeout, notices), notices
    except sqlite3.OperationalError as exc:
        # Read-only, with answers still in its -wal file and no -shm beside it: SQLite
        # cannot open that read-only. A copy in a temporary folder can be read whole.
        try:
            return _read_copy(path, timeout, notices), notices
        except (OSError, sqlite3.Error):
            pass
        return [], [*notices, f"cannot read the history database {path} ({exc})"]
    except sqlite3.DatabaseError as exc:
        return [], [*notices, f"cannot read the history database {path} ({exc})"]


def _read_rows(path: Path, timeout: float, notices: list[str]) -> list[Row]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("PRAGMA trusted_schema = OFF")
        check_schema(conn)
        columns = COLUMNS if _has_slip_column(conn) else OLD_COLUMNS
        _arm(conn)
        cursor = conn.execute(f"SELECT {columns} FROM attempts ORDER BY timestamp, id")
        return rows_from(cursor, notices, path)
    finally:
        conn.close()


def _read_copy(path: Path, timeout: float, notices: list[str]) -> list[Row]:
    files = [p for p in (path, path.with_name(path.name + "-wal")) if p.exists()]
    if sum(p.stat().st_size for p in files) > COPY_LIMIT:
        raise OSError(0, "too large to copy")
    with tempfile.TemporaryDirectory(prefix="backprop-history-") as folder:
        copy = Path(folder) / path.name
        for source in files:
            shutil.copyfile(source, Path(folder) / source.name)
        rows = _read_rows(copy, timeout, notices)
    notices.append(
        f"the history database {path} cannot be opened where it is (read-only); read from a copy"
    )
    return rows


def _memory_notice(path: Path, reason: str) -> str:
    return (
        f"cannot use the history database {path} ({reason}); this quiz runs but is not "
        f"saved. Set {HOME_VARIABLE} to a writable directory to keep your progress."
    )


def move_aside(path: Path) -> Path:
    """Rename a broken database (and its WAL files) to a free `.corrupt-…` name."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            extra.rename(target.with_name(target.name + suffix))
    return target


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Tally:
    name: str
    attempts: int
    correct: int
    recent: float  # accuracy over the last RECENT attempts

    @property
    def accuracy(self) -> float:
        return self.correct / self.attempts if self.attempts else 0.0


def tally(rows: Iterable[Row], key: str) -> list[Tally]:
    """Accuracy grouped by one column (gate, mode, kind), in order of first appearance.

    Skipped questions are left out, as in the quiz's score: the quiz's choice of the
    gate to practise (`choose`, and why it says it chose) reads this, and a skip
    counted as wrong made a gate look weaker than its answers say."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.skipped:
            continue
        name = getattr(row, key)
        if name:
            groups[name].append(row)
    out = []
    for name, members in groups.items():
        recent = members[-RECENT:]
        out.append(
            Tally(
                name,
                len(members),
                sum(r.correct for r in members),
                sum(r.correct for r in recent) / len(recent),
            )
        )
    return out


def reviews(rows: Iterable[Row]) -> dict[str, Review]:
    """Each problem's schedule (FSRS, one review per quiz run on it)."""
    return problem_reviews(rows)


def _streaks(rows: Sequence[Row]) -> tuple[int, int]:
    """The current and the longest run of right answers."""
    best = run = 0
    for row in rows:
        run = run + 1 if row.correct else 0
        best = max(best, run)
    return run, best


def _day_streak(rows: Sequence[Row], today: date) -> int:
    """Days in a row with practice, ending today (or yesterday: today is not over)."""
    days = {row.timestamp.astimezone().date() for row in rows}
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


@dataclass(frozen=True)
class Stats:
    attempts: int
    correct: int
    sessions: int
    problems: int
    seconds: float
    by_gate: list[Tally]
    by_mode: list[Tally]
    by_kind: list[Tally]
    streak: int
    best_streak: int
    day_streak: int
    weak_gates: list[Tally]  # weakest first
    due: list[Review]  # problems due for review, most overdue first
    gates_due: list[Review] = field(default_factory=list)  # gate skills due, most overdue first
    upcoming: list[Review] = field(default_factory=list)  # the next to come due (problems, gates)
    as_of: datetime = field(default_factory=lambda: datetime.now(UTC))  # "now" for the above
    # How often each catalog slip gave a wrong answer, over all attempts, most frequent first.
    slips: dict[str, int] = field(default_factory=dict)
    skipped: int = 0  # questions skipped; not in `attempts`, as the quiz's score leaves them out

    @property
    def accuracy(self) -> float:
        return self.correct / self.attempts if self.attempts else 0.0


def compute_stats(rows: Sequence[Row], now: datetime | None = None) -> Stats:
    now = now or datetime.now(UTC)
    # A skipped question is not an answer, as the quiz's own "Answered 2 of 8 … 2
    # skipped, Score: 2/2" says: it counts in no accuracy and breaks no streak.
    answered = [r for r in rows if not r.skipped]
    by_gate = tally(answered, "gate")
    current, best = _streaks(answered)
    weak = sorted(
        (t for t in by_gate if t.attempts >= MIN_ATTEMPTS and t.recent < WEAK),
        key=lambda t: (t.recent, -t.attempts, t.name),
    )
    problems, gates = reviews(rows), gate_reviews(rows)
    due = sorted((r for r in problems.values() if r.due <= now), key=lambda r: r.due)
    gates_due = sorted((r for r in gates.values() if r.due <= now), key=lambda r: r.due)
    later = [r for r in (*problems.values(), *gates.values()) if r.due > now]
    upcoming = sorted(later, key=lambda r: (r.due, r.problem))[:UPCOMING]
    return Stats(
        attempts=len(answered),
        correct=sum(r.correct for r in answered),
        skipped=len(rows) - len(answered),
        sessions=len({r.session for r in rows}),
        problems=len({r.problem for r in rows}),
        seconds=sum(r.seconds for r in rows),
        by_gate=by_gate,
        by_mode=tally(answered, "mode"),
        by_kind=tally(answered, "kind"),
        streak=current,
        best_streak=best,
        day_streak=_day_streak(rows, now.astimezone().date()),
        weak_gates=weak,
        due=due,
        gates_due=gates_due,
        upcoming=upcoming,
        as_of=now,
        slips=slip_counts(rows),
    )


def slip_counts(rows: Iterable[Row]) -> dict[str, int]:
    """Each slip's count, most frequent first (ties by id, so the order is stable)."""
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.slip:
            counts[row.slip] += 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# --------------------------------------------------------------------------- what next


@dataclass(frozen=True)
class Candidate:
    """A problem the quiz could pick, with the gate kinds its circuit uses."""

    id: str
    difficulty: int
    gates: tuple[str, ...]


def choose(
    candidates: Sequence[Candidate], rows: Sequence[Row], now: datetime | None = None
) -> Candidate:
    """The next problem: weakest first, with missed problems coming back later.

    1. A problem missed last time, once its 10 minutes are up (most overdue first).
    2. Then problems never tried or due for review (FSRS), ranked by difficulty plus
       twice the recent accuracy of the weakest gate they use (a gate not yet tried
       counts as 1, a gate skill due for review at most DUE_GATE_WEIGHT): a beginner
       starts easy, and a weak gate pulls its problems forward by up to two levels.
    3. When nothing is due, the problem that comes due soonest.
    """
    if not candidates:
        raise ValueError("no problems to choose from")
    now = now or datetime.now(UTC)
    schedule = reviews(rows)
    recent = {t.name: t.recent for t in tally(rows, "gate") if t.attempts >= MIN_ATTEMPTS}
    for gate, review in gate_reviews(rows).items():
        if review.due <= now:  # a gate skill due for review counts as weak
            recent[gate] = min(recent.get(gate, 1.0), DUE_GATE_WEIGHT)

    def weakness(c: Candidate) -> float:
        return min((recent.get(gate, 1.0) for gate in c.gates), default=1.0)

    def rank(item: tuple[int, Candidate]) -> tuple[Any, ...]:
        order, c = item
        review = schedule.get(c.id)
        missed_due = review is not None and review.missed_last
        due = review.due if review else now
        return (0 if missed_due else 1, c.difficulty + 2 * weakness(c), due, order)

    ready = [
        (i, c)
        for i, c in enumerate(candidates)
        if c.id not in schedule or schedule[c.id].due <= now
    ]
    if ready:
        return min(ready, key=rank)[1]
    return min(candidates, key=lambda c: (schedule[c.id].due, c.difficulty))
