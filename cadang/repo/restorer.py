"""Restoring a snapshot (or parts of it) into a directory.

Every path written is the target joined with names checked by :func:`valid_name`, and
nothing is opened through a symlink (``O_NOFOLLOW``; an existing symlink or file where a
directory belongs is replaced), so a restore never writes outside its target. File contents
are written by a small thread pool; directory times are set last, deepest first, because
creating entries changes them. A damaged blob fails only the files that use it.
"""

from __future__ import annotations

import os
import shutil
import stat
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from cadang.errors import CadangError, PathNotFoundError, RestoreError
from cadang.i18n import _
from cadang.repo.metadata import apply_metadata
from cadang.repo.progress import NoProgress, Progress
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot
from cadang.repo.tree import Node, NodeType
from cadang.repo.walker import load_tree, split_path

# Small files go to the pool in batches of this many files or bytes.
_BATCH_FILES = 32
_BATCH_BYTES = 4 * 1024 * 1024
_READ_AHEAD = 2  # blobs of one large file read ahead of the one being written


RestoreProgress = Progress  # kept for callers that name it


@dataclass
class RestoreSummary:
    files: int = 0
    dirs: int = 0
    others: int = 0
    bytes: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duration: float = 0.0


class _Include:
    """Which snapshot paths to restore: those equal to, under, or above an include."""

    def __init__(self, includes: list[str]) -> None:
        self.parts = [split_path(p) for p in includes]

    def wanted(self, parts: list[bytes]) -> tuple[bool, bool]:
        """(restore this node, descend into it)."""
        if not self.parts:
            return True, True
        for inc in self.parts:
            n = min(len(inc), len(parts))
            if inc[:n] == parts[:n]:
                return True, True
        return False, False

    def whole(self, parts: list[bytes]) -> bool:
        return not self.parts or any(parts[: len(inc)] == inc for inc in self.parts)


