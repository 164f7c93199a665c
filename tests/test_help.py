"""Help and option errors as a user reads them, on every Typer in the supported range.

Typer 0.27+ prints the annotation's type beside options and arguments (`<bool>`,
`<list[str]>`, `<int range>`) and 0.29 words bad choices as pydantic does ("Value
error, …"); older ones print click's TEXT, INTEGER. CI runs this file on the lowest
supported Typer too (.ci/run), so both ends are held to the same help.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from backprop_cli.cli import app

# What a type name looks like in some Typer's help: <bool>, <list[str]>, <int range>,
# <path>, click's TEXT / INTEGER / BOOLEAN / FLOAT, a doubled repetition in usage.
TYPE_NAMES = re.compile(
    r"<(?:bool|int|float|str|path|file|text|uuid|datetime|list\[[^>]*\]|[a-z]+ range)>"
    r"|\b(?:TEXT|INTEGER|BOOLEAN|FLOAT|FILENAME|DIRECTORY|INTEGER RANGE)\b"
    r"|list\[|\]\.\.\.\]\.\.\.|\.\.\.\]\.\.\."
)


BOX = str.maketrans("", "", "│╭╮╰╯─")  # a help panel's border


def commands() -> list[str]:
    group = typer.main.get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


def help_of(*argv: str) -> str:
    result = CliRunner().invoke(app, [*argv, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_pattern_catches_what_typer_prints() -> None:
    """The check below can fail: each of these is what some Typer printed for us."""
    for seen in (
        "│ --json   <bool>   Print one JSON object instead.",
        "│   EXPR [NAME=VALUE]...      <list[str]>  An expression",
        "Usage: backprop trace [OPTIONS] [EXPR [NAME=VALUE]...]...",
        "│ --digits   <int range> [1<=x<=17]",
        "│ --file  -f   <path>",
        "│ --tag   TEXT   Only problems with this tag.",
    ):
        assert TYPE_NAMES.search(seen), seen
    for clean in (
        "│ --digits   N   Significant digits",
        "|got - want| <= tolerance",
        "--file FILE",
    ):
        assert not TYPE_NAMES.search(clean), clean


@pytest.mark.parametrize("argv", [[], *([name] for name in commands())])
def test_help_shows_no_type_names(argv: list[str]) -> None:
    text = help_of(*argv)
    assert "Usage: backprop" in text
    found = [line for line in text.splitlines() if TYPE_NAMES.search(line)]
    assert found == [], f"type names in `backprop {' '.join(argv)} --help`:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["trace", "--format", "pdf", "x"], "'pdf' is not one of table, markdown, latex, html"),
        (["trace", "--fuse", "some", "x"], "'some' is not one of sigmoid, all"),
        (["graph", "--format", "gif", "x"], "'gif' is not one of tree, dot, mermaid, svg, png"),
        (["check", "--format", "xml"], "'xml' is not one of table, json, junit, github"),
        (["quiz", "--mode", "sideways"], "'sideways' is not one of backward, forward, local"),
        (["trace", "--digits", "abc", "x"], "'abc' is not a whole number"),
        (["trace", "--digits", "99", "x"], "99 is out of range: give a number from 1 to 17"),
        (["check", "--jobs", "0"], "0 is out of range: give a number 1 or more"),
        (["problems", "--difficulty", "9"], "9 is out of range: give a number from 1 to 5"),
    ],
)
def test_bad_option_values_are_said_plainly(argv: list[str], message: str) -> None:
    result = CliRunner().invoke(app, argv, env={"COLUMNS": "200"})
    assert result.exit_code == 2
    said = " ".join(result.output.split())  # the error box may wrap it
    assert message in said, said
    assert "Value error" not in said and "Input should be" not in said


def test_choices_are_read_in_any_case() -> None:
    result = CliRunner().invoke(app, ["trace", "x*y", "x=2", "y=3", "--format", "MarkDown"])
    assert result.exit_code == 0 and result.stdout.startswith("#")


def test_help_texts_say_what_the_issue_asked() -> None:
    stats = " ".join(help_of("stats").split())
    assert "backprop stats --json" in stats and "BACKPROP_HOME" in stats
    assert "~/.local/share/backprop/history.sqlite3" in stats
    quiz = " ".join(help_of("quiz").translate(BOX).split())  # wrapped in its panel
    assert "below" not in quiz and "(the modes above)" in quiz
    problems = help_of("problems")
    examples = [line for line in problems.splitlines() if line.strip().startswith("backprop pro")]
    assert len(examples) == 3, examples
    assert all(line.startswith("   backprop problems") for line in examples), examples  # as others
    trace = help_of("trace")
    files = re.findall(r"--file (\S+)", trace)
    assert all(Path(f).exists() for f in files), files  # examples use files that exist


# Completion is keyed to the program's name, so these run the installed `backprop`.
BACKPROP = str(Path(sys.executable).with_name("backprop"))
# Outside a shell (pytest, CI) Typer cannot detect one; this Typer switch makes the
# completion options take the shell's name instead, on every Typer in the range.
NAMED_SHELL = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1", "SHELL": "/bin/bash"}


def test_show_completion_prints_a_script_for_the_shell() -> None:
    done = subprocess.run(
        [BACKPROP, "--show-completion", "bash"],
        capture_output=True,
        text=True,
        env={**os.environ, **NAMED_SHELL},
    )
    assert done.returncode == 0, done.stderr
    assert "_BACKPROP_COMPLETE=complete_bash" in done.stdout


def test_completion_offers_the_choices_of_an_option() -> None:
    done = subprocess.run(
        [BACKPROP],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "_BACKPROP_COMPLETE": "complete_bash",
            "COMP_WORDS": "backprop trace --format ",
            "COMP_CWORD": "3",
        },
    )
    assert done.stdout.split() == ["table", "markdown", "latex", "html"]


def test_install_completion_writes_the_script(tmp_path: Path) -> None:
    done = subprocess.run(
        [BACKPROP, "--install-completion", "bash"],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(tmp_path), **NAMED_SHELL},
    )
    assert done.returncode == 0, done.stderr
    assert "completion installed" in done.stdout
    script = tmp_path / ".bash_completions" / "backprop.sh"
    assert "_BACKPROP_COMPLETE" in script.read_text()
    assert str(script) in (tmp_path / ".bashrc").read_text()


# --------------------------------------------------------------- help at 80 and 60 columns
# Typer's six-column options table kept 21 of 80 columns for `trace --help`'s
# descriptions and folded quiz's `backward|forward|local|gr / adients|full` mid-word.


def help_at(width: int, *argv: str) -> str:
    result = CliRunner().invoke(app, [*argv, "--help"], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.stdout


def words(text: str) -> set[str]:
    return set(text.translate(BOX).split())


def test_the_word_check_catches_a_word_broken_in_two() -> None:
    """The check below can fail: this is the quiz help that Typer's table printed."""
    wide = "│ --mode  -m  backward|forward|local|gradients|full  What to work out │"
    narrow = "│ --mode  -m  backward|forward|local|gr  What to work out │\n│ adients|full │"
    assert words(narrow) - words(wide) == {"backward|forward|local|gr", "adients|full"}


