"""Time budgets for sympy work, which can take minutes on a few hundred gates.

Size limits (engine.tree_size, checks.symbolic.written_size) refuse the big cases before any
work; this catches what slips through them, e.g. sympy's Max comparing every pair of
its arguments. A budget arms SIGALRM; when it runs out the handler raises `OutOfTime`
inside whatever sympy is doing, and the `with` block ends with `budget.expired` set.

`OutOfTime` is a BaseException so that sympy's broad `except Exception` clauses
cannot swallow it, and the alarm repeats every 50 ms until the budget's block has
ended, in case one is swallowed anyway. Where SIGALRM is not available (Windows, or
a thread other than the main one) the block simply runs to the end.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


class OutOfTime(BaseException):
    """A time budget ran out; carries the Budget that expired."""


@dataclass(eq=False)
class Budget:
    seconds: float
    deadline: float
    expired: bool = False
    armed: bool = True


_active: list[Budget] = []  # outermost first
_previous_handler: Any = None
# The host's own ITIMER_REAL alarm (pytest-timeout, a caller's watchdog), saved when
# the outermost budget starts: its deadline on our clock and its repeat interval.
# Budgets share the one timer, so the host's alarm is kept in the schedule, its
# handler called if it comes due inside a budget, and the timer restored after.
_host: tuple[float, float] | None = None


def _usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _on_alarm(signum: int, frame: object) -> None:
    global _host
    now = time.monotonic()
    for budget in _active:  # the outermost expired budget wins: its block ends first
        if budget.armed and now >= budget.deadline:
            raise OutOfTime(budget)
    if _host is not None and now >= _host[0]:
        interval = _host[1]
        _host = (now + interval, interval) if interval > 0 else None
        if callable(_previous_handler):
            _previous_handler(signum, frame)  # the host's alarm, on time
    _arm()


def _arm() -> None:
    live = [b.deadline for b in _active if b.armed]
    if live and _host is not None:
        live.append(_host[0])
    if live:
        wait = max(min(live) - time.monotonic(), 0.001)
        signal.setitimer(signal.ITIMER_REAL, wait, 0.05)
    else:
        signal.setitimer(signal.ITIMER_REAL, 0)


@contextmanager
def time_budget(seconds: float) -> Iterator[Budget]:
    """Run the block for at most `seconds`; afterwards `budget.expired` says if it was cut."""
    global _previous_handler
    budget = Budget(seconds, time.monotonic() + seconds)
    if not _usable():
        yield budget
        return
    if not _active:
        _save_host_alarm()
        _previous_handler = signal.signal(signal.SIGALRM, _on_alarm)
    _active.append(budget)
    _arm()
    try:
        yield budget
    except OutOfTime as exc:
        if exc.args[0] is not budget:
            raise
        budget.expired = True
    finally:
        budget.armed = False  # first: an alarm from here on must not raise for it
        _active.remove(budget)
        _arm()
        if not _active:
            signal.signal(signal.SIGALRM, _previous_handler or signal.SIG_DFL)
            _restore_host_alarm()


def _save_host_alarm() -> None:
    global _host
    value, interval = signal.getitimer(signal.ITIMER_REAL)
    _host = (time.monotonic() + value, interval) if value > 0 else None


def _restore_host_alarm() -> None:
    """Put the host's alarm back with the time it has left (due already: at once)."""
    global _host
    if _host is not None:
        deadline, interval = _host
        signal.setitimer(signal.ITIMER_REAL, max(deadline - time.monotonic(), 0.001), interval)
    _host = None
