"""Progress on a terminal (files, bytes, rate, ETA), drawn with rich on stderr.

The engine reports through its progress Protocols; this module is the terminal's
implementation. When stderr is not a terminal nothing is drawn.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

from cadang.i18n import _


class TerminalProgress:
    """Draws on a terminal; ``reporter()`` gives the engine None when nothing is drawn."""

    def __init__(self, verb: str, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.errors: list[tuple[str, str]] = []
        self._files = 0
        self._total_files: int | None = None
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._verb = verb
        if self.enabled:
            # Imported only when drawing: rich costs ~50 ms of start-up for every command.
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )

    def reporter(self) -> TerminalProgress | None:
        """What to hand the engine: None when disabled, so it skips counting totals."""
        return self if self.enabled else None

    def __enter__(self) -> TerminalProgress:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task(self._describe(), total=None)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _describe(self) -> str:
        files = (
            f"{self._files}" if self._total_files is None else f"{self._files}/{self._total_files}"
        )
        return _("{verb}: {files} files").format(verb=self._verb, files=files)

    def set_totals(self, files: int, size: int) -> None:
        self._total_files = files
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=size, description=self._describe())

    def file_done(self, path: str, size: int) -> None:
        with self._lock:
            self._files += 1
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=self._describe())

    def bytes_done(self, size: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, size)

    def error(self, path: str, message: str) -> None:
        with self._lock:
            self.errors.append((path, message))
        if self._progress is not None:
            self._progress.console.print(
                _("error: {path}: {message}").format(path=path, message=message)
            )
        else:
            print(_("error: {path}: {message}").format(path=path, message=message), file=sys.stderr)
