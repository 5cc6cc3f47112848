"""Verification records in the repository: sealed, listed, checked, forgotten, copied."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from conftest import TEST_PASSWORD, make_tree, reopen

from cadang.backends import FileType
from cadang.backends.local import LocalBackend
from cadang.errors import IntegrityError
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.checker import Checker, open_for_check, read_config_for_check
from cadang.repo.copier import Copier
from cadang.repo.crypto import storage_id
from cadang.repo.keys import TEST_KDF
from cadang.repo.pruner import prune, remove_snapshots
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot, load_all
from cadang.repo.verification import (
    Kind,
    Result,
    Verification,
    by_snapshot,
    load_verifications,
    new_verification,
    save_verification,
)

T0 = dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def backup(repo: Repository, src: Path, label: str) -> Snapshot:
    snap, _summary = Archiver(repo).backup(BackupOptions(paths=[str(src)], label=label))
    return snap


def record(
    snap: Snapshot, kind: Kind = Kind.READ_BACK, ok: bool = True, minutes: int = 0
) -> Verification:
    return new_verification(
        snap.id,
        kind,
        ok,
        1.25,
        compared={"files": 2, "bytes": 11},
        details=["a note"],
        errors=[] if ok else ["/x: broken"],
        time=T0 + dt.timedelta(minutes=minutes),
    )


@pytest.fixture
def two_snapshots(repo: Repository, tmp_path: Path) -> tuple[Snapshot, Snapshot]:
    src = make_tree(tmp_path / "src", {"a.txt": "alpha\n", "d": {"b.txt": "beta\n"}})
    first = backup(repo, src, "first")
    (src / "a.txt").write_text("changed\n")
    return first, backup(repo, src, "second")


def run_check(path: Path) -> tuple[list[str], list[str], dict[str, list[str]], int]:
    backend = LocalBackend(str(path))
    repo = open_for_check(backend, TEST_PASSWORD, read_config_for_check(backend))
    try:
        result = Checker(repo).check()
    finally:
        repo.close()
    return result.errors, result.warnings, result.damaged, result.checked["verifications"]


def test_records_are_sealed_files_that_round_trip(
    repo: Repository, repo_path: Path, two_snapshots: tuple[Snapshot, Snapshot]
) -> None:
    first, second = two_snapshots
    a = record(first, Kind.READ_BACK, True, 0)
    b = record(first, Kind.RESTORE_TEST, False, 1)
    c = record(second, Kind.RESTORE_TEST, True, 2)
    for r in (c, a, b):
        save_verification(repo, r)
    files = sorted(p.name for p in (repo_path / "verifications").iterdir())
    assert files == sorted([a.id, b.id, c.id])
    for name in files:  # named by content, and nothing readable without the key
        data = (repo_path / "verifications" / name).read_bytes()
        assert (
            storage_id(data) == name
            and b"restore-test" not in data
            and first.id.encode() not in data
        )

    fresh = reopen(repo_path)
    try:
        all_records = load_verifications(fresh)
        assert [r.id for r in all_records] == [a.id, b.id, c.id]  # oldest first
        assert [r.id for r in load_verifications(fresh, first.id)] == [a.id, b.id]
        got = all_records[1]
        assert (got.snapshot, got.kind, got.result, got.time) == (
            first.id,
            Kind.RESTORE_TEST,
            Result.FAILED,
            T0 + dt.timedelta(minutes=1),
        )
        assert (got.duration, got.compared, got.details, got.errors) == (
            1.25,
            {"files": 2, "bytes": 11},
            ["a note"],
            ["/x: broken"],
        )
        assert not got.passed and all_records[0].passed
        assert set(by_snapshot(all_records)) == {first.id, second.id}
    finally:
        fresh.close()


def test_a_later_versions_extra_fields_are_ignored_but_a_bad_record_is_damage(
    repo: Repository, two_snapshots: tuple[Snapshot, Snapshot]
) -> None:
    first, _second = two_snapshots
    r = record(first)
    doc = r.to_bytes().replace(b'"version": 1', b'"new_field": [1, 2], "version": 1')
    assert Verification.from_bytes(doc, "x").snapshot == first.id
    for bad in (
        r.to_bytes().replace(b'"version": 1', b'"version": 2'),
        r.to_bytes().replace(b'"read-back"', b'"guess"'),
        b"[1, 2]",
        b"\xff",
    ):
        with pytest.raises(IntegrityError, match="verification record x is malformed"):
            Verification.from_bytes(bad, "x")


def test_a_snapshot_file_cannot_pass_as_a_record(
    repo: Repository, repo_path: Path, two_snapshots: tuple[Snapshot, Snapshot]
) -> None:
    first, _second = two_snapshots
    # Same key, other domain: a sealed snapshot planted among the records fails to open.
    data = (repo_path / "snapshots" / first.id).read_bytes()
    (repo_path / "verifications" / first.id).write_bytes(data)
    with pytest.raises(IntegrityError, match="failed authentication"):
        load_verifications(repo)
    errors: list[str] = []
    assert load_verifications(repo, errors=errors) == []
    assert len(errors) == 1 and first.id in errors[0]


def test_an_old_repository_without_the_folder_reads_as_empty_and_gets_it_on_write(
    repo: Repository, repo_path: Path, two_snapshots: tuple[Snapshot, Snapshot]
) -> None:
    first, _second = two_snapshots
    shutil.rmtree(repo_path / "verifications")
    assert load_verifications(repo) == []
    assert run_check(repo_path) == ([], [], {}, 0)
    save_verification(repo, record(first))
    assert len(load_verifications(repo)) == 1


def test_a_new_repository_has_the_folder(tmp_path: Path) -> None:
    Repository.init(LocalBackend(str(tmp_path / "r")), TEST_PASSWORD, TEST_KDF).close()
    assert (tmp_path / "r" / "verifications").is_dir()
    assert list(LocalBackend(str(tmp_path / "r")).list(FileType.VERIFICATION)) == []


def test_check_counts_records_names_a_damaged_one_and_warns_of_an_orphan(
    repo: Repository, repo_path: Path, two_snapshots: tuple[Snapshot, Snapshot]
) -> None:
    first, second = two_snapshots
    good = save_verification(repo, record(first))
    damaged = save_verification(repo, record(second, Kind.RESTORE_TEST))
    assert run_check(repo_path) == ([], [], {}, 2)

    path = repo_path / "verifications" / damaged
    data = bytearray(path.read_bytes())
    data[40] ^= 0x01
    path.write_bytes(bytes(data))
    errors, warnings, found, count = run_check(repo_path)
    assert count == 2 and found == {"verifications": [damaged]}
    assert len(errors) == 1 and damaged in errors[0] and "damaged" in errors[0]
    assert good not in " ".join(errors) and warnings == []

    path.unlink()
    (repo_path / "snapshots" / first.id).unlink()  # a forget that crashed before the records
    errors, warnings, found, count = run_check(repo_path)
    assert errors == [] and count == 1
    assert len(warnings) == 1 and good in warnings[0] and first.id[:8] in warnings[0]


def test_forget_removes_the_records_and_prune_removes_orphans(
    repo: Repository, two_snapshots: tuple[Snapshot, Snapshot]
) -> None:
    first, second = two_snapshots
    for s in (first, first, second):
        save_verification(repo, record(s, minutes=len(load_verifications(repo))))
    assert remove_snapshots(repo, [first]) == 1
    assert [r.snapshot for r in load_verifications(repo)] == [second.id]

    # A record left behind (the forget crashed in between): prune takes it away.
    orphan = save_verification(repo, record(first, minutes=9))
    dry = prune(repo, dry_run=True)
    assert dry.dry_run and orphan in {r.id for r in load_verifications(repo)}
    prune(repo)
    assert [r.snapshot for r in load_verifications(repo)] == [second.id]
    assert [s.id for s in load_all(repo)] == [second.id]


def test_copy_carries_the_records_repointed_and_later_ones_on_the_next_copy(
    repo: Repository, two_snapshots: tuple[Snapshot, Snapshot], tmp_path: Path
) -> None:
    first, second = two_snapshots
    save_verification(repo, record(first, Kind.READ_BACK, True, 0))
    save_verification(repo, record(first, Kind.RESTORE_TEST, True, 1))
    dst = Repository.init(LocalBackend(str(tmp_path / "dst")), "other", TEST_KDF)
    try:
        results = Copier(repo, dst).copy([first, second])
        assert [r.verifications for r in results] == [2, 0]
        copied = load_verifications(dst)
        assert [(r.kind, r.snapshot, r.copied_from) for r in copied] == [
            (Kind.READ_BACK, results[0].copy_id, first.id),
            (Kind.RESTORE_TEST, results[0].copy_id, first.id),
        ]
        assert [r.time for r in copied] == [T0, T0 + dt.timedelta(minutes=1)]

        # The second snapshot is verified after its copy: copying again brings the record.
        save_verification(repo, record(second, Kind.RESTORE_TEST, False, 5))
        again = Copier(repo, dst).copy([first, second])
        assert [(r.skipped, r.verifications) for r in again] == [(True, 0), (True, 1)]
        [late] = load_verifications(dst, results[1].copy_id)
        assert late.result is Result.FAILED and late.copied_from == second.id

        # The copy's own copy still names the snapshot first tested.
        third = Repository.init(LocalBackend(str(tmp_path / "third")), "third", TEST_KDF)
        try:
            [r3] = Copier(dst, third).copy([s for s in load_all(dst) if s.id == results[0].copy_id])
            assert {r.copied_from for r in load_verifications(third, r3.copy_id)} == {first.id}
        finally:
            third.close()
    finally:
        dst.close()
