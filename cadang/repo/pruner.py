"""Prune: remove the data no snapshot uses any more, and forget snapshots.

The caller holds the repository's exclusive lock (for a dry run a shared one will do), so no
backup is running: a pack that no index lists is then the leftover of a crashed writer, not
one a backup is about to describe, and deleting it is safe. Prune reads the index and the
snapshots itself, after the lock was taken, so it never acts on a view from before the lock.

Planning reads every snapshot (one that cannot be read stops prune: its data would look
unused), walks every tree once and marks the blobs in use. Each used blob keeps one copy;
every other copy is unused. A pack is then kept (nothing unused), deleted (nothing used),
or, when partly used, repacked: its used blobs are copied to new packs. Partly used packs
are repacked, those with the largest unused share first, until the unused bytes left are
at most ``max_unused`` percent of the repository (like restic's ``--max-unused``).

Execution keeps the repository valid at every instant, so a crash at any point leaves
something ``check`` accepts and the next prune finishes the job:

1. write the repacked packs (new files; until step 2 nobody refers to them);
2. write one new index file that lists every pack that stays;
3. delete the old index files (until then the old and new index overlap, which is allowed);
4. delete the unused, repacked and unlisted packs, which no index file names any more.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from cadang.backends import FileType
from cadang.errors import CadangError, IntegrityError, ObjectNotFoundError
from cadang.i18n import _
from cadang.repo.crypto import storage_id
from cadang.repo.index import Index
from cadang.repo.pack import BlobType, PackedBlob, PackWriter
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot, load_snapshot
from cadang.repo.tree import NodeType
from cadang.repo.verification import remove_verifications
from cadang.repo.walker import load_tree

DEFAULT_MAX_UNUSED = 5.0

# Phases reported to the optional callback, in order.
PHASES = ("snapshots", "index", "trees", "plan", "repack", "write-index", "delete-index", "delete")


@dataclass
class PackStats:
    name: str
    size: int  # bytes of the pack file
    used_blobs: int = 0
    used_bytes: int = 0
    unused_blobs: int = 0
    unused_bytes: int = 0


@dataclass
class PrunePlan:
    snapshots: int = 0
    used_blobs: int = 0
    index_files: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    repack: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)  # indexed packs with nothing in use
    unindexed: list[str] = field(default_factory=list)  # packs no index lists
    missing: list[str] = field(default_factory=list)  # indexed, but the file is gone (unused)
    packs: dict[str, PackStats] = field(default_factory=dict)
    # Entries of every pack that stays, and the used copies to move out of repacked packs.
    keep_entries: dict[str, list[PackedBlob]] = field(default_factory=dict)
    to_copy: dict[str, list[PackedBlob]] = field(default_factory=dict)
    unindexed_bytes: int = 0
    snapshot_ids: set[str] = field(default_factory=set)  # the snapshots that stay

    @property
    def has_work(self) -> bool:
        return bool(self.repack or self.delete or self.unindexed or self.missing)

    @property
    def blobs_removed(self) -> int:
        return sum(self.packs[p].unused_blobs for p in self.repack + self.delete)

    @property
    def bytes_to_free(self) -> int:
        """Bytes freed, counting a repacked pack's used blobs as written again."""
        gone = sum(self.packs[p].size for p in self.repack + self.delete) + self.unindexed_bytes
        return gone - sum(self.packs[p].used_bytes for p in self.repack)

    @property
    def unused_bytes_left(self) -> int:
        return sum(self.packs[p].unused_bytes for p in self.keep)

    @property
    def total_bytes(self) -> int:
        return sum(s.size for s in self.packs.values()) + self.unindexed_bytes


@dataclass
class PruneResult:
    dry_run: bool
    snapshots: int
    used_blobs: int
    packs_kept: int
    packs_repacked: int
    packs_deleted: int
    packs_unindexed: int
    packs_written: int
    blobs_removed: int
    bytes_freed: int
    bytes_before: int
    unused_bytes_left: int
    index_files_removed: int

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


Phase = Callable[[str], None]


