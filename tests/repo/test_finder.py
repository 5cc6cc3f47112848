"""Finding entries by glob across snapshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import NON_UTF8_NAME, every_kind_tree

from cadang.errors import UsageError
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.finder import Finder, Pattern, find
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot


def backup(repo: Repository, src: Path) -> Snapshot:
    snap, _ = Archiver(repo).backup(BackupOptions(paths=[str(src)]))
    return snap


@pytest.fixture
def snaps(repo: Repository, tmp_path: Path) -> tuple[bytes, Snapshot, Snapshot]:
    src = every_kind_tree(tmp_path / "src").root
    first = backup(repo, src)
    (src / "nested" / "later.txt").write_bytes(b"only in the second snapshot\n")
    (src / "regular.txt").unlink()
    second = backup(repo, src)
    return os.fsencode(src), first, second


def found(
    repo: Repository, snapshots: list[Snapshot], pattern: str, prefix: bytes, **kw: bool
) -> set[tuple[str, bytes]]:
    return {
        (m.snapshot.id, m.path[len(prefix) :])
        for m in find(repo, snapshots, pattern, **kw)
        if m.path.startswith(prefix + b"/")
    }


def test_name_glob_in_both_snapshots(
    repo: Repository, snaps: tuple[bytes, Snapshot, Snapshot]
) -> None:
    prefix, first, second = snaps
    got = found(repo, [first, second], "*.txt", prefix)
    assert got == {
        (first.id, b"/regular.txt"),
        (first.id, b"/xattr.txt"),
        (first.id, b"/nested/deeper/deepest.txt"),
        (second.id, b"/xattr.txt"),
        (second.id, b"/nested/deeper/deepest.txt"),
        (second.id, b"/nested/later.txt"),
    }


def test_matches_carry_the_node(repo: Repository, snaps: tuple[bytes, Snapshot, Snapshot]) -> None:
    _prefix, first, _second = snaps
    (m,) = list(find(repo, [first], "big.bin"))
    assert m.node.size == 3 * 1024 * 1024 + 4321
    assert m.snapshot is first


def test_patterns_with_a_slash_match_the_path(
    repo: Repository, snaps: tuple[bytes, Snapshot, Snapshot]
) -> None:
    prefix, first, second = snaps
    got = found(repo, [second], "nested/*.txt", prefix)
    # '*' crosses '/' as in find -path
    assert got == {(second.id, b"/nested/later.txt"), (second.id, b"/nested/deeper/deepest.txt")}
    anchored = os.fsdecode(prefix) + "/h*"
    assert found(repo, [first], anchored, prefix) == {(first.id, b"/hard1")}
    assert found(repo, [first], "/h*", prefix) == set()  # anchored at the root


def test_non_utf8_names_and_single_byte_wildcard(
    repo: Repository, snaps: tuple[bytes, Snapshot, Snapshot]
) -> None:
    prefix, first, _second = snaps
    want = {(first.id, b"/" + NON_UTF8_NAME)}
    assert found(repo, [first], "caf*", prefix) == want
    assert found(repo, [first], "caf?", prefix) == want
    assert found(repo, [first], os.fsdecode(NON_UTF8_NAME), prefix) == want
    assert found(repo, [first], "CAF*", prefix) == set()
    assert found(repo, [first], "CAF*", prefix, ignore_case=True) == want


def test_directories_and_special_files_are_found(
    repo: Repository, snaps: tuple[bytes, Snapshot, Snapshot]
) -> None:
    prefix, first, _second = snaps
    assert found(repo, [first], "deep*", prefix) == {
        (first.id, b"/nested/deeper"),
        (first.id, b"/nested/deeper/deepest.txt"),
    }
    assert found(repo, [first], "fifo", prefix) == {(first.id, b"/fifo")}
    assert found(repo, [first], "li?k", prefix) == {(first.id, b"/link")}


def test_shared_subtrees_still_report_matches_in_every_snapshot(
    repo: Repository, tmp_path: Path
) -> None:
    src = tmp_path / "s"
    (src / "a" / "b").mkdir(parents=True)
    (src / "a" / "b" / "needle").write_bytes(b"x")
    (src / "c").mkdir()
    (src / "c" / "hay").write_bytes(b"y")
    one = backup(repo, src)
    two = backup(repo, src)  # identical tree: every subtree shared
    finder = Finder(repo, Pattern("needle"))
    got = [(m.snapshot.id, m.path) for m in finder.find([one, two])]
    needle = os.fsencode(src) + b"/a/b/needle"
    assert got == [(one.id, needle), (two.id, needle)]


def test_barren_directories_are_not_read_again(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "s"
    for i in range(10):
        (src / f"d{i}").mkdir(parents=True)
        (src / f"d{i}" / "f").write_bytes(b"%d" % i)
    one = backup(repo, src)
    two = backup(repo, src)
    loads: list[bytes] = []
    original = repo.load_blob

    def load_blob(blob_id: bytes, verify: bool = True) -> bytes:
        loads.append(blob_id)
        return original(blob_id, verify)

    monkeypatch.setattr(repo, "load_blob", load_blob)
    assert list(find(repo, [one, two], "nothing-matches")) == []
    # the second snapshot shares the root tree, which is known to hold nothing
    assert len(loads) == len(set(loads))


def test_empty_pattern_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="empty"):
        Pattern("")