@pytest.mark.parametrize("width", [80, 60])
@pytest.mark.parametrize("argv", [[], *([name] for name in commands())])
def test_help_breaks_no_word(argv: list[str], width: int) -> None:
    narrow = help_at(width, *argv)
    assert max(len(line) for line in narrow.splitlines()) <= width
    broken = words(narrow) - words(help_at(300, *argv))
    assert broken == set(), f"`backprop {' '.join(argv)} --help` at {width} columns"


# An options row: the names (one space between their parts), two or more spaces, the
# description. The description's first letter is where the description column starts.
ROW = re.compile(r"^│ (?:\* +)?(?:\S+(?: \S+)*)( {2,})\S")


@pytest.mark.parametrize("argv", [[], *([name] for name in commands())])
def test_help_descriptions_have_room_at_80_columns(argv: list[str]) -> None:
    starts = {
        found.end(1)
        for line in help_at(80, *argv).splitlines()
        if line.startswith("│ -") and (found := ROW.match(line))
    }
    assert starts, "no options rows found"
    # 80 less the panel's border and padding (4) less the widest names cell: the
    # widest names are 20 characters (--check / --no-check), so 54 are left.
    assert 80 - 2 - max(starts) >= 50, starts


def test_quiz_modes_read_whole_at_80_columns() -> None:
    lines = help_at(80, "quiz").splitlines()
    mode = next(i for i, line in enumerate(lines) if line.startswith("│ --mode"))
    assert lines[mode : mode + 2] == [
        "│ --mode, -m MODE     What to work out: backward, forward, local, gradients or │",
        "│                     full (the modes above).                                  │",
    ]
    assert "│ --check / --no-check  Cross-check with sympy and finite differences.         │" in (
        help_at(80, "trace").splitlines()
    )


@pytest.mark.parametrize("argv", [[], *([name] for name in commands())])
def test_arguments_keep_their_help_and_no_default_says_none(argv: list[str]) -> None:
    # Typer 0.16 under click 8.3+ lost every argument's help (click's constructor set
    # it back to None) and printed "[default: None]" beside options without a default;
    # CI runs this file on Typer 0.16 too.
    text = help_of(*argv)
    assert "[default: None]" not in text
    group = typer.main.get_command(app)
    command = group.commands[argv[0]] if argv else group  # type: ignore[attr-defined]
    for param in command.params:
        if param.param_type_name == "argument":
            assert param.help, f"`backprop {argv[0]}` argument {param.name} has no help"
            assert " ".join(param.help.split()[:4]) in " ".join(text.translate(BOX).split())


