"""When to review what: FSRS (the `fsrs` package, the scheduler Anki adopted) over the
saved answers, per problem and per gate skill.

The attempts table is the review log: each quiz run (a session) on a problem is one
review of that problem, and one review of every gate skill (mul, add, *c …) it asked
about. A review's rating comes from the answers of that run: how many were right,
whether hints were used, and how long they took (`rating`). The schedule is worked
out again from the log every time it is needed, so nothing about it is stored and
the history file is the same as before (earlier versions read it unchanged).
Replaying needs a deterministic scheduler: fuzzing is off.

A skipped question (the quiz's `skip`, the stepper's Esc) is not an answer here, as it
is not in the quiz's score ("Answered 2 of 8 … 2 skipped, Score: 2/2") nor in `stats`:
a run is rated on the questions answered, and a run with none answered is no review,
so the problem stays as due as it was. FSRS has no rating for "did not try": its
ratings grade a recall attempt (Again is "forgot"), and Anki, whose scheduler it is,
leaves a card that was not graded where it was. Rated Again, a skip would send a
learner's well-known problem back to relearning for one question passed over (the
bundled problems ask 3 to 12 questions a run). A skip after wrong answers still
leaves those wrong answers in the run.

Numbers that made the decisions:
- A miss brings a problem back in 10 minutes (the learning and relearning step), as
  the Leitner boxes this replaced did; FSRS then spaces clean runs out by the
  learner's own record (a first Good is due in 2 days, an Easy in 8).
- FAST_SECONDS = 10: a learner who knows a gate's rule types its two- or
  three-digit answer in under 10 s (the README's session: 3 to 6 s an answer).
- SLOW_SECONDS = 45: longer than that, the answer was worked out from scratch.
- AGAIN_BELOW = 0.75: fewer than 3 in 4 of the answers right is a lapse; one slip in
  an 8-question run is Hard, not Again.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fsrs import Card, Scheduler

AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4
RATINGS = {AGAIN: "again", HARD: "hard", GOOD: "good", EASY: "easy"}
FAST_SECONDS = 10.0
SLOW_SECONDS = 45.0
AGAIN_BELOW = 0.75
STEP = timedelta(minutes=10)


class Answer(Protocol):
    """What the schedule reads of a saved answer (history.Row has these)."""

    @property
    def session(self) -> str: ...
    @property
    def problem(self) -> str: ...
    @property
    def gate(self) -> str: ...
    @property
    def correct(self) -> bool: ...
    @property
    def skipped(self) -> bool: ...
    @property
    def hints(self) -> int: ...
    @property
    def seconds(self) -> float: ...
    @property
    def timestamp(self) -> datetime: ...


def rating(answers: Sequence[Answer]) -> int:
    """The FSRS rating of one run's answers (not its skips): Again, Hard, Good or Easy.

    Again: fewer than 3 in 4 right. Hard: a wrong answer, a hint, or a median answer
    slower than SLOW_SECONDS. Easy: all right, no hints, median under FAST_SECONDS.
    Good otherwise.
    """
    if not answers:
        raise ValueError("a review needs at least one answer")
    right = sum(a.correct for a in answers)
    if right < AGAIN_BELOW * len(answers):
        return AGAIN
    pace = statistics.median(a.seconds for a in answers)
    if right < len(answers) or any(a.hints for a in answers) or pace > SLOW_SECONDS:
        return HARD
    return EASY if pace < FAST_SECONDS else GOOD


@dataclass(frozen=True)
class Review:
    """Where one problem or gate skill stands in the schedule."""

    problem: str  # the problem's id, or the gate's name for a gate skill
    sessions: int  # reviews so far (quiz runs that asked about it)
    last_seen: datetime
    missed_last: bool  # the last run was rated Again
    box: int  # clean runs in a row (all right) since the last miss
    due: datetime
    rating: str  # the last run's: again, hard, good, easy
    stability: float  # FSRS: days until recall falls to 90%
    difficulty: float  # FSRS: 1 (easy) to 10 (hard)
    state: str  # FSRS: learning, review, relearning


def scheduler() -> Scheduler:
    from fsrs import Scheduler

    return Scheduler(
        learning_steps=(STEP,),
        relearning_steps=(STEP,),
        enable_fuzzing=False,  # replayed on every read: the same log, the same schedule
    )


def _replay(runs: Sequence[Sequence[Answer]], name: str, plan: Scheduler) -> Review:
    from fsrs import Card, Rating

    card: Card = Card(card_id=1)
    box = 0
    marks: list[int] = []
    for run in runs:
        mark = rating(run)
        marks.append(mark)
        box = box + 1 if all(a.correct for a in run) else 0
        when = max(a.timestamp for a in run)
        card, _ = plan.review_card(card, Rating(mark), review_datetime=when)
    last = max(a.timestamp for a in runs[-1])
    return Review(
        problem=name,
        sessions=len(runs),
        last_seen=last,
        missed_last=marks[-1] == AGAIN,
        box=box,
        due=card.due,
        rating=RATINGS[marks[-1]],
        stability=float(card.stability or 0.0),
        difficulty=float(card.difficulty or 0.0),
        state=card.state.name.lower(),
    )


def _reviews(answers: Iterable[Answer], key: Callable[[Answer], str]) -> dict[str, Review]:
    runs: dict[str, dict[str, list[Answer]]] = {}
    for answer in answers:
        if answer.skipped:  # not an answer, and no review (the module's docstring)
            continue
        name = key(answer)
        if name:
            runs.setdefault(name, {}).setdefault(answer.session, []).append(answer)
    if not runs:
        return {}
    plan = scheduler()
    out: dict[str, Review] = {}
    for name, by_session in runs.items():
        ordered = sorted(by_session.values(), key=lambda run: max(a.timestamp for a in run))
        out[name] = _replay(ordered, name, plan)
    return out


def problem_reviews(answers: Iterable[Answer]) -> dict[str, Review]:
    """Each problem's schedule, one review per quiz run on it."""
    return _reviews(answers, lambda a: a.problem)


def gate_reviews(answers: Iterable[Answer]) -> dict[str, Review]:
    """Each gate skill's schedule: a run reviews every gate it asked about, rated on
    that gate's answers alone (whole-circuit questions have no gate)."""
    return _reviews(answers, lambda a: a.gate)


def when(due: datetime, now: datetime) -> str:
    """'now', or how long until `due`, to the nearest minute, hour or day."""
    seconds = (due - now).total_seconds()
    if seconds <= 0:
        return "now"
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size * 0.95 or unit == "minute":
            count = max(1, round(seconds / size))
            return f"in {count} {unit}{'' if count == 1 else 's'}"
    return "now"  # pragma: no cover - the loop always returns
