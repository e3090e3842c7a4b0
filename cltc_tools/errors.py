"""Exceptions raised by the library; the CLI layer turns them into exit statuses."""

from __future__ import annotations

from pathlib import Path


class CLTCError(Exception):
    """Base class of every error the toolbox raises on purpose."""


class InputError(CLTCError):
    """Bad user input: a malformed file, a missing field, an unknown name (exit status 2).

    Rendered as ``file:line: problem`` when the location is known.
    """

    def __init__(self, problem: str, path: str | Path | None = None, line: int | None = None):
        self.problem = problem
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(self.render())

    def render(self) -> str:
        """One line: line breaks inside the problem (from a library's message) become spaces."""
        problem = " ".join(self.problem.splitlines())
        if self.path is None:
            return problem
        if self.line is None:
            return f"{self.path}: {problem}"
        return f"{self.path}:{self.line}: {problem}"


class NoInputError(InputError):
    """Nothing to work on: no option names the input and standard input carried no records."""


class OutputExistsError(InputError):
    """The output path exists and ``--force`` was not given."""

    def __init__(self, path: str | Path):
        super().__init__("output exists (use --force to overwrite)", path)
