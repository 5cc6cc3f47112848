"""The restore test of a files source: a sample of files restored and compared by SHA-256.

A sample of files (by default up to 50 files and 64 MiB, chosen at random but the same for
the same snapshot) is restored into a temporary folder with the engine's restorer and
compared by SHA-256 with the original file on disk when that is unchanged since the backup
(same size and modification time), else with the content read back from the snapshot (the
record then says the originals changed). Used by :func:`cadang.checks.restore_test.restore_test`.
"""

from __future__ import annotations

import hashlib
import heapq
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator

from cadang.checks.base import Clock
from cadang.checks.readback import _Errors, _shown
from cadang.checks.verify_config import VerifySettings
from cadang.errors import CadangError
from cadang.i18n import _
from cadang.repo.exporter import iter_content
from cadang.repo.repository import Repository
from cadang.repo.restorer import Restorer
from cadang.repo.snapshot import Snapshot
from cadang.repo.tree import Node, NodeType, decode_tree
from cadang.repo.verification import Kind, Verification, new_verification

__all__ = ["files_restore_test"]

MiB = 1024 * 1024


def _sample(
    repo: Repository, snap: Snapshot, max_files: int, max_bytes: int
) -> list[tuple[bytes, Node]]:
    """Files chosen at random, but the same ones for the same snapshot, within the budget."""

    def files() -> Iterator[tuple[bytes, bytes, Node]]:
        stack: list[tuple[bytes, bytes]] = [(snap.tree, b"")]
        while stack:
            tree_id, path = stack.pop()
            for node in decode_tree(
                repo.load_blob(tree_id), _("tree {id}").format(id=tree_id.hex()[:16])
            ):
                full = path + b"/" + node.name
                if node.type is NodeType.DIR and node.subtree is not None:
                    stack.append((node.subtree, full))
                elif node.type is NodeType.FILE:
                    key = hashlib.sha256(snap.id.encode() + b"\0" + full).digest()
                    yield key, full, node

    chosen: list[tuple[bytes, Node]] = []
    budget = max_bytes
    for _key, path, node in heapq.nsmallest(max_files * 4, files(), key=lambda t: t[0]):
        if len(chosen) >= max_files:
            break
        if node.size <= budget:
            chosen.append((path, node))
            budget -= node.size
    return chosen


def _sha256_file(path: bytes) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MiB):
            h.update(chunk)
    return h.hexdigest()


def _unchanged(path: bytes, node: Node) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == node.size and st.st_mtime_ns == node.mtime_ns


def files_restore_test(
    repo: Repository, snap: Snapshot, settings: VerifySettings, clock: Clock
) -> Verification | str:
    start = time.monotonic()
    errors = _Errors()
    try:
        sample = _sample(repo, snap, settings.sample_files, int(settings.sample_mib * MiB))
    except CadangError as exc:
        sample = []
        errors.add(
            _("the snapshot's directories cannot be read: {reason}").format(reason=exc.message)
        )
    if not sample and not errors:
        return _("the snapshot holds no file small enough to sample")
    counts = {"files": 0, "bytes": 0, "against_originals": 0, "against_snapshot": 0}
    folder = tempfile.mkdtemp(prefix="cadang-verify-")
    root = os.fsencode(folder)
    try:
        failed: set[str] = set()
        if sample:
            summary = Restorer(repo).restore(snap, folder, [os.fsdecode(p) for p, _n in sample])
            for shown, message in summary.errors:
                failed.add(shown)
                errors.add(_("{path}: {reason}").format(path=shown, reason=message))
        for path, node in sample:
            restored = root + path
            try:
                got = _sha256_file(restored)
            except OSError as exc:
                if _shown(path) not in failed:  # else the restore's error names it
                    errors.add(
                        _("{path}: not restored: {reason}").format(
                            path=_shown(path), reason=exc.strerror or exc
                        )
                    )
                continue
            against = "against_snapshot"
            try:
                if _unchanged(path, node):
                    want = _sha256_file(path)
                    against = "against_originals"
                else:
                    h = hashlib.sha256()
                    for data in iter_content(repo, node, path):
                        h.update(data)
                    want = h.hexdigest()
            except OSError:
                h = hashlib.sha256()
                for data in iter_content(repo, node, path):
                    h.update(data)
                want = h.hexdigest()
            except CadangError as exc:
                errors.add(_("{path}: {reason}").format(path=_shown(path), reason=exc.message))
                continue
            if got != want:
                errors.add(
                    _("{path}: the restored file differs from the {what} (SHA-256)").format(
                        path=_shown(path),
                        what=_("original") if against == "against_originals" else _("snapshot"),
                    )
                )
                continue
            counts["files"] += 1
            counts["bytes"] += node.size
            counts[against] += 1
    except CadangError as exc:
        errors.add(_("the sample could not be restored: {reason}").format(reason=exc.message))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    details = [
        _("{n} file(s) restored into a temporary folder and compared by SHA-256").format(
            n=len(sample)
        )
    ]
    if counts["against_snapshot"]:
        details.append(
            _("{n} compared with the snapshot, originals changed").format(
                n=counts["against_snapshot"]
            )
        )
    return new_verification(
        snap.id,
        Kind.RESTORE_TEST,
        not errors,
        time.monotonic() - start,
        compared=counts,
        details=details,
        errors=errors.final(),
        time=clock(),
    )
