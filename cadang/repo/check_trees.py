"""The trees of a check: walking every snapshot, then mapping damage to snapshot paths.

:class:`TreeAuditor` does two of the checker's steps (see :mod:`cadang.repo.checker`):

7. every tree reachable from a snapshot decodes, and every blob it references is in the index
   with the right type and a readable copy. Each tree is visited once, however many snapshots
   share it, and remembers whether damage lies below it;
8. for every snapshot with damage below its root, the files whose content and the directories
   whose listing can no longer be read are listed as affected.

A tree no readable index lists, but a pack no index names still holds, is read from that pack
so the blobs below it are still accounted for.
"""

from __future__ import annotations

from collections.abc import Iterable

from cadang.backends import FileType
from cadang.errors import CadangError, IntegrityError
from cadang.i18n import _
from cadang.repo.check_result import Findings
from cadang.repo.index import Index, IndexEntry
from cadang.repo.pack import BlobType, PackedBlob
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot
from cadang.repo.tree import Node, NodeType, decode_tree

_SHOW_IDS = 5  # how many ids an aggregated message names before "..."


def _show_ids(ids: Iterable[str]) -> str:
    ids = sorted(ids)
    shown = ", ".join(ids[:_SHOW_IDS])
    return shown + (", ..." if len(ids) > _SHOW_IDS else "")


