"""Comparing snapshots: exact change sets, statistics, and skipping identical subtrees."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import every_kind_tree

from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.differ import Change, Differ, diff_trees
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot
from cadang.repo.walker import find_node

NEW_TXT = b"a new file\n" * 3
NEW_X = b"inside a new directory\n"
INSIDE = b"the fifo became a directory\n"
REGULAR_V2 = b"hello, changed world -- longer now\n"


def backup(repo: Repository, src: Path) -> Snapshot:
    snap, _ = Archiver(repo).backup(BackupOptions(paths=[str(src)]))
    return snap


def change_tree(src: Path) -> None:
    """Add, remove, modify, chmod and retype entries; keep the touched dirs' mtimes."""
    keep = {d: os.lstat(d).st_mtime_ns for d in (src, src / "nested")}
    (src / "new.txt").write_bytes(NEW_TXT)
    (src / "newdir").mkdir()
    (src / "newdir" / "x").write_bytes(NEW_X)
    (src / "empty").unlink()
    shutil.rmtree(src / "nested" / "deeper")
    (src / "regular.txt").write_bytes(REGULAR_V2)
    os.chmod(src / "big.bin", 0o600)
    (src / "fifo").unlink()
    (src / "fifo").mkdir()
    (src / "fifo" / "inside").write_bytes(INSIDE)
    (src / "link").unlink()
    (src / "link").symlink_to("empty-now-gone")
    for d, ns in keep.items():
        os.utime(d, ns=(ns, ns))
    os.chmod(src / "nested", 0o750)  # metadata only
    os.utime(src / "xattr.txt", ns=(1_600_000_000_000_000_001,) * 2)  # mtime only


EXPECTED = {
    ("+", "/new.txt"),
    ("+", "/newdir"),
    ("+", "/newdir/x"),
    ("-", "/empty"),
    ("-", "/nested/deeper"),
    ("-", "/nested/deeper/deepest.txt"),
    ("M", "/regular.txt"),
    ("U", "/big.bin"),
    ("T", "/fifo"),
    ("+", "/fifo/inside"),
    ("M", "/link"),
    ("U", "/nested"),
    ("U", "/xattr.txt"),
}


@pytest.fixture
def two_snapshots(repo: Repository, tmp_path: Path) -> tuple[Path, Snapshot, Snapshot]:
    src = every_kind_tree(tmp_path / "src").root
    first = backup(repo, src)
    change_tree(src)
    second = backup(repo, src)
    return src, first, second


def subtree(repo: Repository, snap: Snapshot, path: Path) -> bytes:
    node = find_node(repo, snap.tree, str(path))
    assert node is not None and node.subtree is not None
    return node.subtree


def test_diff_of_the_source_tree_is_exactly_the_changes(
    repo: Repository, two_snapshots: tuple[Path, Snapshot, Snapshot]
) -> None:
    src, first, second = two_snapshots
    result = diff_trees(repo, subtree(repo, first, src), subtree(repo, second, src))
    got = [(str(e.change), e.path.decode()) for e in result.entries]
    assert set(got) == EXPECTED
    assert len(got) == len(EXPECTED)
    # path order, a directory before its contents
    paths = [p for _, p in got]
    assert paths.index("/newdir") < paths.index("/newdir/x")
    assert paths.index("/nested/deeper") < paths.index("/nested/deeper/deepest.txt")

    s = result.stats
    assert (s.files_added, s.dirs_added, s.others_added) == (3, 1, 0)
    assert (s.files_removed, s.dirs_removed, s.others_removed) == (2, 1, 0)
    assert (s.files_changed, s.dirs_changed, s.others_changed) == (3, 1, 1)
    assert s.type_changed == 1
    assert s.metadata_only == 3
    assert s.bytes_added == len(NEW_TXT) + len(NEW_X) + len(INSIDE) + len(REGULAR_V2)
    assert s.bytes_removed == len(b"hello, world\n") + len(b"deep down\n")
    assert (s.blobs_added, s.blobs_removed) == (4, 2)


