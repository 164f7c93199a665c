"""The pytest plugin, run inside pytester's throwaway folders."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True, scope="module")
def _imported_before_pytester() -> None:
    """pytester's in-process runs drop every module first imported inside them, and a
    later re-import would mix two copies of our classes (and sympy's): import them all
    once, by checking one problem, before the first run."""
    from pathlib import Path

    from backprop_cli.problems.sets import Expect, Problem, check_problem

    expect = Expect(value=6.0, gradients={}, tolerance=1e-6)
    problem = Problem("w", "w", "x * y", {"x": 2, "y": 3}, 1, (), "", expect, Path("w"), 1, "w")
    assert check_problem(problem).status == "pass"


GOOD_AND_BAD = """\
[set]
title = "Week 1"

# (x + y) z at x=-2, y=5, z=-4 (the notes): gradients -4, -4, 3.
[[problem]]
id = "sum-times"
expression = "(x + y) * z"
bindings = { x = -2, y = 5, z = -4 }

[problem.expect]
value = -12
gradients = { x = -4, y = -4, z = 3 }

# x*x + 3x at x=2: 2x + 3 = 7; the claim 4 forgets the 3x branch.
[[problem]]
id = "fork-forgotten"
expression = "x*x + 3*x"
bindings = { x = 2 }

[problem.expect]
gradients = { x = 4 }
"""


@pytest.fixture
def course(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".toml", week1=GOOD_AND_BAD)
    pytester.makefile(".toml", pyproject='[project]\nname = "course"\n')
    return pytester


def test_one_item_per_problem_named_file_and_id(course: pytest.Pytester) -> None:
    result = course.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["week1.toml::sum-times", "week1.toml::fork-forgotten"])
    assert "pyproject" not in result.stdout.str()


def test_failure_shows_want_got_and_the_step(course: pytest.Pytester) -> None:
    result = course.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*1 claim differs from the trace: x (week1.toml:15)",
            "*∂/∂x: want 4, got 7",
            "*x receives 3 from step s2*+ 4 from step s1*leaves out what s2 sends back*",
        ]
    )
    output = result.stdout.str()
    assert "Traceback" not in output and "def runtest" not in output
    assert "problems.py" not in output and "pytest_plugin.py" not in output


def test_toml_without_problems_is_ignored(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pyproject='[project]\nname = "course"\n')
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_malformed_file_is_one_failed_item_with_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".toml", broken='[set]\n[[problem]]\nid = "a"\nexpression = "x"\nhnit = "?"\n'
    )
    pytester.makepyfile(test_other="def test_other():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(failed=1, passed=1)  # the session goes on
    result.stdout.fnmatch_lines(["*broken.toml:5: unknown key 'hnit'*Did you mean 'hint'?*"])
    assert "Traceback" not in result.stdout.str()


def test_another_projects_problem_fixture_is_left_alone(pytester: pytest.Pytester) -> None:
    """A [[problem]] table with no [set] is not ours: it used to abort the session."""
    pytester.makefile(".toml", fixture='[[problem]]\nname = "A"\n')
    pytester.makepyfile(test_other="def test_other():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_configured_path_collects_files_without_set(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nbackprop_problems = course\n")
    course = pytester.mkdir("course")
    (course / "week1.toml").write_text('[[problem]]\nid = "a"\nexpression = "x*y"\n')
    pytester.makefile(".toml", elsewhere='[[problem]]\nid = "b"\nexpression = "x"\n')
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["course/week1.toml::a"])
    assert "elsewhere" not in result.stdout.str()


def test_deeply_nested_file_is_one_failed_item(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", deep="[set]\n[[problem]]\nx = " + "[" * 20_000 + "\n")
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*deep.toml:1: not valid TOML: nested too deeply*"])
    output = result.stdout.str()
    assert "RecursionError" not in output and "Traceback" not in output


def test_warnings_are_reported(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".toml",
        kink=(
            '[set]\n[[problem]]\nid = "relu-at-0"\nexpression = "relu(x)"\n'
            "bindings = { x = 0, w = 1 }\n"
        ),
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, warnings=2)
    result.stdout.fnmatch_lines(["*relu-at-0: w is given a value but not used*"])


def test_select_by_tag(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".toml",
        tagged=(
            '[set]\n[[problem]]\nid = "a"\nexpression = "2*x"\ntags = ["fork"]\n\n'
            '[[problem]]\nid = "b"\nexpression = "2*x"\ntags = ["add"]\n'
        ),
    )
    result = pytester.runpytest("-k", "fork")
    result.assert_outcomes(passed=1, deselected=1)
