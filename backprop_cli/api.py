"""The public Python API: `backprop_cli.trace()` and `backprop_cli.check()`.

    import backprop_cli as bp
    t = bp.trace("(x + y) * z", x=-2, y=5, z=-4)
    t.value, t.gradients, t.checks, t.as_dict()

In a notebook a result shows itself (`_repr_mimebundle_`): the circuit as an SVG
picture, the tables, the gradients and the checks, with the same tables as plain
text for frontends without HTML. `t.view(digits=6, explain=True)` changes how;
`t.to_html(page=True)` is the page `backprop trace --format html` writes.

It is a front end like the CLI (which calls it): it sits above the renderers, so a
result can print itself as the JSON of `backprop trace --json`. Bad input raises
`backprop_cli.InputError` with the message the CLI prints; nothing else escapes on
purpose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from backprop_cli.errors import InputError

if TYPE_CHECKING:
    from backprop_cli.checks import Check
    from backprop_cli.core.engine import Trace
    from backprop_cli.problems.sets import ProblemResult

__all__ = ["TraceResult", "ViewOptions", "check", "trace"]

# Plain text is drawn this wide: the backward table of the notes' neuron needs 76
# columns, and notebooks wrap past about 100.
TEXT_WIDTH = 100


@dataclass(frozen=True)
class ViewOptions:
    """How a result shows itself: as `--digits`, `--decimals` and `--explain` on the CLI."""

    digits: int = 4
    decimals: int = 2
    explain: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.digits, bool) or not isinstance(self.digits, int):
            raise InputError(f"digits must be a whole number from 1 to 17, not {self.digits!r}")
        if not 1 <= self.digits <= 17:
            raise InputError(f"digits must be from 1 to 17, not {self.digits}")
        if isinstance(self.decimals, bool) or not isinstance(self.decimals, int):
            raise InputError(f"decimals must be a whole number from 0 to 10, not {self.decimals!r}")
        if not 0 <= self.decimals <= 10:
            raise InputError(f"decimals must be from 0 to 10, not {self.decimals}")


@dataclass(frozen=True, eq=False)
class TraceResult:
    """A traced and cross-checked circuit.

    `value` and `gradients` are floats for numbers, numpy arrays for vectors and
    matrices, sympy expressions when some input has no value. `circuit` is the
    gate-by-gate record (graph, forward values, local and upstream gradients,
    chain-rule products) that every view is drawn from.
    """

    circuit: Trace
    checks: list[Check]
    options: ViewOptions = field(default=ViewOptions(), repr=False)

    @property
    def kind(self) -> str:
        """ "numbers", "arrays" or "symbols": what the values are."""
        return self.circuit.kind

    @property
    def expression(self) -> str:
        return str(self.circuit.graph.program.source)

    @property
    def output(self) -> str:
        """The name of the output (the last name a program assigns; `f` for an expression)."""
        return str(self.circuit.output.ref)

    @property
    def value(self) -> Any:
        return self.circuit.value

    @property
    def gradients(self) -> dict[str, Any]:
        """d output / d input for each input, in the order the inputs are first used."""
        return self.circuit.gradients

    @property
    def failed(self) -> bool:
        """True when a cross-check disagreed with the backward pass."""
        return any(c.failed for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        """Exactly the object `backprop trace --json` prints (schema in the README)."""
        from backprop_cli.render.json import trace_dict

        return trace_dict(self.circuit, self.checks)

    def view(
        self, *, digits: int | None = None, decimals: int | None = None, explain: bool | None = None
    ) -> TraceResult:
        """The same result, shown with other options (those not given stay as they are).

        `digits`: significant digits in the tables (1-17, default 4); `decimals`: in the
        picture and the sentences (0-10, default 2); `explain`: add the backward pass
        in sentences.
        """
        now = self.options
        return replace(
            self,
            options=ViewOptions(
                digits=now.digits if digits is None else digits,
                decimals=now.decimals if decimals is None else decimals,
                explain=now.explain if explain is None else bool(explain),
            ),
        )

    def to_text(self) -> str:
        """The tables, the gradients, the checks (and sentences) as plain text."""
        import io

        from rich.console import Console

        from backprop_cli.render.table import trace_view

        buffer = io.StringIO()
        # force_jupyter=False: in a kernel Rich would otherwise display() what it prints.
        console = Console(
            file=buffer,
            width=TEXT_WIDTH,
            color_system=None,
            highlight=False,
            soft_wrap=False,
            force_jupyter=False,
        )
        console.print(trace_view(self.circuit, self.checks, self.options.digits, self._example()))
        if self.options.explain:
            from backprop_cli.render.explain import explain_view

            console.print(explain_view(self.circuit, self.options.decimals))
        return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"

    def to_html(self, *, page: bool = False) -> str:
        """The trace as HTML: a fragment for a notebook, or (`page=True`) the whole
        self-contained page that `backprop trace --format html` writes."""
        from backprop_cli.render import html

        opts = self.options
        draw = html.page if page else html.fragment
        return draw(
            self.circuit,
            self.checks,
            digits=opts.digits,
            decimals=opts.decimals,
            explain=opts.explain,
            example=self._example(),
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **kwargs: Any
    ) -> dict[str, str]:
        """What Jupyter shows: HTML where it can, the text tables where it cannot."""
        return {"text/plain": self.to_text(), "text/html": self.to_html()}

    def _example(self) -> str:
        values = ", ".join(f"{name}=1" for name in self.circuit.graph.inputs)
        return f"bp.trace({self.expression!r}, {values})"

    def __repr__(self) -> str:
        grads = ", ".join(f"{k}={_short(v)}" for k, v in self.gradients.items())
        return f"<TraceResult {self.expression!r}: {self.output}={_short(self.value)}; {grads}>"


def trace(
    text: str,
    values: Mapping[str, Any] | None = None,
    /,
    *,
    output: str | None = None,
    check: bool = True,
    fuse: Literal["sigmoid", "all"] | None = None,
    **bindings: Any,
) -> TraceResult:
    """Trace `text` (an expression or a staged program) at the given values.

    Values come as keywords (`x=-2`) or as a mapping (for names that clash with the
    keywords here, such as `check`): numbers, lists or numpy arrays, or text the
    command line would accept (`"1/3"`, `"[0.2, 0.4]"`). Inputs left without a value
    make a symbolic trace. `check=False` skips sympy and finite differences; `fuse`
    is "sigmoid" or "all", as `--fuse` on the command line.

    Raises `backprop_cli.InputError` for anything that cannot be traced.
    """
    from backprop_cli.core.language import read_values
    from backprop_cli.pipeline import trace_text

    if not isinstance(text, str):
        raise InputError(f"the expression must be text, not {type(text).__name__}")
    if fuse is not None and fuse not in ("sigmoid", "all"):
        raise InputError(f'fuse must be "sigmoid" or "all", not {fuse!r}')
    given: dict[str, Any] = dict(values or {})
    for name in bindings:
        if name in given:
            raise InputError(f"{name!r} is given a value twice")
    given.update(bindings)
    result = trace_text(text, read_values(given), output=output, check=check, fuse=fuse)
    return TraceResult(result.trace, result.checks)


def check(*paths: str | Path, symbolic: bool = True) -> list[ProblemResult]:
    """Check every stated answer in problem-set files or folders (the bundled sets if none).

    Each result has `.status` ("pass", "fail" or "error"), `.problem` and `.diffs`,
    as `backprop check --format json` reports them. A file that cannot be loaded is
    one "error" result in its place (`.unreadable`, `.problem.file` and `.problem.line`
    say where, `.message` what), and the other files are still checked, as `backprop
    check` does; a path that does not exist raises InputError.
    """
    from backprop_cli.problems.sets import bundled_path, check_each, load_each

    chosen: Sequence[Path] = [Path(p) for p in paths] or [bundled_path()]
    return check_each(load_each(chosen), symbolic=symbolic)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if hasattr(value, "shape"):
        return f"array{list(value.shape)}"
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"
