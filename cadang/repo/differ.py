"""Comparing two trees: what was added, removed, changed, between two snapshots.

Both trees are walked side by side, one directory level at a time, merging the sorted
entries by name. A directory whose subtree id is the same on both sides is identical all
the way down (tree blobs are deterministic), so it is never opened: comparing two
snapshots of a large, mostly unchanged tree reads only the directories that changed.

Kinds of change, as restic shows them:

``+`` added, ``-`` removed, ``M`` content changed (file data, link target, device number),
``T`` type changed (e.g. a file became a directory), ``U`` metadata only (mode, owner,
group, mtime, extended attributes).

ctime, inode, device and link count are not compared: they change on every restore and
copy and say nothing about the data.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from cadang.repo.repository import Repository
from cadang.repo.tree import Node, NodeType
from cadang.repo.walker import load_tree, walk


class Change(enum.StrEnum):
    ADDED = "+"
    REMOVED = "-"
    MODIFIED = "M"
    TYPE = "T"
    METADATA = "U"


@dataclass(slots=True)
class DiffEntry:
    change: Change
    path: bytes  # starts with '/'
    old: Node | None
    new: Node | None

    @property
    def node(self) -> Node:
        """The node that best describes the entry now (the old one if it was removed)."""
        node = self.new if self.new is not None else self.old
        assert node is not None
        return node


@dataclass
class DiffStats:
    files_added: int = 0
    files_removed: int = 0
    files_changed: int = 0  # content or metadata
    dirs_added: int = 0
    dirs_removed: int = 0
    dirs_changed: int = 0  # metadata (a directory's contents show as its entries)
    others_added: int = 0  # symlinks, FIFOs, devices, sockets
    others_removed: int = 0
    others_changed: int = 0
    type_changed: int = 0
    metadata_only: int = 0  # how many of the changes above are 'U'
    # Data blobs that the differing entries of the new side reference and those of the old
    # side do not (and the reverse); unchanged subtrees are not read, so this is what the
    # changes brought in or dropped, not what a prune would free.
    blobs_added: int = 0
    blobs_removed: int = 0
    bytes_added: int = 0  # their plaintext size
    bytes_removed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _category(node: Node) -> str:
    if node.type is NodeType.FILE:
        return "files"
    if node.type is NodeType.DIR:
        return "dirs"
    return "others"


def content_differs(old: Node, new: Node) -> bool:
    """Whether the data of two nodes of the same type differs."""
    if old.type is NodeType.FILE:
        return old.size != new.size or old.content != new.content
    if old.type is NodeType.SYMLINK:
        return old.target != new.target
    if old.type in (NodeType.CHARDEV, NodeType.BLOCKDEV):
        return old.rdev != new.rdev
    return False


def metadata_differs(old: Node, new: Node) -> bool:
    return (
        old.mode != new.mode
        or old.uid != new.uid
        or old.gid != new.gid
        or old.user != new.user
        or old.group != new.group
        or old.mtime_ns != new.mtime_ns
        or sorted(old.xattrs) != sorted(new.xattrs)
    )


class Differ:
    """Compare two trees; iterate :meth:`diff`, then read :attr:`stats`.

    Entries come in path order, a directory before what it contains. An added or removed
    directory is followed by everything it held, each as added or removed.
    """

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.stats = DiffStats()
        self._old_blobs: set[bytes] = set()
        self._new_blobs: set[bytes] = set()

    def diff(self, old_tree: bytes, new_tree: bytes) -> Iterator[DiffEntry]:
        self.stats = DiffStats()
        self._old_blobs = set()
        self._new_blobs = set()
        if old_tree != new_tree:
            yield from self._diff_trees(old_tree, new_tree, b"")
        self._blob_stats()

    # --- walking ------------------------------------------------------------------------
    def _diff_trees(self, old_tree: bytes, new_tree: bytes, prefix: bytes) -> Iterator[DiffEntry]:
        old_nodes = sorted(load_tree(self.repo, old_tree), key=lambda n: n.name)
        new_nodes = sorted(load_tree(self.repo, new_tree), key=lambda n: n.name)
        i = j = 0
        while i < len(old_nodes) or j < len(new_nodes):
            old = old_nodes[i] if i < len(old_nodes) else None
            new = new_nodes[j] if j < len(new_nodes) else None
            if new is None or (old is not None and old.name < new.name):
                assert old is not None
                i += 1
                yield from self._removed(prefix + b"/" + old.name, old)
            elif old is None or new.name < old.name:
                j += 1
                yield from self._added(prefix + b"/" + new.name, new)
            else:
                i += 1
                j += 1
                yield from self._both(prefix + b"/" + old.name, old, new)

    def _both(self, path: bytes, old: Node, new: Node) -> Iterator[DiffEntry]:
        if old.type is not new.type:
            self.stats.type_changed += 1
            self._take(old, self._old_blobs)
            self._take(new, self._new_blobs)
            yield DiffEntry(Change.TYPE, path, old, new)
            if old.type is NodeType.DIR:
                yield from self._subtree(path, old, removed=True)
            if new.type is NodeType.DIR:
                yield from self._subtree(path, new, removed=False)
            return
        if old.type is NodeType.DIR:
            if metadata_differs(old, new):
                self._count_changed(new, metadata_only=True)
                yield DiffEntry(Change.METADATA, path, old, new)
            if old.subtree != new.subtree:
                if old.subtree is None:
                    yield from self._subtree(path, new, removed=False)
                elif new.subtree is None:
                    yield from self._subtree(path, old, removed=True)
                else:
                    yield from self._diff_trees(old.subtree, new.subtree, path)
            return
        if content_differs(old, new):
            self._count_changed(new, metadata_only=False)
            self._take(old, self._old_blobs)
            self._take(new, self._new_blobs)
            yield DiffEntry(Change.MODIFIED, path, old, new)
        elif metadata_differs(old, new):
            self._count_changed(new, metadata_only=True)
            yield DiffEntry(Change.METADATA, path, old, new)

    def _added(self, path: bytes, node: Node) -> Iterator[DiffEntry]:
        self._count(node, "added")
        self._take(node, self._new_blobs)
        yield DiffEntry(Change.ADDED, path, None, node)
        if node.type is NodeType.DIR:
            yield from self._subtree(path, node, removed=False)

    def _removed(self, path: bytes, node: Node) -> Iterator[DiffEntry]:
        self._count(node, "removed")
        self._take(node, self._old_blobs)
        yield DiffEntry(Change.REMOVED, path, node, None)
        if node.type is NodeType.DIR:
            yield from self._subtree(path, node, removed=True)

    def _subtree(self, path: bytes, node: Node, removed: bool) -> Iterator[DiffEntry]:
        """Everything inside a directory that exists on one side only."""
        if node.subtree is None:
            return
        blobs = self._old_blobs if removed else self._new_blobs
        for sub_path, sub in walk(self.repo, node.subtree, path):
            self._count(sub, "removed" if removed else "added")
            self._take(sub, blobs)
            if removed:
                yield DiffEntry(Change.REMOVED, sub_path, sub, None)
            else:
                yield DiffEntry(Change.ADDED, sub_path, None, sub)

    # --- counting -----------------------------------------------------------------------
    def _count(self, node: Node, what: str) -> None:
        attr = f"{_category(node)}_{what}"
        setattr(self.stats, attr, getattr(self.stats, attr) + 1)

    def _count_changed(self, node: Node, metadata_only: bool) -> None:
        self._count(node, "changed")
        if metadata_only:
            self.stats.metadata_only += 1

    @staticmethod
    def _take(node: Node, blobs: set[bytes]) -> None:
        if node.type is NodeType.FILE:
            blobs.update(node.content)

    def _blob_stats(self) -> None:
        added = self._new_blobs - self._old_blobs
        removed = self._old_blobs - self._new_blobs
        self.stats.blobs_added = len(added)
        self.stats.blobs_removed = len(removed)
        self.stats.bytes_added = sum(self._raw_length(b) for b in added)
        self.stats.bytes_removed = sum(self._raw_length(b) for b in removed)

    def _raw_length(self, blob_id: bytes) -> int:
        entry = self.repo.index.lookup(blob_id)
        return 0 if entry is None else entry.raw_length


@dataclass
class DiffResult:
    entries: list[DiffEntry] = field(default_factory=list)
    stats: DiffStats = field(default_factory=DiffStats)


def diff_trees(repo: Repository, old_tree: bytes, new_tree: bytes) -> DiffResult:
    """All the differences at once (for callers that want a list)."""
    differ = Differ(repo)
    entries = list(differ.diff(old_tree, new_tree))
    return DiffResult(entries, differ.stats)
