"""Locks: shared and exclusive exclude each other; stale ones are removed by unlock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import reopen

from cadang.backends import FileType
from cadang.errors import LockError
from cadang.repo.locks import STALE_AFTER, Lock, LockInfo, locked, read_locks, unlock
from cadang.repo.repository import Repository

OTHER_HOST = "kpp-other-host.example"


def fabricate_lock(repo: Repository, exclusive: bool = False, **changes: Any) -> str:
    """Write a lock with the real writer, then store it again with edited fields."""
    lock = Lock(repo, exclusive)
    written = lock._write()
    doc = json.loads(repo.load_file(FileType.LOCK, written))
    assert set(changes) <= set(doc)
    doc.update(changes)
    repo.backend.remove(FileType.LOCK, written)
    return repo.save_file(FileType.LOCK, json.dumps(doc).encode())


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def lock_ids(repo: Repository) -> set[str]:
    return set(repo.list_files(FileType.LOCK))


def test_stale_locks_are_removed_and_fresh_foreign_ones_kept(repo: Repository) -> None:
    old = fabricate_lock(repo, hostname=OTHER_HOST, time=time.time() - STALE_AFTER - 60)
    fresh_foreign = fabricate_lock(repo, exclusive=True, hostname=OTHER_HOST)
    dead_here = fabricate_lock(repo, pid=dead_pid())
    alive_here = fabricate_lock(repo, pid=os.getpid())
    unreadable = "cd" * 32
    repo.backend.save(FileType.LOCK, unreadable, b"garbage")

    infos = {i.id: i for i in read_locks(repo) if isinstance(i, LockInfo)}
    assert infos[fresh_foreign].hostname == OTHER_HOST and infos[fresh_foreign].exclusive
    assert infos[dead_here].hostname == socket.gethostname()

    result = unlock(repo)
    removed = {i if isinstance(i, str) else i.id for i in result.removed}
    assert removed == {old, dead_here, unreadable}
    assert {i.id for i in result.kept} == {fresh_foreign, alive_here}
    assert lock_ids(repo) == {fresh_foreign, alive_here}


def test_remove_all_removes_fresh_locks_too(repo: Repository) -> None:
    fabricate_lock(repo, hostname=OTHER_HOST)
    fabricate_lock(repo, exclusive=True)
    result = unlock(repo, remove_all=True)
    assert len(result.removed) == 2 and not result.kept
    assert lock_ids(repo) == set()


@pytest.mark.parametrize(
    ("held", "wanted"), [(False, True), (True, False), (True, True)], ids=["s-x", "x-s", "x-x"]
)
def test_conflicting_locks_refuse(
    repo: Repository, repo_path: Path, held: bool, wanted: bool
) -> None:
    other = reopen(repo_path)
    try:
        with locked(repo, exclusive=held):
            with pytest.raises(LockError, match="locked") as exc:
                Lock(other, wanted).acquire()
            assert exc.value.exit_code == 11
        # The refused taker left no lock behind, and once released the lock can be taken.
        assert lock_ids(repo) == set()
        with locked(other, exclusive=wanted):
            assert len(lock_ids(repo)) == 1
    finally:
        other.close()


def test_two_shared_locks_coexist(repo: Repository, repo_path: Path) -> None:
    other = reopen(repo_path)
    try:
        with locked(repo), locked(other):
            assert len(lock_ids(repo)) == 2
        assert lock_ids(repo) == set()
    finally:
        other.close()


def test_a_stale_lock_does_not_block(repo: Repository) -> None:
    fabricate_lock(repo, exclusive=True, hostname=OTHER_HOST, time=time.time() - STALE_AFTER - 1)
    fabricate_lock(repo, exclusive=True, pid=dead_pid())
    with locked(repo, exclusive=True) as lock:
        assert lock.name in lock_ids(repo)


def test_a_backup_whose_lock_was_removed_commits_nothing(repo: Repository, tmp_path: Path) -> None:
    """unlock --remove-all (or a long stall) during a backup: a prune may have run, so the
    backup must not write a snapshot that could point at deleted data."""
    from cadang.repo.archiver import Archiver, BackupOptions

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "f").write_bytes(b"x" * 1000)
    with locked(repo) as lock:
        assert lock.name is not None
        repo.backend.remove(FileType.LOCK, lock.name)
        with pytest.raises(LockError, match="removed while it ran"):
            Archiver(repo).backup(BackupOptions(paths=[str(tmp_path / "data")]))
    assert list(repo.backend.list(FileType.SNAPSHOT)) == []
    assert repo.held_lock is None
    # With a lock held throughout, the same backup commits.
    with locked(repo):
        snap, _ = Archiver(repo).backup(BackupOptions(paths=[str(tmp_path / "data")]))
    assert [n for n, _ in repo.backend.list(FileType.SNAPSHOT)] == [snap.id]


def test_refresh_notices_a_removed_lock_instead_of_writing_a_new_one(repo: Repository) -> None:
    lock = Lock(repo, exclusive=False)
    lock.acquire()
    try:
        assert lock.name is not None
        repo.backend.remove(FileType.LOCK, lock.name)
        lock._stop.set()  # stop the background thread; drive one refresh by hand
        assert lock._thread is not None
        lock._thread.join()
        lock._stop.clear()
        import cadang.repo.locks as locks_module

        original = locks_module.REFRESH_EVERY
        locks_module.REFRESH_EVERY = 0.0
        try:
            lock._refresh_loop()
        finally:
            locks_module.REFRESH_EVERY = original
        assert lock.lost
        assert list(repo.backend.list(FileType.LOCK)) == []  # no new lock hides the gap
        with pytest.raises(LockError):
            lock.ensure_held()
    finally:
        lock.release()
