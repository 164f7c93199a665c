"""Problem-set results and listings: Rich tables, JSON, JUnit XML, GitHub annotations.

Each function takes `problems.ProblemResult`s (or `Problem`s) and returns a Rich
renderable, a dict or a string; `cli.py` decides where it goes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree as ET

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from backprop_cli.core.text import shown
from backprop_cli.problems.sets import (
    Problem,
    ProblemResult,
    Summary,
    pair,
    shown_path,
    summarize,
)

STATUS_STYLE = {"pass": "green", "fail": "bold red", "error": "bold magenta"}


def summary_line(summary: Summary, seconds: float | None = None) -> str:
    noun = "problem" if summary.total == 1 else "problems"
    text = (
        f"{summary.total} {noun}: {summary.passed} passed, {summary.failed} failed, "
        f"{summary.errors} {'error' if summary.errors == 1 else 'errors'}"
    )
    if not summary.total and summary.unreadable:
        text = "no problems checked"
    if summary.warnings:
        text += f", {summary.warnings} {'warning' if summary.warnings == 1 else 'warnings'}"
    if summary.unreadable:
        files = "file" if summary.unreadable == 1 else "files"
        text += f"; {summary.unreadable} {files} cannot be loaded"
    if seconds is not None:
        text += f" in {seconds:.2f}s"
    return text


# --------------------------------------------------------------------------- table


def details(result: ProblemResult) -> Text:
    """What the status column cannot say: want vs got per claim, the message, warnings."""
    text = Text()
    if result.diverges_at:
        text.append(
            f"the claims part ways with the trace at {shown(result.diverges_at)}", style="bold"
        )
        text.append(" (the first wrong gradient from the output back)\n")
    for diff in result.diffs:
        what = "value" if diff.kind == "value" else f"∂/∂{shown(diff.name)}"
        text.append(f"{what}: ", style="bold")
        text.append(f"want {shown(pair(diff.want, diff.got), lines=True)}\n")
        if diff.where:
            text.append(f"  {shown(diff.where, lines=True)}\n", style="dim")
    if result.message and (result.status == "error" or not result.diffs):
        text.append(shown(result.message, lines=True) + "\n")
    for warning in result.warnings:
        text.append("warning: ", style="yellow")
        text.append(shown(warning, lines=True) + "\n")
    text.rstrip()
    return text


def check_view(
    results: Sequence[ProblemResult], *, seconds: float | None = None, quiet: bool = False
) -> Group:
    """A table per file (only problems that did not pass cleanly when `quiet`) and a
    summary line."""
    parts: list[RenderableType] = []
    by_file: dict[Path, list[ProblemResult]] = {}
    for result in results:
        by_file.setdefault(result.problem.file, []).append(result)
    for file, group in by_file.items():
        listed = [r for r in group if not (quiet and r.status == "pass" and not r.warnings)]
        if not listed:
            continue
        # a path is never broken across lines, even past the width of a pipe
        heading = Text(shown(shown_path(file)), style="bold", no_wrap=True, overflow="ignore")
        heading.append(f"  {shown(group[0].problem.set_title)}", style="")  # or "cannot be loaded"
        parts.append(heading)
        table = Table(box=box.SIMPLE_HEAD)
        table.add_column("line", justify="right", style="dim")
        table.add_column("id", style="bold", overflow="fold")
        table.add_column("status", no_wrap=True)
        table.add_column("details", overflow="fold", ratio=1)
        for result in listed:
            table.add_row(
                str(result.problem.line),
                Text("(file)" if result.unreadable else shown(result.problem.id)),
                Text(result.status, style=STATUS_STYLE[result.status]),
                details(result),
            )
        parts.append(table)
    summary = summarize(results)
    style = {"ok": "bold green", "failed": "bold red", "error": "bold magenta"}[summary.exit_status]
    parts.append(Text(summary_line(summary, seconds), style=style))
    return Group(*parts)


# --------------------------------------------------------------------------- JUnit XML


def result_text(result: ProblemResult) -> str:
    """Plain text of a result's details, as in the table's last column."""
    return details(result).plain


def junit_xml(results: Sequence[ProblemResult], seconds: float = 0.0) -> str:
    """One <testsuite> per file, one <testcase> per problem (classname: the file)."""
    root = ET.Element("testsuites", name="backprop check")
    by_file: dict[str, list[ProblemResult]] = {}
    for result in results:
        # XML 1.0 cannot hold most control characters even escaped: shown() makes
        # them visible (a file name with \x01 in it broke the whole report).
        by_file.setdefault(shown(shown_path(result.problem.file)), []).append(result)
    summary = summarize(results)
    # A file that cannot be loaded is one <testcase> with an <error>, as pytest's plugin
    # makes it one failed item.
    root.set("tests", str(summary.total + summary.unreadable))
    root.set("failures", str(summary.failed))
    root.set("errors", str(summary.errors + summary.unreadable))
    root.set("time", f"{seconds:.3f}")
    for file, group in by_file.items():
        part = summarize(group)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=file,
            tests=str(part.total + part.unreadable),
            failures=str(part.failed),
            errors=str(part.errors + part.unreadable),
            skipped="0",
        )
        for result in group:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=file,
                name="(file cannot be loaded)" if result.unreadable else shown(result.problem.id),
                file=file,
                line=str(result.problem.line),
            )
            if result.status != "pass":
                tag = "failure" if result.status == "fail" else "error"
                element = ET.SubElement(case, tag, message=shown(result.message), type=tag)
                element.text = result_text(result)  # already shown() by details()
            elif result.warnings:
                ET.SubElement(case, "system-out").text = result_text(result)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


# --------------------------------------------------------------------------- GitHub


def _escape_data(text: str) -> str:
    text = shown(text, lines=True)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(results: Sequence[ProblemResult], seconds: float | None = None) -> str:
    """`::error file=…,line=…::…` for each failure, `::warning` for each warning."""
    lines = []
    for result in results:
        problem = result.problem
        where = f"file={_escape_property(shown_path(problem.file))},line={problem.line}"
        title = _escape_property(f"backprop check {problem.id}")
        if result.unreadable:
            lines.append(github_file_error(problem.file, problem.line, result.message))
        elif result.status != "pass":
            body = result.message
            extra = result_text(result)
            if extra and extra != result.message:
                body += "\n" + extra
            lines.append(f"::error {where},title={title}::{_escape_data(body)}")
        elif result.warnings:
            for warning in result.warnings:
                lines.append(f"::warning {where},title={title}::{_escape_data(warning)}")
    lines.append(summary_line(summarize(results), seconds))
    return "\n".join(lines)


def github_file_error(path: Path, line: int, what: str) -> str:
    """An annotation for a file that cannot be loaded at all."""
    where = f"file={_escape_property(shown_path(path))},line={line}"
    return f"::error {where},title=backprop check::{_escape_data(what)}"


# --------------------------------------------------------------------------- listing


def problems_view(problems: Sequence[Problem]) -> Group:
    """One table per set: id, difficulty, tags and title."""
    parts: list[RenderableType] = []
    by_set: dict[tuple[Path, str], list[Problem]] = {}
    for problem in problems:
        by_set.setdefault((problem.file, problem.set_title), []).append(problem)
    for (file, title), group in by_set.items():
        table = Table(
            box=box.SIMPLE_HEAD,
        )
        heading = Text(shown(title), style="bold", no_wrap=True, overflow="ignore")  # a path
        count = f"{len(group)} problem{'' if len(group) == 1 else 's'}"
        heading.append(f"  {shown(shown_path(file))}, {count}", style="dim")
        parts.append(heading)
        table.add_column("id", style="bold cyan", no_wrap=True)
        table.add_column("difficulty", justify="right", no_wrap=True)
        table.add_column("tags", style="dim")
        table.add_column("title")
        for problem in group:
            # Text, never a markup string: a title "closing [/bold] tag" is just text.
            table.add_row(
                Text(shown(problem.id)),
                # the number --difficulty N selects, then the stars
                f"{problem.difficulty} "
                + "★" * problem.difficulty
                + "☆" * (5 - problem.difficulty),
                Text(shown(", ".join(problem.tags))),
                Text(shown(problem.title)),
            )
        parts.append(table)
    sets = len(by_set)
    parts.append(
        Text(
            f"{len(problems)} problem{'' if len(problems) == 1 else 's'} in {sets} "
            f"{'set' if sets == 1 else 'sets'}. "
            "Trace one with  backprop trace --problem ID",
            style="dim",
        )
    )
    return Group(*parts)