def _no_phase(_name: str) -> None:
    pass


# --- planning -----------------------------------------------------------------------------


def load_snapshots_strict(repo: Repository) -> list[Snapshot]:
    """Every snapshot; refuse when any cannot be read, since its data would look unused."""
    snaps: list[Snapshot] = []
    bad: list[str] = []
    for name in repo.list_files(FileType.SNAPSHOT):
        try:
            snaps.append(load_snapshot(repo, name))
        except ObjectNotFoundError:
            continue  # removed since it was listed; it needs nothing any more
        except CadangError as exc:
            bad.append(_("{id} ({reason})").format(id=name[:8], reason=exc.message))
    if bad:
        raise IntegrityError(
            _(
                "refusing to prune: {n} snapshot(s) cannot be read, and the data they use "
                "would be deleted: {names}"
            ).format(n=len(bad), names=", ".join(bad)),
            hint=_(
                "run 'cadang check' to see the damage; remove a snapshot that cannot be "
                "repaired with 'cadang forget ID', then prune again"
            ),
        )
    return snaps


def _load_index(repo: Repository) -> tuple[list[str], dict[str, dict[bytes, PackedBlob]]]:
    """The index files and, per pack, its blobs (one entry per blob id)."""
    names = repo.list_files(FileType.INDEX)
    packs: dict[str, dict[bytes, PackedBlob]] = {}
    index = Index()
    for name in names:
        for pack, entries in repo.load_index_file(name).items():
            index.add_pack(pack, entries)
            blobs = packs.setdefault(pack, {})
            for e in entries:
                blobs.setdefault(e.id, e)
    repo.index = index
    return names, packs


def find_used_blobs(repo: Repository, snapshots: Iterable[Snapshot]) -> set[bytes]:
    """Ids of every tree and data blob some snapshot reaches; each tree is read once."""
    used: set[bytes] = set()
    stack: list[bytes] = []
    for snap in snapshots:
        if snap.tree not in used:
            used.add(snap.tree)
            stack.append(snap.tree)
    while stack:
        tree_id = stack.pop()
        try:
            nodes = load_tree(repo, tree_id)
        except CadangError as exc:
            raise IntegrityError(
                _(
                    "refusing to prune: tree {id} cannot be read ({reason}); "
                    "what it lists would look unused"
                ).format(id=tree_id.hex()[:16], reason=exc.message),
                hint=_("run 'cadang check' to see which snapshots are affected"),
            ) from None
        for node in nodes:
            if node.type is NodeType.FILE:
                used.update(node.content)
            elif (
                node.type is NodeType.DIR and node.subtree is not None and node.subtree not in used
            ):
                used.add(node.subtree)
                stack.append(node.subtree)
    return used


