"""An in-memory backend for unit tests; named instances live for the process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import ClassVar

from cadang.backends.base import FileType
from cadang.errors import (
    BackendError,
    ObjectExistsError,
    ObjectNotFoundError,
    RepositoryExistsError,
)
from cadang.i18n import _


class MemoryBackend:
    _named: ClassVar[dict[str, MemoryBackend]] = {}

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.files: dict[tuple[FileType, str], bytes] = {}
        self._lock = threading.Lock()

    @classmethod
    def named(cls, name: str) -> MemoryBackend:
        if name not in cls._named:
            cls._named[name] = cls(name)
        return cls._named[name]

    def location(self) -> str:
        return f"mem:{self.name}"

    def create(self) -> None:
        if (FileType.CONFIG, "config") in self.files:
            raise RepositoryExistsError(
                _("a repository already exists at {location}").format(location=self.location())
            )

    def save(self, ftype: FileType, name: str, data: bytes) -> None:
        with self._lock:
            if (ftype, name) in self.files:
                raise ObjectExistsError(
                    _("{file} already exists").format(file=f"{ftype.value}/{name}")
                )
            self.files[(ftype, name)] = bytes(data)

    def _get(self, ftype: FileType, name: str) -> bytes:
        try:
            return self.files[(ftype, name)]
        except KeyError:
            raise ObjectNotFoundError(
                _("{what} does not exist").format(what=f"{ftype.value}/{name}")
            ) from None

    def load(self, ftype: FileType, name: str, offset: int = 0, length: int | None = None) -> bytes:
        data = self._get(ftype, name)
        end = len(data) if length is None else offset + length
        if end > len(data):
            raise BackendError(
                _(
                    "{file} is shorter than expected (wanted {length} bytes at {offset}, "
                    "got {got}); the file is truncated"
                ).format(
                    file=f"{ftype.value}/{name}",
                    length=length,
                    offset=offset,
                    got=max(0, len(data) - offset),
                )
            )
        return data[offset:end]

    def size(self, ftype: FileType, name: str) -> int:
        return len(self._get(ftype, name))

    def exists(self, ftype: FileType, name: str) -> bool:
        return (ftype, name) in self.files

    def list(self, ftype: FileType) -> Iterator[tuple[str, int]]:
        with self._lock:
            items = [(n, len(d)) for (t, n), d in self.files.items() if t is ftype]
        yield from items

    def remove(self, ftype: FileType, name: str) -> None:
        with self._lock:
            if self.files.pop((ftype, name), None) is None:
                raise ObjectNotFoundError(
                    _("{what} does not exist").format(what=f"{ftype.value}/{name}")
                )

    def free_space(self) -> int | None:
        return None

    def close(self) -> None:
        pass
