"""Named streams: snapshots of data that is not a file tree (database dumps, command output).

A stream snapshot holds one regular file per stream at the root of its tree. Writers hand
the archiver :class:`Stream` objects (``BackupOptions.streams``); readers open the files
again by name with :class:`SnapshotStreamReader`, which reads blob by blob, so a dump of any
size streams back into its restore tool in bounded memory.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from cadang.errors import PathNotFoundError
from cadang.i18n import _
from cadang.repo.exporter import ContentReader, iter_content
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot
from cadang.repo.tree import Node, NodeType
from cadang.repo.walker import load_tree


def _nothing() -> None:
    pass


@dataclass
class Stream:
    """One file of a stream snapshot.

    ``open`` starts producing the data (e.g. starts ``pg_dump``) and returns its output;
    ``complete`` runs after the data was read to the end and raises (e.g. SourceError) if
    the producer failed — then no snapshot is written; ``close`` always runs last (kills a
    producer left running). ``facts`` go into the snapshot summary (e.g. table row counts).
    """

    name: str
    open: Callable[[], BinaryIO]
    complete: Callable[[], None] = _nothing
    close: Callable[[], None] = _nothing
    facts: dict[str, object] = field(default_factory=dict)


class SnapshotStreamReader:
    """The streams of one snapshot, by name."""

    def __init__(self, repo: Repository, snapshot: Snapshot) -> None:
        self.repo = repo
        self.snapshot = snapshot
        self._nodes: dict[str, Node] = {
            n.name.decode("utf-8", "surrogateescape"): n
            for n in load_tree(repo, snapshot.tree)
            if n.type is NodeType.FILE
        }

    def names(self) -> list[str]:
        return sorted(self._nodes)

    def open(self, name: str) -> BinaryIO:
        node = self._nodes.get(name)
        if node is None:
            raise PathNotFoundError(
                _("snapshot {id} has no stream named {name}").format(
                    id=self.snapshot.short_id, name=name
                )
            )
        raw = ContentReader(iter_content(self.repo, node, name.encode("utf-8", "surrogateescape")))
        return io.BufferedReader(raw, 1 << 20)
