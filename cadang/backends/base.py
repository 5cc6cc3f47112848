"""The storage interface every backend implements."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Protocol


class FileType(enum.Enum):
    """The kinds of file in a repository; the value is the folder they live in."""

    CONFIG = "config"
    KEY = "keys"
    SNAPSHOT = "snapshots"
    INDEX = "index"
    PACK = "data"
    LOCK = "locks"
    # Sealed records that a snapshot was read back / restored in a test (optional folder:
    # repositories written before it existed lack it, and readers treat that as empty).
    VERIFICATION = "verifications"


class Backend(Protocol):
    """Immutable named files, grouped by :class:`FileType`.

    ``save`` is atomic: a reader sees either no file or the whole file, never a part, and a
    crash leaves at most a temporary file that ``list`` does not show. ``save`` refuses to
    overwrite (files are immutable); ``CONFIG`` has the single name ``"config"``.
    """

    def location(self) -> str:
        """A human-readable description of where the files are."""
        ...

    def create(self) -> None:
        """Make the empty layout; fails with RepositoryExistsError if a config exists."""
        ...

    def save(self, ftype: FileType, name: str, data: bytes) -> None: ...

    def load(self, ftype: FileType, name: str, offset: int = 0, length: int | None = None) -> bytes:
        """Return ``length`` bytes from ``offset`` (to the end when None)."""
        ...

    def size(self, ftype: FileType, name: str) -> int: ...

    def exists(self, ftype: FileType, name: str) -> bool: ...

    def list(self, ftype: FileType) -> Iterator[tuple[str, int]]:
        """Yield (name, size) of every complete file of that type."""
        ...

    def remove(self, ftype: FileType, name: str) -> None: ...

    def free_space(self) -> int | None:
        """Bytes free at the storage, or None when the backend cannot tell."""
        ...

    def close(self) -> None: ...


def open_backend(url: str) -> Backend:
    """Open the backend a repository location names.

    Only local paths (an external disk is a local path) and ``mem:`` exist today; other
    schemes get a clear error rather than being taken for a relative path.
    """
    from cadang.errors import UsageError
    from cadang.i18n import _

    if url.startswith("mem:"):
        from cadang.backends.mem import MemoryBackend

        return MemoryBackend.named(url[4:])
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise UsageError(
            _("repository scheme {scheme!r} is not supported yet").format(scheme=scheme),
            hint=_("use a local directory path (an external disk mounted as a folder works)"),
        )
    from cadang.backends.local import LocalBackend

    return LocalBackend(url)
