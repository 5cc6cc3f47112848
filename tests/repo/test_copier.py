"""Copying snapshots to a second repository: shared ids and independent secrets."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Symlink, make_tree, reopen, restored_path, tree_listing

from cadang.backends.local import LocalBackend
from cadang.errors import SnapshotNotFoundError, UsageError
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.copier import Copier, select_snapshots
from cadang.repo.keys import TEST_KDF
from cadang.repo.repository import Repository
from cadang.repo.restorer import Restorer
from cadang.repo.snapshot import Snapshot, load_all
from cadang.repo.walker import find_node

MiB = 1024 * 1024
DST_PASSWORD = "external disk passphrase"
BIG = 3 * MiB + 4321


def data_tree(root: Path) -> Path:
    rnd = random.Random(20240601)
    return make_tree(
        root,
        {
            "big.bin": rnd.randbytes(BIG),
            "small.txt": "hello\n",
            "sub": {
                "notes.txt": "notes of the day\n" * 500,
                "deeper": {"empty": b""},
                "link": Symlink("../small.txt"),
            },
        },
    )


def backup(repo: Repository, data: Path, label: str = "") -> Snapshot:
    snap, _summary = Archiver(repo).backup(
        BackupOptions(paths=[str(data)], tags=["harian"], label=label)
    )
    return snap


def restore(repo: Repository, snap: Snapshot, target: Path) -> dict[bytes, tuple[str, bytes]]:
    summary = Restorer(repo).restore(snap, str(target))
    assert not summary.errors
    return tree_listing(target)


def blob_ids(path: Path, password: str) -> set[bytes]:
    r = reopen(path, password)
    try:
        return {e.id for e in r.index.entries()}
    finally:
        r.close()


@pytest.fixture(params=["shared", "independent"])
def dst_path(request: pytest.FixtureRequest, repo: Repository, tmp_path: Path) -> Path:
    """A destination made like `init --copy-chunker-params-from` or with its own secrets."""
    path = tmp_path / "dst"
    master = repo.master.with_new_encryption_key() if request.param == "shared" else None
    Repository.init(LocalBackend(str(path)), DST_PASSWORD, TEST_KDF, master=master).close()
    return path


@pytest.fixture
def dst(dst_path: Path) -> Iterator[Repository]:
    r = reopen(dst_path, DST_PASSWORD)
    try:
        yield r
    finally:
        r.close()


def test_copy_restores_byte_identical_and_skips_what_is_there(
    repo: Repository, repo_path: Path, dst: Repository, dst_path: Path, tmp_path: Path
) -> None:
    data = data_tree(tmp_path / "data")
    snap1 = backup(repo, data, label="first")
    big = find_node(repo, snap1.tree, str(data / "big.bin"))
    assert big is not None and len(big.content) > 1  # the big file is really multi-chunk

    copier = Copier(repo, dst)
    assert copier.shared_ids == (dst.master.id_key == repo.master.id_key)
    [result] = copier.copy([snap1])
    assert not result.skipped and result.blobs_added > 0 and result.bytes_added > BIG // 2

    # The copy is in the destination, readable by a new process, with the source's metadata.
    fresh = reopen(dst_path, DST_PASSWORD)
    try:
        [copied] = load_all(fresh)
        assert copied.id == result.copy_id != snap1.id
        assert copied.original == snap1.id
        assert (copied.time, copied.paths, copied.hostname) == (
            snap1.time,
            snap1.paths,
            snap1.hostname,
        )
        assert (copied.tags, copied.label, copied.summary) == (
            snap1.tags,
            snap1.label,
            snap1.summary,
        )
        from_src = restore(repo, snap1, tmp_path / "r-src")
        from_dst = restore(fresh, copied, tmp_path / "r-dst")
    finally:
        fresh.close()
    assert from_dst == from_src
    assert tree_listing(restored_path(tmp_path / "r-dst", data)) == tree_listing(data)
    assert (
        os.lstat(restored_path(tmp_path / "r-dst", data / "big.bin")).st_mtime_ns
        == os.lstat(data / "big.bin").st_mtime_ns
    )

    src_ids = blob_ids(repo_path, "correct horse battery staple")
    dst_ids = blob_ids(dst_path, DST_PASSWORD)
    if copier.shared_ids:
        assert dst_ids == src_ids  # same ids, nothing rewritten
    else:
        assert not dst_ids & src_ids and len(dst_ids) == len(src_ids)
    full_copy = len(dst_ids)

    # A second run skips the snapshot and adds nothing.
    again_dst = reopen(dst_path, DST_PASSWORD)
    try:
        [again] = Copier(repo, again_dst).copy(load_all(repo))
    finally:
        again_dst.close()
    assert again.skipped and again.copy_id == copied.id
    assert (again.blobs_added, again.bytes_added) == (0, 0)
    assert len(blob_ids(dst_path, DST_PASSWORD)) == full_copy

    # After a second backup, copying adds only what changed.
    (data / "small.txt").write_text("hello, changed and longer\n")
    (data / "sub" / "new.txt").write_text("a new file\n")
    snap2 = backup(repo, data, label="second")
    dst2 = reopen(dst_path, DST_PASSWORD)
    try:
        results = Copier(repo, dst2).copy(load_all(repo))
        assert [r.skipped for r in results] == [True, False]
        added = results[1]
        assert 0 < added.blobs_added < full_copy
        assert added.bytes_added < BIG // 4  # the big file was not stored again
        copy2 = next(s for s in load_all(dst2) if s.original == snap2.id)
        assert restore(dst2, copy2, tmp_path / "r2-dst") == restore(
            repo, snap2, tmp_path / "r2-src"
        )
    finally:
        dst2.close()
    assert len(blob_ids(dst_path, DST_PASSWORD)) == full_copy + added.blobs_added
    assert len(blob_ids(dst_path, DST_PASSWORD)) < 2 * full_copy


def test_copies_of_copies_are_recognised(repo: Repository, tmp_path: Path) -> None:
    data = data_tree(tmp_path / "data")
    snap = backup(repo, data)
    a_path, b_path = tmp_path / "a", tmp_path / "b"
    a = Repository.init(LocalBackend(str(a_path)), "a", TEST_KDF)
    b = Repository.init(LocalBackend(str(b_path)), "b", TEST_KDF)
    try:
        [to_a] = Copier(repo, a).copy([snap])
        [a_snap] = load_all(a)
        [to_b] = Copier(a, b).copy([a_snap])  # a copy of a copy keeps the first original
        [b_snap] = load_all(b)
        assert b_snap.original == snap.id
        assert not to_a.skipped and not to_b.skipped
        # The source snapshot is already in b (through a), and a's copy is already in repo.
        [direct] = Copier(repo, b).copy([snap])
        assert direct.skipped and direct.copy_id == b_snap.id
        [back] = Copier(a, repo).copy([a_snap])
        assert back.skipped and back.copy_id == snap.id
        assert len(load_all(b)) == 1 and len(load_all(repo)) == 1
    finally:
        a.close()
        b.close()


def test_select_snapshots_by_latest_prefix_and_label(repo: Repository, tmp_path: Path) -> None:
    data = data_tree(tmp_path / "data")
    s1 = backup(repo, data, label="senin")
    (data / "small.txt").write_text("changed")
    s2 = backup(repo, data, label="selasa")
    assert [s.id for s in select_snapshots(repo, [])] == [s1.id, s2.id]
    assert [s.id for s in select_snapshots(repo, ["latest"])] == [s2.id]
    assert [s.id for s in select_snapshots(repo, ["senin"])] == [s1.id]
    # Named twice (by label, prefix and 'latest'): copied once, oldest first.
    picked = select_snapshots(repo, ["latest", s1.id[:10], "selasa"])
    assert [s.id for s in picked] == [s1.id, s2.id]
    with pytest.raises(SnapshotNotFoundError):
        select_snapshots(repo, ["rabu"])


def test_copy_into_the_same_repository_is_refused(repo: Repository, repo_path: Path) -> None:
    same = reopen(repo_path)
    try:
        with pytest.raises(UsageError, match="same repository"):
            Copier(repo, same)
    finally:
        same.close()
