"""Network and storage checks on real repositories: present, absent, full, read-only."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import IS_ROOT, make_tree

from cadang.backends.local import LocalBackend
from cadang.checks.base import Result
from cadang.checks.network import NetworkCheck
from cadang.checks.storage import StorageCheck, write_probe
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.keys import TEST_KDF
from cadang.repo.repository import Repository

MiB = 1024 * 1024


def init_repo(path: Path) -> Path:
    Repository.init(LocalBackend(str(path)), "pw", TEST_KDF).close()
    return path


@pytest.fixture
def tmpfs() -> Iterator[Callable[[int], Path]]:
    """Mount small real tmpfs file systems (root only); unmounted at the end."""
    if not IS_ROOT:
        pytest.skip("mounting a tmpfs needs root")
    mounted: list[Path] = []

    def mount(size_mib: int) -> Path:
        where = Path(tempfile.mkdtemp(prefix="cadang-tmpfs-"))
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            where.rmdir()
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(where)
        return where

    try:
        yield mount
    finally:
        for where in reversed(mounted):
            subprocess.run(["umount", "-l", str(where)], check=False)
            where.rmdir()


# --- network --------------------------------------------------------------------------------


def test_local_repository_latency(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    rec = NetworkCheck("main", str(repo)).run()
    assert rec.result is Result.PASSED, rec.summary
    assert rec.kind == "network" and rec.repository == "main"
    assert rec.details["latency_ms"] > 0
    assert rec.details["config_found"] and rec.details["config_bytes"] > 0
    assert "ms" in rec.summary
    assert os.path.ismount(rec.details["mounted_on"])
    assert "throughput_mib_s" not in rec.details  # a local disk: no throughput probe


def test_throughput_probe(tmp_path: Path) -> None:
    repo_path = tmp_path / "repo"
    repo = Repository.init(LocalBackend(str(repo_path)), "pw", TEST_KDF)
    try:
        src = make_tree(tmp_path / "src", {"big.bin": os.urandom(3 * MiB)})
        Archiver(repo).backup(BackupOptions(paths=[str(src)]))
    finally:
        repo.close()
    rec = NetworkCheck("main", str(repo_path), throughput=True).run()
    assert rec.result is Result.PASSED
    assert rec.details["throughput_bytes"] > 0
    assert rec.details["throughput_mib_s"] > 0
    assert "MiB/s" in rec.summary


def test_slow_repository_is_a_warning(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    rec = NetworkCheck("main", str(repo), max_latency_ms=1e-6).run()
    assert rec.result is Result.WARNING and "slower than" in rec.summary


def test_absent_repository_fails_but_absent_copy_warns(tmp_path: Path) -> None:
    gone = str(tmp_path / "media" / "external")
    rec = NetworkCheck("main", gone).run()
    assert rec.result is Result.FAILED and rec.escalate
    assert gone in rec.summary
    rec = NetworkCheck("external-disk", gone, is_copy=True).run()
    assert rec.result is Result.WARNING and not rec.escalate
    assert "copy will be skipped" in rec.summary
    # A mount point without its disk: the folder is there, the repository is not.
    empty = tmp_path / "mnt"
    empty.mkdir()
    rec = NetworkCheck("main", str(empty)).run()
    assert rec.result is Result.FAILED and "no repository" in rec.summary
    assert NetworkCheck("x", str(empty), is_copy=True).run().result is Result.WARNING


# --- storage --------------------------------------------------------------------------------


def test_free_space_without_history_passes(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    rec = StorageCheck("main", str(repo), expected=None).run()
    assert rec.result is Result.PASSED, rec.summary
    assert rec.details["free_bytes"] > 0 and rec.details["writable"]
    assert "no earlier run" in rec.summary
    assert not [n for n in os.listdir(repo) if n.startswith(".cadang-check")]


def test_margin_against_the_last_run(tmpfs: Callable[[int], Path]) -> None:
    repo = init_repo(tmpfs(8) / "repo")
    free = LocalBackend(str(repo)).free_space()
    assert free is not None and 7 * MiB < free <= 8 * MiB

    def result(expected: int) -> Result:
        return StorageCheck("main", str(repo), expected=expected, margin=2.0).run().result

    assert result(3 * MiB) is Result.PASSED  # 6 MiB wanted
    assert result(5 * MiB) is Result.WARNING  # 10 MiB wanted, 5 needed
    rec = StorageCheck("main", str(repo), expected=9 * MiB, margin=2.0).run()
    assert rec.result is Result.FAILED and "not enough" in rec.summary
    assert rec.details["wanted_bytes"] == 18 * MiB


def test_full_repository_fails(tmpfs: Callable[[int], Path]) -> None:
    repo = init_repo(tmpfs(2) / "repo")
    with open(repo / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    rec = StorageCheck("main", str(repo), expected=None).run()
    assert rec.result is Result.FAILED and rec.escalate
    assert "no space left" in rec.summary or "full" in rec.summary


def test_read_only_repository_fails(tmpfs: Callable[[int], Path]) -> None:
    where = tmpfs(4)
    repo = init_repo(where / "repo")
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
    assert write_probe(str(repo)) == "the file system is mounted read-only"
    rec = StorageCheck("main", str(repo), expected=None).run()
    assert rec.result is Result.FAILED
    assert "cannot be written" in rec.summary and "read-only" in rec.summary


@pytest.mark.skipif(IS_ROOT, reason="permissions do not stop root (the tmpfs test covers it)")
def test_unwritable_repository_fails(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    os.chmod(repo, 0o555)
    try:
        rec = StorageCheck("main", str(repo), expected=None).run()
    finally:
        os.chmod(repo, 0o700)
    assert rec.result is Result.FAILED and "permission denied" in rec.summary


def test_absent_repository(tmp_path: Path) -> None:
    gone = str(tmp_path / "gone")
    assert StorageCheck("main", gone, expected=None).run().result is Result.FAILED
    assert StorageCheck("x", gone, expected=None, is_copy=True).run().result is Result.SKIPPED
