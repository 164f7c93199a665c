"""How numbers and symbolic values are written in every output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def show(value: Any, digits: int = 4) -> str:
    """A value to `digits` significant digits (-0.5344), or a symbolic expression."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        text = f"{float(value):.{digits}g}"
        return "0" if text == "-0" else text
    if value is None:  # a vector gate with no single local number (softmax)
        return "—"
    if hasattr(value, "ndim"):  # a numpy array: nested brackets, long ones cut short
        return show_array(value, digits)
    return symbolic_text(value, digits)


def symbolic_text(value: Any, digits: int = 4) -> str:
    """A symbolic value as sympy writes it; exact constants past Python's 4,300-digit
    limit on int-to-text ((7^100*x)^100 holds 7^10000, 8,451 digits) are written to
    `digits` significant digits instead, which also keeps the line readable."""
    try:
        return str(value)
    except ValueError:
        return str(value.evalf(digits))


# Vectors longer than this show their first and last entries around "…".
ARRAY_EDGE = 3


def show_array(value: Any, digits: int = 4, number: Callable[[float], str] | None = None) -> str:
    """A vector as [0.22, 0.26], a matrix one row a line; a 0-d array as a number.

    `number` writes each entry (default: `show` at `digits` significant digits).
    """
    write = number if number is not None else lambda v: show(v, digits)
    if value.ndim == 0:
        return write(float(value))

    def cut(items: list[str]) -> list[str]:
        if len(items) <= 2 * ARRAY_EDGE:
            return items
        return [*items[:ARRAY_EDGE], "…", *items[-ARRAY_EDGE:]]

    if value.ndim == 1:
        return "[" + ", ".join(cut([write(float(v)) for v in value])) + "]"
    # One row per line, as numpy prints a matrix, so table cells stay narrow.
    rows = [show_array(row, digits, number) for row in value]
    return "[" + ",\n ".join(cut(rows)) + "]"


def shape_text(value: Any) -> str:
    """A shape, or a value's shape, as numpy writes it: (2, 3) or (2,); a number is ()."""
    shape = value if isinstance(value, tuple) else tuple(getattr(value, "shape", ()))
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(n) for n in shape) + ")"


def to_json(value: Any) -> Any:
    """A number as a JSON number; a symbolic value as its string."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if hasattr(value, "tolist"):  # a numpy array: nested lists (a 0-d array: a number)
        return value.tolist()
    return symbolic_text(value, 15)


def fixed(value: Any, decimals: int = 2) -> str:
    """A value with a fixed number of decimals, as the notes write them (-0.53, 1.00).

    Values too small to show that way (0.0004 at 2 decimals) or very large fall back
    to significant digits, so no gradient is ever printed as a misleading 0.00.
    """
    if hasattr(value, "ndim"):  # a numpy array: each entry with fixed decimals
        return show_array(value, number=lambda v: fixed(v, decimals))
    if isinstance(value, bool) or not isinstance(value, int | float):
        return show(value)
    x = float(value)
    if x != 0 and (abs(x) < 0.5 * 10**-decimals or abs(x) >= 1e7):
        return show(x, max(decimals, 2))
    text = f"{x:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text