def plan_prune(
    repo: Repository,
    max_unused: float = DEFAULT_MAX_UNUSED,
    phase: Phase = _no_phase,
    ignore_snapshots: Collection[str] = (),
) -> PrunePlan:
    """Decide what to keep, repack and delete; changes nothing.

    ``ignore_snapshots`` are counted as already gone (``forget --prune --dry-run``).
    """
    if not 0.0 <= max_unused <= 100.0:
        raise ValueError("max_unused is a percentage from 0 to 100")
    plan = PrunePlan()
    phase("snapshots")
    snapshots = [s for s in load_snapshots_strict(repo) if s.id not in ignore_snapshots]
    plan.snapshots = len(snapshots)
    plan.snapshot_ids = {s.id for s in snapshots}
    phase("index")
    plan.index_files, indexed = _load_index(repo)
    on_disk = dict(repo.backend.list(FileType.PACK))
    phase("trees")
    used = find_used_blobs(repo, snapshots)
    plan.used_blobs = len(used)
    phase("plan")

    # Where each used blob has a readable copy. Packs the index lists but the backend lacks
    # are dropped; if one held the only copy of a used blob, the repository is damaged.
    copies: dict[bytes, list[str]] = {}
    for pack, blobs in indexed.items():
        if pack not in on_disk:
            continue
        for blob_id in blobs:
            if blob_id in used:
                copies.setdefault(blob_id, []).append(pack)
    lost = [b for b in used if b not in copies]
    if lost:
        raise IntegrityError(
            _(
                "refusing to prune: {n} blob(s) that snapshots use are in no pack that an "
                "index lists (for example {id})"
            ).format(n=len(lost), id=lost[0].hex()[:16]),
            hint=_("run 'cadang check' to see which snapshots are affected"),
        )

    # One copy per used blob: the one in the pack with the most used bytes, so that
    # duplicates left by concurrent backups drain out of the emptier packs.
    candidate_bytes = {
        pack: sum(e.length for e in blobs.values() if e.id in used)
        for pack, blobs in indexed.items()
        if pack in on_disk
    }
    chosen: dict[bytes, str] = {}
    for blob_id, packs in copies.items():
        chosen[blob_id] = (
            packs[0] if len(packs) == 1 else max(packs, key=lambda p: (candidate_bytes[p], p))
        )

    partly: list[str] = []
    for pack, blobs in sorted(indexed.items()):
        if pack not in on_disk:
            plan.missing.append(pack)
            continue
        stats = PackStats(pack, on_disk[pack])
        for e in blobs.values():
            if chosen.get(e.id) == pack:
                stats.used_blobs += 1
                stats.used_bytes += e.length
            else:
                stats.unused_blobs += 1
                stats.unused_bytes += e.length
        plan.packs[pack] = stats
        if stats.used_blobs == 0:
            plan.delete.append(pack)
        elif stats.unused_blobs == 0:
            plan.keep.append(pack)
        else:
            partly.append(pack)

    # Repack the most wasteful partly used packs until the unused rest is within the limit.
    used_bytes = sum(s.used_bytes for s in plan.packs.values())
    unused_left = sum(plan.packs[p].unused_bytes for p in partly)
    limit = float("inf") if max_unused >= 100.0 else max_unused / (100.0 - max_unused) * used_bytes
    partly.sort(
        key=lambda p: (
            -plan.packs[p].unused_bytes / max(1, plan.packs[p].size),
            -plan.packs[p].unused_bytes,
            p,
        )
    )
    for pack in partly:
        if unused_left > limit:
            plan.repack.append(pack)
            unused_left -= plan.packs[pack].unused_bytes
        else:
            plan.keep.append(pack)
    plan.keep.sort()
    plan.repack.sort()

    for pack in plan.keep:
        plan.keep_entries[pack] = sorted(indexed[pack].values(), key=lambda e: e.offset)
    for pack in plan.repack:
        plan.to_copy[pack] = sorted(
            (e for e in indexed[pack].values() if chosen.get(e.id) == pack),
            key=lambda e: e.offset,
        )
    for pack, size in sorted(on_disk.items()):
        if pack not in indexed:
            plan.unindexed.append(pack)
            plan.unindexed_bytes += size
    return plan


# --- execution ----------------------------------------------------------------------------


