"""The README stays true: its two commands are at the top, and its marked examples
print what the README says they print."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"
MARKER = "<!-- test: output -->"


def readme() -> str:
    return README.read_text(encoding="utf-8")


def marked_examples() -> list[tuple[str, str]]:
    """(command, expected output) for each `$ backprop …` in a marked console block."""
    examples = []
    for block in re.findall(re.escape(MARKER) + r"\n```console\n(.*?)```", readme(), re.S):
        parts = re.split(r"^\$ ", block, flags=re.M)
        for part in parts[1:]:
            command, _, output = part.partition("\n")
            examples.append((command, output))
    return examples


def normalise(text: str) -> str:
    """Trailing spaces dropped. Every number is compared exactly, but for the checks'
    error on arrays: numpy's matrix products run on whichever BLAS kernel the machine
    has, and the last bits of an error of 1e-12 differ with it. Scalar traces are
    plain Python floats, the same everywhere."""
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    return "\n".join(
        re.sub(r"largest error [0-9.e+-]+", "largest error E", line) if "entries" in line else line
        for line in lines
    )


VENV = "python3 -m venv .venv && . .venv/bin/activate && "
NEURON_TRACE = 'backprop trace "1/(1+exp(-(w0*x0+w1*x1+w2)))" w0=2 x0=-1 w1=-3 x1=-2 w2=-3'


def test_the_two_commands_open_the_readme() -> None:
    """Both work verbatim on a Python that refuses `pip install` outside a venv."""
    text = readme()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    install_and_run, install_and_test = blocks[0].strip(), blocks[1].strip()
    assert install_and_run == VENV + "pip install . && " + NEURON_TRACE
    assert install_and_test == VENV + 'pip install -e ".[test]" && pytest'
    # nothing but the title and the one-paragraph summary comes before them
    assert text.index("```bash") < text.index("\n## ")
    ci = (README.parent / ".ci" / "run").read_text()
    assert install_and_test + " || exit 1" in ci.splitlines()


def test_there_are_marked_examples() -> None:
    assert len(marked_examples()) >= 2


@pytest.mark.parametrize(("command", "expected"), marked_examples())
def test_readme_example_output(command: str, expected: str) -> None:
    argv = shlex.split(command)
    assert argv[0] == "backprop"
    result = CliRunner().invoke(app, argv[1:])
    assert normalise(result.stdout + result.stderr) == normalise(expected)


def test_every_command_has_help() -> None:
    import typer

    runner = CliRunner()
    names = list(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert "trace" in names
    for name in names:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Usage" in result.stdout and name in result.stdout


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_contents_list_every_section() -> None:
    text = readme()
    headings = [h for h in re.findall(r"^## (.+)$", text, re.M) if h != "Contents"]
    contents = text.split("## Contents\n", 1)[1].split("\n## ", 1)[0]
    links = re.findall(r"\]\(#([^)]+)\)", contents)
    assert links == [slug(h) for h in headings]


def test_the_notes_are_named_and_linked_before_they_are_called_the_notes() -> None:
    text = readme()
    first = text.index("the notes")
    assert "https://cs231n.github.io/optimization-2/" in text[:first]
    assert "Backpropagation, Intuitions" in text[:first]


def test_the_bundled_problem_count_is_the_one_stated() -> None:
    from backprop_cli.problems.sets import bundled_path, load_problems

    files = sorted(bundled_path().glob("*.toml"))
    count = len(load_problems([bundled_path()]))
    words = {5: "five", 6: "six", 7: "seven", 8: "eight"}
    said = " ".join(readme().split())
    assert f"{count} problems in {words[len(files)]} sets ship with backprop" in said
    assert "not read from TOML yet" not in readme()


def test_running_the_examples_leaves_no_untracked_file() -> None:
    """Every file a README example writes (-o, --out, --export-svg, >) is ignored."""
    ignored = {
        line.strip().lstrip("/")
        for line in (README.parent / ".gitignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    written = set()
    for block in re.findall(r"```bash\n(.*?)```", readme(), re.S):
        for match in re.finditer(r"(?:\s-o|--out|--export-svg|>)\s+([\w./-]+)", block):
            written.add(match.group(1))
    assert len(written) >= 10  # the pattern finds them
    assert sorted(written - ignored) == []
