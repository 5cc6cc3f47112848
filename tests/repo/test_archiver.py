"""The archiver: incremental backups, parents, excludes, one-file-system, read errors, stdin."""

from __future__ import annotations

import io
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import (
    IS_ROOT,
    CliResult,
    Fifo,
    Symlink,
    make_tree,
    reopen,
    restored_path,
    run_cadang,
    tree_listing,
)

from cadang.errors import UsageError
from cadang.repo.archiver import Archiver, BackupOptions, BackupSummary
from cadang.repo.pack import BlobType
from cadang.repo.repository import Repository
from cadang.repo.restorer import Restorer
from cadang.repo.snapshot import Snapshot, load_snapshot
from cadang.repo.tree import NodeType
from cadang.repo.walker import find_node, walk


def backup(repo: Repository, *paths: Path | str, **kw: object) -> tuple[Snapshot, BackupSummary]:
    return Archiver(repo).backup(BackupOptions(paths=[str(p) for p in paths], **kw))  # type: ignore[arg-type]


def snapshot_files(repo: Repository, snap: Snapshot, under: Path) -> dict[str, NodeType]:
    """Relative path -> type of every node below ``under`` in the snapshot."""
    prefix = os.fsencode(under) + b"/"
    return {
        os.fsdecode(p[len(prefix) :]): n.type
        for p, n in walk(repo, snap.tree)
        if p.startswith(prefix)
    }


def index_types(repo: Repository) -> dict[bytes, BlobType]:
    return {e.id: e.type for e in repo.index.entries()}


# --- incremental backups ---------------------------------------------------------------------


