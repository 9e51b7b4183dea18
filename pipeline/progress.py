"""Progress bars for long steps (rich), silent when output is not a terminal."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress


class Progress:
    def __init__(self, console: Console) -> None:
        self.console = console

    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Callable[[], None]]:
        """A bar (or spinner when ``total`` is None); yields a function that advances it."""
        columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn()]
        with RichProgress(*columns, console=self.console, transient=True,
                          disable=not self.console.is_terminal) as bar:
            task_id = bar.add_task(description, total=total)
            yield lambda: bar.advance(task_id)
