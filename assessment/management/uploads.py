"""What the import commands share: reading the file and reporting a refused one."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.management.base import CommandError

from assessment.errors import ImportRejected


def file_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc


@contextmanager
def problems_reported(path: Path, write: Callable[[str], None]) -> Iterator[None]:
    """Write every problem of a refused import, one a line, and fail the command."""
    try:
        yield
    except ImportRejected as exc:
        for problem in exc.problems:
            write(str(problem))
        raise CommandError(f"{path.name}: {len(exc.problems)} problem(s); nothing was imported") from exc
