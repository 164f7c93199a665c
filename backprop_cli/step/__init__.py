"""`backprop step`: the backward pass stepped gate by gate, full screen (a front end).

Textual is imported only inside these functions (and by step/app.py), so importing
this package, as `backprop --help` does not even do, loads no Textual. The steps are
the pure model of render/steps.py; app.py draws them; `serve()` puts the same app
in a browser with textual-serve.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from backprop_cli.errors import InputError

if TYPE_CHECKING:
    from backprop_cli.core.fuse import FuseKind
    from backprop_cli.quiz.history import Store
    from backprop_cli.quiz.questions import Attempt, QuizProblem, Tolerance
    from backprop_cli.render.steps import StepModel
    from backprop_cli.step.app import StepApp

# textual-serve starts the app under its web driver; the app then has no terminal
# and needs none.
WEB_DRIVER = "web_driver"
MODE = "step"  # the history's mode column: `backprop stats` counts these apart from quizzes


def build_model(problem: QuizProblem, fuse: FuseKind | None = None, decimals: int = 2) -> StepModel:
    """Trace the problem (no cross-checks: the steps show the trace's own numbers) and
    lay out its steps."""
    from backprop_cli.pipeline import trace_text
    from backprop_cli.render.steps import build_steps

    traced = trace_text(problem.expression, problem.bindings, check=False, fuse=fuse)
    return build_steps(traced.trace, decimals)


def make_app(
    problem: QuizProblem,
    *,
    fuse: FuseKind | None = None,
    decimals: int = 2,
    predict: bool = False,
    tolerance: Tolerance | None = None,
    save: Callable[[Attempt], None] | None = None,
) -> StepApp:
    from backprop_cli.step.app import StepApp

    model = build_model(problem, fuse, decimals)
    return StepApp(
        model,
        title=problem.title,
        save=save,
        tolerance=tolerance,
        problem_hint=problem.hint,
        predict=predict,
        orphan_watch=served(),
    )


def served() -> bool:
    """Running inside textual-serve (the browser), not in a terminal."""
    return WEB_DRIVER in os.environ.get("TEXTUAL_DRIVER", "")


def need_terminal(read_stdin: bool, trace_args: str = "EXPR …", quiz_args: str = "EXPR …") -> None:
    """Refuse clearly when there is no terminal to draw on or to read keys from,
    saying what to run instead (`trace_args`, `quiz_args`: the same circuit for them).

    After the expression came from standard input ('-'), keys are read from the
    controlling terminal (/dev/tty) instead.
    """
    if served():
        return
    why = ""
    if not sys.stdout.isatty():
        why = "its output is not one"
    elif not sys.stdin.isatty() and not (read_stdin and _attach_terminal()):
        why = "its input is not one"
    if why:
        raise InputError(
            f"backprop step is a full-screen app and needs a terminal ({why}).\n"
            f"  the steps as text:       backprop trace {trace_args} --explain\n"
            f"  each number at a prompt: backprop quiz {quiz_args}\n"
            "  in a browser:            backprop step … --serve"
        )


def _attach_terminal() -> bool:
    """Read keys from /dev/tty after the program was read from standard input."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return False
    os.dup2(tty, 0)
    os.close(tty)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 (fd 0 stays open)
    return True


def run(
    problem: QuizProblem,
    *,
    fuse: FuseKind | None = None,
    decimals: int = 2,
    predict: bool = False,
    tolerance: Tolerance | None = None,
    read_stdin: bool = False,
    instead: tuple[str, str] = ("EXPR …", "EXPR …"),
) -> list[str]:
    """Open the app on a terminal; every prediction is saved to the quiz history.

    Returns the notices to print after the app has closed (a history that could not
    be written, for example). `instead`: the arguments of `backprop trace` and of
    `backprop quiz` for the same circuit, for the message when there is no terminal.
    """
    from backprop_cli.quiz import history

    store = history.open_store()
    save = saver(store, history.new_session(), problem.id)
    # Traced before the terminal is looked at: bad input is the first thing to say.
    app = make_app(
        problem, fuse=fuse, decimals=decimals, predict=predict, tolerance=tolerance, save=save
    )
    need_terminal(read_stdin, *instead)
    try:
        app.run()
    finally:
        store.close()
    return list(store.notices)


def saver(store: Store, session: str, problem_id: str) -> Callable[[Attempt], None]:
    """Save each prediction to the quiz history as it is made (mode `step`)."""
    from backprop_cli.quiz import history

    def save(attempt: Attempt) -> None:
        store.record(history.attempt_row(session, problem_id, MODE, attempt))

    return save


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def serve(child_args: Sequence[str], port: int | None, title: str) -> None:
    """Serve the app to a browser on 127.0.0.1: each browser tab runs `backprop step`
    with `child_args` in its own process. Ctrl-C stops the server and those processes.
    """
    import shlex

    try:
        from textual_serve.server import Server
    except ImportError:
        raise InputError("--serve needs textual-serve: pip install 'backprop-cli[step]'") from None
    host = "127.0.0.1"
    chosen = port or free_port(host)
    # textual-serve runs the command with a shell; `exec` makes the app the server's
    # own child, so it can tell when the server is gone (app.py watches its parent).
    command = "exec " + shlex.join([sys.executable, "-m", "backprop_cli", "step", *child_args])
    server = Server(command, host=host, port=chosen, title=title)
    print(f"backprop step: serving on http://{host}:{chosen}  (Ctrl-C stops it)", flush=True)
    try:
        server.serve()
    except OSError as exc:  # the port is taken, or not ours to use
        raise InputError(
            f"cannot serve on {host}:{chosen} ({exc.strerror or exc}); choose another port "
            "with --port, or leave it out for a free one"
        ) from None
