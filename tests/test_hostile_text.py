"""Text from a file is text, in every output format (issue 15, part 1).

A problem file from a pull request carries terminal escapes (window title, OSC 52
clipboard write, clear screen), GitHub workflow commands (`::error`, `::add-mask::`),
Rich markup (`[link=…]`, a stray `[/bold]`) and HTML (`</code><script>`). Every
command that shows the file's text (`problems`, `trace --problem --from` in each
format, `graph`, `quiz --set`, `check` in each format) must print it as plain text:
no control character reaches the output, no line starts with a workflow command,
nothing is read as markup, every export parses in its own format.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner, Result

from backprop_cli.cli import app
from backprop_cli.core.text import elided, shown

ESCAPES = "\\u001b]0;PWNED\\u001b\\\\\\u001b]52;c;ZWNobyBwd25lZA==\\u001b\\\\\\u001b[2J"
WORKFLOW = "Week 1\\n::error file=README.md,line=1::Injected\\n::add-mask::secret"
LINK = "[link=https://evil.example/]Click me[/link]"
HOSTILE_FILE = f"""
[set]
title = "{WORKFLOW} {ESCAPES}"

[[problem]]
id = "hostile"
title = "Plain title{ESCAPES} closing [/bold] tag {LINK}"
hint = "hint {ESCAPES}\\u009b2J \\u202eevil"
tags = ["tag{ESCAPES}", "[/]"]
expression = "x*y  # `</code> <img src=x onerror=alert(1)> <script>alert(1)</script>"
bindings = {{ x = 2, y = 3 }}

[problem.expect]
value = 6
gradients = {{ x = 3, y = 2 }}

[[problem]]
id = "wrong"
title = "::error::second {ESCAPES}"
expression = "x + y"
bindings = {{ x = 1, y = 1 }}

