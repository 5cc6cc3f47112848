"""The restorer: never writes outside the target, partial restores, restoring over a tree."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from conftest import IS_ROOT, Fifo, Symlink, make_tree, make_writable, restored_path, tree_listing

from cadang.backends import FileType
from cadang.errors import PathNotFoundError, RestoreError
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.pack import BlobType
from cadang.repo.repository import Repository
from cadang.repo.restorer import Restorer
from cadang.repo.snapshot import Snapshot, save_snapshot
from cadang.repo.tree import Node, NodeType, encode_tree
from cadang.repo.walker import find_node


def backup(repo: Repository, *paths: Path) -> Snapshot:
    snap, summary = Archiver(repo).backup(BackupOptions(paths=[str(p) for p in paths]))
    assert summary.errors == []
    return snap


def handmade_snapshot(repo: Repository, root_nodes: list[Node]) -> Snapshot:
    """A snapshot written by hand, as a hostile repository could hold it."""
    tree_id, _ = repo.save_blob(BlobType.TREE, encode_tree(root_nodes))
    repo.flush()
    snap = Snapshot(
        time=dt.datetime.now().astimezone(),
        tree=tree_id,
        paths=["/x"],
        hostname="evil",
        username="evil",
    )
    save_snapshot(repo, snap)
    return snap


def file_node(repo: Repository, name: bytes, data: bytes) -> Node:
    blob_id, _ = repo.save_blob(BlobType.DATA, data)
    return Node(name=name, type=NodeType.FILE, mode=0o644, size=len(data), content=[blob_id])


def dir_node(repo: Repository, name: bytes, children: list[Node]) -> Node:
    tree_id, _ = repo.save_blob(BlobType.TREE, encode_tree(children))
    return Node(name=name, type=NodeType.DIR, mode=0o755, subtree=tree_id)


def everything_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# --- never outside the target ----------------------------------------------------------------


@pytest.mark.parametrize("evil", [b"..", b"../../outside", b"a/../../outside", b".", b"/abs"])
def test_unsafe_names_in_a_snapshot_are_refused(
    repo: Repository, tmp_path: Path, evil: bytes
) -> None:
    pwned = file_node(repo, b"pwned", b"owned!")
    snap = handmade_snapshot(repo, [dir_node(repo, evil, [pwned]), file_node(repo, b"fine", b"ok")])
    target = tmp_path / "sandbox" / "target"
    target.mkdir(parents=True)
    summary = Restorer(repo).restore(snap, str(target))
    assert summary.errors and "invalid" in summary.errors[0][1]
    # Nothing was written anywhere but the (empty) target.
    assert everything_under(tmp_path / "sandbox") == {"target"}
    assert not list(tmp_path.rglob("pwned"))
    assert not (tmp_path / "outside").exists()


def test_symlink_in_target_where_a_directory_belongs_is_replaced(
    repo: Repository, tmp_path: Path
) -> None:
    src = make_tree(tmp_path / "src", {"d": {"f": b"data"}, "top": b"top"})
    snap = backup(repo, src)
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    # The first component of the snapshot's paths ("tmp"), and a deeper one, point outside.
    first = str(src).lstrip("/").split("/")[0]
    (target / first).symlink_to(outside)
    summary = Restorer(repo).restore(snap, str(target))
    assert summary.errors == []
    assert list(outside.iterdir()) == []
    assert (target / first).is_dir() and not (target / first).is_symlink()
    out = restored_path(target, src)
    assert (out / "d" / "f").read_bytes() == b"data"

    # Again, with the symlink deeper: where "d" goes.
    (out / "d" / "f").unlink()
    (out / "d").rmdir()
    (out / "d").symlink_to(outside)
    assert Restorer(repo).restore(snap, str(target)).errors == []
    assert list(outside.iterdir()) == []
    assert not (out / "d").is_symlink() and (out / "d" / "f").read_bytes() == b"data"


def test_symlink_or_hard_link_in_place_of_a_file_is_not_written_through(
    repo: Repository, tmp_path: Path
) -> None:
    src = make_tree(tmp_path / "src", {"a": b"from backup", "b": b"also from backup"})
    snap = backup(repo, src)
    victim = tmp_path / "victim"
    victim.write_bytes(b"must not change")
    target = tmp_path / "target"
    out = restored_path(target, src)
    out.mkdir(parents=True)
    (out / "a").symlink_to(victim)
    os.link(victim, out / "b")
    assert Restorer(repo).restore(snap, str(target)).errors == []
    assert victim.read_bytes() == b"must not change"
    assert (out / "a").read_bytes() == b"from backup" and not (out / "a").is_symlink()
    assert (out / "b").read_bytes() == b"also from backup"
    assert os.stat(out / "b").st_ino != os.stat(victim).st_ino


def test_restoring_two_snapshots_cannot_chain_a_symlink(repo: Repository, tmp_path: Path) -> None:
    """Snapshot A makes "d" a symlink out of the target; B has "d" as a directory."""
    outside = tmp_path / "outside"
    outside.mkdir()
    a = handmade_snapshot(
        repo,
        [Node(name=b"d", type=NodeType.SYMLINK, target=os.fsencode(outside), mode=0o777)],
    )
    b = handmade_snapshot(repo, [dir_node(repo, b"d", [file_node(repo, b"f", b"payload")])])
    target = tmp_path / "target"
    assert Restorer(repo).restore(a, str(target)).errors == []
    assert (target / "d").is_symlink()
    assert Restorer(repo).restore(b, str(target)).errors == []
    assert list(outside.iterdir()) == []
    assert not (target / "d").is_symlink()
    assert (target / "d" / "f").read_bytes() == b"payload"


# --- choosing what to restore ----------------------------------------------------------------


def test_include_restores_only_that_subtree(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(
        tmp_path / "src",
        {
            "want": {"a": b"a", "deeper": {"b": b"b"}},
            "skip": {"c": b"c"},
            "top.txt": b"top",
            "single": b"one file",
        },
    )
    snap = backup(repo, src)
    target = tmp_path / "target"
    summary = Restorer(repo).restore(snap, str(target), [str(src / "want")])
    out = restored_path(target, src)
    assert everything_under(out) == {"want", "want/a", "want/deeper", "want/deeper/b"}
    assert summary.files == 2

    target2 = tmp_path / "target2"
    Restorer(repo).restore(snap, str(target2), [str(src / "single"), str(src / "skip/c")])
    out2 = restored_path(target2, src)
    assert everything_under(out2) == {"single", "skip", "skip/c"}
    assert (out2 / "single").read_bytes() == b"one file"


def test_include_of_a_missing_path(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a": b"a"})
    snap = backup(repo, src)
    with pytest.raises(PathNotFoundError, match="not in snapshot"):
        Restorer(repo).restore(snap, str(tmp_path / "t"), [str(src / "nope")])
    with pytest.raises(PathNotFoundError):
        Restorer(repo).restore(snap, str(tmp_path / "t"), [str(src / "a" / "below-a-file")])
    with pytest.raises(PathNotFoundError):
        Restorer(repo).restore(snap, str(tmp_path / "t"), [str(src / ".." / "src" / "a")])


# --- restoring over an existing tree ---------------------------------------------------------


def test_restore_over_an_existing_tree(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(
        tmp_path / "src",
        {
            "file": b"original",
            "was-dir": b"a file in the backup",
            "was-file": {"inner": b"inner"},
            "link": Symlink("file"),
            "pipe": Fifo(),
            "ro": b"read only",
        },
    )
    (src / "ro").chmod(0o444)
    snap = backup(repo, src)
    target = tmp_path / "target"
    Restorer(repo).restore(snap, str(target))
    out = restored_path(target, src)
    expected = tree_listing(out)

    # Damage the restored tree in every way, then restore again over it.
    (out / "file").write_bytes(b"changed and longer than before")
    (out / "was-dir").unlink()
    (out / "was-dir").mkdir()
    (out / "was-dir" / "junk").write_bytes(b"junk")
    (out / "was-file" / "inner").unlink()
    (out / "was-file").rmdir()
    (out / "was-file").write_bytes(b"now a file")
    (out / "link").unlink()
    (out / "link").mkdir()
    (out / "pipe").unlink()
    (out / "pipe").symlink_to("/etc/passwd")
    (out / "extra").write_bytes(b"not in the snapshot")

    summary = Restorer(repo).restore(snap, str(target))
    assert summary.errors == []
    got = tree_listing(out)
    assert got.pop(b"extra") == ("file", b"not in the snapshot")  # left alone
    assert got == expected
    assert stat.S_ISFIFO(os.lstat(out / "pipe").st_mode)
    assert stat.S_IMODE(os.lstat(out / "ro").st_mode) == 0o444


@pytest.mark.skipif(IS_ROOT, reason="root writes into read-only directories anyway")
def test_restore_twice_into_read_only_directories(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"ro": {"f": b"v1"}})
    (src / "ro").chmod(0o555)
    try:
        snap = backup(repo, src)
        target = tmp_path / "target"
        assert Restorer(repo).restore(snap, str(target)).errors == []
        out = restored_path(target, src)
        assert stat.S_IMODE(os.stat(out / "ro").st_mode) == 0o555
        assert Restorer(repo).restore(snap, str(target)).errors == []
        assert stat.S_IMODE(os.stat(out / "ro").st_mode) == 0o555
        assert (out / "ro" / "f").read_bytes() == b"v1"
    finally:
        make_writable(tmp_path)


def test_target_that_cannot_be_created(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a": b"a"})
    snap = backup(repo, src)
    (tmp_path / "blocker").write_bytes(b"a file, not a directory")
    with pytest.raises(RestoreError, match="cannot create target"):
        Restorer(repo).restore(snap, str(tmp_path / "blocker" / "target"))


def test_damaged_blob_fails_only_its_file(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(
        tmp_path / "src", {"good": os.urandom(5000), "bad": os.urandom(5000), "d": {"ok": b"k"}}
    )
    snap = backup(repo, src)
    bad = find_node(repo, snap.tree, str(src / "bad"))
    assert bad is not None
    entry = repo.lookup(bad.content[0])
    pack = tmp_path / "repo" / "data" / entry.pack[:2] / entry.pack
    data = bytearray(pack.read_bytes())
    data[entry.offset + 20] ^= 0xFF
    pack.chmod(0o600)
    pack.write_bytes(bytes(data))
    assert repo.backend.exists(FileType.PACK, entry.pack)

    summary = Restorer(repo).restore(snap, str(tmp_path / "target"))
    out = restored_path(tmp_path / "target", src)
    assert [p for p, _ in summary.errors] == [str(out / "bad")]
    assert "altered or damaged" in summary.errors[0][1]
    assert (out / "good").read_bytes() == (src / "good").read_bytes()
    assert (out / "d" / "ok").read_bytes() == b"k"


def test_one_restorer_for_two_restores(repo: Repository, tmp_path: Path) -> None:
    """Nothing of the first restore (hard links, counts) leaks into the second."""
    src = make_tree(tmp_path / "src", {"a": b"linked", "d": {"x": b"x"}})
    os.link(src / "a", src / "b")
    snap = backup(repo, src)
    restorer = Restorer(repo)
    first = restorer.restore(snap, str(tmp_path / "t1"))
    assert (first.files, first.errors) == (3, [])
    second = restorer.restore(snap, str(tmp_path / "t2"))
    assert (second.files, second.errors) == (3, [])
    out1, out2 = restored_path(tmp_path / "t1", src), restored_path(tmp_path / "t2", src)
    assert os.stat(out2 / "a").st_ino == os.stat(out2 / "b").st_ino
    assert os.stat(out2 / "a").st_ino != os.stat(out1 / "a").st_ino
    assert os.stat(out1 / "a").st_nlink == 2
