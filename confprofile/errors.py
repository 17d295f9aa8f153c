"""Errors that name what is wrong: the file, the line and the field.

Every loader in confprofile raises one of these with a one-line message so a user with a bad
file sees where to look, e.g. ``users.jsonl:17: field 'posts[2].tags': expected a list``.
"""

from __future__ import annotations

from pathlib import Path


class ConfProfileError(Exception):
    """Base class: a one-line, user-facing message."""


class TaxonomyError(ConfProfileError):
    """A taxonomy file is missing, malformed or inconsistent."""


class RecordError(ConfProfileError):
    """A user record file is missing or a line breaks the ProfileBench record format."""

    def __init__(self, path: str | Path, line: int | None, field: str | None, problem: str):
        self.path, self.line, self.field, self.problem = str(path), line, field, problem
        where = self.path if line is None else f"{self.path}:{line}"
        what = f"field '{field}': {problem}" if field else problem
        super().__init__(f"{where}: {what}")


class ParamsError(ConfProfileError):
    """A run-profile parameter file is missing or malformed."""


class UsageError(ConfProfileError, ValueError):
    """A command-line argument or setting that cannot work (an unknown teacher, ``--shard 3/2``)."""


def run_cli(main, argv=None) -> int:
    """Run a command-line ``main``; a ConfProfileError becomes one line on stderr and exit 2.

    Every ``python -m confprofile.<stage>`` goes through this, so a bad file gives
    ``error: users.jsonl:12: field 'posts[0].title': expected a string, got int``, not a traceback.
    """
    import sys

    try:
        rc = main(argv)
    except ConfProfileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return rc if isinstance(rc, int) else 0