def test_incremental_backup_detects_changes(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(
        tmp_path / "src",
        {
            "modify": b"old content",
            "touch": b"same content",
            "keep": b"kept" * 1000,
            "delete": b"going away",
            "sub": {"deep": b"deep file"},
        },
    )
    snap1, s1 = backup(repo, src)
    assert (s1.files_new, s1.files_changed, s1.files_unchanged) == (5, 0, 0)
    assert s1.total_files == 5
    assert s1.errors == []

    (src / "modify").write_bytes(b"new content!")
    st = os.stat(src / "touch")
    os.utime(src / "touch", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    (src / "added").write_bytes(b"brand new")
    (src / "delete").unlink()
    before = index_types(repo)
    snap2, s2 = backup(repo, src)

    assert snap2.parent == snap1.id
    assert (s2.files_new, s2.files_changed, s2.files_unchanged) == (1, 2, 2)
    assert s2.total_files == 5
    files = snapshot_files(repo, snap2, src)
    assert "delete" not in files and "added" in files and "sub/deep" in files
    # New data: only the modified and the added file (the touched one deduplicates).
    new_data = [i for i, t in index_types(repo).items() if i not in before and t is BlobType.DATA]
    assert len(new_data) == 2

    Restorer(repo).restore(snap2, str(tmp_path / "out"))
    out = restored_path(tmp_path / "out", src)
    assert tree_listing(out) == tree_listing(src)


def test_no_change_backup_reads_nothing_and_adds_no_data(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(
        tmp_path / "src",
        {"a": os.urandom(2_000_000), "b": b"small", "d": {"c": os.urandom(10_000)}},
    )
    snap1, _ = backup(repo, src)
    before = index_types(repo)
    blobs_before = repo.blobs_added
    snap2, s2 = backup(repo, src)
    assert snap2.parent == snap1.id
    assert (s2.files_new, s2.files_changed, s2.files_unchanged) == (0, 0, 3)
    assert s2.dirs_new == 0 and s2.dirs_changed == 0
    added = {i: t for i, t in index_types(repo).items() if i not in before}
    # Directories above the backed-up path may have changed times; no file data was added.
    assert all(t is BlobType.TREE for t in added.values())
    assert s2.blobs_added == len(added) == repo.blobs_added - blobs_before
    assert s2.data_added < 2000  # a few tree blobs at most, not the 2 MB file
    # The same tree for the backed-up directory itself.
    node1 = find_node(repo, snap1.tree, str(src))
    node2 = find_node(repo, snap2.tree, str(src))
    assert node1 is not None and node2 is not None and node1.subtree == node2.subtree


def test_unchanged_file_content_comes_from_parent(repo: Repository, tmp_path: Path) -> None:
    """An unchanged file is not read: its content ids are the parent's."""
    src = make_tree(tmp_path / "src", {"f": os.urandom(100_000)})
    snap1, _ = backup(repo, src)
    node1 = find_node(repo, snap1.tree, str(src / "f"))
    snap2, s2 = backup(repo, src)
    node2 = find_node(repo, snap2.tree, str(src / "f"))
    assert s2.files_unchanged == 1
    assert node1 is not None and node2 is not None
    assert node2.content == node1.content and node2.size == 100_000


def test_force_rereads_everything(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a": b"1", "b": b"2"})
    backup(repo, src)
    snap, s = backup(repo, src, use_parent=False)
    assert snap.parent is None
    assert (s.files_new, s.files_unchanged) == (2, 0)
    assert s.data_added < 2000  # read again, but deduplicated


def test_parent_is_found_by_host_and_paths(repo: Repository, tmp_path: Path) -> None:
    a = make_tree(tmp_path / "a", {"f": b"a"})
    b = make_tree(tmp_path / "b", {"f": b"b"})
    first, _ = backup(repo, a)
    both, _ = backup(repo, a, b)
    assert both.parent is None  # another set of paths
    other_host, _ = backup(repo, a, hostname="another-host")
    assert other_host.parent is None
    again, _ = backup(repo, a)
    assert again.parent == first.id
    both_again, _ = backup(repo, b, a)  # order of paths does not matter
    assert both_again.parent == both.id
    explicit, _ = backup(repo, a, parent=both.id[:10])
    assert explicit.parent == both.id
    with pytest.raises(UsageError, match="not found"):
        backup(repo, a, parent="ffffffffff")


def test_parent_across_processes(repo: Repository, repo_path: Path, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"f": os.urandom(50_000)})
    first, _ = backup(repo, src)
    second, s = backup(reopen(repo_path), src)
    assert second.parent == first.id
    assert s.files_unchanged == 1 and s.files_new == 0


def test_tags_and_label_are_stored(repo: Repository, repo_path: Path, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"f": b"x"})
    snap, _ = backup(repo, src, tags=["harian", "db", "harian"], label="sebelum-upgrade")
    loaded = load_snapshot(reopen(repo_path), snap.id)
    assert loaded.tags == ["db", "harian"]
    assert loaded.label == "sebelum-upgrade"
    assert loaded.paths == [str(src)]
    assert loaded.summary["files_new"] == 1
    assert loaded.tree == snap.tree


# --- what gets backed up ---------------------------------------------------------------------


def test_paths_that_do_not_exist(repo: Repository, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        backup(repo, tmp_path / "missing")
    with pytest.raises(UsageError, match="at least one path"):
        backup(repo)


def test_single_file_and_nested_paths(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"f": b"file", "sub": {"g": b"g"}})
    snap, s = backup(repo, src / "f", src, src / "sub")
    assert s.total_files == 2  # src/sub is inside src: not backed up twice
    files = snapshot_files(repo, snap, src)
    assert files == {"f": NodeType.FILE, "sub": NodeType.DIR, "sub/g": NodeType.FILE}
    only_file, _ = backup(repo, src / "f")
    node = find_node(repo, only_file.tree, str(src / "f"))
    assert node is not None and node.type is NodeType.FILE and node.size == 4


def test_special_files_are_recorded_not_read(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(
        tmp_path / "src",
        {"pipe": Fifo(), "dangling": Symlink("nowhere"), "dirlink": Symlink("/")},
    )
    snap, s = backup(repo, src)  # a FIFO would block forever if it were read
    assert s.errors == []
    files = snapshot_files(repo, snap, src)
    assert files == {
        "pipe": NodeType.FIFO,
        "dangling": NodeType.SYMLINK,
        "dirlink": NodeType.SYMLINK,
    }


def test_excludes(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(
        tmp_path / "src",
        {
            "keep.txt": b"k",
            "scratch.tmp": b"t",
            "cache": {"big": b"c"},
            "logs": {"a.log": b"l", "a.txt": b"t", "old": {"b.log": b"l"}},
            "deep": {"x": {"y": {"skip.bak": b"b", "keep": b"k"}}},
        },
    )
    snap, s = backup(
        repo,
        src,
        excludes=["*.tmp", "cache", f"{src}/logs/*.log", f"{src}/deep/**/*.bak"],
    )
    files = snapshot_files(repo, snap, src)
    assert sorted(files) == [
        "deep",
        "deep/x",
        "deep/x/y",
        "deep/x/y/keep",
        "keep.txt",
        "logs",
        "logs/a.txt",
        "logs/old",
        "logs/old/b.log",  # the pattern's * does not cross a '/'
    ]
    assert s.total_files == 4


def test_one_file_system(repo: Repository, tmp_path: Path) -> None:
    """A filesystem mounted inside the tree is kept as an empty directory, not entered."""
    src = make_tree(tmp_path / "src", {"f": b"here", "mnt": {}})
    mnt = src / "mnt"
    if not IS_ROOT:
        pytest.skip("mounting a filesystem inside the tree needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"mount is not permitted here: {done.stderr.decode().strip()}")
    try:
        (mnt / "on-other-fs").write_bytes(b"other")
        assert os.stat(mnt).st_dev != os.stat(src).st_dev
        archiver = Archiver(repo)  # one archiver for both: the option must not stick
        staying, s = archiver.backup(BackupOptions(paths=[str(src)], one_file_system=True))
        assert s.errors == []
        files = snapshot_files(repo, staying, src)
        assert files == {"f": NodeType.FILE, "mnt": NodeType.DIR}
        crossing, _ = archiver.backup(BackupOptions(paths=[str(src)]))
        assert "mnt/on-other-fs" in snapshot_files(repo, crossing, src)
        # A path given on the command line is always entered, whatever its filesystem.
        explicit, _ = backup(repo, src, mnt, one_file_system=True)
        assert "mnt/on-other-fs" in snapshot_files(repo, explicit, src)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


# --- files that cannot be read ---------------------------------------------------------------


class VanishAfter:
    """Progress that deletes a file when another is done: a file vanishing mid-backup."""

    def __init__(self, trigger: str, victim: Path) -> None:
        self.trigger, self.victim = trigger, victim
        self.errors: list[tuple[str, str]] = []

    def set_totals(self, files: int, size: int) -> None:
        pass

    def file_done(self, path: str, size: int) -> None:
        if path.endswith("/" + self.trigger) and self.victim.exists():
            self.victim.unlink()

    def bytes_done(self, size: int) -> None:
        pass

    def error(self, path: str, message: str) -> None:
        self.errors.append((path, message))


def test_file_vanishing_during_backup(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a": b"first", "b": b"vanishes", "c": b"last"})
    progress = VanishAfter("a", src / "b")
    # One worker handles files in name order, so "b" is read after "a" is done.
    snap, s = Archiver(repo, progress, workers=1).backup(BackupOptions(paths=[str(src)]))
    assert [p for p, _ in s.errors] == [str(src / "b")]
    assert progress.errors == s.errors
    assert snap.id  # the snapshot was still written
    assert set(snapshot_files(repo, snap, src)) == {"a", "c"}
    assert snap.summary["errors"] == [{"path": str(src / "b"), "message": s.errors[0][1]}]


def unreadable_path(tmp_path: Path) -> Path:
    """A regular file whose read fails: chmod 000 (not root) or /proc/<pid>/mem (root)."""
    if IS_ROOT:
        mem = Path(f"/proc/{os.getpid()}/mem")
        try:
            with open(mem, "rb", buffering=0) as f:
                f.read(1)
        except OSError:
            return mem
        pytest.skip("no file that fails to read as root on this system")
    p = tmp_path / "src" / "secret"
    p.parent.mkdir(exist_ok=True)
    p.write_bytes(b"secret")
    p.chmod(0)
    try:
        p.read_bytes()
    except PermissionError:
        return p
    pytest.skip("this process reads mode-000 files anyway (it has CAP_DAC_READ_SEARCH)")


def test_unreadable_file_is_reported(repo: Repository, tmp_path: Path) -> None:
    bad = unreadable_path(tmp_path)
    good = make_tree(tmp_path / "ok", {"fine": b"fine"})
    snap, s = backup(repo, good, bad)
    assert [p for p, _ in s.errors] == [str(bad)]
    assert s.errors[0][1]  # a reason is given
    assert snapshot_files(repo, snap, good) == {"fine": NodeType.FILE}
    assert find_node(repo, snap.tree, str(good / "fine")) is not None


def test_unreadable_file_gives_exit_code_3(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    bad = unreadable_path(tmp_path)
    good = make_tree(tmp_path / "ok", {"fine": b"fine"})
    repo = tmp_path / "repo"
    assert cli("init", "--repo", repo).code == 0
    r = cli("backup", "--repo", repo, good, bad)
    assert r.code == 3, r.err
    assert str(bad) in r.err
    assert "was written" in r.err
    listing = cli("snapshots", "--repo", repo, "--json")
    assert listing.code == 0 and '"paths"' in listing.out


@pytest.mark.skipif(IS_ROOT, reason="root reads every directory")
def test_unreadable_directory_is_reported(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"locked": {"x": b"x"}, "open": b"o"})
    (src / "locked").chmod(0)
    try:
        try:
            os.listdir(src / "locked")
            pytest.skip("this process reads mode-000 directories anyway (capabilities)")
        except PermissionError:
            pass
        snap, s = backup(repo, src)
    finally:
        (src / "locked").chmod(0o755)
    assert [p for p, _ in s.errors] == [str(src / "locked")]
    assert set(snapshot_files(repo, snap, src)) == {"locked", "open"}


# --- standard input --------------------------------------------------------------------------


def test_stdin_backup(repo: Repository, tmp_path: Path) -> None:
    data = os.urandom(1_500_000) + b"tail"
    snap, s = Archiver(repo).backup(
        BackupOptions(stdin=io.BytesIO(data), stdin_name="db.dump", tags=["pg"])
    )
    assert snap.paths == ["/db.dump"]
    assert s.total_bytes == len(data) and s.files_new == 1
    Restorer(repo).restore(snap, str(tmp_path / "out"))
    assert (tmp_path / "out" / "db.dump").read_bytes() == data
    with pytest.raises(UsageError, match="plain file name"):
        Archiver(repo).backup(BackupOptions(stdin=io.BytesIO(b""), stdin_name="a/b"))


@pytest.mark.slow
def test_stdin_backup_through_the_cli(tmp_path: Path, cli_env: dict[str, str]) -> None:
    repo = tmp_path / "repo"
    assert run_cadang("init", "--repo", repo, env=cli_env).returncode == 0
    data = b"-- PostgreSQL database dump\n" * 20_000 + os.urandom(300_000)
    done = run_cadang(
        "backup", "--repo", repo, "-", "--stdin-name", "simpeg.sql", env=cli_env, input=data
    )
    assert done.returncode == 0, done.stderr
    assert b"snapshot" in done.stdout
    done = run_cadang(
        "restore", "--repo", repo, "latest", "--target", tmp_path / "out", env=cli_env
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "simpeg.sql").read_bytes() == data
    mixed = run_cadang("backup", "--repo", repo, "-", str(tmp_path), env=cli_env, input=b"")
    assert mixed.returncode == 2 and b"cannot be mixed" in mixed.stderr


def test_mtime_only_change_in_a_subdirectory_marks_it_changed(
    repo: Repository, tmp_path: Path
) -> None:
    src = make_tree(tmp_path / "src", {"d": {"f": b"x"}, "e": {"g": b"y"}})
    backup(repo, src)
    time.sleep(0.01)
    (src / "d" / "f").write_bytes(b"z")
    _, s = backup(repo, src)
    assert (s.files_changed, s.files_unchanged) == (1, 1)
    assert (s.dirs_changed, s.dirs_unchanged) == (2, 1)  # src and d changed, e did not


class ReplaceAfter(VanishAfter):
    """Progress that swaps a regular file for a FIFO while the backup runs."""

    def file_done(self, path: str, size: int) -> None:
        if path.endswith("/" + self.trigger) and self.victim.is_file():
            self.victim.unlink()
            os.mkfifo(self.victim)


@pytest.mark.timeout(60)
def test_file_replaced_by_a_fifo_is_not_read(repo: Repository, tmp_path: Path) -> None:
    """Reading a FIFO would block the backup forever: it is reported instead."""
    # "a" takes a while to read, so "b" has long been listed as a file when it is swapped.
    src = make_tree(
        tmp_path / "src", {"a": os.urandom(8_000_000), "b": b"becomes a fifo", "c": b"last"}
    )
    progress = ReplaceAfter("a", src / "b")
    snap, s = Archiver(repo, progress, workers=1).backup(BackupOptions(paths=[str(src)]))
    assert [p for p, _ in s.errors] == [str(src / "b")]
    assert set(snapshot_files(repo, snap, src)) == {"a", "c"}