def _show_path(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace") or "/"


class _Frame:
    __slots__ = ("path", "pending", "tainted", "tree_id")

    def __init__(self, tree_id: bytes, path: bytes) -> None:
        self.tree_id = tree_id
        self.path = path
        self.pending: list[tuple[bytes, bytes]] = []
        self.tainted = False


class TreeAuditor:
    """Steps 7 and 8 of one check.

    ``index`` is what the readable index files list, ``bad_copies`` the (pack, blob id)
    pairs found unreadable, ``orphan_blobs`` the blobs only packs no index names hold.
    """

    def __init__(
        self,
        repo: Repository,
        findings: Findings,
        index: Index,
        bad_copies: set[tuple[str, bytes]],
        orphan_blobs: dict[bytes, tuple[str, PackedBlob]],
    ) -> None:
        self.repo = repo
        self.backend = repo.backend
        self.findings = findings
        self.index = index
        self.bad_copies = bad_copies
        self.orphan_blobs = orphan_blobs
        self.missing_blobs: set[bytes] = set()  # data blobs used, but in no readable index
        self.missing_trees: set[bytes] = set()
        self.bad_trees: set[bytes] = set()
        self._tainted: dict[bytes, bool] = {}

    # --- reading -------------------------------------------------------------------------
    def _blob_ok(self, blob_id: bytes, btype: BlobType) -> bool:
        entry = self.index.lookup(blob_id)
        return (
            entry is not None
            and entry.type is btype
            and (entry.pack, blob_id) not in self.bad_copies
        )

    def _read_tree(self, tree_id: bytes, pack: str, e: PackedBlob | IndexEntry) -> list[Node]:
        what = _("its blob")
        sealed = self.backend.load(FileType.PACK, pack, e.offset, e.length)
        data = self.repo.decode_blob(tree_id, sealed, e.raw_length, what, verify=True)
        return decode_tree(data, what)

    def _load_tree(self, tree_id: bytes) -> list[Node]:
        entry = self.index.lookup(tree_id)
        if entry is None:
            raise IntegrityError(_("it is not in the index"))
        if entry.type is not BlobType.TREE:
            raise IntegrityError(_("the index lists it as a data blob"))
        return self._read_tree(tree_id, entry.pack, entry)

    def _file_ok(self, node: Node) -> bool:
        size = 0
        for blob_id in node.content:
            if not self._blob_ok(blob_id, BlobType.DATA):
                return False
            entry = self.index.lookup(blob_id)
            assert entry is not None
            size += entry.raw_length
        return size == node.size

    def _where(self, path: bytes, snap: Snapshot) -> str:
        if not path:
            return _("the root of snapshot {id}").format(id=snap.short_id)
        return _("{path} in snapshot {id}").format(path=_show_path(path), id=snap.short_id)

    # --- 7. trees ------------------------------------------------------------------------
    def _visit_tree(self, frame: _Frame, snap: Snapshot) -> None:
        """Check one tree's own entries; queue its subtrees on the frame."""
        tree_id = frame.tree_id
        self.findings.count("trees")
        where = self._where(frame.path, snap)
        entry = self.index.lookup(tree_id)
        try:
            nodes = self._load_tree(tree_id)
        except CadangError as exc:
            self.bad_trees.add(tree_id)
            self.findings.damaged["trees"].add(tree_id.hex())
            frame.tainted = True
            if entry is None:
                self.missing_trees.add(tree_id)
                orphan = self.orphan_blobs.get(tree_id)
                if orphan is not None:
                    self._visit_orphan_tree(frame, snap, where, *orphan)
                    return
            else:
                self.findings.damaged["packs"].add(entry.pack)
                where = _("{where}, in pack {pack}").format(where=where, pack=entry.pack)
            self.findings.error(
                _("tree {id} ({where}) is damaged: {reason}").format(
                    id=tree_id.hex(), where=where, reason=exc
                )
            )
            return
        self._check_nodes(frame, snap, nodes)

    def _visit_orphan_tree(
        self, frame: _Frame, snap: Snapshot, where: str, pack: str, e: PackedBlob
    ) -> None:
        """A tree no readable index lists, but a pack still holds: restore cannot find it,
        but reading it tells which blobs below it snapshots still need."""
        try:
            nodes = self._read_tree(frame.tree_id, pack, e)
        except CadangError as exc:
            self.findings.error(
                _(
                    "tree {id} ({where}) is in no readable index, and its copy in pack {pack} is damaged: {reason}"
                ).format(id=frame.tree_id.hex(), where=where, pack=pack, reason=exc)
            )
            return
        # No error of its own: the pack's error (step 9) names it, and the paths it costs
        # are listed as affected.
        self._check_nodes(frame, snap, nodes)

    def _check_nodes(self, frame: _Frame, snap: Snapshot, nodes: list[Node]) -> None:
        for node in nodes:
            path = frame.path + b"/" + node.name
            if node.type is NodeType.FILE:
                self.findings.count("blob_refs", len(node.content))
                if not self._check_file(node, path, snap):
                    frame.tainted = True
            elif node.type is NodeType.DIR:
                if node.subtree is None:
                    frame.tainted = True
                    self.findings.error(
                        _("directory {where} has no tree").format(where=self._where(path, snap))
                    )
                else:
                    frame.pending.append((node.subtree, path))

    def _check_file(self, node: Node, path: bytes, snap: Snapshot) -> bool:
        """Whether the file can be restored; problems the packs do not explain are errors."""
        ok = True
        size = 0
        for blob_id in node.content:
            entry = self.index.lookup(blob_id)
            if entry is None:
                self.missing_blobs.add(blob_id)
                self.findings.damaged["blobs"].add(blob_id.hex())
                ok = False
                continue
            size += entry.raw_length
            if entry.type is not BlobType.DATA:
                ok = False
                self.findings.damaged["blobs"].add(blob_id.hex())
                self.findings.error(
                    _("{where} uses blob {id} as file content, but it is a tree").format(
                        where=self._where(path, snap), id=blob_id.hex()
                    )
                )
            elif (entry.pack, blob_id) in self.bad_copies:
                ok = False  # the pack's error names it
        if ok and size != node.size:
            self.findings.error(
                _("{where}: its chunks hold {actual} bytes, its entry says {size}").format(
                    where=self._where(path, snap), actual=size, size=node.size
                )
            )
            return False
        return ok

    def _walk(self, snap: Snapshot) -> None:
        """Depth first, each tree once; records in ``_tainted`` whether damage lies below."""
        root = snap.tree
        if root in self._tainted:
            return
        stack = [_Frame(root, b"")]
        self._visit_tree(stack[0], snap)
        active = {root}
        while stack:
            frame = stack[-1]
            if frame.pending:
                child, path = frame.pending[-1]
                if child in self._tainted or child in active:
                    frame.pending.pop()
                    frame.tainted |= self._tainted.get(child, False)
                    continue
                sub = _Frame(child, path)
                active.add(child)
                stack.append(sub)
                self._visit_tree(sub, snap)
                continue
            self._tainted[frame.tree_id] = frame.tainted
            active.discard(frame.tree_id)
            stack.pop()

    def check(self, snapshots: list[Snapshot]) -> None:
        for snap in snapshots:
            self._walk(snap)
        nowhere = [b.hex() for b in self.missing_blobs if b not in self.orphan_blobs]
        if nowhere:
            self.findings.error(
                _("{n} blob(s) that snapshots use are in no index and in no pack: {ids}").format(
                    n=len(nowhere), ids=_show_ids(nowhere)
                )
            )

    # --- 8. consequences -----------------------------------------------------------------
    def map_damage(self, snapshots: list[Snapshot]) -> None:
        for snap in snapshots:
            if not self._tainted.get(snap.tree, False):
                continue
            paths: list[str] = []
            stack: list[tuple[bytes, bytes]] = [(snap.tree, b"")]
            while stack:
                tree_id, prefix = stack.pop()
                if tree_id in self.bad_trees:
                    paths.append(_show_path(prefix).rstrip("/") + "/")
                    continue
                try:
                    nodes = self._load_tree(tree_id)
                except CadangError:  # it read a moment ago; count it as lost
                    paths.append(_show_path(prefix).rstrip("/") + "/")
                    continue
                for node in nodes:
                    path = prefix + b"/" + node.name
                    if node.type is NodeType.FILE:
                        if not self._file_ok(node):
                            paths.append(_show_path(path))
                    elif node.type is NodeType.DIR:
                        if node.subtree is None:
                            paths.append(_show_path(path) + "/")
                        elif self._tainted.get(node.subtree, False):
                            stack.append((node.subtree, path))
            self.findings.result.affected[snap.id] = sorted(paths)
