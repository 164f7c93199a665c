"""A learner's backward pass, judged line by line (`backprop check-backward`)."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from backprop_cli.checks.backward import BackwardReport, number_text
from backprop_cli.core.engine import Trace
from backprop_cli.core.text import shown
from backprop_cli.render.table import ValueLines

MARKS = {"right": ("✓", "green"), "wrong": ("✗", "bold red"), "unchecked": ("·", "dim")}


def _n(value: Any) -> str:
    return number_text(value)


def backward_view(trace: Trace, report: BackwardReport, where: str) -> Group:
    """Each line of the learner's code with its verdict under it, then the gradients."""
    # The file's path is never broken across lines, however long (a deep clone's path
    # pushed it to a second line at 80 columns): its line runs past the width instead.
    title = Text("backprop check-backward  ", style="bold", no_wrap=True, overflow="ignore")
    title.append(shown(where))
    # The values break between values, never inside one (render/table.value_lines):
    # at 80 columns `dD` / `= [a (5, 3) matrix]` was split over two lines.
    values = [f"{k} = {_n(v)}" for k, v in trace.bindings.items()]
    forward = f"forward pass: {trace.output.ref} = {_n(trace.value)}"
    head: list[RenderableType] = [
        ValueLines(values, f"{forward} at ", indent=3) if values else Text(forward)
    ]
    if report.note:
        head.append(Text(report.note))

    table = Table.grid(padding=(0, 1))
    table.add_column(justify="right", style="dim", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column()
    for verdict in report.lines:
        mark, style = MARKS[verdict.status]
        table.add_row(f"line {verdict.line}", "", Text(shown(verdict.text), style="bold"))
        if verdict.status == "unchecked":
            said = verdict.message or (
                f"{verdict.target} = {_n(verdict.got)} (not a gradient of the circuit)"
            )
        elif verdict.status == "right":
            said = verdict.message
        else:
            slip = f" [{verdict.slip}]" if verdict.slip else ""
            said = f"wrong{slip}: {verdict.message}"
        table.add_row("", Text(mark, style=style), Text(shown(said), style=style))

    right = sum(1 for v in report.lines if v.status == "right")
    judged = sum(1 for v in report.lines if v.status != "unchecked")
    summary = Text()
    for final in report.finals:
        if not final.right:
            summary.append(
                f"{final.target} ends as {_n(final.got)}, but ∂{report.output}/∂{final.name} "
                f"= {_n(final.want)}\n",
                style="red",
            )
    if report.missing:
        summary.append(
            f"no line computes {', '.join('d' + n for n in report.missing)}\n", style="yellow"
        )
    inputs = [f for f in report.finals if f.name in trace.graph.inputs]
    if inputs and all(f.right for f in report.finals):
        summary.append(
            "Your gradients: "
            + ", ".join(f"{f.target} = {_n(f.got)}" for f in inputs)
            + " (the trace's)\n"
        )
    summary.append(f"{right} of {judged} lines right", style="bold")
    return Group(title, *head, Text(""), table, Text(""), summary)


def backward_dict(trace: Trace, report: BackwardReport) -> dict[str, Any]:
    """The report as JSON (`check-backward --json`)."""
    from backprop_cli.core.numbers import to_json

    return {
        "output": report.output,
        "value": to_json(trace.value),
        "failed": report.failed,
        "lines": [
            {
                "line": v.line,
                "code": v.text,
                "target": v.target,
                "name": v.name,
                "status": v.status,
                "got": to_json(v.got),
                "want": to_json(v.want),
                "slip": v.slip,
                "message": v.message,
            }
            for v in report.lines
        ],
        "gradients": {
            f.name: {"got": to_json(f.got), "want": to_json(f.want), "right": f.right}
            for f in report.finals
        },
        "missing": report.missing,
    }
