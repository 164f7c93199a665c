"""backprop: a tutor that teaches backpropagation gate by gate, and proves every number.

The public API (documented in the README, "Python API"):

    import backprop_cli as bp
    t = bp.trace("(x + y) * z", x=-2, y=5, z=-4)
    t.value, t.gradients, t.checks, t.as_dict()
    results = bp.check("problems/")

`trace`, `check` and `TraceResult` are loaded on first use (PEP 562), so importing
the package, as `backprop --help` does, loads none of the core. In a notebook,
`%load_ext backprop_cli` calls `load_ipython_extension` (the magics, notebook.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backprop_cli.errors import BackpropError, CheckFailed, InputError

if TYPE_CHECKING:
    from backprop_cli.api import TraceResult, check, trace

__version__ = "0.1.0"

__all__ = [
    "BackpropError",
    "CheckFailed",
    "InputError",
    "TraceResult",
    "__version__",
    "check",
    "load_ipython_extension",
    "trace",
]

_LAZY = {"trace", "check", "TraceResult"}


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext backprop_cli`: registers `%backprop` and `%%backprop` (notebook.py)."""
    from backprop_cli.notebook import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from backprop_cli import api

        return getattr(api, name)
    raise AttributeError(f"module 'backprop_cli' has no attribute {name!r}")