class _Repacker:
    """Copies sealed blobs unchanged into new packs (data and trees apart, as backups do)."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.written: dict[str, list[PackedBlob]] = {}
        self.bytes_written = 0
        self._open: dict[BlobType, PackWriter] = {}

    def add(self, entry: PackedBlob, sealed: bytes) -> None:
        writer = self._open.get(entry.type)
        if writer is None:
            writer = self._open[entry.type] = PackWriter()
        writer.add(entry.type, entry.id, sealed, entry.raw_length)
        if writer.size >= self.repo.config.pack_size:
            self._store(self._open.pop(entry.type))

    def _store(self, writer: PackWriter) -> None:
        data = writer.finish(self.repo.cipher)
        name = storage_id(data)
        self.repo.backend.save(FileType.PACK, name, data)
        self.written[name] = writer.entries
        self.bytes_written += len(data)

    def finish(self) -> None:
        for btype in list(self._open):
            writer = self._open.pop(btype)
            if len(writer):
                self._store(writer)


def _repack(repo: Repository, plan: PrunePlan) -> _Repacker:
    repacker = _Repacker(repo)
    for pack in plan.repack:
        data = repo.backend.load(FileType.PACK, pack)
        view = memoryview(data)
        for e in plan.to_copy[pack]:
            sealed = view[e.offset : e.offset + e.length]
            # Copy only what proves intact, so prune never spreads damage into new packs.
            repo.decode_blob(
                e.id,
                sealed,
                e.raw_length,
                _("blob {id} in pack {pack}").format(id=e.id.hex()[:16], pack=pack[:16]),
                True,
            )
            repacker.add(e, bytes(sealed))
    repacker.finish()
    return repacker


def execute_prune(repo: Repository, plan: PrunePlan, phase: Phase = _no_phase) -> PruneResult:
    """Carry out a plan in the crash-safe order; the caller holds the exclusive lock."""
    written: dict[str, list[PackedBlob]] = {}
    bytes_written = 0
    removed_index = 0
    if plan.has_work:
        phase("repack")
        repacker = _repack(repo, plan)
        written, bytes_written = repacker.written, repacker.bytes_written
        phase("write-index")
        new_index: dict[str, list[PackedBlob]] = {**plan.keep_entries, **written}
        new_name = repo.save_index_file(new_index) if new_index else None
        phase("delete-index")
        for name in plan.index_files:
            if name != new_name:
                with contextlib.suppress(ObjectNotFoundError):
                    repo.backend.remove(FileType.INDEX, name)
                removed_index += 1
        phase("delete")
        for pack in plan.repack + plan.delete + plan.unindexed:
            with contextlib.suppress(ObjectNotFoundError):
                repo.backend.remove(FileType.PACK, pack)
        index = Index()
        for pack, entries in new_index.items():
            index.add_pack(pack, entries)
        repo.index = index
    return _result(plan, False, len(written), bytes_written, removed_index)


def _result(
    plan: PrunePlan, dry_run: bool, packs_written: int, bytes_written: int, index_removed: int
) -> PruneResult:
    gone = sum(plan.packs[p].size for p in plan.repack + plan.delete) + plan.unindexed_bytes
    return PruneResult(
        dry_run=dry_run,
        snapshots=plan.snapshots,
        used_blobs=plan.used_blobs,
        packs_kept=len(plan.keep),
        packs_repacked=len(plan.repack),
        packs_deleted=len(plan.delete) + len(plan.unindexed),
        packs_unindexed=len(plan.unindexed),
        packs_written=packs_written,
        blobs_removed=plan.blobs_removed,
        bytes_freed=plan.bytes_to_free if dry_run else gone - bytes_written,
        bytes_before=plan.total_bytes,
        unused_bytes_left=plan.unused_bytes_left,
        index_files_removed=index_removed,
    )


def prune(
    repo: Repository,
    max_unused: float = DEFAULT_MAX_UNUSED,
    dry_run: bool = False,
    phase: Phase = _no_phase,
    ignore_snapshots: Collection[str] = (),
) -> PruneResult:
    """Plan and (unless ``dry_run``) carry out a prune. The caller holds the lock."""
    plan = plan_prune(repo, max_unused, phase, ignore_snapshots)
    if dry_run:
        return _result(plan, True, 0, 0, 0)
    result = execute_prune(repo, plan, phase)
    # Verification records of snapshots that are gone (a forget that crashed half-way).
    remove_verifications(repo, plan.snapshot_ids, keep_only=True)
    return result


# --- forgetting snapshots -----------------------------------------------------------------


def remove_snapshots(repo: Repository, snapshots: Iterable[Snapshot]) -> int:
    """Delete snapshot files (their data goes at the next prune), then their verification
    records (a crash in between leaves records of a gone snapshot: prune removes those);
    return how many snapshots went."""
    n = 0
    gone: list[str] = []
    for snap in snapshots:
        with contextlib.suppress(ObjectNotFoundError):
            repo.backend.remove(FileType.SNAPSHOT, snap.id)
            n += 1
        gone.append(snap.id)
    if gone:
        remove_verifications(repo, gone)
    return n
