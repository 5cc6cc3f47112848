"""Progress reporting: what the engine tells whoever draws it (the command line, the server).

The engine never draws anything; it calls these methods and the caller decides. Totals may
arrive late (a backup counts them on a background scan) or never.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def set_totals(self, files: int, size: int) -> None: ...

    def file_done(self, path: str, size: int) -> None: ...

    def bytes_done(self, size: int) -> None: ...

    def error(self, path: str, message: str) -> None: ...


class NoProgress:
    """Reports nowhere; engines also use it to skip work done only for a display."""

    def set_totals(self, files: int, size: int) -> None:
        pass

    def file_done(self, path: str, size: int) -> None:
        pass

    def bytes_done(self, size: int) -> None:
        pass

    def error(self, path: str, message: str) -> None:
        pass
