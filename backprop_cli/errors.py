"""The project's exceptions: one base, and one kind per exit code.

Library code raises these with a message a learner understands (where, what, how
to fix); only `cli.py` turns them into exit codes.
"""

from __future__ import annotations


class BackpropError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = 1


class InputError(BackpropError):
    """The user's input cannot be used: bad text, bad values, math domain errors."""

    exit_code = 2


class CheckFailed(BackpropError):
    """A cross-check or a stated answer disagreed with the computed gradient."""

    exit_code = 1


def caret_message(what: str, text: str, col: int, *, line: int = 1, hint: str = "") -> str:
    """Format an error that points at one column of the user's text.

    `line` and `col` are 1-based and 0-based respectively, as Python's ast gives them.
    """
    lines = text.splitlines() or [""]
    line = min(max(line, 1), len(lines))
    # Control characters (a NUL byte, say) would garble the terminal: show them as "?".
    src = "".join(ch if ch.isprintable() else "?" for ch in lines[line - 1])
    col = min(max(col, 0), len(src))
    where = f"line {line}, column {col + 1}" if len(lines) > 1 else f"column {col + 1}"
    shown = src
    pointer_col = col
    if len(src) > 70:  # show a window around the column instead of a huge line
        start = max(0, col - 35)
        shown = (
            ("…" if start else "")
            + src[start : start + 70]
            + ("…" if start + 70 < len(src) else "")
        )
        pointer_col = col - start + (1 if start else 0)
    message = f"{what} ({where}):\n  {shown}\n  {' ' * pointer_col}^"
    if hint:
        message += f"\n{hint}"
    return message
