"""A repository in a local directory, which is also how an external disk is used."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator

from cadang.backends.base import FileType
from cadang.errors import (
    BackendError,
    ObjectExistsError,
    ObjectNotFoundError,
    RepositoryExistsError,
    StorageFullError,
    StoragePermissionError,
)
from cadang.i18n import _

_TMP_SUFFIX = ".tmp"


def map_os_error(exc: OSError, what: str) -> BackendError:
    """Turn an OSError into the backend error a user can act on."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFullError(
            _("no space left while writing {what}").format(what=what),
            hint=_(
                "free space on the repository disk, then run the backup again; "
                "the repository is unchanged apart from unreferenced data that prune removes"
            ),
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoragePermissionError(
            _("permission denied for {what}: {reason}").format(what=what, reason=exc.strerror),
            hint=_("check that the repository directory is writable by this user"),
        )
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return ObjectNotFoundError(_("{what} does not exist").format(what=what))
    return BackendError(
        _("cannot access {what}: {reason}").format(what=what, reason=exc.strerror or exc)
    )


class LocalBackend:
    """Files under ``root/<type>/``; packs are spread over 256 sub-folders by name prefix."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)

    def location(self) -> str:
        return self.root

    def _dir(self, ftype: FileType, name: str = "") -> str:
        if ftype is FileType.CONFIG:
            return self.root
        base = os.path.join(self.root, ftype.value)
        if ftype is FileType.PACK and name:
            return os.path.join(base, name[:2])
        return base

    def _path(self, ftype: FileType, name: str) -> str:
        if ftype is FileType.CONFIG:
            return os.path.join(self.root, "config")
        if not name or "/" in name or name.startswith(".") or name.endswith(_TMP_SUFFIX):
            raise BackendError(_("invalid file name {name!r}").format(name=name))
        return os.path.join(self._dir(ftype, name), name)

    def create(self) -> None:
        if os.path.exists(os.path.join(self.root, "config")):
            raise RepositoryExistsError(
                _("a repository already exists at {location}").format(location=self.root)
            )
        if os.path.lexists(self.root) and not os.path.isdir(self.root):
            raise BackendError(
                _("{path} is not a directory").format(path=self.root),
                hint=_("give a new or empty directory"),
            )
        try:
            os.makedirs(self.root, exist_ok=True)
            for ftype in FileType:
                if ftype is not FileType.CONFIG:
                    os.makedirs(os.path.join(self.root, ftype.value), exist_ok=True)
            for i in range(256):
                os.makedirs(os.path.join(self.root, "data", f"{i:02x}"), exist_ok=True)
        except OSError as exc:
            raise map_os_error(
                exc, _("repository directory {path}").format(path=self.root)
            ) from exc

    def save(self, ftype: FileType, name: str, data: bytes) -> None:
        path = self._path(ftype, name)
        if os.path.exists(path):
            raise ObjectExistsError(_("{file} already exists").format(file=f"{ftype.value}/{name}"))
        tmp = f"{path}.{secrets.token_hex(4)}{_TMP_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        try:
            try:
                fd = os.open(tmp, flags, 0o600)
            except FileNotFoundError:
                if ftype is FileType.CONFIG or not os.path.exists(
                    os.path.join(self.root, "config")
                ):
                    raise  # no repository here (an unmounted disk?): never write beside it
                # A copy made by a tool (or git) that drops empty folders lacks some of them.
                os.makedirs(os.path.dirname(path), exist_ok=True)
                fd = os.open(tmp, flags, 0o600)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            # link() refuses to replace an existing file, unlike rename(): a second writer
            # of the same name loses instead of silently replacing the first.
            try:
                os.link(tmp, path)
            except FileExistsError as exc:
                raise ObjectExistsError(
                    _("{file} already exists").format(file=f"{ftype.value}/{name}")
                ) from exc
            finally:
                os.unlink(tmp)
            self._fsync_dir(os.path.dirname(path))
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise map_os_error(exc, f"{ftype.value}/{name}") from exc

    @staticmethod
    def _fsync_dir(path: str) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def load(self, ftype: FileType, name: str, offset: int = 0, length: int | None = None) -> bytes:
        path = self._path(ftype, name)
        try:
            if length is None:
                with open(path, "rb", buffering=0) as f:
                    if offset:
                        f.seek(offset)
                    return f.read()
            # A range read (one blob of a pack) is the restore's hot path: three syscalls.
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                data = os.pread(fd, length, offset)
            finally:
                os.close(fd)
        except OSError as exc:
            raise map_os_error(exc, f"{ftype.value}/{name}") from exc
        if len(data) != length:
            raise BackendError(
                _(
                    "{file} is shorter than expected (wanted {length} bytes at {offset}, "
                    "got {got}); the file is truncated"
                ).format(file=f"{ftype.value}/{name}", length=length, offset=offset, got=len(data))
            )
        return data

    def size(self, ftype: FileType, name: str) -> int:
        try:
            return os.stat(self._path(ftype, name)).st_size
        except OSError as exc:
            raise map_os_error(exc, f"{ftype.value}/{name}") from exc

    def exists(self, ftype: FileType, name: str) -> bool:
        return os.path.exists(self._path(ftype, name))

    def list(self, ftype: FileType) -> Iterator[tuple[str, int]]:
        if ftype is FileType.CONFIG:
            path = os.path.join(self.root, "config")
            if os.path.exists(path):
                yield "config", os.stat(path).st_size
            return
        base = os.path.join(self.root, ftype.value)
        dirs = [base]
        if ftype is FileType.PACK:
            try:
                dirs = [e.path for e in os.scandir(base) if e.is_dir(follow_symlinks=False)]
            except OSError as exc:
                raise map_os_error(exc, base) from exc
        for d in sorted(dirs):
            try:
                entries = list(os.scandir(d))
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise map_os_error(exc, d) from exc
            for entry in entries:
                if entry.name.endswith(_TMP_SUFFIX) or not entry.is_file(follow_symlinks=False):
                    continue
                yield entry.name, entry.stat(follow_symlinks=False).st_size

    def list_temporary(self) -> Iterator[str]:
        """Paths of temporary files a crashed writer left behind."""
        for dirpath, _dirs, files in os.walk(self.root):
            for f in files:
                if f.endswith(_TMP_SUFFIX):
                    yield os.path.join(dirpath, f)

    def remove(self, ftype: FileType, name: str) -> None:
        try:
            os.unlink(self._path(ftype, name))
        except OSError as exc:
            raise map_os_error(exc, f"{ftype.value}/{name}") from exc

    def free_space(self) -> int | None:
        try:
            st = os.statvfs(self.root)
        except OSError:
            return None
        return st.f_bavail * st.f_frsize

    def close(self) -> None:
        pass
