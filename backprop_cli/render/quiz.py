"""The quiz and its statistics as Rich renderables: the circuit, feedback, score, stats."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from backprop_cli.core.numbers import shape_text, show
from backprop_cli.core.text import elided, shown
from backprop_cli.quiz.history import MIN_ATTEMPTS, Stats, Tally
from backprop_cli.quiz.questions import DIGITS, Question, Quiz, Response, Summary
from backprop_cli.quiz.schedule import when
from backprop_cli.render.table import Blocks, ValueLines, operand_refs, step_name

# An answer is echoed back at most this long (a 5 MB pasted line took 12 s to echo).
ECHO_LIMIT = 200

MODE_WORDS = {
    "backward": "the backward pass (local gradients, upstream × local)",
    "forward": "the forward pass (the value of every step)",
    "local": "the local gradient of every gate",
    "gradients": "the gradient on every input",
    "full": "the forward pass, then the backward pass",
}


def intro(quiz: Quiz, why: str = "", *, saved: bool = True) -> Group:
    """The problem and its circuit, with the cells the learner is to work out hidden."""
    trace = quiz.trace
    problem = quiz.problem
    head = Text()
    head.append("backprop quiz  ", style="bold")
    program = trace.graph.program
    source = program.source.strip()
    one_line = source if program.is_single_expression else source.replace("\n", "; ")
    if not problem.id.startswith("expr:"):  # a problem of a set, or a generated one
        head.append(shown(problem.title))
        head.append(f"  [{shown(problem.id)}]\n", style="dim")
    head.append(shown(one_line))
    # The values break between values, never inside a matrix's row (as trace's heading).
    values = ValueLines([f"{k} = {show(v, DIGITS)}" for k, v in trace.bindings.items()], "at ")
    after: list[RenderableType] = [values]
    if why and not problem.id.startswith("expr:"):
        after.append(Text(f"({why})", style="dim italic"))

    hide_values = quiz.mode in ("forward", "full")
    table = Table(box=box.SIMPLE_HEAD, title="Circuit", title_justify="left")
    table.add_column("step", style="bold")
    table.add_column("gate", style="cyan")
    table.add_column("computes")
    table.add_column("value", justify="right", style="green", no_wrap=trace.kind == "arrays")
    blocks = Blocks()  # a matrix under the table, a row a line, as in the trace tables
    for node in trace.graph.gate_nodes:
        assert node.gate is not None
        stage = trace.values[node.index]
        value = (
            "?"
            if hide_values
            else blocks.cell(stage, DIGITS, f"{node.ref}, shape {shape_text(stage)}")
        )
        table.add_row(
            step_name(node), node.gate.name, node.gate.computes(operand_refs(trace, node)), value
        )

    how = Text()
    for kink in trace.kinks:  # say which convention the answers follow
        how.append("note: ", style="bold yellow")
        how.append(f"{kink}\n")
    how.append(
        f"{_plural(len(quiz.questions), 'question', 'questions')} on {MODE_WORDS[quiz.mode]}.\n"
    )
    if trace.kind == "arrays":
        how.append("Entries of vectors and matrices count from 0: x[0] is the first.\n")
    how.append(f"Type a number or a calculation (-1/1.37**2), {quiz.tolerance.describe()}.\n")
    how.append("?", style="bold")
    how.append(" hint   ")
    how.append("skip", style="bold")
    how.append(" skip a question   ")
    how.append("q", style="bold")
    # Only say so when it is true: a history that cannot be written keeps nothing.
    how.append(" quit (your answers are saved)" if saved else " quit (answers are not saved)")
    return Group(head, *after, blocks.view(table), how)


def context(question: Question) -> Text:
    text = Text()
    text.append("\n")
    head, sep, rest = question.context.partition("   ")
    text.append(head, style="bold")
    text.append(sep + rest)
    return text


def prompt(question: Question) -> Text:
    return Text(question.asked, style="bold")


def feedback(response: Response) -> RenderableType | None:
    """Right, or wrong with the slip that explains it (if one does) and the working.

    The explanation lines hang under the verdict, indented by 2, so a sentence that
    wraps at 80 columns stays in its block.
    """
    q = response.question
    text = Text()
    if response.outcome == "right":
        assert q is not None
        text.append("✓ right", style="bold green")
        text.append(f" ({q.answer_text})", style="green")
    elif response.outcome in ("wrong", "skipped"):
        assert q is not None
        below = Text()
        if response.outcome == "wrong":
            text.append("✗ ", style="bold red")
            text.append(q.answer_text, style="bold")
            gave = response.message if q.shape is not None else show(response.value, DIGITS)
            text.append(f" (you gave {shown(elided(gave, ECHO_LIMIT))})", style="red")
            if response.diagnosis is not None:  # the slip first, then the working
                below.append(response.diagnosis.slip, style="bold yellow")
                below.append(f": {shown(response.diagnosis.message)}\n")
        else:
            text.append("→ skipped: ", style="yellow")
            text.append(q.answer_text, style="bold")
        below.append(q.rule)
        return Group(text, Padding(below, (0, 0, 0, 2), expand=False))
    elif response.outcome == "hint":
        text.append("hint: ", style="bold blue")
        text.append(shown(response.message, lines=True))
    elif response.outcome == "invalid":
        text.append("? ", style="bold yellow")
        text.append(shown(elided(response.message, 4 * ECHO_LIMIT), lines=True))
    else:
        return None
    return text


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def summary_view(summary: Summary, *, interrupted: bool = False, saved: bool = True) -> Text:
    """The end of a quiz; its last line is always `Score: K/N`."""
    text = Text("\n")
    if interrupted:
        text.append("interrupted. ", style="yellow")
    wrong = [a for a in summary.missed if not a.skipped]
    skipped = [a for a in summary.missed if a.skipped]
    if wrong:
        text.append("Steps to look at again:\n", style="bold")
        for attempt in wrong:
            q = attempt.question
            answer = shown(elided(attempt.answer, ECHO_LIMIT))
            slip = f" ({attempt.slip})" if attempt.slip else ""
            # Two lines, so neither wraps at 80 columns in the middle of a number.
            text.append(f"  {q.step}  {q.asked}\n")
            text.append(f"      you gave {answer}{slip}, the answer is {q.answer_text}\n")
    if skipped:
        text.append("Skipped:\n", style="bold")
        for attempt in skipped:
            q = attempt.question
            text.append(f"  {q.step}  {q.asked}\n")
            text.append(f"      the answer is {q.answer_text}\n")
    text.append(
        f"Answered {summary.answered} of "
        f"{_plural(summary.total, 'question', 'questions')} in {_duration(summary.seconds)}"
    )
    if summary.answered or summary.skipped:
        text.append(" (saved)" if saved else " (not saved)", style="dim")
    left = []
    if summary.skipped:
        left.append(f"{summary.skipped} skipped")
    if summary.not_reached:
        left.append(f"{summary.not_reached} not reached")
    if left:
        text.append(f"; {', '.join(left)}")
    text.append("\n")
    # K right out of N answered: a skipped or unreached question is neither.
    text.append(f"Score: {summary.score}/{summary.answered}", style="bold")
    return text


# --------------------------------------------------------------------------- stats


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _tally_table(title: str, column: str, tallies: list[Tally]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column(column, style="bold")
    table.add_column("answers", justify="right")
    table.add_column("right", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_column("recent", justify="right")
    for t in sorted(tallies, key=lambda t: (t.recent, t.name)):
        table.add_row(
            Text(shown(t.name)),
            str(t.attempts),
            str(t.correct),
            _percent(t.accuracy),
            _percent(t.recent),
        )
    return table


SLIPS_SHOWN = 5  # the most frequent slips; `stats --json` has them all


def _slips_table(counts: dict[str, int]) -> Table:
    """The learner's most frequent slips, with the catalog's sentence for each."""
    from backprop_cli.checks.slips import SLIPS

    table = Table(title="Your most frequent slips", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("slip", style="bold")
    table.add_column("times", justify="right")
    table.add_column("what it is")
    for slip, count in list(counts.items())[:SLIPS_SHOWN]:
        known = SLIPS.get(slip)  # an id from a newer version reads as itself
        # Text, not a markup string: a slip id from a history file may be "[/]".
        table.add_row(Text(shown(slip)), str(count), known.sentence if known else "")
    return table


def stats_view(stats: Stats, where: str) -> RenderableType:
    if not stats.attempts and not stats.skipped:
        return Text(f"No quiz answers saved yet (in {where}). Start with:  backprop quiz")
    title = Text("backprop stats", style="bold", no_wrap=True, overflow="ignore")  # a path
    title.append(f"  {shown(where)}", style="dim")
    head = Text()
    head.append(
        f"{_plural(stats.attempts, 'answer', 'answers')}, {stats.correct} right "
        f"({_percent(stats.accuracy)}), "
        + (f"{stats.skipped} skipped, " if stats.skipped else "")
        + f"{_plural(stats.sessions, 'quiz', 'quizzes')} on "
        f"{_plural(stats.problems, 'problem', 'problems')}, {_duration(stats.seconds)}\n"
    )
    head.append(
        f"Streaks: {stats.streak} right in a row now (best {stats.best_streak}), "
        f"{_plural(stats.day_streak, 'day', 'days')} in a row"
    )
    parts: list[RenderableType] = [
        title,
        head,
        _tally_table("By gate (weakest first)", "gate", stats.by_gate),
        _tally_table("By mode", "mode", stats.by_mode),
        _tally_table("By kind of question", "question", stats.by_kind),
    ]
    if stats.slips:
        parts.append(_slips_table(stats.slips))
    nxt = Text()
    nxt.append("Practise next\n", style="bold")
    # The quiz's own rule (history.MIN_ATTEMPTS, as `choose` reads it): a gate with
    # fewer answers says nothing yet. Said on screen, with the gates it leaves out: the
    # table above showed fork 0% (1 answer) beside "lowest recent accuracy: add (86%)".
    few = sorted(
        (t for t in stats.by_gate if t.attempts < MIN_ATTEMPTS), key=lambda t: (t.recent, t.name)
    )
    rule = f"{MIN_ATTEMPTS} or more answers"
    if stats.weak_gates:
        names = ", ".join(f"{shown(t.name)} ({_percent(t.recent)})" for t in stats.weak_gates[:3])
        nxt.append(f"  gates with the lowest recent accuracy ({rule}): {names}\n")
    elif len(few) < len(stats.by_gate):
        nxt.append(f"  no weak gate ({rule}): each is above 90% lately; try --difficulty 3\n")
    if few:
        names = ", ".join(shown(t.name) for t in few)
        nxt.append(f"  not judged yet (fewer than {MIN_ATTEMPTS} answers): {names}\n")
    if stats.due:
        names = ", ".join(shown(r.problem) for r in stats.due[:5])
        nxt.append(f"  problems due for review: {names}\n")
    if stats.gates_due:
        names = ", ".join(shown(r.problem) for r in stats.gates_due[:5])
        nxt.append(f"  gate skills due for review: {names}\n")
    if stats.upcoming:
        names = ", ".join(f"{shown(r.problem)} {when(r.due, stats.as_of)}" for r in stats.upcoming)
        nxt.append(f"  coming due: {names}\n")
    nxt.append("  backprop quiz  picks for you: missed problems first, then your weakest gates")
    parts.append(nxt)
    return Group(*parts)