[problem.expect]
gradients = {{ x = 5 }}
"""

# Any C0 control but tab and newline, DEL, any C1 control, and the bidi overrides.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    path = tmp_path / "week1.toml"
    path.write_text(HOSTILE_FILE, encoding="utf-8")
    return path


def assert_inert(text: str, *, github: bool = False) -> None:
    """No control character; no line a workflow command unless it is one of ours."""
    assert not CONTROL.search(text), repr(CONTROL.search(text))
    for line in text.splitlines():
        stripped = line.lstrip()
        if github and re.match(r"::(error|warning) file=", stripped):
            # Ours: the user's part comes after the command's own `::`, escaped.
            assert "::add-mask::" not in stripped.split("::", 2)[2]
            continue
        assert not stripped.startswith("::"), line
        assert not stripped.startswith("##["), line


def run(runner: CliRunner, args: list[str], stdin: str | None = None) -> Result:
    result = runner.invoke(app, args, input=stdin)
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output, result.exception)
    assert_inert(result.stdout, github="github" in args)
    assert_inert(result.stderr)
    return result


def test_shown_makes_controls_visible_and_breaks_workflow_commands() -> None:
    assert shown("a\x1b[2Jb\x07\n") == "a␛[2Jb␇␊"
    assert shown("a\nb\x1b", lines=True) == "a\nb␛"
    assert shown("\x9b2J \u202eevil") == "\\u009b2J \\u202eevil"
    assert "::" not in shown("::error::x") and "##[" not in shown("##[error]x")
    assert shown("std::vector").replace("\u200b", "") == "std::vector"
    assert elided("x" * 1000, 20) == "x" * 10 + "… (980 characters left out) …" + "x" * 10


def test_problems_lists_hostile_titles_as_text(runner: CliRunner, hostile: Path) -> None:
    runner.env = {"COLUMNS": "600"}  # the whole title on one line
    result = run(runner, ["problems", str(hostile)])
    assert result.exit_code == 0  # "closing [/bold] tag" was a MarkupError, exit 3
    flat = re.sub(r"[\s│]+", "", result.stdout)  # the table wraps the title
    assert "closing[/bold]tag" in flat
    assert "[link=https://evil.example/]Clickme[/link]" in flat  # text, not a hidden link
    assert "␛]0;PWNED" in flat  # visible, so the reader sees something odd


def test_problems_json_keeps_the_text_exactly(runner: CliRunner, hostile: Path) -> None:
    result = runner.invoke(app, ["problems", str(hostile), "--json"])
    assert result.exit_code == 0
    first = json.loads(result.stdout)[0]
    assert first["title"].startswith("Plain title\x1b]0;PWNED")  # JSON escapes it itself
    assert_inert(result.stdout)


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--format", "markdown"],
        ["--format", "latex"],
        ["--format", "html", "--explain"],
        ["--graph", "--explain"],
        ["--format", "markdown", "--graph", "--explain"],
    ],
)
def test_trace_problem_from_hostile_file(
    runner: CliRunner, hostile: Path, extra: list[str]
) -> None:
    result = run(runner, ["trace", "--problem", "hostile", "--from", str(hostile), *extra])
    assert result.exit_code == 0
    if "html" in extra:
        assert "<script>alert" not in result.stdout and "<img src=x" not in result.stdout
    if "markdown" in extra:
        heading = result.stdout.splitlines()[0]
        # The comment stays inside one code span: a longer fence than any backtick run.
        assert heading.startswith("## Backpropagation through ``x*y  # `</code>")
        assert heading.endswith("``")


def test_trace_problem_svg_export_escapes(runner: CliRunner, hostile: Path, tmp_path: Path) -> None:
    svg = tmp_path / "t.svg"
    result = run(
        runner, ["trace", "--problem", "hostile", "--from", str(hostile), "--export-svg", str(svg)]
    )
    assert result.exit_code == 0
    text = svg.read_text(encoding="utf-8")
    ET.fromstring(text)  # well-formed XML: nothing of the title broke out
    assert "<script>" not in text and "<img" not in text


@pytest.mark.parametrize("fmt", ["dot", "mermaid", "tree"])
def test_graph_of_a_hostile_expression(runner: CliRunner, fmt: str) -> None:
    expression = "x*y  # `</code> <img src=x> \x1b]0;PWNED\x07 ::error::x [/bold]"
    result = run(runner, ["graph", expression, "x=2", "y=3", "--format", fmt])
    assert result.exit_code == 0
    assert "<img" not in result.stdout


def test_check_table_of_a_hostile_file(runner: CliRunner, hostile: Path) -> None:
    result = run(runner, ["check", str(hostile)])
    assert result.exit_code == 1  # the second problem's claim is wrong
    assert "Injected" in result.stdout  # the title is shown, as text, on one line


def test_check_json_of_a_hostile_file(runner: CliRunner, hostile: Path) -> None:
    result = run(runner, ["check", str(hostile), "--format", "json"])
    assert [p["status"] for p in json.loads(result.stdout)["problems"]] == ["pass", "fail"]


def test_check_github_of_a_hostile_file(runner: CliRunner, hostile: Path) -> None:
    result = run(runner, ["check", str(hostile), "--format", "github"])
    assert result.stdout.startswith("::error file=")


def test_check_junit_with_a_control_character_in_the_file_name(
    runner: CliRunner, hostile: Path, tmp_path: Path
) -> None:
    odd = tmp_path / "week\x01\x1b[2J.toml"
    odd.write_text(HOSTILE_FILE, encoding="utf-8")
    result = run(runner, ["check", str(odd), "--format", "junit"])
    root = ET.fromstring(result.stdout)  # parsed: \x01 in a file name broke the XML
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["hostile", "wrong"]
    assert "␁␛[2J" in (cases[0].get("file") or "")


def test_check_table_with_a_control_character_in_the_file_name(
    runner: CliRunner, tmp_path: Path
) -> None:
    odd = tmp_path / "week\x1b]0;PWNED\x07.toml"
    odd.write_text(HOSTILE_FILE, encoding="utf-8")
    run(runner, ["check", str(odd)])
    run(runner, ["problems", str(odd)])


def test_quiz_on_a_hostile_set(runner: CliRunner, hostile: Path, tmp_path: Path) -> None:
    answers = "?\n\x1b]0;PWNED\x07\n" + "::error::x\n" + "[/bold]\n" + "1\n" * 8
    runner.env = {"BACKPROP_HOME": str(tmp_path / "home")}
    result = run(runner, ["quiz", "--set", str(hostile), "--problem", "hostile"], stdin=answers)
    assert result.exit_code == 0
    assert "Score:" in result.stdout
    assert "[/bold]" in result.stdout  # echoed as typed, never read as markup


def test_a_huge_answer_is_not_echoed_whole(runner: CliRunner, tmp_path: Path) -> None:
    runner.env = {"BACKPROP_HOME": str(tmp_path / "home")}
    huge = "1" * 5_000_000
    result = run(runner, ["quiz", "x*y", "x=2", "y=3"], stdin=huge + "\n")
    assert result.exit_code == 0
    assert len(result.stdout) < 20_000
    assert "characters left out" in result.stdout


def test_error_messages_quote_user_text_safely(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[problem]]\nid = "a"\nexpression = "x"\ntitle = 3\n'
        'bindings = { "\\u001b[2J::error::x" = 1 }\n',
        encoding="utf-8",
    )
    result = run(runner, ["check", str(bad)])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    "extra", [[], ["--json"], ["--format", "markdown"], ["--format", "latex"], ["--graph"]]
)
def test_trace_of_an_expression_with_escapes_in_a_comment(
    runner: CliRunner, extra: list[str]
) -> None:
    expression = "x*y  # \x1b]52;c;ZWNobw==\x07 \x1b[2J ::error::x [/bold] \u202eevil"
    result = run(runner, ["trace", expression, *extra])  # symbolic: the example command too
    assert result.exit_code == 0


def test_stats_shows_hostile_history_rows_as_text(runner: CliRunner, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from backprop_cli.quiz.history import Row, open_store

    runner.env = {"BACKPROP_HOME": str(tmp_path)}
    store = open_store(tmp_path / "history.sqlite3")
    for gate in ("\x1b]0;PWNED\x07", "::error::x", "[/bold]", "[link=https://evil.example/]x"):
        store.record(
            Row(
                "s",
                "::add-mask::p\x1b[2J",
                "f",
                gate,
                "local",
                "q",
                "1",
                1.0,
                False,
                False,
                0,
                1.0,
                "backward",
                datetime(2026, 3, 10, tzinfo=UTC),
                "[/]",
            )
        )
    store.close()
    for extra in ([], ["--json"]):
        result = run(runner, ["stats", *extra])
        assert result.exit_code == 0, result.output
