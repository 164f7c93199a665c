"""The Textual app of `backprop step`: the panels on one screen, the keys, predict mode.

The steps themselves (what each reveals, its sentence, what to ask) come from
render/steps.py; the panels are Rich renderables from panels.py. This module only
keeps the learner's place, asks and judges predictions, and saves every attempt
through the `save` callback it is given.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, VerticalScroll
from textual.geometry import Size
from textual.widgets import Input, Static

from backprop_cli.core.text import elided, shown
from backprop_cli.quiz.questions import Attempt, Question, Tolerance
from backprop_cli.render.steps import StepModel, judge
from backprop_cli.step import panels

MIN_WIDTH, MIN_HEIGHT = 80, 24
# The explanation panel's lines at most (its CSS max-height is one more, for its
# border). 8: the max gate's last step at 80 columns is a 5-line sentence, its tie
# warning 2 and the question 2 more; the panels above give up rows only while it needs
# them (height: auto).
EXPLAIN_LINES = 8
ORPHAN_CHECK_SECONDS = 0.5
# From this width the circuit and the trace table sit side by side: the neuron's tree
# is 66 columns and its backward table 73, so each gets its own at 150.
WIDE = 150
HINT_WORDS = ("?", "hint")
REVEAL_WORDS = ("r", "reveal", "show", "skip")
QUIT_WORDS = ("q", "quit", "exit")

Save = Callable[[Attempt], None]


class StepApp(App[None]):
    """Step through a trace; in predict mode, type each number before it is shown."""

    TITLE = "backprop step"
    ENABLE_COMMAND_PALETTE = False
    # Focus is set by hand: the answer box only while a number is being asked (a
    # hidden box with the focus would swallow p and q).
    AUTO_FOCUS = None
    CSS = """
    Screen { layout: vertical; }
    #panels { height: 1fr; layout: vertical; }
    #circuit-box { height: 1fr; border-top: solid $primary; }
    #table-box { height: 1fr; border-top: solid $primary; }
    Screen.wide #panels { layout: horizontal; }
    Screen.wide #circuit-box, Screen.wide #table-box { height: 1fr; width: 1fr; }
    #explain { height: auto; max-height: 9; min-height: 3; padding: 0 1;
               border-top: solid $accent; }
    #answer { height: 1; border: none; padding: 0 1; display: none;
              background: $boost; }
    #answer.asking { display: block; }
    #status { dock: bottom; height: 1; }
    #too-small { display: none; padding: 1 2; }
    Screen.too-small #too-small { display: block; }
    Screen.too-small #panels,
    Screen.too-small #explain, Screen.too-small #answer,
    Screen.too-small #status { display: none; }
    """
    # Keys that also work while the answer box has the focus are `priority` (arrows,
    # Home/End, Esc: an answer is short, its cursor needs no moving). Printable keys
    # go to the box (`p` and `q` are in sqrt and exp(-1)); `?` is caught there.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right", "next", "next", priority=True),
        Binding("space", "next", "next", show=False),
        Binding("left", "previous", "back", priority=True),
        Binding("home", "first", "start", priority=True),
        Binding("end", "last", "end", priority=True),
        Binding("p", "predict", "predict"),
        Binding("ctrl+p", "predict", "predict", show=False, priority=True),
        Binding("question_mark", "hint", "hint", priority=True),
        Binding("escape", "reveal", "reveal", show=False, priority=True),
        Binding("q", "quit", "quit"),
        Binding("ctrl+q", "quit", "quit", show=False, priority=True),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    ]

    def __init__(
        self,
        model: StepModel,
        *,
        title: str = "",
        save: Save | None = None,
        tolerance: Tolerance | None = None,
        problem_hint: str = "",
        predict: bool = False,
        clock: Callable[[], float] = time.monotonic,
        orphan_watch: bool = False,
    ) -> None:
        super().__init__()
        self.orphan_watch = orphan_watch
        self.parent_pid = os.getppid()
        self.model = model
        self.sub_title = title
        self.save = save
        self.tolerance = tolerance or Tolerance()
        self.problem_hint = problem_hint
        self.clock = clock
        self.at = -1  # the last step shown; -1: none yet (only the inputs)
        self.predict = predict
        self.asking: int | None = None  # the step whose number is being predicted
        self.ask_index = 0  # which of its questions (a vector step: shape, then entry)
        self.solved: set[int] = set()  # steps predicted (or revealed) in predict mode
        self.feedback: list[Text] = []
        self.hints = 0
        self.working = ""  # the slip of the last wrong prediction, worked out
        self.asked_at = 0.0
        self.attempts: list[Attempt] = []
        self.marks: dict[str, int | None] = {}  # each panel's marked line, to scroll to
        self.drawn = False  # the panels have been drawn once (on_mount)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Container(id="panels"):
            with VerticalScroll(id="circuit-box") as box:
                # The problem's title is text from a file: control characters made
                # visible, and a Text, so no "[" in it is read as markup.
                title = elided(shown(self.sub_title), 60) if self.sub_title else ""
                box.border_title = Text(f"circuit · {title}" if title else "circuit")
                yield Static(id="circuit")
            with VerticalScroll(id="table-box") as box:
                box.border_title = "trace"
                yield Static(id="table")
        yield Static(id="explain")
        yield Input(id="answer", placeholder="type your prediction, then Enter")
        yield Static(id="status")
        yield Static(id="too-small")

    def on_mount(self) -> None:
        if self.orphan_watch:
            self.set_interval(ORPHAN_CHECK_SECONDS, self.exit_if_orphaned)
        self.check_size()
        if self.predict:
            self.start_asking()
        self.refresh_panels()
        self.drawn = True

    def exit_if_orphaned(self) -> None:
        """Served to a browser: when the server is gone (Ctrl-C, killed), so is this app.

        Textual's web driver stops reading input when its pipe closes but does not end
        the app; without this an app outlived its server, spinning at 26% of a core.
        """
        if os.getppid() != self.parent_pid:
            self.exit()

    def on_resize(self, event: events.Resize) -> None:
        self.check_size(event.size)

    def check_size(self, size: Size | None = None) -> None:
        width, height = size or self.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.screen.set_class(small, "too-small")
        wide = width >= WIDE
        if wide != self.screen.has_class("wide"):
            self.screen.set_class(wide, "wide")
            if self.drawn:  # the panels are drawn for the width they get
                self.refresh_panels()
        if small:
            self.query_one("#too-small", Static).update(
                Text.assemble(
                    ("backprop step needs a terminal of at least ", ""),
                    (f"{MIN_WIDTH}×{MIN_HEIGHT}", "bold"),
                    (f";\nthis one is {width}×{height}.\n", ""),
                    ("Make the window larger, or press q to quit.", ""),
                )
            )

    # ------------------------------------------------------------------ state

    @property
    def question(self) -> Question | None:
        if self.asking is None:
            return None
        return self.model.steps[self.asking].asks[self.ask_index]

    def refresh_panels(self) -> None:
        asking = self.model.steps[self.asking] if self.asking is not None else None
        where = panels.Where(self.model, self.at, asking)
        width = self.size.width // 2 if self.size.width >= WIDE else self.size.width
        width = max(width - 2, MIN_WIDTH - 2)  # inside the scroll bar
        for panel_id, view in (("#circuit", panels.circuit_view), ("#table", panels.table_view)):
            drawn, self.marks[panel_id] = panels.prerender(view(where), width)
            self.query_one(panel_id, Static).update(drawn)
        self.query_one("#explain", Static).update(
            panels.explanation_view(
                where,
                self.question,
                self.feedback,
                width=max(self.size.width, MIN_WIDTH) - 2,  # inside its padding
                lines=EXPLAIN_LINES,
                predict=self.predict,
            )
        )
        self.query_one("#status", Static).update(
            panels.status_view(
                self.model,
                self.at,
                self.predict,
                self.asking is not None,
                width=max(self.size.width, MIN_WIDTH),
            )
        )
        answer = self.query_one("#answer", Input)
        answer.set_class(self.asking is not None, "asking")
        if self.asking is not None:
            answer.focus()
        elif self.focused is answer:
            self.set_focus(None)
        self.call_after_refresh(self.follow)

    def follow(self) -> None:
        """Keep the marked row of each panel (the step's, or the `?` being asked) in view."""
        for box_id, panel_id in (("#circuit-box", "#circuit"), ("#table-box", "#table")):
            box = self.query_one(box_id, VerticalScroll)
            y = self.marks.get(panel_id)
            if y is None:
                continue
            height = box.scrollable_content_region.height
            if not box.scroll_y + 1 <= y < box.scroll_y + height - 1:
                box.scroll_to(y=max(0, y - height // 2), animate=False)

    def go(self, at: int) -> None:
        """Show the steps up to `at`; in predict mode, ask for the next number at once."""
        self.at = max(-1, min(at, len(self.model) - 1))
        self.asking = None
        self.feedback = []
        if self.predict:
            self.start_asking()
        self.refresh_panels()

    def start_asking(self) -> bool:
        """In predict mode, ask for the next step's number (if it has one to predict)."""
        following = self.at + 1
        if following >= len(self.model) or following in self.solved:
            return False
        step = self.model.steps[following]
        if not step.asks:
            return False
        self.asking, self.ask_index, self.hints = following, 0, 0
        self.working = ""
        self.asked_at = self.clock()
        answer = self.query_one("#answer", Input)
        answer.value = ""
        return True

    # ------------------------------------------------------------------ keys

    def action_next(self) -> None:
        if self.asking is not None:
            self.feedback = [Text("Type your prediction and press Enter (Esc reveals it).")]
            self.refresh_panels()
            return
        if self.at + 1 < len(self.model):
            self.go(self.at + 1)

    def action_previous(self) -> None:
        self.go(self.at - 1)  # a question left unanswered stays hidden

    def action_first(self) -> None:
        self.go(-1)

    def action_last(self) -> None:
        self.go(len(self.model) - 1)

    def action_predict(self) -> None:
        self.predict = not self.predict
        self.asking = None
        if not self.predict:
            said = "Predict mode off: → shows each number."
            self.set_focus(None)
        elif self.start_asking():
            said = "Predict mode: each number stays hidden until you type it."
        else:  # the next step (the inputs, the output's seed, the end) has none
            said = "Predict mode: → shows the next step; the numbers after it wait for you."
        self.feedback = [Text(said, style="italic")]
        self.refresh_panels()

    def action_hint(self) -> None:
        question = self.question
        if question is None:
            step = self.model.steps[self.at + 1] if self.at + 1 < len(self.model) else None
            said = f"next: {step.title}" if step else "this is the last step"
            self.feedback = [Text.assemble(("hint: ", "bold blue"), said)]
        else:
            self.hints += 1
            self.feedback = [panels.hint_text(question, self.problem_hint, self.hints)]
        self.refresh_panels()

    def action_reveal(self) -> None:
        question = self.question
        if question is None or self.asking is None:
            return
        self.record(question, "", None, correct=False, skipped=True)
        revealed, working = self.asking, self.working
        self.solved.add(revealed)
        self.go(revealed)  # (asks the next number: that forgets this one's slip)
        self.feedback = [Text(f"Revealed: {question.answer_text}.", style="bold")]
        if working:  # the last wrong number's slip, worked out
            self.feedback.append(Text(working, style="yellow"))
        self.refresh_panels()

    def on_input_changed(self, event: Input.Changed) -> None:
        # The answer box takes printable keys, so `?` arrives here, not as a binding.
        if event.value.strip() == "?":
            event.input.value = ""
            self.action_hint()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        question, asking = self.question, self.asking
        if question is None or asking is None:
            return
        typed = event.value.strip()
        event.input.value = ""
        word = typed.lower()
        if not word:
            return
        if word in HINT_WORDS:
            self.action_hint()
            return
        if word in REVEAL_WORDS:
            self.action_reveal()
            return
        if word in QUIT_WORDS:
            self.exit()
            return
        verdict = judge(self.model.trace, question, typed, self.tolerance)
        if verdict.outcome == "invalid":
            self.feedback = [Text(verdict.message, style="yellow")]
            self.refresh_panels()
            return
        right = verdict.outcome == "right"
        self.record(question, typed, verdict.value, correct=right, skipped=False, slip=verdict.slip)
        if not right:
            self.working = verdict.working
            self.feedback = [Text("✗ " + verdict.message, style="bold red")]
            self.refresh_panels()
            return
        step = self.model.steps[asking]
        if self.ask_index + 1 < len(step.asks):  # a vector step: the entry after the shape
            self.ask_index += 1
            self.hints = 0
            self.asked_at = self.clock()
            self.feedback = [Text("✓ " + verdict.message, style="bold green")]
            self.refresh_panels()
            return
        self.solved.add(asking)
        self.go(asking)  # and on to the next number
        self.feedback = [Text("✓ " + verdict.message, style="bold green")]
        self.refresh_panels()

    def record(
        self,
        question: Question,
        typed: str,
        value: float | None,
        *,
        correct: bool,
        skipped: bool,
        slip: str | None = None,
    ) -> None:
        seconds = self.clock() - self.asked_at
        attempt = Attempt(question, typed, value, correct, skipped, self.hints, seconds, slip)
        self.attempts.append(attempt)
        if self.save is not None:
            self.save(attempt)
