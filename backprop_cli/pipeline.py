"""From text to a checked trace, written once: what every command and the API share.

    text ──read──▶ Program ──stage──▶ Graph ──run──▶ Trace ──check──▶ Checks

`read` and `stage` are the first two steps on their own, for callers that only need
the program's variables or its gates (the quiz's choice of problem, `--problem`
bindings, `backprop check`'s hygiene warnings); `trace_text` runs all four.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backprop_cli.checks import Check, run_checks
from backprop_cli.core import engine
from backprop_cli.core.fuse import FuseKind
from backprop_cli.core.fuse import fuse as fuse_graph
from backprop_cli.core.graph import Graph, build_graph
from backprop_cli.core.language import DEFAULT_LIMITS, Limits, Program, has_arrays, parse_program
from backprop_cli.errors import InputError

if TYPE_CHECKING:
    from backprop_cli.checks.backward import BackwardReport


@dataclass
class CheckedTrace:
    trace: engine.Trace
    checks: list[Check]

    @property
    def failed(self) -> bool:
        return any(check.failed for check in self.checks)


def read(
    text: str,
    bindings: Mapping[str, Any],
    *,
    output: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Program:
    """Parse `text`. Vector syntax (@, W.T, sum, softmax, …) is read only when some
    value is an array, so a scalar expression's errors never mention matrices."""
    return parse_program(
        text, output=output, limits=limits, vectors=has_arrays(bindings), given=bindings
    )


def variables(text: str, bindings: Mapping[str, Any]) -> list[str]:
    """The names `text` reads, in order of first use (a stage the output ignores too)."""
    return read(text, bindings).inputs()


def stage(
    text: str,
    bindings: Mapping[str, Any],
    *,
    output: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    fuse: FuseKind | None = None,
) -> Graph:
    """Parse and stage `text` into gates; `fuse` ("sigmoid" or "all") collapses known
    sub-circuits into one gate."""
    graph = build_graph(read(text, bindings, output=output, limits=limits), limits=limits)
    return graph if fuse is None else fuse_graph(graph, fuse)


def trace_text(
    text: str,
    bindings: Mapping[str, Any],
    *,
    output: str | None = None,
    check: bool = True,
    limits: Limits = DEFAULT_LIMITS,
    fuse: FuseKind | None = None,
) -> CheckedTrace:
    """Parse, stage, run and (unless `check` is False) cross-check an expression."""
    graph = stage(text, bindings, output=output, limits=limits, fuse=fuse)
    trace = engine.run(graph, bindings)
    return CheckedTrace(trace, run_checks(trace, symbolic=check, numeric=check))


@dataclass
class CheckedBackward:
    """A program's forward part traced and cross-checked, and its backward part judged."""

    result: CheckedTrace
    report: BackwardReport

    @property
    def failed(self) -> bool:
        return self.report.failed or self.result.failed


def check_backward_text(
    text: str,
    bindings: Mapping[str, Any],
    *,
    output: str | None = None,
    check: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> CheckedBackward:
    """Trace the forward part of `text` and judge its `dNAME` lines, one by one."""
    from backprop_cli.checks.backward import check_backward
    from backprop_cli.core.language import split_backward

    forward, lines = split_backward(text, limits=limits)
    if not lines:
        # A syntax error anywhere hides the dNAME lines from split_backward: the
        # forward parser says where it is (`dy = x +` was "found no backward pass").
        if not _parses(text):
            read(text, bindings, output=output, limits=limits)
        raise InputError(_no_backward_pass(text, limits))
    # The sigmoid fused, as the notes' backward code treats it (ddot = (1 - f) * f):
    # gradients on every named value are the same, and σ's own slip can be named.
    result = trace_text(
        forward, bindings, output=output, check=check, limits=limits, fuse="sigmoid"
    )
    # The notes' matrix example gives the upstream gradient itself ("now suppose we had
    # the gradient on D from above": dD = np.random.randn(*D.shape)): then the circuit
    # is L = sum(D * dD), whose gradients are exactly what that dD sends back.
    out = result.trace.output.ref
    given: dict[str, Any] = {}
    seed_line = next((line for line in lines if line.target == f"d{out}"), None)
    if seed_line is not None and seed_line.op == "=":
        seed = _upstream(result.trace, seed_line)
        if seed is not None:
            names = set(result.trace.graph.program.inputs()) | {
                s.target for s in result.trace.graph.program.statements
            }
            loss = next(n for n in ("L", "loss", "L_", "loss_") if n not in names)
            seeded = f"{forward.rstrip()}\n{loss} = sum({out} * {seed_line.target})\n"
            result = trace_text(
                seeded,
                {**bindings, seed_line.target: seed},
                output=loss,
                check=check,
                limits=limits,
                fuse="sigmoid",
            )
            given[seed_line.target] = seed
    report = check_backward(result.trace, lines, given=given)
    if given:
        target = next(iter(given))
        report.note = (
            f"{target} is given, so the circuit is {result.trace.output.ref} = "
            f"sum({out} * {target}): its gradients are what {target} sends back"
        )
    return CheckedBackward(result, report)


def _parses(text: str) -> bool:
    import ast

    from backprop_cli.core.language import python_source

    try:
        ast.parse(python_source(text), mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _no_backward_pass(text: str, limits: Limits) -> str:
    """What to say when `split_backward` finds no `dNAME` lines: an empty file, a
    gradient with no forward pass before it, a gradient of a name the forward pass
    does not have (`dz` after `f = x*y`), or no gradient at all."""
    from backprop_cli.core.language import python_source, stray_gradient
    from backprop_cli.core.text import did_you_mean

    how = (
        "after the forward pass, assign the gradients as the notes do, one dNAME per value "
        "NAME, for example  ddot = (1 - f) * f  then  dx = w * ddot"
    )
    code = [line.split("#", 1)[0].strip() for line in python_source(text).splitlines()]
    if not any(code):
        return (
            "the file is empty: there is no forward pass and no backward pass to check. "
            "Write the forward pass, then your gradients, one dNAME per value NAME, for "
            "example  f = x*y  then  dx = y  and  dy = x"
        )
    stray = stray_gradient(text, limits=limits)
    if stray is None:
        return f"found no backward pass: {how}"
    target, line, names = stray
    if not names:
        return (
            f"line {line}: {target} comes before any forward pass: write the forward pass "
            f"first (the values and stages, for example  f = x*y), then the gradients"
        )
    hint = did_you_mean(target, [f"d{n}" for n in names])
    return (
        f"line {line}: {target} looks like a gradient, but {target[1:]} is not a name of "
        f"the forward pass ({', '.join(names)}), so there is no backward pass to "
        f"check.{hint}"
    )


def _upstream(trace: engine.Trace, line: Any) -> Any:
    """The upstream gradient a learner's line gives the output, if it is not ones."""
    import numpy as np

    from backprop_cli.checks.backward import line_value

    if line.random is not None:
        if isinstance(line.random, str):
            index = next(
                (n.index for n in trace.graph.nodes if n.ref == line.random), trace.graph.output
            )
            shape = trace.shape(index)
        else:
            shape = line.random
        # A generator of its own, seeded: the same dD every run.
        return np.random.default_rng(1).standard_normal(shape)
    try:
        value = np.asarray(line_value(line, {}), dtype=float)
    except InputError:
        return None  # it reads the forward pass: judged as a line like the others
    if np.all(value == 1.0):
        return None
    return value
