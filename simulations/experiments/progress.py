"""Progress display for experiments: one bar over cells with ETA, naming the running cell, and a
second bar following the running cell's federated rounds (read from its run store).

The bars are rich ``Progress`` columns; with ``enabled=False`` (tests, scripts) nothing is drawn
and the callbacks are no-ops, so experiment code never depends on a terminal.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def rounds_done(store: Path) -> int:
    """Evaluated rounds recorded so far in a run store (0 while it does not exist yet)."""
    if not store.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT COUNT(*) FROM checkpoints WHERE phase='evaluate'").fetchone()
        return int(row[0])
    except sqlite3.Error:
        return 0


class CellProgress:
    """``with CellProgress(total, rounds) as p: p.start(label, store); ...; p.done()``."""

    def __init__(
        self, total: int, rounds: int, *, enabled: bool = True, console: Console | None = None
    ) -> None:
        self.enabled = enabled
        self.rounds = rounds
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            disable=not enabled,
        )
        self._cells: TaskID = self._bar.add_task("cells", total=total)
        self._round: TaskID = self._bar.add_task("  rounds", total=rounds, visible=False)
        self._store: Path | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def __enter__(self) -> CellProgress:
        self._bar.__enter__()
        if self.enabled:
            self._watcher = threading.Thread(target=self._follow, daemon=True)
            self._watcher.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
        self._bar.__exit__(exc_type, exc, tb)

    def _follow(self) -> None:
        while not self._stop.wait(0.5):
            store = self._store
            if store is not None:
                self._bar.update(self._round, completed=rounds_done(store), visible=True)

    def skip(self, n: int) -> None:
        """Count ``n`` cells already finished by an earlier (resumed) invocation."""
        self._bar.update(self._cells, advance=n)

    def start(self, label: str, store: Path | None = None) -> None:
        """Show ``label`` as the running cell; follow ``store`` for its rounds."""
        self._store = store
        self._bar.update(self._cells, description=f"cell: {label}")
        self._bar.update(self._round, completed=0, visible=store is not None)

    def done(self) -> None:
        """The running cell finished."""
        self._store = None
        self._bar.update(self._cells, advance=1)
        self._bar.update(self._round, visible=False)
