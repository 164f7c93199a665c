"""How numbers and symbolic values are written in every output."""

from __future__ import annotations

from typing import Any


def show(value: Any, digits: int = 4) -> str:
    """A value to `digits` significant digits (-0.5344), or a symbolic expression."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        text = f"{float(value):.{digits}g}"
        return "0" if text == "-0" else text
    return str(value)


def to_json(value: Any) -> Any:
    """A number as a JSON number; a symbolic value as its string."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    return str(value)
