"""A repository written by format version 1, frozen in tests/fixtures, must stay readable.

If this test fails after a change, the change broke the on-disk format: either keep
reading version 1 or bump the format version and write a migration (docs/FORMAT.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cadang.backends.local import LocalBackend
from cadang.repo.checker import Checker, open_for_check
from cadang.repo.repository import Repository
from cadang.repo.restorer import Restorer
from cadang.repo.snapshot import find_snapshot

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "repo-v1"
SNAPSHOT_ID = "665197e2ea14886dc53a41b9a248729b1f851e1e3f7bdc75bfd0442f31a694e3"
MTIME_NS = 1767323045 * 10**9  # 2026-01-02 03:04:05 UTC


def _copy(tmp_path: Path) -> LocalBackend:
    copy = tmp_path / "repo"
    shutil.copytree(FIXTURE, copy)  # tests write locks; the fixture stays untouched
    return LocalBackend(str(copy))


def _open(tmp_path: Path) -> Repository:
    return Repository.open(_copy(tmp_path), "fixture-passphrase")


def test_version_1_repository_restores_byte_identical(tmp_path: Path) -> None:
    repo = _open(tmp_path)
    snap = find_snapshot(repo, "fixture-v1")
    assert snap.id == SNAPSHOT_ID
    assert snap.hostname == "fixture-host" and snap.tags == ["harian"]
    summary = Restorer(repo).restore(snap, str(tmp_path / "out"))
    assert summary.errors == []
    letters = tmp_path / "out" / "tmp" / "fx" / "letters"
    assert (letters / "surat-001.txt").read_bytes() == b"Surat dinas nomor 001/2026\n"
    assert (letters / "scan.pdf").read_bytes() == bytes((i * 7919) % 251 for i in range(600000))
    assert (letters / "latest.txt").readlink() == Path("surat-001.txt")
    assert (letters / "surat-001.txt").stat().st_mtime_ns == MTIME_NS


def test_version_1_repository_checks_clean(tmp_path: Path) -> None:
    backend = _copy(tmp_path)
    config = Repository.read_config(backend)
    assert config.version == 1
    result = Checker(open_for_check(backend, "fixture-passphrase", config)).check(read_data=True)
    assert result.errors == []
    assert result.checked.get("snapshots") == 1


def test_version_1_repository_takes_new_backups(tmp_path: Path) -> None:
    """The fixture has no empty folders (git keeps none); writing recreates them."""
    from cadang.repo.archiver import Archiver, BackupOptions
    from cadang.repo.locks import locked

    repo = _open(tmp_path)
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "a.txt").write_text("baru")
    with locked(repo):
        snap, _ = Archiver(repo).backup(BackupOptions(paths=[str(tmp_path / "new")]))
    summary = Restorer(repo).restore(snap, str(tmp_path / "out"))
    assert summary.errors == [] and summary.files == 1
