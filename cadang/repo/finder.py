"""Finding files by name across snapshots.

A pattern is a shell glob (``*``, ``?``, ``[...]``). Without a ``/`` it is matched against
each entry's name; with one it is matched against the whole path, like ``find -path``: a
pattern that starts with ``/`` must match from the root, one that does not may match any
trailing part of the path (``src/*.py`` finds ``/home/a/src/x.py``). ``*`` also matches
``/`` in path patterns, as in ``find``.

Snapshots of one machine share most of their directories. A directory (tree id) found to
hold no match is remembered and skipped in every later snapshot, so searching many
snapshots costs little more than searching the directories that changed between them.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass

from cadang.errors import UsageError
from cadang.i18n import _
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot
from cadang.repo.tree import Node, NodeType
from cadang.repo.walker import load_tree


@dataclass(slots=True)
class Match:
    snapshot: Snapshot
    path: bytes  # starts with '/'
    node: Node


class Pattern:
    """A compiled glob over names or paths.

    Raw names are decoded with ``surrogateescape``, so ``?`` matches one character of a
    UTF-8 name and one byte of a name that is not valid UTF-8.
    """

    def __init__(self, pattern: str | bytes, ignore_case: bool = False) -> None:
        text = pattern.decode("utf-8", "surrogateescape") if isinstance(pattern, bytes) else pattern
        if not text:
            raise UsageError(_("the pattern is empty"), hint=_("give a glob such as '*.pdf'"))
        self.on_path = "/" in text
        if self.on_path and not text.startswith("/"):
            text = "*/" + text
        flags = re.IGNORECASE if ignore_case else 0
        self._re = re.compile(fnmatch.translate(text), flags)

    def matches(self, path: bytes, name: bytes) -> bool:
        subject = path if self.on_path else name
        return self._re.match(subject.decode("utf-8", "surrogateescape")) is not None


class Finder:
    def __init__(self, repo: Repository, pattern: Pattern) -> None:
        self.repo = repo
        self.pattern = pattern
        # Directories known to hold no match: tree id (and, for path patterns, its path).
        self._barren: set[tuple[bytes, bytes]] = set()

    def find(self, snapshots: Iterable[Snapshot]) -> Iterator[Match]:
        for snap in snapshots:
            for path, node in self._search(snap.tree, b""):
                yield Match(snap, path, node)

    def _key(self, tree_id: bytes, prefix: bytes) -> tuple[bytes, bytes]:
        return (tree_id, prefix if self.pattern.on_path else b"")

    def _search(self, tree_id: bytes, prefix: bytes) -> Generator[tuple[bytes, Node], None, bool]:
        """Yield matches under the tree; return whether there were any."""
        key = self._key(tree_id, prefix)
        if key in self._barren:
            return False
        found = False
        for node in load_tree(self.repo, tree_id):
            path = prefix + b"/" + node.name
            if self.pattern.matches(path, node.name):
                found = True
                yield path, node
            if node.type is NodeType.DIR and node.subtree is not None:
                found = (yield from self._search(node.subtree, path)) or found
        if not found:
            self._barren.add(key)
        return found


def find(
    repo: Repository, snapshots: Iterable[Snapshot], pattern: str | bytes, ignore_case: bool = False
) -> Iterator[Match]:
    """Every entry matching ``pattern`` in each snapshot, snapshot by snapshot, in path order."""
    return Finder(repo, Pattern(pattern, ignore_case)).find(snapshots)
