"""A progress bar for long runs, shown only when a person is watching a terminal."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


def wanted(explicit: bool | None = None) -> bool:
    if explicit is not None:
        return explicit
    if os.environ.get("VINCI_PROGRESS") in ("0", "false", "no"):
        return False
    return sys.stderr.isatty()


class _Bar:
    def __init__(self, progress, task_id):
        self._progress = progress
        self._task = task_id

    def advance(self, n: int = 1, **fields: object) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=n, **fields)


@contextlib.contextmanager
def progress_bar(total: int, description: str, show: bool | None = None) -> Iterator[_Bar]:
    """Context manager yielding an object with `.advance(n, rows=...)`; a no-op when not on a terminal."""
    if not wanted(show) or total <= 0:
        yield _Bar(None, None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("shards · {task.fields[rows]} rows"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        task_id = progress.add_task(description, total=total, rows=0)
        yield _Bar(progress, task_id)
