"""pytest plugin: `pytest problems/` runs every [[problem]] as a test item.

Registered with the `pytest11` entry point, so it is active wherever backprop-cli is
installed: it must stay cheap, and out of the way, in every other project's test
run. It collects a `*.toml` file only when it is clearly a problem set: it opens a
`[[problem]]` table AND has a `[set]` table, or it lies under a path listed in the
`backprop_problems` ini option. (A `[[problem]]` fixture of another project, say
`name = "A"`, once aborted that project's whole session at collection.) A file that
cannot be used is one failed item with file:line, never a collection error, and
the engine is imported only when a problem is checked. Disable it with
`pytest -p no:backprop`.
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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "backprop_problems",
        type="paths",
        default=[],
        help="Folders (or files) whose [[problem]] TOML files backprop's plugin checks, "
        "with or without a [set] table.",
    )


def _configured(file_path: Path, config: pytest.Config) -> bool:
    for root in config.getini("backprop_problems"):
        root = Path(root)
        if file_path == root or root in file_path.parents:
            return True
    return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".toml":
        return None
    from backprop_cli.problems.sets import holds_problems, is_problem_set

    if not holds_problems(file_path):
        return None  # pyproject.toml and any other TOML are not ours
    if not (is_problem_set(file_path) or _configured(file_path, parent.config)):
        return None  # a [[problem]] table alone may be another project's fixture
    return ProblemFile.from_parent(parent, path=file_path)


class ProblemFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from backprop_cli.errors import InputError
        from backprop_cli.problems.sets import duplicate_warnings, load_file

        try:
            problems = load_file(self.path)
        except InputError as exc:
            # One failed item, not a collection error (which stops the whole session).
            yield FileErrorItem.from_parent(self, name="load", message=str(exc))
            return
        except (RecursionError, MemoryError):  # pragma: no cover - load_file catches them
            message = f"{self.path}:1: too large or too deeply nested to read"
            yield FileErrorItem.from_parent(self, name="load", message=message)
            return
        duplicates = duplicate_warnings(problems)
        for position, problem in enumerate(problems):
            yield ProblemItem.from_parent(
                self,
                name=problem.id,
                problem=problem,
                extra_warnings=[duplicates[position]] if position in duplicates else [],
            )


class FileLoadError(Exception):
    """A problem file that cannot be loaded; its message has file:line."""


class FileErrorItem(pytest.Item):
    """A problem file that cannot be used, as one failed item saying where and why."""

    def __init__(self, *, message: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message

    def runtest(self) -> None:
        raise FileLoadError(self.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        return self.message

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.path.name} (cannot be loaded)"


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
