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
    return power_notation(symbolic_text(value, digits))  # one notation: s7², as the formulas


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
    shape = tuple(value) if isinstance(value, tuple | list) else getattr(value, "shape", ())
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


# Exponents written as superscripts: the one power notation of every view (s7², not
# s7**2 beside it). Larger or symbolic exponents keep ^ (x^n), as the gates write them.
_SUPERSCRIPTS = {"2": "²", "3": "³"}


def power_notation(text: str) -> str:
    """sympy's text as the gates' formulas write math: s7², w0·x0, x^(1/3)."""
    import re

    text = re.sub(
        r"\*\*(\d)(?![\d.])", lambda m: _SUPERSCRIPTS.get(m.group(1), f"^{m.group(1)}"), text
    )
    text = re.sub(r"\*\*\((-?[\w./]+)\)", r"^(\1)", text)
    text = text.replace("**", "^")
    return re.sub(r"(?<=\S)\*(?=\S)", "·", text)


def agreeing_decimals(
    products: list[tuple[list[float], float]], sums: list[tuple[list[float], float]], start: int
) -> int:
    """The fewest decimals (from `start`, at most 4 more) at which the arithmetic a
    sentence shows checks on screen: each factor list, rounded, multiplies to its
    rounded product, and each part list adds to its rounded sum. At 2 decimals
    0.1966 × -3 = -0.5898 reads "0.20 × -3.00 = -0.59", which does not check; at 4 it does.
    """
    for decimals in range(start, start + 5):

        def shown(v: float, d: int = decimals) -> float:
            return float(fixed(v, d))

        def near(got: float, total: float, d: int = decimals) -> bool:
            # within half a unit of the last digit shown (tiny values show significant
            # digits, so the unit is the text's, not 10^-decimals)
            return abs(got - shown(total)) <= _half_unit(fixed(total, d)) * (1 + 1e-9)

        if all(near(_product([shown(f) for f in fs]), total) for fs, total in products) and all(
            near(sum(shown(p) for p in parts), total) for parts, total in sums
        ):
            return decimals
    return start + 4


def _half_unit(text: str) -> float:
    """Half a unit in the last digit of a number as written: 0.005 for -0.53."""
    mantissa, _, exponent = text.lower().partition("e")
    places = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 0.5 * 10.0 ** (int(exponent or 0) - places)


def _product(values: list[float]) -> float:
    out = 1.0
    for v in values:
        out *= v
    return out


def checking_digits(factors: list[float], product: float, digits: int = 4) -> int:
    """Significant digits (from `digits`, at most 4 more) at which `a × b = product`,
    each number written with `show`, checks as written: 0.5121 × 0.01766 is 0.009044,
    so the sentence that says 0.009046 needs a fifth digit."""
    for places in range(digits, digits + 5):
        got = _product([float(show(f, places)) for f in factors])
        if abs(got - float(show(product, places))) <= _half_unit(show(product, places)) * (
            1 + 1e-9
        ):
            return places
    return digits + 4
