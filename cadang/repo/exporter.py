"""Getting data out without Cadang: a snapshot as a plain tar, one file as a byte stream.

The tar is POSIX.1-2001 (PAX), readable by GNU tar, bsdtar and Python's ``tarfile``:
regular files with their contents, directories, symbolic links, hard links (the second
and later entries of one device+inode are ``LNKTYPE`` members pointing at the first),
FIFOs and device nodes, with mode, uid/gid, user/group names, mtime to the nanosecond
(a PAX ``mtime`` record when it has a fraction) and extended attributes as
``SCHILY.xattr.*`` records (``tar --xattrs`` restores them). Names that are not valid
UTF-8 keep their bytes (a PAX header with ``hdrcharset=BINARY``; GNU tar up to at least 1.34
extracts them right but warns that it ignores that keyword). Sockets cannot be
stored in a tar and are left out with a warning, as GNU tar does.

Nothing is held whole in memory: file contents stream blob by blob from the repository
(a couple of blobs are fetched ahead on a small thread pool) straight into the output,
which may be a pipe.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections import deque
from collections.abc import Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO

from cadang.errors import IntegrityError, PathNotFoundError, UsageError
from cadang.i18n import _
from cadang.repo.progress import NoProgress, Progress
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot
from cadang.repo.tree import Node, NodeType
from cadang.repo.walker import load_tree, split_path

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

COPY_BUFSIZE = 1 << 20
READAHEAD_BLOBS = 3


def _shown(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")


ExportProgress = Progress  # kept for callers that name it


@dataclass
class ExportSummary:
    files: int = 0
    hardlinks: int = 0
    dirs: int = 0
    others: int = 0
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


# --- file contents ------------------------------------------------------------------------


def iter_content(
    repo: Repository,
    node: Node,
    path: bytes,
    pool: ThreadPoolExecutor | None = None,
    readahead: int = READAHEAD_BLOBS,
) -> Generator[bytes, None, None]:
    """The plaintext of a file, blob by blob; checks the total against the recorded size."""
    total = 0
    pending: deque[Future[bytes]] = deque()
    ids = iter(node.content)
    try:
        while True:
            if pool is None:
                blob_id = next(ids, None)
                if blob_id is None:
                    break
                data = repo.load_blob(blob_id)
            else:
                while len(pending) < max(1, readahead):
                    blob_id = next(ids, None)
                    if blob_id is None:
                        break
                    pending.append(pool.submit(repo.load_blob, blob_id))
                if not pending:
                    break
                data = pending.popleft().result()
            total += len(data)
            if total > node.size:
                break
            yield data
    finally:
        for fut in pending:
            fut.cancel()
    if total != node.size:
        raise IntegrityError(
            _("{path}: the snapshot records {size} bytes, but its data holds {n}").format(
                path=_shown(path), size=node.size, n=total
            )
        )


class ContentReader(io.RawIOBase):
    """A read-only file over a stream of blobs: ``read(n)`` returns n bytes until the end.

    Only the blob being read (and the few fetched ahead) is in memory.
    """

    def __init__(
        self, chunks: Generator[bytes, None, None], on_bytes: ExportProgress | None = None
    ) -> None:
        super().__init__()
        self._chunks = chunks
        self._view = memoryview(b"")
        self._eof = False
        self._progress = on_bytes

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        while not self._view:
            if self._eof:
                return False
            data = next(self._chunks, None)
            if data is None:
                self._eof = True
                return False
            self._view = memoryview(data)
            if self._progress is not None:
                self._progress.bytes_done(len(data))
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        out = memoryview(buffer).cast("B")
        if not self._fill():
            return 0
        n = min(len(out), len(self._view))
        out[:n] = self._view[:n]
        self._view = self._view[n:]
        return n

    def read(self, size: int | None = -1) -> bytes:
        parts: list[memoryview] = []
        want = -1 if size is None or size < 0 else size
        while want != 0 and self._fill():
            piece = self._view if want < 0 else self._view[:want]
            self._view = self._view[len(piece) :]
            parts.append(piece)
            if want > 0:
                want -= len(piece)
        return b"".join(parts)

    def close(self) -> None:
        self._chunks.close()
        super().close()


# --- finding a path -----------------------------------------------------------------------


def lookup_path(repo: Repository, snapshot: Snapshot, path: bytes) -> Node | None:
    """The node at ``path`` in the snapshot; None for the root itself."""
    parts = split_path(path)
    tree: bytes | None = snapshot.tree
    node: Node | None = None
    for part in parts:
        found = None
        if tree is not None:
            found = next((n for n in load_tree(repo, tree) if n.name == part), None)
        if found is None:
            raise PathNotFoundError(
                _("{path} is not in snapshot {id}").format(
                    path=_shown(b"/" + b"/".join(parts)), id=snapshot.short_id
                ),
                hint=_("'cadang ls {id}' lists what it holds").format(id=snapshot.short_id),
            )
        node = found
        tree = found.subtree if found.type is NodeType.DIR else None
    return node


# --- tar ----------------------------------------------------------------------------------


class _Sink:
    """Write-only, position-counting wrapper so tarfile can write to a pipe without seeking."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._pos = 0

    def write(self, data: bytes) -> int:
        self._out.write(data)
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        self._out.flush()


