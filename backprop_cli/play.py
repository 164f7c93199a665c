"""Running a quiz: choosing the problem, asking at a prompt, saving every answer.

`quiz.py` holds the logic (questions, grading, feedback); this module does the
I/O around it, so that `cli.py` stays a thin layer of options. Answers come from
an `AnswerSource`: Rich's prompt on a terminal, one line at a time otherwise (so a
quiz can be scripted, and ends, saved, at the end of its input).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from rich.console import Console
from rich.text import Text

from backprop_cli.core.text import elided, shown
from backprop_cli.errors import InputError
from backprop_cli.quiz import history
from backprop_cli.quiz.questions import Quiz, QuizProblem, Summary, quiz_problem
from backprop_cli.render import quiz as view

# --------------------------------------------------------------------------- answers


class AnswerSource(Protocol):
    def ask(self, prompt: Text) -> str | None:
        """One answer, or None when there is no more input."""


@dataclass
class TerminalAnswers:
    """Rich's prompt, for a person at a terminal."""

    console: Console

    def ask(self, prompt: Text) -> str | None:
        from rich.prompt import Prompt

        try:
            return Prompt.ask(prompt, console=self.console)
        except EOFError:
            return None


@dataclass
class LineAnswers:
    """One answer per line from a stream; the answer is echoed so the transcript reads."""

    console: Console
    stream: IO[str]

    def ask(self, prompt: Text) -> str | None:
        self.console.print(prompt.append(": "), end="")
        line = self.stream.readline()
        if not line:
            self.console.print()
            return None
        answer = line.rstrip("\r\n")
        # Echoed as text, control characters visible, a huge line cut (a 5 MB line
        # took 12 s to echo whole).
        self.console.print(shown(elided(answer, view.ECHO_LIMIT)), markup=False, highlight=False)
        return answer


# --------------------------------------------------------------------------- choosing


@dataclass(frozen=True)
class Choice:
    problem: QuizProblem
    why: str  # one line on how it was picked


def _from_set(problem: Any) -> QuizProblem:
    """Adapt a problem-set entry (problems.Problem) to what the quiz needs.

    Its history is kept under `file-stem:id`, unique across sets; values for names
    the expression does not use (a hygiene warning of `backprop check`) are dropped.
    """
    from backprop_cli.pipeline import variables

    used = set(variables(problem.expression, problem.bindings))
    return quiz_problem(
        problem.qualified_id,
        problem.expression,
        {k: v for k, v in problem.bindings.items() if k in used},
        title=problem.title,
        hint=problem.hint,
        difficulty=problem.difficulty,
        tags=problem.tags,
    )


def gate_kinds(expression: str, bindings: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """The gate kinds a problem's circuit uses, for weakest-first selection."""
    from backprop_cli.pipeline import stage
    from backprop_cli.quiz.questions import gate_kind

    graph = stage(expression, bindings or {})
    kinds = [gate_kind(n.gate) for n in graph.gate_nodes if n.gate is not None]
    return tuple(dict.fromkeys(kinds))


def choose_problem(
    *,
    expression: str | None = None,
    bindings: dict[str, float] | None = None,
    problem_id: str | None = None,
    sets: Sequence[Path] = (),
    generate: bool = False,
    difficulty: int | None = None,
    seed: int | None = None,
    rows: Sequence[history.Row] = (),
    rng: Callable[[], int] | None = None,
) -> Choice:
    """The problem to quiz on, from whichever option was given (at most one)."""
    given = [
        name
        for name, on in (
            ("an expression", expression is not None),
            ("--problem", problem_id is not None),
            ("--generate", generate),
        )
        if on
    ]
    if len(given) > 1:
        raise InputError(f"give only one of {', '.join(given)}")
    if seed is not None and not generate:
        raise InputError("--seed goes with --generate (the same seed gives the same circuit)")
    if expression is not None:
        problem = quiz_problem(f"expr:{expression.strip()}", expression, bindings or {})
        return Choice(problem, "your expression")
    if generate:
        from backprop_cli.quiz.generate import generate as make

        level = difficulty or 1
        chosen = seed if seed is not None else (rng or _random_seed)()
        return Choice(make(level, chosen), f"generated: --difficulty {level} --seed {chosen}")

    from backprop_cli.problems import sets as problem_sets

    paths = list(sets) or None
    if problem_id is not None:
        return Choice(_from_set(problem_sets.find_problem(problem_id, paths)), "--problem")
    loaded = problem_sets.load_problems(paths or [problem_sets.bundled_path()])
    if difficulty is not None:
        loaded = [p for p in loaded if p.difficulty == difficulty]
    if not loaded:
        where = "the given sets" if sets else "the bundled sets"
        at_level = f" at difficulty {difficulty}" if difficulty is not None else ""
        raise InputError(f"no problems{at_level} in {where}")
    by_id = {p.qualified_id: p for p in loaded}
    candidates = [
        history.Candidate(
            p.qualified_id,
            p.difficulty,
            gate_kinds(p.expression, p.bindings),
        )
        for p in loaded
    ]
    pick = history.choose(candidates, rows)
    review = history.reviews(rows).get(pick.id)
    if review is None:
        recent = {
            t.name: t.recent
            for t in history.tally(rows, "gate")
            if t.attempts >= history.MIN_ATTEMPTS
        }
        weak = sorted((recent[g], g) for g in pick.gates if recent.get(g, 1.0) < 1.0)
        why = f"new to you; it practises {weak[0][1]}" if weak else "new to you; easiest first"
    elif review.due > datetime.now(UTC):
        why = "nothing is new or due; this one comes due soonest"
    elif review.missed_last:
        why = "you missed it last time: here it is again"
    else:
        why = "due for review"
    return Choice(_from_set(by_id[pick.id]), why)


def _random_seed() -> int:
    return random.SystemRandom().randrange(10_000)


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Outcome:
    summary: Summary
    interrupted: bool


def run(
    quiz: Quiz,
    console: Console,
    answers: AnswerSource,
    save: Callable[[Quiz], None],
    clock: Callable[[], float] = time.monotonic,
    why: str = "",
    saved: bool = True,
) -> Outcome:
    """Ask every question, print feedback, save each answer as it comes.

    Ctrl-C (KeyboardInterrupt) and the end of input both end the quiz cleanly;
    what was answered is already saved.
    """
    console.print(view.intro(quiz, why, saved=saved))
    interrupted = False
    last_context = ""
    started: tuple[int, float] | None = None
    try:
        while (question := quiz.current) is not None:
            if question.context != last_context:
                console.print(view.context(question))
                last_context = question.context
            if started is None or started[0] != quiz.position:
                started = (quiz.position, clock())  # a hint does not restart the clock
            text = answers.ask(view.prompt(question))
            if text is None:
                break
            before = len(quiz.attempts)
            response = quiz.respond(text, clock() - started[1])
            if len(quiz.attempts) > before:
                save(quiz)
            shown = view.feedback(response)
            if shown is not None:
                console.print(shown)
            if response.outcome == "quit":
                break
    except KeyboardInterrupt:
        interrupted = True
    return Outcome(quiz.summary(), interrupted)


def saver(store: history.Store, session: str, problem_id: str, mode: str) -> Callable[[Quiz], None]:
    """Save the newest attempt of a quiz to the store."""

    def save(quiz: Quiz) -> None:
        store.record(history.attempt_row(session, problem_id, mode, quiz.attempts[-1]))

    return save
