"""A full repository disk: the backup fails clearly, nothing is half-written, and the next
backup works once there is space again.

Two variants: a backend whose ``save`` fails with ENOSPC after a byte budget (at every
point in the backup's sequence of writes), and a real small tmpfs (needs root and mount).
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import (
    IS_ROOT,
    TEST_PASSWORD,
    CliResult,
    assert_trees_equal,
    make_tree,
    reopen,
    restored_path,
)

from cadang.backends import FileType
from cadang.backends.local import LocalBackend, map_os_error
from cadang.errors import StorageFullError
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.keys import TEST_KDF
from cadang.repo.repository import Repository
from cadang.repo.restorer import Restorer
from cadang.repo.snapshot import load_all
from cadang.repo.walker import walk


class FillingDisk(LocalBackend):
    """A LocalBackend on a disk that holds only ``budget`` more bytes (None: unlimited)."""

    def __init__(self, root: str, budget: int | None = None) -> None:
        super().__init__(root)
        self.budget = budget
        self.saves: list[tuple[FileType, int]] = []

    def save(self, ftype: FileType, name: str, data: bytes) -> None:
        if self.budget is not None:
            if len(data) > self.budget:
                enospc = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                raise map_os_error(enospc, f"{ftype.value}/{name}")
            self.budget -= len(data)
        super().save(ftype, name, data)
        self.saves.append((ftype, len(data)))


def backup(repo: Repository, *paths: Path) -> None:
    _, summary = Archiver(repo).backup(BackupOptions(paths=[str(p) for p in paths]))
    assert summary.errors == []


def assert_consistent(repo_path: Path) -> None:
    """What a crash or a full disk may leave: unreferenced packs, never dangling references."""
    backend = LocalBackend(str(repo_path))
    assert list(backend.list_temporary()) == []
    repo = reopen(repo_path)
    for pack in repo.index.packs():
        assert backend.exists(FileType.PACK, pack)
    for snap in load_all(repo):
        for _path, node in walk(repo, snap.tree):
            for blob in node.content:
                assert repo.has_blob(blob)


@pytest.fixture
def trees(tmp_path: Path) -> tuple[Path, Path]:
    first = make_tree(tmp_path / "first", {"small": b"small file", "d": {"x": b"x" * 5000}})
    second = make_tree(
        tmp_path / "second",
        {"big": os.urandom(3_000_000), "text": b"SELECT 1;\n" * 50_000, "e": {"y": b"y"}},
    )
    return first, second


def write_sequence(tmp_path: Path, trees: tuple[Path, Path]) -> list[tuple[FileType, int]]:
    """The writes of the second backup, measured on an unlimited disk."""
    disk = FillingDisk(str(tmp_path / "measure"))
    repo = Repository.init(disk, TEST_PASSWORD, TEST_KDF)
    backup(repo, trees[0])
    disk.saves.clear()
    backup(repo, trees[1])
    repo.close()
    return list(disk.saves)


def test_full_disk_at_every_write(tmp_path: Path, trees: tuple[Path, Path]) -> None:
    writes = write_sequence(tmp_path, trees)
    kinds = [t for t, _ in writes]
    assert FileType.PACK in kinds and FileType.INDEX in kinds and kinds[-1] is FileType.SNAPSHOT
    used = 0
    for k, (ftype, size) in enumerate(writes):
        where = tmp_path / f"repo-{k}"
        disk = FillingDisk(str(where))
        repo = Repository.init(disk, TEST_PASSWORD, TEST_KDF)
        backup(repo, trees[0])
        first_snapshots = [n for n, _ in disk.list(FileType.SNAPSHOT)]
        repo.close()

        # The disk fills up in the middle of write number k.
        disk = FillingDisk(str(where), budget=used + size // 2)
        repo = Repository.open(disk, TEST_PASSWORD)
        with pytest.raises(StorageFullError, match="no space left") as info:
            backup(repo, trees[1])
        assert info.value.hint and "free space" in info.value.hint
        repo.close()
        assert [n for n, _ in disk.list(FileType.SNAPSHOT)] == first_snapshots, ftype
        assert_consistent(where)

        # The earlier snapshot still restores.
        again = reopen(where)
        (snap,) = load_all(again)
        target = tmp_path / f"restore-{k}"
        assert Restorer(again).restore(snap, str(target)).errors == []
        assert_trees_equal(trees[0], restored_path(target, trees[0]))

        # Space is freed: the next backup works and restores.
        backup(reopen(where), trees[1])
        final = reopen(where)
        snaps = load_all(final)
        assert len(snaps) == 2
        target = tmp_path / f"restore-{k}-after"
        assert Restorer(final).restore(snaps[-1], str(target)).errors == []
        assert_trees_equal(trees[1], restored_path(target, trees[1]))
        assert_consistent(where)
        used += size


def test_same_repository_object_backs_up_after_space_is_freed(
    tmp_path: Path, trees: tuple[Path, Path]
) -> None:
    """A long-running process (the server) keeps its Repository after a failed backup."""
    disk = FillingDisk(str(tmp_path / "repo"))
    repo = Repository.init(disk, TEST_PASSWORD, TEST_KDF)
    backup(repo, trees[0])
    disk.budget = 1_000_000  # fills up in the middle of the 3 MB file's pack
    with pytest.raises(StorageFullError):
        backup(repo, trees[1])
    disk.budget = None
    backup(repo, trees[1])
    repo.close()
    assert_consistent(tmp_path / "repo")
    final = reopen(tmp_path / "repo")
    snaps = load_all(final)
    assert len(snaps) == 2
    target = tmp_path / "restore"
    assert Restorer(final).restore(snaps[-1], str(target)).errors == []
    assert_trees_equal(trees[1], restored_path(target, trees[1]))


def test_full_disk_through_the_cli(
    tmp_path: Path,
    trees: tuple[Path, Path],
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo_path = tmp_path / "repo"
    assert cli("init", "--repo", repo_path).code == 0
    assert cli("backup", "--repo", repo_path, trees[0]).code == 0
    disk = FillingDisk(str(repo_path), budget=1_000_000)
    monkeypatch.setattr("cadang.cli.common.open_backend", lambda location: disk)
    r = cli("backup", "--repo", repo_path, trees[1])
    assert r.code != 0 and r.code != 3
    assert "no space left" in r.err
    assert "free space" in r.err  # the hint says what to do
    assert "Traceback" not in r.err
    disk.budget = None
    r = cli("snapshots", "--repo", repo_path, "--json")
    assert r.code == 0 and r.out.count('"short_id"') == 1
    r = cli("backup", "--repo", repo_path, trees[1])
    assert r.code == 0, r.err
    r = cli("restore", "--repo", repo_path, "latest", "--target", tmp_path / "out")
    assert r.code == 0, r.err
    assert_trees_equal(trees[1], restored_path(tmp_path / "out", trees[1]))


# --- a real small filesystem -----------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 12 MiB tmpfs mounted at tmp_path/disk; skipped where mounting is not permitted."""
    if not IS_ROOT:
        pytest.skip("mounting a small tmpfs needs root")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"mount is not permitted here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_real_full_disk(
    small_disk: Path, tmp_path: Path, trees: tuple[Path, Path], cli: Callable[..., CliResult]
) -> None:
    repo_path = small_disk / "repo"
    assert cli("init", "--repo", repo_path).code == 0
    assert cli("backup", "--repo", repo_path, trees[0]).code == 0
    # Leave about 1 MiB free: the 3 MB file cannot fit.
    ballast = small_disk / "ballast"
    st = os.statvfs(small_disk)
    ballast.write_bytes(b"\0" * (st.f_bavail * st.f_frsize - 1024 * 1024))

    r = cli("backup", "--repo", repo_path, trees[1])
    assert r.code == 1, r.err
    assert "no space left" in r.err and "Traceback" not in r.err
    r = cli("snapshots", "--repo", repo_path, "--json")
    assert r.code == 0 and r.out.count('"short_id"') == 1
    assert_consistent(repo_path)
    r = cli("restore", "--repo", repo_path, "latest", "--target", tmp_path / "out1")
    assert r.code == 0, r.err
    assert_trees_equal(trees[0], restored_path(tmp_path / "out1", trees[0]))

    ballast.unlink()
    r = cli("backup", "--repo", repo_path, trees[1])
    assert r.code == 0, r.err
    r = cli("restore", "--repo", repo_path, "latest", "--target", tmp_path / "out2")
    assert r.code == 0, r.err
    assert_trees_equal(trees[1], restored_path(tmp_path / "out2", trees[1]))
    assert_consistent(repo_path)