def _pax_time(ns: int) -> str:
    sign = "-" if ns < 0 else ""
    sec, frac = divmod(abs(ns), 1_000_000_000)
    return f"{sign}{sec}.{frac:09d}".rstrip("0").rstrip(".")


class _Include:
    """Which paths to write: those equal to, under, or above (their directories) an include."""

    def __init__(self, includes: Iterable[bytes]) -> None:
        self.parts = [split_path(p) for p in includes]

    def wanted(self, parts: list[bytes]) -> bool:
        if not self.parts:
            return True
        return any(inc[: len(parts)] == parts[: len(inc)] for inc in self.parts)

    def whole(self, parts: list[bytes]) -> bool:
        """Under or at an include (not merely one of its parent directories)."""
        return not self.parts or any(parts[: len(inc)] == inc for inc in self.parts)


class TarWriter:
    """Writes snapshot entries as tar members; use as a context manager."""

    def __init__(
        self,
        repo: Repository,
        out: BinaryIO,
        progress: ExportProgress | None = None,
        workers: int = 2,
    ) -> None:
        self.repo = repo
        self.progress: ExportProgress = progress or NoProgress()
        self.summary = ExportSummary()
        self._links: dict[tuple[int, int], str] = {}
        self._sink = _Sink(out)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="export")
        self._tar = tarfile.TarFile(
            fileobj=self._sink,  # type: ignore[arg-type]
            mode="w",
            format=tarfile.PAX_FORMAT,
            encoding="utf-8",
            errors="surrogateescape",
        )
        self._tar.copybufsize = COPY_BUFSIZE  # type: ignore[attr-defined]

    def __enter__(self) -> TarWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if exc_type is None:
            self._tar.close()  # the end-of-archive blocks
            self._sink.flush()

    def add_tree(
        self, tree_id: bytes, name: bytes, parts: list[bytes], include: _Include | None = None
    ) -> None:
        """Write the entries of a tree; ``name`` is their member-name prefix ('' or 'x/')."""
        for node in load_tree(self.repo, tree_id):
            p = [*parts, node.name]
            if include is not None and not include.wanted(p):
                continue
            member = name + node.name
            if include is None or include.whole(p):
                self.add_node(member, node)
            elif node.type is NodeType.DIR:
                self.add_node(member, node)  # a parent of an include: the directory alone
            if node.type is NodeType.DIR and node.subtree is not None:
                self.add_tree(node.subtree, member + b"/", p, include)

    def add_node(self, name: bytes, node: Node) -> None:
        info = tarfile.TarInfo(name.decode("utf-8", "surrogateescape"))
        info.mode = node.mode & 0o7777
        info.uid = node.uid
        info.gid = node.gid
        info.uname = node.user
        info.gname = node.group
        info.mtime = node.mtime_ns // 1_000_000_000
        pax: dict[str, str] = {}
        if node.mtime_ns % 1_000_000_000:
            pax["mtime"] = _pax_time(node.mtime_ns)
        for key, value in node.xattrs:
            try:
                keyword = "SCHILY.xattr." + key.decode("utf-8")
            except UnicodeDecodeError:
                self.summary.warnings.append(
                    _("{path}: extended attribute {name} left out (its name is not UTF-8)").format(
                        path=_shown(name), name=_shown(key)
                    )
                )
                continue
            pax[keyword] = value.decode("utf-8", "surrogateescape")
        info.pax_headers = pax

        if node.type is NodeType.FILE:
            key2 = (node.device, node.inode)
            first = self._links.get(key2) if node.links > 1 else None
            if first is not None:
                info.type = tarfile.LNKTYPE
                info.linkname = first
                # The data and its attributes travel with the first member.
                info.pax_headers = {k: v for k, v in pax.items() if not k.startswith("SCHILY.")}
                self._tar.addfile(info)
                self.summary.hardlinks += 1
            else:
                if node.links > 1:
                    self._links[key2] = info.name
                info.type = tarfile.REGTYPE
                info.size = node.size
                reader = ContentReader(
                    iter_content(self.repo, node, name, self._pool), self.progress
                )
                try:
                    # A short or long file raises IntegrityError from the reader.
                    self._tar.addfile(info, reader)
                    reader.read(1)  # reach the end, where the size is checked
                finally:
                    reader.close()
                self.summary.files += 1
                self.summary.bytes += node.size
            self.progress.file_done(_shown(name), node.size)
        elif node.type is NodeType.DIR:
            info.type = tarfile.DIRTYPE
            info.name += "/"
            self._tar.addfile(info)
            self.summary.dirs += 1
        elif node.type is NodeType.SYMLINK:
            info.type = tarfile.SYMTYPE
            info.linkname = node.target.decode("utf-8", "surrogateescape")
            self._tar.addfile(info)
            self.summary.others += 1
        elif node.type is NodeType.FIFO:
            info.type = tarfile.FIFOTYPE
            self._tar.addfile(info)
            self.summary.others += 1
        elif node.type in (NodeType.CHARDEV, NodeType.BLOCKDEV):
            info.type = tarfile.CHRTYPE if node.type is NodeType.CHARDEV else tarfile.BLKTYPE
            info.devmajor = os.major(node.rdev)
            info.devminor = os.minor(node.rdev)
            self._tar.addfile(info)
            self.summary.others += 1
        else:
            self.summary.warnings.append(
                _("{path}: a socket cannot be stored in a tar; left out").format(path=_shown(name))
            )
        # tarfile keeps every member written; on a big tree that is memory we never use
        self._tar.members.clear()  # type: ignore[attr-defined]


