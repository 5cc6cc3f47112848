"""Prune on a real LocalBackend: what it removes, what it keeps, when it refuses, and that a
crash after any single write or delete leaves a repository that checks clean."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TEST_PASSWORD, make_tree

from cadang.backends import FileType
from cadang.backends.local import LocalBackend
from cadang.errors import IntegrityError
from cadang.repo import blob as blobcodec
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.checker import Checker
from cadang.repo.config import RepoConfig
from cadang.repo.crypto import storage_id
from cadang.repo.index import Index
from cadang.repo.keys import TEST_KDF
from cadang.repo.pack import BlobType, PackWriter
from cadang.repo.pruner import plan_prune, prune, remove_snapshots
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot, load_all
from cadang.repo.tree import NodeType
from cadang.repo.walker import walk

PACK_SIZE = 64 * 1024  # small packs, so a few hundred KiB of files fill many of them


# --- helpers -----------------------------------------------------------------------------


def new_repo(path: Path) -> Repository:
    return Repository.init(
        LocalBackend(str(path)), TEST_PASSWORD, TEST_KDF, RepoConfig(pack_size=PACK_SIZE)
    )


def open_repo(path: Path) -> Repository:
    return Repository.open(LocalBackend(str(path)), TEST_PASSWORD)


def files(root: Path, seed: int, count: int = 24, prefix: str = "f") -> Path:
    rnd = random.Random(seed)
    spec: dict[str, bytes] = {
        f"{prefix}{i:03d}.bin": rnd.randbytes(rnd.randint(8_000, 30_000)) for i in range(count)
    }
    return make_tree(root, {"d": spec})  # type: ignore[dict-item]


def backup(repo: Repository, src: Path, tags: list[str] | None = None) -> Snapshot:
    snap, summary = Archiver(repo).backup(BackupOptions(paths=[str(src)], tags=tags or []))
    assert not summary.errors
    return snap


def contents(path: Path) -> dict[str, dict[bytes, str]]:
    """Snapshot id -> path -> sha256 of the file, read through a freshly opened repository.

    Loading every blob (verified against its id) is the manual form of ``check``.
    """
    repo = open_repo(path)
    try:
        out: dict[str, dict[bytes, str]] = {}
        for snap in load_all(repo):
            files_: dict[bytes, str] = {}
            for p, node in walk(repo, snap.tree):
                if node.type is NodeType.FILE:
                    data = b"".join(repo.load_blob(b) for b in node.content)
                    assert len(data) == node.size
                    files_[p] = hashlib.sha256(data).hexdigest()
            out[snap.id] = files_
        return out
    finally:
        repo.close()


def check_ok(path: Path) -> None:
    repo = open_repo(path)
    try:
        result = Checker(repo, workers=1).check(read_data=True)
    finally:
        repo.close()
    assert result.ok, result.errors


def listing(path: Path) -> dict[str, int]:
    out = {}
    for dirpath, _dirs, names in os.walk(path):
        for n in names:
            p = os.path.join(dirpath, n)
            out[os.path.relpath(p, path)] = os.path.getsize(p)
    return out


def pack_bytes(path: Path) -> int:
    return sum(size for name, size in LocalBackend(str(path)).list(FileType.PACK))


@pytest.fixture
def two_generations(tmp_path: Path) -> Iterator[tuple[Path, Snapshot, Snapshot]]:
    """A repository with an old and a new snapshot that share about half their files."""
    path = tmp_path / "repo"
    repo = new_repo(path)
    src = files(tmp_path / "src", seed=1)
    old = backup(repo, src)
    rnd = random.Random(2)
    for f in sorted((src / "d").iterdir())[::2]:
        f.write_bytes(rnd.randbytes(rnd.randint(8_000, 30_000)))
    new = backup(repo, src)
    repo.close()
    yield path, old, new


# --- what prune removes and keeps --------------------------------------------------------


def test_prune_removes_the_data_of_forgotten_snapshots(
    two_generations: tuple[Path, Snapshot, Snapshot],
) -> None:
    path, old, new = two_generations
    before = contents(path)
    size_before = pack_bytes(path)
    repo = open_repo(path)
    assert remove_snapshots(repo, [old]) == 1
    result = prune(repo, max_unused=0.0)
    repo.close()

    assert result.snapshots == 1
    assert result.blobs_removed >= 12  # the old versions of the replaced files, at least
    assert result.packs_deleted + result.packs_repacked > 0
    assert result.bytes_freed > 0
    assert pack_bytes(path) == size_before - result.bytes_freed
    after = contents(path)
    assert after == {new.id: before[new.id]}
    check_ok(path)
    # With 0% allowed, nothing unused is left: a second prune has nothing to do.
    repo = open_repo(path)
    plan = plan_prune(repo, 0.0)
    repo.close()
    assert not plan.has_work
    assert plan.unused_bytes_left == 0
    assert len(list(LocalBackend(str(path)).list(FileType.INDEX))) == 1


def test_prune_with_nothing_to_do_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "repo"
    repo = new_repo(path)
    backup(repo, files(tmp_path / "src", seed=3))
    repo.close()
    before = listing(path)
    repo = open_repo(path)
    result = prune(repo)
    repo.close()
    assert listing(path) == before
    assert (result.packs_deleted, result.packs_repacked, result.bytes_freed) == (0, 0, 0)
    assert result.packs_kept == len(list(LocalBackend(str(path)).list(FileType.PACK)))


def test_max_unused_decides_whether_partly_used_packs_are_repacked(
    two_generations: tuple[Path, Snapshot, Snapshot],
) -> None:
    path, old, new = two_generations
    expected = contents(path)[new.id]
    repo = open_repo(path)
    remove_snapshots(repo, [old])
    lenient = prune(repo, max_unused=100.0)
    assert lenient.packs_repacked == 0
    assert lenient.unused_bytes_left > 0
    strict = prune(repo, max_unused=0.0)
    repo.close()
    assert strict.packs_repacked > 0
    assert strict.packs_written > 0
    assert strict.unused_bytes_left == 0
    assert contents(path) == {new.id: expected}
    check_ok(path)


def test_dry_run_changes_nothing_and_predicts_the_real_run(
    two_generations: tuple[Path, Snapshot, Snapshot],
) -> None:
    path, old, _new = two_generations
    repo = open_repo(path)
    remove_snapshots(repo, [old])
    before = listing(path)
    dry = prune(repo, max_unused=0.0, dry_run=True)
    assert listing(path) == before
    real = prune(repo, max_unused=0.0)
    repo.close()
    assert dry.dry_run and not real.dry_run
    for field in ("packs_kept", "packs_repacked", "packs_deleted", "blobs_removed"):
        assert getattr(dry, field) == getattr(real, field), field
    assert dry.bytes_freed > 0


def test_packs_no_index_lists_are_deleted(tmp_path: Path) -> None:
    """A crashed backup leaves packs without an index file; prune removes them."""
    path = tmp_path / "repo"
    repo = new_repo(path)
    backup(repo, files(tmp_path / "src", seed=4))
    writer = PackWriter()
    writer.add(
        BlobType.DATA,
        b"\x07" * 32,
        blobcodec.encode(repo.cipher, b"orphan data", 0, b"\x07" * 32),
        11,
    )
    data = writer.finish(repo.cipher)
    orphan = storage_id(data)
    repo.backend.save(FileType.PACK, orphan, data)
    repo.close()
    before = contents(path)

    repo = open_repo(path)
    result = prune(repo)
    repo.close()
    assert result.packs_unindexed == 1
    assert result.packs_deleted == 1
    assert not LocalBackend(str(path)).exists(FileType.PACK, orphan)
    assert contents(path) == before
    check_ok(path)


def test_duplicate_copies_from_concurrent_backups_are_removed(tmp_path: Path) -> None:
    """Two backups that ran at once stored the same blobs twice; one copy of each stays."""
    path = tmp_path / "repo"
    new_repo(path).close()
    src = files(tmp_path / "src", seed=5)
    first, second = open_repo(path), open_repo(path)  # both start from an empty index
    backup(first, src, ["one"])
    backup(second, src, ["two"])
    first.close()
    second.close()
    before = contents(path)
    repo = open_repo(path)
    copies = sum(1 for _ in repo.index.entries())
    unique = len({e.id for e in repo.index.entries()})
    assert copies == 2 * unique  # every blob twice
    result = prune(repo, max_unused=0.0)
    repo.close()
    assert result.blobs_removed == unique
    repo = open_repo(path)
    ids = [e.id for e in repo.index.entries()]
    repo.close()
    assert len(ids) == len(set(ids)) == unique
    assert contents(path) == before
    assert len(before) == 2
    check_ok(path)


# --- when prune refuses ------------------------------------------------------------------


def test_refuses_when_a_snapshot_cannot_be_read(
    two_generations: tuple[Path, Snapshot, Snapshot],
) -> None:
    path, old, _new = two_generations
    repo = open_repo(path)
    remove_snapshots(repo, [old])
    garbage = b"not a sealed snapshot at all, but named by its hash"
    repo.backend.save(FileType.SNAPSHOT, storage_id(garbage), garbage)
    before = listing(path)
    with pytest.raises(IntegrityError) as info:
        prune(repo)
    repo.close()
    assert "refusing to prune" in info.value.message
    assert storage_id(garbage)[:8] in info.value.message
    assert info.value.hint
    assert listing(path) == before


def test_refuses_when_a_tree_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "repo"
    repo = new_repo(path)
    backup(repo, files(tmp_path / "src", seed=6))
    tree_packs = {e.pack for e in repo.index.entries() if e.type is BlobType.TREE}
    for pack in tree_packs:
        repo.backend.remove(FileType.PACK, pack)
    repo.close()
    before = listing(path)
    repo = open_repo(path)
    with pytest.raises(IntegrityError) as info:
        prune(repo)
    repo.close()
    assert "refusing to prune" in info.value.message
    assert listing(path) == before


def test_refuses_when_an_index_file_is_damaged(
    two_generations: tuple[Path, Snapshot, Snapshot],
) -> None:
    path, old, _new = two_generations
    repo = open_repo(path)
    remove_snapshots(repo, [old])
    repo.close()
    index_file = next((path / "index").iterdir())
    raw = bytearray(index_file.read_bytes())
    raw[len(raw) // 2] ^= 0x40
    index_file.chmod(0o600)
    index_file.write_bytes(bytes(raw))
    before = listing(path)
    repo = Repository.open(LocalBackend(str(path)), TEST_PASSWORD, load_index=False)
    with pytest.raises(IntegrityError):
        prune(repo)
    repo.close()
    assert listing(path) == before


# --- crash safety, deterministically: stop after every single change ----------------------


class SimulatedCrash(BaseException):
    """Not an Exception: nothing in the engine may catch and survive it, like SIGKILL."""


class CrashingBackend(LocalBackend):
    """A LocalBackend that dies before its n-th change (save or remove)."""

    def __init__(self, root: str, crash_at: int | None) -> None:
        super().__init__(root)
        self.crash_at = crash_at
        self.changes: list[tuple[str, FileType, str]] = []

    def _change(self, what: str, ftype: FileType, name: str) -> None:
        if ftype is FileType.LOCK:
            return
        if self.crash_at is not None and len(self.changes) >= self.crash_at:
            raise SimulatedCrash(f"crash before {what} {ftype.value}/{name}")
        self.changes.append((what, ftype, name))

    def save(self, ftype: FileType, name: str, data: bytes) -> None:
        self._change("save", ftype, name)
        super().save(ftype, name, data)

    def remove(self, ftype: FileType, name: str) -> None:
        self._change("remove", ftype, name)
        super().remove(ftype, name)


def test_a_crash_between_any_two_changes_leaves_a_valid_repository(tmp_path: Path) -> None:
    path = tmp_path / "repo"
    repo = new_repo(path)
    src = files(tmp_path / "src", seed=7, count=16)
    old = backup(repo, src)
    rnd = random.Random(8)
    for f in sorted((src / "d").iterdir())[::3]:
        f.write_bytes(rnd.randbytes(20_000))
    backup(repo, src)
    remove_snapshots(repo, [old])
    repo.close()
    # Plus duplicate copies from a second writer, and a pack no index lists.
    dup = open_repo(path)
    dup.index = Index()
    backup(dup, src)
    writer = PackWriter()
    writer.add(
        BlobType.DATA, b"\x07" * 32, blobcodec.encode(dup.cipher, b"orphan", 0, b"\x07" * 32), 6
    )
    data = writer.finish(dup.cipher)
    dup.backend.save(FileType.PACK, storage_id(data), data)
    dup.close()
    expected = contents(path)

    # A full run, to learn the sequence of changes it makes.
    dry = tmp_path / "full"
    shutil.copytree(path, dry)
    backend = CrashingBackend(str(dry), None)
    r = Repository.open(backend, TEST_PASSWORD, load_index=False)
    prune(r, max_unused=0.0)
    r.close()
    kinds = [(what, ftype) for what, ftype, _name in backend.changes]
    assert ("save", FileType.PACK) in kinds  # repacked
    assert ("save", FileType.INDEX) in kinds
    assert ("remove", FileType.INDEX) in kinds
    assert ("remove", FileType.PACK) in kinds
    # The order that makes it safe: new packs, new index, old index files, old packs.
    step = {
        ("save", FileType.PACK): 1,
        ("save", FileType.INDEX): 2,
        ("remove", FileType.INDEX): 3,
        ("remove", FileType.PACK): 4,
    }
    order = [step[k] for k in kinds]
    assert order == sorted(order)
    assert kinds.count(("save", FileType.INDEX)) == 1
    total = len(backend.changes)
    assert total >= 4

    for crash_at in range(total):
        copy = tmp_path / f"crash{crash_at}"
        shutil.copytree(path, copy)
        crashing = CrashingBackend(str(copy), crash_at)
        r = Repository.open(crashing, TEST_PASSWORD, load_index=False)
        with pytest.raises(SimulatedCrash):
            prune(r, max_unused=0.0)
        assert contents(copy) == expected, f"crash before change {crash_at}"
        check_ok(copy)
        # The next prune finishes the job.
        r = open_repo(copy)
        prune(r, max_unused=0.0)
        assert not plan_prune(r, 0.0).has_work
        r.close()
        assert contents(copy) == expected
        shutil.rmtree(copy)
