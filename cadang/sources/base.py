"""The Source Protocol: what every kind of source (files, databases, commands) provides.

A source backs up as either a set of paths (files) or a set of named *streams* (a database
dump per database, the globals, a command's output) that the engine stores as files at the
root of one snapshot. Streams are produced by running tools through
:mod:`cadang.sources.process` — never into a temporary dump file. Restores read the same
streams back from the snapshot and feed them to the restore tool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from cadang.repo.streams import Stream

__all__ = [
    "BackupSpec",
    "RequiredTool",
    "RestoreOutcome",
    "RestoreTarget",
    "Source",
    "Stream",
    "StreamReader",
]


@dataclass(frozen=True)
class RequiredTool:
    """A program a source needs, and the Debian package that provides it."""

    command: str
    package: str


@dataclass
class BackupSpec:
    """What a source hands the engine: paths (with excludes) or streams, never both."""

    paths: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    one_file_system: bool = False
    streams: list[Stream] = field(default_factory=list)


@dataclass(frozen=True)
class RestoreTarget:
    """Where a restore goes.

    ``into`` is a new database name (databases) or a directory (files); with ``in_place``
    the original is overwritten, which the caller allows only after the service stopped.
    """

    into: str | None = None
    in_place: bool = False


@dataclass
class RestoreOutcome:
    """What a restore did, in words an operator can act on."""

    restored: list[str] = field(default_factory=list)  # databases / directories written
    details: list[str] = field(default_factory=list)


class StreamReader(Protocol):
    """How a source reads its streams back from a snapshot (the engine provides it)."""

    def names(self) -> list[str]: ...

    def open(self, name: str) -> BinaryIO: ...


class Source(Protocol):
    """One source of one application in the plan."""

    name: str
    kind: str

    def required_tools(self) -> list[RequiredTool]:
        """Programs needed to back up and restore this source."""
        ...

    def probe(self) -> str:
        """Check the source is reachable and answers; return a short description (e.g.
        the database size). Raise SourceError with the reason otherwise."""
        ...

    def describe(self) -> list[str]:
        """What a backup would do, one line per step, for ``run --dry-run``."""
        ...

    def backup_spec(self) -> BackupSpec: ...

    def restore(self, reader: StreamReader, target: RestoreTarget) -> RestoreOutcome:
        """Restore from a snapshot of this source. Files sources are restored by the
        engine's Restorer instead and may raise UsageError here."""
        ...