def export_tar(
    repo: Repository,
    snapshot: Snapshot,
    out: BinaryIO,
    includes: Iterable[bytes] = (),
    progress: ExportProgress | None = None,
) -> ExportSummary:
    """The whole snapshot (or the ``includes`` and their parent directories) as a tar.

    Member names are the snapshot paths without the leading '/', so ``tar -x`` in an empty
    directory recreates the layout a restore would.
    """
    include = _Include(includes)
    for parts in include.parts:
        lookup_path(repo, snapshot, b"/" + b"/".join(parts))
    with TarWriter(repo, out, progress) as writer:
        writer.add_tree(snapshot.tree, b"", [], include if include.parts else None)
    return writer.summary


def dump_tar(
    repo: Repository,
    snapshot: Snapshot,
    path: bytes,
    out: BinaryIO,
    progress: ExportProgress | None = None,
) -> ExportSummary:
    """One directory as a tar, named relative to its parent (``dir/``, ``dir/file``...).

    The root of the snapshot is written like :func:`export_tar` writes it.
    """
    node = lookup_path(repo, snapshot, path)
    if node is None:
        return export_tar(repo, snapshot, out, progress=progress)
    if node.type is not NodeType.DIR:
        raise UsageError(
            _("{path} is not a directory").format(path=_shown(path)),
        )
    with TarWriter(repo, out, progress) as writer:
        writer.add_node(node.name, node)
        if node.subtree is not None:
            writer.add_tree(node.subtree, node.name + b"/", [])
    return writer.summary


def dump_file(repo: Repository, node: Node, path: bytes, out: BinaryIO) -> int:
    """Write a file's contents to ``out``; returns the number of bytes."""
    written = 0
    with ThreadPoolExecutor(2, thread_name_prefix="dump") as pool:
        chunks = iter_content(repo, node, path, pool)
        try:
            for data in chunks:
                out.write(data)
                written += len(data)
        finally:
            chunks.close()
    out.flush()
    return written


def dump(
    repo: Repository, snapshot: Snapshot, path: bytes, out: BinaryIO, node: Node | None = None
) -> ExportSummary | int:
    """A file's bytes, or a directory as a tar (like restic dump).

    Returns the tar's summary, or the number of bytes of a file. ``node`` saves looking the
    path up again when the caller has it.
    """
    if node is None:
        node = lookup_path(repo, snapshot, path)
    if node is None or node.type is NodeType.DIR:
        return dump_tar(repo, snapshot, path, out)
    if node.type is NodeType.FILE:
        return dump_file(repo, node, path, out)
    if node.type is NodeType.SYMLINK:
        raise UsageError(
            _("{path} is a symbolic link to {target}, not a file").format(
                path=_shown(path), target=_shown(node.target)
            ),
            hint=_("dump the target instead"),
        )
    kinds = {
        NodeType.FIFO: _("FIFO (named pipe)"),
        NodeType.CHARDEV: _("character device"),
        NodeType.BLOCKDEV: _("block device"),
        NodeType.SOCKET: _("socket"),
    }
    raise UsageError(
        _("{path} is a {kind}: it has no contents to dump").format(
            path=_shown(path), kind=kinds.get(node.type, str(node.type))
        )
    )
