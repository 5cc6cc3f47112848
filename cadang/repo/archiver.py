"""Backing up files and directories into a snapshot.

The walk runs on the calling thread; each regular file is read, chunked, hashed,
compressed and sealed by a small thread pool (the libraries release the GIL). A file whose
size, mtime, ctime and inode match the parent snapshot's node is not read again: its content
ids are taken from the parent, as long as the repository still has those blobs. At most
``max_in_flight`` files are queued, so memory stays bounded on trees of millions of files.
"""

from __future__ import annotations

import datetime as dt
import errno
import getpass
import os
import socket
import stat
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO, overload

from cadang.errors import UsageError
from cadang.i18n import _
from cadang.repo.chunker import Chunker
from cadang.repo.excludes import ExcludeFilter
from cadang.repo.metadata import node_from_stat
from cadang.repo.pack import BlobType
from cadang.repo.progress import NoProgress, Progress
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot, find_parent, load_all, save_snapshot
from cadang.repo.streams import Stream
from cadang.repo.tree import Node, NodeType, valid_name
from cadang.repo.walker import load_tree, save_tree


def _same_stat(old: Node, st: os.stat_result) -> bool:
    """Every field a node takes from lstat() is unchanged."""
    return (
        old.type is NodeType.FILE
        and old.size == st.st_size
        and old.mtime_ns == st.st_mtime_ns
        and old.ctime_ns == st.st_ctime_ns
        and old.inode == st.st_ino
        and old.device == st.st_dev
        and old.mode == stat.S_IMODE(st.st_mode)
        and old.uid == st.st_uid
        and old.gid == st.st_gid
        and old.links == st.st_nlink
    )


_STREAM_AHEAD = 4  # chunks of a stream being stored at once (at most 4 x 8 MiB)


def _nothing() -> None:
    pass


BackupProgress = Progress  # kept for callers that name it


@dataclass
class BackupOptions:
    paths: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    one_file_system: bool = False
    tags: list[str] = field(default_factory=list)
    label: str = ""
    hostname: str = field(default_factory=socket.gethostname)
    stdin: BinaryIO | None = None
    stdin_name: str = "stdin"
    # Called once the stream is read and before the snapshot is written; raising stops the
    # backup with no snapshot (a dump command that failed half-way is not a backup).
    stdin_complete: Callable[[], None] | None = None
    # Named streams (database dumps, command output): one file each at the snapshot root.
    streams: list[Stream] = field(default_factory=list)

    def all_streams(self) -> list[Stream]:
        """Standard input is a stream like any other."""
        if self.stdin is None:
            return list(self.streams)
        stdin = self.stdin
        return [
            Stream(
                self.stdin_name.strip("/"),
                lambda: stdin,
                self.stdin_complete or _nothing,
            ),
            *self.streams,
        ]

    parent: str | None = None  # snapshot id; None finds it automatically
    use_parent: bool = True


@dataclass
class BackupSummary:
    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    dirs_new: int = 0
    dirs_changed: int = 0
    dirs_unchanged: int = 0
    total_files: int = 0
    total_bytes: int = 0
    data_added: int = 0
    blobs_added: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)  # per stream, from its source
    started: str = ""
    duration: float = 0.0

    def as_dict(self) -> dict[str, object]:
        d = dict(self.__dict__)
        d["errors"] = [{"path": p, "message": m} for p, m in self.errors]
        return d


class _FileResult:
    __slots__ = ("node", "status")

    def __init__(self, node: Node | None, status: str) -> None:
        self.node = node
        self.status = status  # "new" | "changed" | "unchanged" | "error"


