"""Copying snapshots to a second repository (the external disk of SOP 001 and 004).

Everything is re-encrypted for the destination: blobs are read as plaintext from the source
and sealed again with the destination's key. Two cases:

- **Shared ids** (the destination was made with ``cadang init --copy-chunker-params-from``):
  both repositories have the same id key, so a blob has the same id in both. Only blobs the
  destination lacks are copied, under the same id; trees are copied unchanged.
- **Independent secrets**: ids differ. Each blob is read from the source, its destination id
  computed, and it is stored unless the destination has it; trees are rewritten bottom-up
  with the mapped ids. The mapping is kept for the run, so a blob shared by many files or
  snapshots is read once. Chunks keep the source's boundaries; they are not re-chunked with
  the destination's secret, so a copy dedups against other copies, less against the
  destination's own backups.

A snapshot is skipped when the destination already holds a copy of it: a snapshot whose
``original`` (or own id) equals the source snapshot's ``original`` (or, if it has none, its
id). Trees are always walked, even where the destination has a tree blob already: a tree in
an index does not prove that every blob below it was stored (a crashed backup can leave a
tree without some of its data), so each data blob is looked up on its own.

Writes keep the repository order per snapshot: blobs, flush (packs, then their index), and
only then the snapshot, so a crash leaves unreferenced packs (``prune`` removes them), never a
snapshot that points to nothing. The caller holds shared locks on both repositories.

A snapshot's verification records (:mod:`cadang.repo.verification`) follow it, re-pointed
to the copy, after the copy's snapshot file is written; a skipped snapshot gets the records
made since it was copied.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from cadang.errors import UsageError
from cadang.i18n import _
from cadang.repo.pack import BlobType
from cadang.repo.progress import NoProgress, Progress
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot, find_snapshot, load_all, save_snapshot
from cadang.repo.tree import NodeType, decode_tree, encode_tree
from cadang.repo.verification import copy_verifications

CopyProgress = Progress  # kept for callers that name it


@dataclass
class CopyResult:
    source: Snapshot
    copy_id: str  # the snapshot in the destination (the existing one when skipped)
    skipped: bool
    blobs_added: int = 0
    bytes_added: int = 0  # stored (compressed, sealed) bytes
    verifications: int = 0  # verification records copied along

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source.id,
            "status": "skipped" if self.skipped else "copied",
            "copy": self.copy_id,
            "time": self.source.time.isoformat(),
            "label": self.source.label,
            "blobs_added": self.blobs_added,
            "bytes_added": self.bytes_added,
            "verifications": self.verifications,
        }


def origin(snap: Snapshot) -> str:
    """The id a snapshot and all its copies share: the first snapshot of the chain."""
    return snap.original or snap.id


def select_snapshots(src: Repository, refs: Iterable[str]) -> list[Snapshot]:
    """The named snapshots ('latest', id prefixes, labels), or all; oldest first, no repeats."""
    snaps = load_all(src, errors=[])
    refs = list(refs)
    if not refs:
        return snaps
    chosen = {s.id: s for s in (find_snapshot(src, ref, snaps) for ref in refs)}
    return sorted(chosen.values(), key=lambda s: (s.time, s.id))


class Copier:
    def __init__(
        self,
        src: Repository,
        dst: Repository,
        progress: CopyProgress | None = None,
        workers: int = 2,
    ) -> None:
        if src.config.id == dst.config.id:
            raise UsageError(
                _("the source and the destination are the same repository"),
                hint=_("give another repository with --to"),
            )
        self.src = src
        self.dst = dst
        self.progress: CopyProgress = progress or NoProgress()
        self.workers = workers
        # Same id key: a blob's id is the same in both repositories.
        self.shared_ids = src.master.id_key == dst.master.id_key
        self._map: dict[bytes, bytes] = {}  # source blob id -> destination blob id
        self._map_lock = threading.Lock()
        self._copies: dict[str, str] = {}  # origin -> destination snapshot id

    def _load_destination_snapshots(self) -> None:
        for d in load_all(self.dst, errors=[]):
            self._copies.setdefault(origin(d), d.id)
            self._copies.setdefault(d.id, d.id)

    def existing_copy(self, snap: Snapshot) -> str | None:
        """The destination snapshot that is already a copy of ``snap``, if any."""
        return self._copies.get(origin(snap)) or self._copies.get(snap.id)

    def copy(self, snapshots: Iterable[Snapshot]) -> list[CopyResult]:
        self._load_destination_snapshots()
        results = []
        with ThreadPoolExecutor(self.workers, thread_name_prefix="copy") as pool:
            for snap in snapshots:
                results.append(self._copy_one(pool, snap))
        return results

    def _copy_one(self, pool: ThreadPoolExecutor, snap: Snapshot) -> CopyResult:
        existing = self.existing_copy(snap)
        if existing is not None:
            # Tests made since the earlier copy follow it.
            verified = copy_verifications(self.src, self.dst, snap.id, existing)
            return CopyResult(snap, existing, skipped=True, verifications=verified)
        blobs_before, bytes_before = self.dst.blobs_added, self.dst.bytes_added
        tree = self._copy_tree(pool, snap.tree, b"")
        self.dst.flush()
        copy = Snapshot(
            time=snap.time,
            tree=tree,
            paths=list(snap.paths),
            hostname=snap.hostname,
            username=snap.username,
            tags=list(snap.tags),
            label=snap.label,
            parent=None,  # the parent is a snapshot of the source, meaningless here
            original=origin(snap),
            summary=dict(snap.summary),
            program_version=snap.program_version,
        )
        save_snapshot(self.dst, copy)
        self._copies[origin(snap)] = copy.id
        # After the snapshot, so a record never names a snapshot that is not there yet.
        verified = copy_verifications(self.src, self.dst, snap.id, copy.id)
        return CopyResult(
            snap,
            copy.id,
            skipped=False,
            blobs_added=self.dst.blobs_added - blobs_before,
            bytes_added=self.dst.bytes_added - bytes_before,
            verifications=verified,
        )

    def _mapped(self, blob_id: bytes) -> bytes | None:
        with self._map_lock:
            return self._map.get(blob_id)

    def _copy_blob(self, btype: BlobType, blob_id: bytes) -> bytes:
        """Make sure the destination has the blob; return its id there."""
        done = self._mapped(blob_id)
        if done is not None:
            return done
        if self.shared_ids:
            if not self.dst.has_blob(blob_id):
                self.dst.save_blob(btype, self.src.load_blob(blob_id), blob_id)
            new_id = blob_id
        else:
            data = self.src.load_blob(blob_id)
            new_id, _new = self.dst.save_blob(btype, data)
        with self._map_lock:
            self._map[blob_id] = new_id
        return new_id

    def _copy_data(self, blob_id: bytes) -> bytes:
        return self._copy_blob(BlobType.DATA, blob_id)

    def _copy_tree(self, pool: ThreadPoolExecutor, tree_id: bytes, path: bytes) -> bytes:
        """Copy a tree and everything below it; return its id in the destination."""
        done = self._mapped(tree_id)
        if done is not None:
            return done
        data = self.src.load_blob(tree_id)
        nodes = decode_tree(data, _("tree {id}").format(id=tree_id.hex()[:16]))
        for node in nodes:
            full = path + b"/" + node.name
            if node.type is NodeType.FILE and node.content:
                node.content = list(pool.map(self._copy_data, node.content))
                self.progress.file_done(full.decode("utf-8", "backslashreplace"), node.size)
                self.progress.bytes_done(node.size)
            elif node.type is NodeType.DIR and node.subtree is not None:
                node.subtree = self._copy_tree(pool, node.subtree, full)
        if self.shared_ids:
            # Same ids below, so the tree is the same blob: store it unchanged.
            if not self.dst.has_blob(tree_id):
                self.dst.save_blob(BlobType.TREE, data, tree_id)
            new_id = tree_id
        else:
            new_id, _new = self.dst.save_blob(BlobType.TREE, encode_tree(nodes))
        with self._map_lock:
            self._map[tree_id] = new_id
        return new_id
