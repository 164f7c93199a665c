"""pytest plugin: `pytest problems/` runs every [[problem]] as a test item.

Registered with the `pytest11` entry point, so it is active wherever backprop-cli is
installed: it must stay cheap for every other project's test run. It only looks
at `*.toml` files that open a `[[problem]]` table, and imports the engine only
when it checks one. Disable it with `pytest -p no:backprop`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from backprop_cli.problems.sets import Problem, ProblemResult


class ProblemWarning(UserWarning):
    """A hygiene warning about a problem (unused binding, kink, duplicate id)."""


class ProblemFailed(Exception):
    """Raised by a problem item whose claims the trace does not bear out."""

    def __init__(self, result: ProblemResult) -> None:
        super().__init__(result.message)
        self.result = result


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".toml":
        return None
    from backprop_cli.problems.sets import holds_problems

    if not holds_problems(file_path):
        return None  # pyproject.toml and any other TOML are not ours
    return ProblemFile.from_parent(parent, path=file_path)


class ProblemFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from backprop_cli.errors import InputError
        from backprop_cli.problems.sets import duplicate_warnings, load_file

        try:
            problems = load_file(self.path)
        except InputError as exc:
            # A CollectError is reported as its message alone, without a traceback.
            raise self.CollectError(str(exc)) from None
        duplicates = duplicate_warnings(problems)
        for position, problem in enumerate(problems):
            yield ProblemItem.from_parent(
                self,
                name=problem.id,
                problem=problem,
                extra_warnings=[duplicates[position]] if position in duplicates else [],
            )


class ProblemItem(pytest.Item):
    def __init__(
        self, *, problem: Problem, extra_warnings: list[str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.problem = problem
        self.extra_warnings = extra_warnings or []
        self.extra_keyword_matches.update(problem.tags)  # `pytest -k fork` selects by tag

    def runtest(self) -> None:
        from backprop_cli.problems.sets import check_problem

        result = check_problem(self.problem)
        for warning in [*self.extra_warnings, *result.warnings]:
            self.warn(ProblemWarning(f"{self.problem.id}: {warning}"))
        if result.status != "pass":
            raise ProblemFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ProblemFailed):
            from backprop_cli.problems.sets import failure_text

            return failure_text(excinfo.value.result)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.problem.line - 1, self.problem.id
