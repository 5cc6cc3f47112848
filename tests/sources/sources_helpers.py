"""Helpers for the source tests: back up a Source through the engine, watch the local disk."""

from __future__ import annotations

import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cadang.backends import FileType
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot
from cadang.repo.streams import SnapshotStreamReader
from cadang.sources.base import Source


def backup(repo: Repository, source: Source) -> Snapshot:
    """What ``cadang run`` does for one source: its spec, through the Archiver."""
    spec = source.backup_spec()
    snap, _summary = Archiver(repo).backup(
        BackupOptions(
            paths=spec.paths,
            excludes=spec.excludes,
            one_file_system=spec.one_file_system,
            streams=spec.streams,
            tags=[f"source={source.name}"],
            label=f"test-{source.name}",
        )
    )
    return snap


def private_tmp(monkeypatch: pytest.MonkeyPatch, base: Path) -> Path:
    """A fresh temporary folder for this process (tempfile) and every tool it starts (TMPDIR)."""
    tmp = base / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def reader(repo: Repository, snap: Snapshot) -> SnapshotStreamReader:
    return SnapshotStreamReader(repo, snap)


def snapshot_count(repo: Repository) -> int:
    return len(list(repo.backend.list(FileType.SNAPSHOT)))


class DiskWatch:
    """Polls folders in a thread and remembers every regular file that appeared in them.

    Used to show that a backup streams: no dump file is written to the temporary folder or
    the current directory, not even for a moment (named pipes are not files and are allowed).
    """

    def __init__(self, *folders: Path) -> None:
        self.folders = folders
        self.before = {p for f in folders for p in self._files(f)}
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _files(folder: Path) -> set[str]:
        out = set()
        for dirpath, _dirs, files in os.walk(folder):
            for name in files:
                p = os.path.join(dirpath, name)
                try:
                    if stat.S_ISREG(os.lstat(p).st_mode):
                        out.add(p)
                except FileNotFoundError:
                    pass
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            for f in self.folders:
                self.seen |= self._files(f)
            self._stop.wait(0.005)

    def new_files(self) -> set[str]:
        return self.seen - self.before


@contextmanager
def watch_disk(*folders: Path) -> Iterator[DiskWatch]:
    w = DiskWatch(*folders)
    w._thread.start()
    try:
        yield w
    finally:
        w._stop.set()
        w._thread.join()
        for f in folders:
            w.seen |= w._files(f)