class Archiver:
    def __init__(
        self,
        repo: Repository,
        progress: BackupProgress | None = None,
        workers: int = 2,
        max_in_flight: int = 64,
    ) -> None:
        self.repo = repo
        self.progress: BackupProgress = progress or NoProgress()
        self.workers = workers
        self.chunker = Chunker(repo.config.chunker, repo.master.chunker_seed)
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._summary = BackupSummary()
        self._summary_lock = threading.Lock()
        self._filter: ExcludeFilter = ExcludeFilter([])
        self._root_devices: set[int] = set()
        self._pool: ThreadPoolExecutor | None = None

    # --- bookkeeping ---------------------------------------------------------------------
    def _count(self, attr: str, n: int = 1) -> None:
        with self._summary_lock:
            setattr(self._summary, attr, getattr(self._summary, attr) + n)

    def _error(self, path: bytes | str, exc: BaseException | str) -> None:
        shown = path.decode("utf-8", "replace") if isinstance(path, bytes) else path
        message = exc if isinstance(exc, str) else (getattr(exc, "strerror", None) or str(exc))
        with self._summary_lock:
            self._summary.errors.append((shown, str(message)))
        self.progress.error(shown, str(message))

    # --- entry point ---------------------------------------------------------------------
    def backup(self, options: BackupOptions) -> tuple[Snapshot, BackupSummary]:
        start = time.monotonic()
        # The repository counts for its whole life; this backup reports only its own part.
        bytes_before, blobs_before = self.repo.bytes_added, self.repo.blobs_added
        self._summary = BackupSummary(started=dt.datetime.now().astimezone().isoformat())
        self._filter = ExcludeFilter(options.excludes)
        snapshots = load_all(self.repo, errors=[])
        streams = options.all_streams()
        if streams:
            if options.paths:
                raise UsageError(_("a snapshot holds either paths or streams, not both"))
            names = [st.name for st in streams]
            for n in names:
                if not valid_name(n.encode("utf-8", "surrogateescape")):
                    raise UsageError(
                        _("{name!r} is not a plain file name (--stdin-name, stream names)").format(
                            name=n
                        )
                    )
            if len(set(names)) != len(names):
                raise UsageError(_("stream names must be unique: {names}").format(names=names))
            paths = ["/" + n for n in names]
        else:
            if not options.paths:
                raise UsageError(_("nothing to back up: give at least one path"))
            paths = [os.path.abspath(p) for p in options.paths]
            for p in paths:
                if not os.path.lexists(p):
                    raise UsageError(_("{path} does not exist").format(path=p))
        parent: Snapshot | None = None
        if options.use_parent:
            if options.parent:
                parent = next((s for s in snapshots if s.id.startswith(options.parent)), None)
                if parent is None:
                    raise UsageError(
                        _("parent snapshot {ref!r} not found").format(ref=options.parent)
                    )
            else:
                parent = find_parent(snapshots, options.hostname, paths)

        with ThreadPoolExecutor(self.workers, thread_name_prefix="backup") as pool:
            self._pool = pool
            try:
                if streams:
                    tree_id = self._backup_streams(streams)
                else:
                    if self._wants_totals():
                        self._start_scanner(paths, options.one_file_system)
                    tree_id = self._backup_paths(
                        paths, options.one_file_system, parent.tree if parent else None
                    )
                self.repo.flush()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                self.repo.abort()
                raise
            finally:
                self._pool = None

        summary = self._summary
        summary.data_added = self.repo.bytes_added - bytes_before
        summary.blobs_added = self.repo.blobs_added - blobs_before
        summary.duration = round(time.monotonic() - start, 3)
        snap = Snapshot(
            time=dt.datetime.now().astimezone(),
            tree=tree_id,
            paths=paths,
            hostname=options.hostname,
            username=getpass.getuser(),
            tags=sorted(set(options.tags)),
            label=options.label,
            parent=parent.id if parent else None,
            summary=summary.as_dict(),
        )
        save_snapshot(self.repo, snap)
        return snap, summary

    def _wants_totals(self) -> bool:
        return not isinstance(self.progress, NoProgress)

    def _start_scanner(self, paths: list[str], one_fs: bool) -> None:
        """Count files and bytes in the background, so progress can show an ETA."""

        def scan() -> None:
            files = size = 0
            stack = list(paths)
            devices = {os.lstat(p).st_dev for p in paths if os.path.lexists(p)}
            while stack:
                p = stack.pop()
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    if one_fs and st.st_dev not in devices:
                        continue
                    try:
                        with os.scandir(p) as it:
                            for e in it:
                                if not self._filter.excluded(os.fsencode(e.path)):
                                    stack.append(e.path)
                    except OSError:
                        continue
                elif stat.S_ISREG(st.st_mode):
                    files += 1
                    size += st.st_size
            self.progress.set_totals(files, size)

        threading.Thread(target=scan, name="backup-scanner", daemon=True).start()

    # --- stdin -----------------------------------------------------------------------------
    def _backup_streams(self, streams: list[Stream]) -> bytes:
        nodes = []
        facts: dict[str, object] = {}
        for spec in streams:
            try:
                nodes.append(self._backup_stream(spec.open(), spec.name))
                spec.complete()  # raises if the producer failed: then no snapshot at all
            finally:
                spec.close()
            if spec.facts:
                facts[spec.name] = spec.facts
        self._summary.facts = facts
        return save_tree(self.repo, nodes)

    def _backup_stream(self, stream: BinaryIO, name: str) -> Node:
        # Chunking follows the stream on this thread; hashing, compressing and sealing run on
        # the pool, so a dump is stored at the speed of its producer, not of one core.
        assert self._pool is not None
        content: list[bytes] = []
        pending: deque[Future[tuple[bytes, bool]]] = deque()
        size = 0
        try:
            for chunk in self.chunker.split_stream(stream):
                data = bytes(chunk)  # the chunker reuses its buffer for the next chunk
                pending.append(self._pool.submit(self.repo.save_blob, BlobType.DATA, data))
                size += len(data)
                self.progress.bytes_done(len(data))
                while len(pending) > _STREAM_AHEAD:
                    content.append(pending.popleft().result()[0])
            while pending:
                content.append(pending.popleft().result()[0])
        finally:
            for fut in pending:
                fut.cancel()
        now = time.time_ns()
        node = Node(
            name=name.encode("utf-8", "surrogateescape"),
            type=NodeType.FILE,
            mode=0o644,
            uid=os.getuid(),
            gid=os.getgid(),
            user=getpass.getuser(),
            mtime_ns=now,
            ctime_ns=now,
            size=size,
            content=content,
        )
        self._summary.files_new += 1
        self._summary.total_files += 1
        self._summary.total_bytes += size
        self.progress.file_done(name, size)
        return node

    # --- paths -----------------------------------------------------------------------------
    def _backup_paths(self, paths: list[str], one_fs: bool, parent_tree: bytes | None) -> bytes:
        """Build the tree from '/' down to each path, as restic and borg do."""
        # A nested dict of path components; a None leaf is a path to back up whole.
        layout: dict[bytes, object] = {}
        for p in paths:
            parts = [c for c in os.fsencode(p).split(b"/") if c]
            if not parts:
                raise UsageError(_("backing up '/' itself: list the directories under it instead"))
            level = layout
            for i, part in enumerate(parts):
                if i == len(parts) - 1:
                    level[part] = None
                else:
                    nxt = level.get(part)
                    if nxt is None and part in level:
                        break  # an ancestor is already backed up whole
                    if not isinstance(nxt, dict):
                        nxt = level[part] = {}
                    level = nxt
        self._root_devices = {os.lstat(p).st_dev for p in paths} if one_fs else set()
        return self._virtual_dir(b"", layout, parent_tree)

    def _parent_nodes(self, tree_id: bytes | None) -> dict[bytes, Node]:
        if tree_id is None or not self.repo.has_blob(tree_id):
            return {}
        try:
            return {n.name: n for n in load_tree(self.repo, tree_id)}
        except Exception:  # a damaged parent only costs speed: read everything again
            return {}

    def _virtual_dir(
        self, path: bytes, layout: dict[bytes, object], parent_tree: bytes | None
    ) -> bytes:
        parent_nodes = self._parent_nodes(parent_tree)
        nodes: list[Node] = []
        for name in sorted(layout):
            full = path + b"/" + name
            sub = layout[name]
            old = parent_nodes.get(name)
            try:
                st = os.lstat(full)
            except OSError as exc:
                self._error(full, exc)
                continue
            if isinstance(sub, dict):
                node = node_from_stat(name, full, st)
                node.subtree = self._virtual_dir(full, sub, old.subtree if old else None)
                nodes.append(node)
            else:
                result = self._entry(full, name, st, old)
                if isinstance(result, Future):
                    result = result.result()
                if result.node is not None:
                    nodes.append(result.node)
        return save_tree(self.repo, nodes)

    def _entry(
        self, full: bytes, name: bytes, st: os.stat_result, old: Node | None
    ) -> _FileResult | Future[_FileResult]:
        if stat.S_ISDIR(st.st_mode):
            node = node_from_stat(name, full, st)
            old_tree = old.subtree if old is not None and old.type is NodeType.DIR else None
            if self._root_devices and st.st_dev not in self._root_devices:
                node.subtree = save_tree(self.repo, [])  # a mount point: kept, not entered
            else:
                node.subtree = self._dir(full, old_tree)
            if old is None:
                self._count("dirs_new")
            elif old.subtree == node.subtree:
                self._count("dirs_unchanged")
            else:
                self._count("dirs_changed")
            return _FileResult(node, "dir")
        if stat.S_ISREG(st.st_mode):
            if old is not None and _same_stat(old, st) and self._blobs_present(old):
                # Nothing about the file changed: the parent's node is this node. (A changed
                # extended attribute would have changed ctime.)
                self._finish_file(full, old, "files_unchanged")
                self.progress.bytes_done(old.size)
                return _FileResult(old, "unchanged")
            if old is not None and old.type is NodeType.FILE and old.size == st.st_size:
                # Likely unchanged: decide here, without a trip through the pool.
                result = self._file(full, name, st, old, read=False)
                if result is not None:
                    return result
            assert self._pool is not None
            self._slots.acquire()
            try:
                fut = self._pool.submit(self._file, full, name, st, old)
            except BaseException:
                self._slots.release()
                raise
            fut.add_done_callback(lambda _f: self._slots.release())
            return fut
        try:
            node = node_from_stat(name, full, st)
        except OSError as exc:
            self._error(full, exc)
            return _FileResult(None, "error")
        return _FileResult(node, "special")

    def _dir(self, path: bytes, parent_tree: bytes | None) -> bytes:
        parent_nodes = self._parent_nodes(parent_tree)
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self._error(path, exc)
            return save_tree(self.repo, [])
        results: list[_FileResult | Future[_FileResult]] = []
        for entry in entries:
            full = entry.path
            if self._filter.excluded(full):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                self._error(full, exc)
                continue
            results.append(self._entry(full, entry.name, st, parent_nodes.get(entry.name)))
        nodes = []
        for r in results:
            res = r.result() if isinstance(r, Future) else r
            if res.node is not None:
                nodes.append(res.node)
        if (
            parent_tree is not None
            and parent_nodes
            and len(nodes) == len(parent_nodes)
            and all((p := parent_nodes.get(n.name)) is n or p == n for n in nodes)
        ):
            return parent_tree  # nothing changed: the parent's tree blob is this tree
        return save_tree(self.repo, nodes)

    # --- regular files (on the pool) -----------------------------------------------------
    @overload
    def _file(
        self, full: bytes, name: bytes, st: os.stat_result, old: Node | None
    ) -> _FileResult: ...

    @overload
    def _file(
        self, full: bytes, name: bytes, st: os.stat_result, old: Node | None, read: bool
    ) -> _FileResult | None: ...

    def _file(
        self, full: bytes, name: bytes, st: os.stat_result, old: Node | None, read: bool = True
    ) -> _FileResult | None:
        """Back up one regular file; with ``read=False`` only if unchanged, else None."""
        try:
            node = node_from_stat(name, full, st, old)
        except OSError as exc:
            self._error(full, exc)
            return _FileResult(None, "error")
        if old is not None and self._unchanged(old, node):
            node.content = old.content
            self._finish_file(full, node, "files_unchanged")
            self.progress.bytes_done(node.size)
            return _FileResult(node, "unchanged")
        if not read:
            return None
        try:
            node.content, node.size = self._read_content(full, st)
        except OSError as exc:
            self._error(full, exc)
            return _FileResult(None, "error")
        self._finish_file(full, node, "files_new" if old is None else "files_changed")
        return _FileResult(node, "new" if old is None else "changed")

    def _finish_file(self, full: bytes, node: Node, counter: str) -> None:
        with self._summary_lock:
            setattr(self._summary, counter, getattr(self._summary, counter) + 1)
            self._summary.total_files += 1
            self._summary.total_bytes += node.size
        self.progress.file_done(full.decode("utf-8", "replace"), node.size)

    def _unchanged(self, old: Node, new: Node) -> bool:
        return (
            old.type is NodeType.FILE
            and old.size == new.size
            and old.mtime_ns == new.mtime_ns
            and old.ctime_ns == new.ctime_ns
            and old.inode == new.inode
            and self._blobs_present(old)
        )

    def _blobs_present(self, old: Node) -> bool:
        has = self.repo.has_blob
        return all(has(c) for c in old.content)

    def _read_content(self, full: bytes, st: os.stat_result) -> tuple[list[bytes], int]:
        # O_NONBLOCK: if the file was replaced by a FIFO since it was listed, opening it
        # must not wait for a writer forever (for a regular file the flag changes nothing).
        flags = (
            os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | getattr(os, "O_NOATIME", 0)
        )
        try:
            fd = os.open(full, flags)
        except PermissionError:
            fd = os.open(full, flags & ~getattr(os, "O_NOATIME", 0))  # not our file
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(
                    errno.EINVAL, _("it is no longer a regular file (replaced while read)")
                )
        except OSError:
            os.close(fd)
            raise
        save: Callable[[BlobType, memoryview | bytes], tuple[bytes, bool]] = self.repo.save_blob
        with os.fdopen(fd, "rb", buffering=0) as f:
            if st.st_size <= self.chunker.min_size:
                data = f.read(self.chunker.min_size + 1)
                if len(data) <= self.chunker.min_size:
                    if not data:
                        return [], 0
                    self.progress.bytes_done(len(data))
                    return [save(BlobType.DATA, data)[0]], len(data)
                f.seek(0)  # it grew while we looked: chunk it like any large file
            content: list[bytes] = []
            size = 0
            for chunk in self.chunker.split_stream(f):
                content.append(save(BlobType.DATA, chunk)[0])
                size += len(chunk)
                self.progress.bytes_done(len(chunk))
            return content, size