def test_type_change_keeps_both_nodes(
    repo: Repository, two_snapshots: tuple[Path, Snapshot, Snapshot]
) -> None:
    src, first, second = two_snapshots
    result = diff_trees(repo, subtree(repo, first, src), subtree(repo, second, src))
    (t,) = [e for e in result.entries if e.change is Change.TYPE]
    assert t.old is not None and t.new is not None
    assert (str(t.old.type), str(t.new.type)) == ("fifo", "dir")


def test_whole_snapshots_differ_only_above_the_source_by_metadata(
    repo: Repository, two_snapshots: tuple[Path, Snapshot, Snapshot]
) -> None:
    src, first, second = two_snapshots
    prefix = os.fsencode(src)
    entries = list(Differ(repo).diff(first.tree, second.tree))
    under = {
        (str(e.change), e.path[len(prefix) :].decode())
        for e in entries
        if e.path.startswith(prefix + b"/")
    }
    assert under == EXPECTED
    for e in entries:
        if not e.path.startswith(prefix + b"/"):
            # ancestors of the source may have a new mtime (other tests write beside it)
            assert e.change is Change.METADATA and prefix.startswith(e.path), e


def test_same_snapshot_has_no_changes_and_reads_no_tree(
    repo: Repository,
    two_snapshots: tuple[Path, Snapshot, Snapshot],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _src, first, _second = two_snapshots
    loads = count_tree_loads(repo, monkeypatch)
    differ = Differ(repo)
    assert list(differ.diff(first.tree, first.tree)) == []
    assert differ.stats.as_dict() == {k: 0 for k in differ.stats.as_dict()}
    assert loads == []


def count_tree_loads(repo: Repository, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Record every blob the repository loads (the differ loads only trees)."""
    seen: list[bytes] = []
    original = repo.load_blob

    def load_blob(blob_id: bytes, verify: bool = True) -> bytes:
        seen.append(blob_id)
        return original(blob_id, verify)

    monkeypatch.setattr(repo, "load_blob", load_blob)
    return seen


def test_identical_subtrees_are_not_opened(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "wide"
    for i in range(30):
        d = src / f"dir{i:02}" / "inner"
        d.mkdir(parents=True)
        (d / "file").write_bytes(f"file {i}\n".encode())
    first = backup(repo, src)
    target = src / "dir17" / "inner" / "file"
    keep = {d: os.lstat(d).st_mtime_ns for d in (target.parent, target.parent.parent)}
    target.write_bytes(b"changed\n")
    for d, ns in keep.items():
        os.utime(d, ns=(ns, ns))
    second = backup(repo, src)

    old_root, new_root = subtree(repo, first, src), subtree(repo, second, src)
    loads = count_tree_loads(repo, monkeypatch)
    entries = list(Differ(repo).diff(old_root, new_root))
    assert [(str(e.change), e.path) for e in entries] == [("M", b"/dir17/inner/file")]
    # the two roots, dir17 on both sides, inner on both sides: not the other 29 dirs
    assert len(loads) == 6


def test_file_that_becomes_a_directory_lists_removed_and_added_children(
    repo: Repository, tmp_path: Path
) -> None:
    src = tmp_path / "t"
    (src / "d").mkdir(parents=True)
    (src / "d" / "a").write_bytes(b"a\n")
    (src / "f").write_bytes(b"f\n")
    first = backup(repo, src)
    shutil.rmtree(src / "d")
    (src / "d").write_bytes(b"now a file\n")
    (src / "f").unlink()
    (src / "f").mkdir()
    (src / "f" / "b").write_bytes(b"b\n")
    second = backup(repo, src)
    result = diff_trees(repo, subtree(repo, first, src), subtree(repo, second, src))
    got = [(str(e.change), e.path.decode()) for e in result.entries]
    assert got == [("T", "/d"), ("-", "/d/a"), ("T", "/f"), ("+", "/f/b")]
    assert result.stats.type_changed == 2
    assert (result.stats.files_added, result.stats.files_removed) == (1, 1)