# ------------------------------------------------------------ the examples in every help
# A new user pastes an example line from `--help`; the play-test found three naming
# files no clean clone has (course/week1.toml, course/, staged.txt) and one wrapped at
# 80 columns, so pasting its first line ran it without `-o neuron.svg`.

REPO = Path(__file__).resolve().parent.parent


def examples() -> list[tuple[str, str]]:
    """(command, line) for every example line of every command's help."""
    group = typer.main.get_command(app)
    found = []
    for name in commands():
        for line in (group.commands[name].help or "").splitlines():  # type: ignore[attr-defined]
            if line.startswith("  ") and "backprop " in line:
                found.append((name, line.strip()))
    return found


def test_there_are_examples_in_every_help() -> None:
    named = {name for name, _ in examples()}
    assert len(examples()) >= 30 and {"trace", "check", "code", "graph", "step"} <= named


@pytest.mark.parametrize("width", [80, 100])
def test_an_example_line_is_never_wrapped(width: int) -> None:
    for name, line in examples():
        shown = [row.strip() for row in help_at(width, name).splitlines()]
        assert line in shown, f"`backprop {name} --help` wraps: {line}"


def test_the_prose_wraps_only_where_the_width_ends() -> None:
    """A sentence is broken where the next word would not fit, never earlier."""
    for argv in [[], *([name] for name in commands())]:
        text = help_at(80, *argv).split("╭")[0]  # before the panels
        lines = [row[1:].rstrip() for row in text.splitlines()]  # the help's 1-space pad
        for row, after in itertools.pairwise(lines):
            if not row or not after or row.startswith(" ") or after.startswith(" "):
                continue  # a paragraph's end, an example, the usage line
            room = 78 - len(row) - 1  # 80 less the two columns of padding
            assert len(after.split()[0]) > room, f"`{argv}`: broke early after {row!r}"


def test_the_prose_check_catches_an_early_break() -> None:
    """What `graph --help` printed: a source line's end kept after Rich wrapped."""
    from backprop_cli.cli_help import _reflow

    assert _reflow("A sentence. DOT, Mermaid\nand HTML need\nnothing.") == (
        "A sentence. DOT, Mermaid and HTML need nothing."
    )
    assert _reflow("Examples\n\n  backprop a\n  backprop b\n\nMore\nprose.") == (
        "Examples\n\n  backprop a\n  backprop b\n\nMore prose."
    )


def _run_example(line: str, where: Path) -> tuple[int, str]:
    """One example as a shell would run it: NAME=VALUE prefixes, && and > handled."""
    import shlex

    code, said = 0, ""
    for part in line.split("#")[0].split("&&"):
        words = shlex.split(part)
        env = {"BACKPROP_HOME": str(where / "home"), "COLUMNS": "80"}
        while words and "=" in words[0] and not words[0].startswith("backprop"):
            name, _, value = words.pop(0).partition("=")
            env[name] = str(where / "elsewhere") if name == "BACKPROP_HOME" else value
        out = None
        if ">" in words:
            out, words = where / words[-1], words[: words.index(">")]
        if words[0] == "python":  # the program `backprop code` wrote
            done = subprocess.run(
                [sys.executable, *words[1:]], cwd=where, capture_output=True, text=True
            )
            code, said = done.returncode, done.stdout + done.stderr
        else:
            assert words[0] == "backprop", line
            result = CliRunner().invoke(app, words[1:], env=env, input="q\n")
            code, said = result.exit_code, result.output
            if out is not None:
                out.write_text(result.stdout)
        if code != 0:
            break
    return code, said


def test_every_example_runs_in_a_clean_clone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    for folder in ("problems", "examples"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    for name, line in examples():
        if "--serve" in line:
            continue  # serves until stopped; its expression is the trace example's
        code, said = _run_example(line, tmp_path)
        if name == "step" and code == 2:
            # No terminal under the test runner: the stepper says so and stops (its
            # arguments are read first, so a missing file is still an error here).
            assert "terminal" in said, (line, said)
            continue
        assert "no such file" not in said.lower(), (line, said)
        assert code in (0, 1), (line, code, said)


def test_an_examples_comments_line_up() -> None:
    """A note after an example is a shell comment (pasted, it runs), in one column."""
    columns: dict[str, set[int]] = {}
    for name, line in examples():
        assert "  (" not in line, f"a note that breaks a paste: {line}"
        if "#" in line:
            columns.setdefault(name, set()).add(line.index("#"))
    assert columns and all(len(found) == 1 for found in columns.values()), columns