class Restorer:
    def __init__(
        self,
        repo: Repository,
        progress: RestoreProgress | None = None,
        workers: int = 2,
        max_in_flight: int = 64,
    ) -> None:
        self.repo = repo
        self.progress: RestoreProgress = progress or NoProgress()
        self.workers = workers
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._lock = threading.Lock()
        self.summary = RestoreSummary()
        self._as_root = os.geteuid() == 0
        self._links: dict[tuple[int, int], bytes] = {}
        self._batch: list[tuple[bytes, Node]] = []
        self._readers: ThreadPoolExecutor | None = None
        self._batch_bytes = 0
        self._pending_links: list[tuple[bytes, bytes, Node]] = []
        self._dirs: list[tuple[bytes, Node]] = []

    def restore(
        self, snapshot: Snapshot, target: str, includes: list[str] | None = None
    ) -> RestoreSummary:
        start = time.monotonic()
        # Each restore starts afresh: hard links of an earlier one must not point into it.
        self.summary = RestoreSummary()
        self._links, self._pending_links, self._dirs = {}, [], []
        self._batch, self._batch_bytes = [], 0
        include = _Include(includes or [])
        if include.parts:
            self._check_includes(snapshot, include)
        root = os.fsencode(os.path.abspath(target))
        try:
            os.makedirs(root, exist_ok=True)
        except OSError as exc:
            raise RestoreError(
                _("cannot create target {path}: {reason}").format(path=target, reason=exc.strerror)
            ) from exc
        if not isinstance(self.progress, NoProgress):
            self._count_totals(snapshot.tree, include)
        with (
            ThreadPoolExecutor(self.workers, thread_name_prefix="restore") as pool,
            ThreadPoolExecutor(self.workers, thread_name_prefix="restore-read") as readers,
        ):
            self._readers = readers
            futures: list[Future[None]] = []
            try:
                self._restore_tree(pool, futures, snapshot.tree, root, [], include)
                self._submit_batch(pool, futures)
                for f in futures:
                    f.result()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        for link_path, first, node in self._pending_links:
            self._make_hardlink(link_path, first, node)
        for path, node in reversed(self._dirs):
            self._apply(path, node)
        self.summary.duration = round(time.monotonic() - start, 3)
        return self.summary

    def _submit_batch(self, pool: ThreadPoolExecutor, futures: list[Future[None]]) -> None:
        """Hand the collected files to the pool as one job: per-job overhead (futures,
        locks, wake-ups) would otherwise dominate restores of many small files."""
        if not self._batch:
            return
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        self._slots.acquire()
        fut = pool.submit(self._write_batch, batch)
        fut.add_done_callback(lambda _f: self._slots.release())
        futures.append(fut)
        if len(futures) > 1024:  # keep the list short on huge trees
            futures[:] = [f for f in futures if not f.done() or f.exception()]

    def _write_batch(self, batch: list[tuple[bytes, Node]]) -> None:
        for path, node in batch:
            self._write_file(path, node)

    def _check_includes(self, snapshot: Snapshot, include: _Include) -> None:
        for parts in include.parts:
            tree: bytes | None = snapshot.tree
            for part in parts:
                node = None
                if tree is not None:
                    node = next((n for n in load_tree(self.repo, tree) if n.name == part), None)
                if node is None:
                    shown = "/" + b"/".join(parts).decode("utf-8", "replace")
                    raise PathNotFoundError(
                        _("{path} is not in snapshot {id}").format(path=shown, id=snapshot.short_id)
                    )
                tree = node.subtree if node.type is NodeType.DIR else None

    def _count_totals(self, tree_id: bytes, include: _Include) -> None:
        files = size = 0
        stack: list[tuple[bytes, list[bytes]]] = [(tree_id, [])]
        while stack:
            tid, parts = stack.pop()
            for node in load_tree(self.repo, tid):
                p = [*parts, node.name]
                want, descend = include.wanted(p)
                if not want:
                    continue
                if node.type is NodeType.DIR and node.subtree and descend:
                    stack.append((node.subtree, p))
                elif node.type is NodeType.FILE and include.whole(p):
                    files += 1
                    size += node.size
        self.progress.set_totals(files, size)

    def _error(self, path: bytes, exc: BaseException | str) -> None:
        shown = path.decode("utf-8", "replace")
        message = exc if isinstance(exc, str) else (getattr(exc, "strerror", None) or str(exc))
        with self._lock:
            self.summary.errors.append((shown, str(message)))
        self.progress.error(shown, str(message))

    def _restore_tree(
        self,
        pool: ThreadPoolExecutor,
        futures: list[Future[None]],
        tree_id: bytes,
        dirpath: bytes,
        parts: list[bytes],
        include: _Include,
    ) -> None:
        try:
            nodes = load_tree(self.repo, tree_id)
        except CadangError as exc:
            self._error(dirpath, exc)
            return
        for node in nodes:
            p = [*parts, node.name]
            want, _descend = include.wanted(p)
            if not want:
                continue
            path = dirpath + b"/" + node.name
            whole = include.whole(p)
            if node.type is NodeType.DIR:
                if not self._make_dir(path):
                    continue
                if node.subtree is not None:
                    self._restore_tree(pool, futures, node.subtree, path, p, include)
                if whole:
                    self._dirs.append((path, node))
                continue
            if not whole:
                continue
            if node.type is NodeType.FILE:
                if node.links > 1:
                    key = (node.device, node.inode)
                    first = self._links.get(key)
                    if first is not None:
                        self._pending_links.append((path, first, node))
                        continue
                    self._links[key] = path
                self._batch.append((path, node))
                self._batch_bytes += node.size
                if len(self._batch) >= _BATCH_FILES or self._batch_bytes >= _BATCH_BYTES:
                    self._submit_batch(pool, futures)
            else:
                self._make_special(path, node)

    # --- creating entries ----------------------------------------------------------------
    def _clear(self, path: bytes) -> None:
        """Remove whatever is at path; a directory in the way goes with its contents."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(path)  # never follows symlinks inside it
        else:
            os.unlink(path)

    def _make_dir(self, path: bytes) -> bool:
        try:
            st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode):
                os.unlink(path)  # a symlink or file in the way: never follow it
                os.mkdir(path, 0o700)
            elif not self._as_root and st.st_mode & 0o700 != 0o700:
                # A read-only directory from an earlier restore: writable until its mode
                # from the snapshot is applied at the end.
                os.chmod(path, stat.S_IMODE(st.st_mode) | 0o700)
        except FileNotFoundError:
            try:
                os.mkdir(path, 0o700)
            except OSError as exc:
                self._error(path, exc)
                return False
        except OSError as exc:
            self._error(path, exc)
            return False
        with self._lock:
            self.summary.dirs += 1
        return True

    def _contents(self, node: Node) -> Iterator[bytes]:
        """A file's blobs in order. For a file of several blobs the next ones are read and
        decoded on the reader pool while this thread writes, so one large file (a database
        dump) does not restore at the speed of a single core."""
        if len(node.content) < 3 or self._readers is None:
            for blob_id in node.content:
                yield self.repo.load_blob(blob_id)
            return
        ahead: deque[Future[bytes]] = deque()
        ids = iter(node.content)
        try:
            while True:
                while len(ahead) < _READ_AHEAD:
                    next_id = next(ids, None)
                    if next_id is None:
                        break
                    ahead.append(self._readers.submit(self.repo.load_blob, next_id))
                if not ahead:
                    return
                yield ahead.popleft().result()
        finally:
            for f in ahead:
                f.cancel()

    def _write_file(self, path: bytes, node: Node) -> None:
        fd = -1
        written = 0
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            try:
                fd = os.open(path, flags, 0o600)
            except FileExistsError:
                # Something is in the way (restoring over a tree): remove it, never follow it.
                if stat.S_ISDIR(os.lstat(path).st_mode):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
                fd = os.open(path, flags, 0o600)
            for data in self._contents(node):
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                written += len(data)
                self.progress.bytes_done(len(data))
            if written != node.size:
                raise RestoreError(
                    _("restored {written} bytes, the snapshot records {size}").format(
                        written=written, size=node.size
                    )
                )
            self._apply(path, node, fd)
            os.close(fd)
            fd = -1
        except (OSError, CadangError) as exc:
            self._error(path, exc)
            return
        finally:
            if fd >= 0:
                os.close(fd)
        with self._lock:
            self.summary.files += 1
            self.summary.bytes += written
        self.progress.file_done(path.decode("utf-8", "replace"), written)

    def _make_hardlink(self, path: bytes, first: bytes, node: Node) -> None:
        try:
            self._clear(path)
            os.link(first, path, follow_symlinks=False)
        except OSError as exc:
            self._error(path, exc)
            return
        with self._lock:
            self.summary.files += 1

    def _make_special(self, path: bytes, node: Node) -> None:
        try:
            self._clear(path)
            if node.type is NodeType.SYMLINK:
                os.symlink(node.target, path)
            elif node.type is NodeType.FIFO:
                os.mkfifo(path, 0o600)
            elif node.type in (NodeType.CHARDEV, NodeType.BLOCKDEV):
                kind = stat.S_IFCHR if node.type is NodeType.CHARDEV else stat.S_IFBLK
                if not self._as_root:
                    self.summary.warnings.append(
                        _("{path}: device node not restored (needs root)").format(
                            path=path.decode("utf-8", "replace")
                        )
                    )
                    return
                os.mknod(path, kind | 0o600, node.rdev)
            else:
                self.summary.warnings.append(
                    _("{path}: socket not restored (sockets are made by programs)").format(
                        path=path.decode("utf-8", "replace")
                    )
                )
                return
            self._apply(path, node)
        except OSError as exc:
            self._error(path, exc)
            return
        with self._lock:
            self.summary.others += 1

    def _apply(self, path: bytes, node: Node, fd: int | None = None) -> None:
        warnings: list[str] = []
        try:
            apply_metadata(path, node, self._as_root, warnings, fd)
        except OSError as exc:
            self._error(path, _("metadata not restored: {reason}").format(reason=exc.strerror))
        if warnings:
            with self._lock:
                self.summary.warnings.extend(warnings)
