"""Read-back: every tree and data blob of a snapshot loaded again, its id re-checked.

Every tree and every data blob the snapshot references is loaded, decrypted, decompressed
and its keyed id computed again from the plaintext (``Repository.load_blob(id, verify=True)``),
and each file's blobs must add up to its recorded size. It does not stop at the first
problem: damage is named by path. The result is a
:class:`~cadang.repo.verification.Verification` record (see :mod:`cadang.checks.verify`).

Also the error list shared by the tests of :mod:`cadang.checks.verify`.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from cadang.checks.base import Clock, local_now
from cadang.errors import CadangError
from cadang.i18n import _
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot
from cadang.repo.tree import Node, NodeType, decode_tree
from cadang.repo.verification import Kind, Verification, new_verification

__all__ = ["read_back"]

_MAX_ERRORS = 50  # errors kept in one record; the rest are counted
_BATCH_BLOBS = 256  # read-back: blobs read per batch, on the thread pool


class _Errors:
    """Error messages of one test, at most _MAX_ERRORS of them, the rest counted."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.dropped = 0

    def add(self, message: str) -> None:
        if len(self.items) < _MAX_ERRORS:
            self.items.append(message)
        else:
            self.dropped += 1

    def __bool__(self) -> bool:
        return bool(self.items)

    def final(self) -> list[str]:
        if self.dropped:
            return [*self.items, _("... and {n} more").format(n=self.dropped)]
        return list(self.items)


def _shown(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace") or "/"


def read_back(
    repo: Repository, snap: Snapshot, clock: Clock = local_now, workers: int = 2
) -> Verification:
    """Load every tree and data blob of ``snap`` with its id re-checked (see the module)."""
    start = time.monotonic()
    errors = _Errors()
    good: dict[bytes, int] = {}  # data blob id -> plaintext length
    bad: dict[bytes, str] = {}  # data blob id -> reason
    seen_trees: set[bytes] = {snap.tree}
    counts = {"trees": 0, "files": 0, "blobs": 0, "bytes": 0}
    batch: list[tuple[bytes, Node]] = []

    def load(blob_id: bytes) -> tuple[bytes, int | str]:
        try:
            return blob_id, len(repo.load_blob(blob_id, verify=True))
        except CadangError as exc:
            return blob_id, exc.message

    def flush(pool: ThreadPoolExecutor) -> None:
        wanted = list({b for _p, n in batch for b in n.content if b not in good and b not in bad})
        for blob_id, outcome in pool.map(load, wanted):
            if isinstance(outcome, int):
                good[blob_id] = outcome
                counts["blobs"] += 1
                counts["bytes"] += outcome
            else:
                bad[blob_id] = outcome
        for path, node in batch:
            counts["files"] += 1
            broken = [bad[b] for b in node.content if b in bad]
            if broken:
                errors.add(_("{path}: {reason}").format(path=_shown(path), reason=broken[0]))
                continue
            total = sum(good[b] for b in node.content)
            if total != node.size:
                errors.add(
                    _("{path}: the snapshot records {size} bytes, but its data holds {n}").format(
                        path=_shown(path), size=node.size, n=total
                    )
                )
        batch.clear()

    with ThreadPoolExecutor(workers, thread_name_prefix="read-back") as pool:
        stack: list[tuple[bytes, bytes]] = [(snap.tree, b"")]
        pending_blobs = 0
        while stack:
            tree_id, path = stack.pop()
            try:
                nodes = decode_tree(
                    repo.load_blob(tree_id, verify=True),
                    _("tree {id}").format(id=tree_id.hex()[:16]),
                )
            except CadangError as exc:
                errors.add(
                    _("{path}: the directory listing cannot be read: {reason}").format(
                        path=_shown(path + b"/"), reason=exc.message
                    )
                )
                continue
            counts["trees"] += 1
            for node in nodes:
                full = path + b"/" + node.name
                if node.type is NodeType.DIR and node.subtree is not None:
                    if node.subtree not in seen_trees:
                        seen_trees.add(node.subtree)
                        stack.append((node.subtree, full))
                elif node.type is NodeType.FILE:
                    batch.append((full, node))
                    pending_blobs += len(node.content)
                    if pending_blobs >= _BATCH_BLOBS:
                        flush(pool)
                        pending_blobs = 0
        flush(pool)
    ok = not errors
    details = (
        []
        if ok
        else [
            _(
                "snapshot {id}: damage found by reading it back; 'cadang check "
                "--read-data' shows what else the damage affects"
            ).format(id=snap.short_id)
        ]
    )
    return new_verification(
        snap.id,
        Kind.READ_BACK,
        ok,
        time.monotonic() - start,
        compared=counts,
        details=details,
        errors=errors.final(),
        time=clock(),
    )
