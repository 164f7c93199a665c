"""The README's quiz session and stats stay true: replayed with the answers it shows."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"
PROMPTS = ("local gradient ", "gradient ", "upstream gradient ", "value of ")


def block(marker: str) -> tuple[str, str]:
    """The command and the output of the console block after `<!-- test: marker -->`."""
    text = README.read_text(encoding="utf-8")
    found = re.search(re.escape(f"<!-- test: {marker} -->") + r"\n```console\n(.*?)```", text, re.S)
    assert found, marker
    command, _, output = found.group(1).removeprefix("$ ").partition("\n")
    return command, output


def typed_answers(transcript: str) -> list[str]:
    """What the learner typed: the text after each prompt line's final ': '."""
    return [
        line.rpartition(": ")[2] for line in transcript.splitlines() if line.startswith(PROMPTS)
    ]


def normalise(text: str) -> str:
    text = re.sub(r"\b(\d+m )?\d+s\b", "TIME", text)
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def test_readme_quiz_session_and_stats(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The default place under a home folder of our own: the header prints the path as
    # the README shows it (~/.local/share/…), with nothing replaced here (it printed
    # the absolute path and this test used to swap it for the README's).
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("BACKPROP_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    command, expected = block("quiz session")
    answers = typed_answers(expected)
    assert len(answers) >= 8 and "?" in answers  # the session shows a hint
    argv = shlex.split(command)
    assert argv[:2] == ["backprop", "quiz"]
    result = runner.invoke(app, argv[1:], input="".join(f"{a}\n" for a in answers))
    assert result.exit_code == 0, result.stderr
    assert normalise(result.stdout) == normalise(expected)

    command, expected = block("stats after the quiz session")
    result = runner.invoke(app, shlex.split(command)[1:], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.stderr
    assert normalise(result.stdout) == normalise(expected)
