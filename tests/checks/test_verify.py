"""Read-back and restore tests against real files, SQLite, PostgreSQL and MariaDB.

Database restore tests pass on a good dump, fail on a truncated one, and leave no
throw-away database behind in either case.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    MARIADB_HOST,
    MARIADB_PORT,
    PG_HOST,
    PG_PORT,
    PG_USER,
    flip_byte,
    make_sqlite,
    make_tree,
    require_mariadb,
    require_postgres,
)

from cadang.checks.verify import (
    SCRATCH_PREFIX,
    SnapshotVerification,
    VerifySettings,
    _Errors,
    _sample,
    cleanup_scratch,
    compare_counts,
    read_back,
    restore_test,
    scratch_name,
    scratch_time,
    verify_snapshot,
)
from cadang.repo.archiver import Archiver, BackupOptions
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot
from cadang.repo.streams import Stream
from cadang.repo.verification import Kind, load_verifications
from cadang.repo.walker import find_node
from cadang.sources.config import (
    CommandSource,
    FilesSource,
    MariaDBSource,
    OracleSource,
    PostgresSource,
    SQLiteSource,
)
from cadang.sources.mariadb import MariaDBSourceImpl
from cadang.sources.postgres import PostgresSQLSource

# --- helpers ----------------------------------------------------------------------------------


def backup_paths(repo: Repository, src: Path) -> Snapshot:
    snap, summary = Archiver(repo).backup(BackupOptions(paths=[str(src)], label="files"))
    assert not summary.errors
    return snap


def backup_streams(repo: Repository, streams: list[Stream], label: str = "db") -> Snapshot:
    snap, _summary = Archiver(repo).backup(BackupOptions(streams=streams, label=label))
    return snap


def raw_stream(name: str, data: bytes, facts: dict[str, object]) -> Stream:
    return Stream(name, lambda: io.BytesIO(data), facts=dict(facts))


def corrupt_blob(repo: Repository, repo_path: Path, blob_id: bytes) -> None:
    """Flip a byte inside one stored blob of a data pack."""
    entry = repo.lookup(blob_id)
    pack = repo_path / "data" / entry.pack[:2] / entry.pack
    flip_byte(pack, entry.offset + entry.length // 2)


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder of this test's own, to see that nothing is left in it."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def tree(root: Path, n: int = 30, seed: int = 5) -> Path:
    rnd = random.Random(seed)
    spec: dict[str, Any] = {
        f"f{i:02d}.bin": rnd.randbytes(rnd.randint(100, 40_000)) for i in range(n)
    }
    spec["sub"] = {"notes.txt": "catatan\n" * 100, "deeper": {"x.txt": "x"}}
    return make_tree(root, spec)


# --- read-back ----------------------------------------------------------------------------------


def test_read_back_reads_every_blob_of_a_good_snapshot(repo: Repository, tmp_path: Path) -> None:
    src = tree(tmp_path / "src")
    snap = backup_paths(repo, src)
    r = read_back(repo, snap)
    assert r.passed and r.kind is Kind.READ_BACK and r.errors == []
    assert r.compared["files"] == 32
    assert r.compared["bytes"] == sum(p.stat().st_size for p in src.rglob("*") if p.is_file())
    assert r.compared["trees"] >= 4


def test_a_corrupted_pack_fails_verification_and_names_snapshot_and_path(
    repo: Repository, repo_path: Path, tmp_path: Path
) -> None:
    src = tree(tmp_path / "src")
    snap = backup_paths(repo, src)
    node = find_node(repo, snap.tree, str(src / "f07.bin"))
    assert node is not None
    corrupt_blob(repo, repo_path, node.content[0])

    v = verify_snapshot(repo, snap, FilesSource(type="files", name="f", paths=[str(src)]))
    assert v.status == "failed" and v.failed
    back = v.record(Kind.READ_BACK)
    assert back is not None and not back.passed
    assert len(back.errors) == 1 and str(src / "f07.bin") in back.errors[0]
    assert "failed authentication" in back.errors[0]
    assert snap.short_id in back.details[0]
    assert v.record(Kind.RESTORE_TEST) is None
    assert v.skipped == ["the snapshot does not read back"]
    # The failure is stored with the snapshot.
    [stored] = load_verifications(repo, snap.id)
    assert stored.kind is Kind.READ_BACK and not stored.passed


def test_a_missing_tree_names_the_directory(
    repo: Repository, repo_path: Path, tmp_path: Path
) -> None:
    src = tree(tmp_path / "src")
    snap = backup_paths(repo, src)
    sub = find_node(repo, snap.tree, str(src / "sub"))
    assert sub is not None and sub.subtree is not None
    corrupt_blob(repo, repo_path, sub.subtree)
    r = read_back(repo, snap)
    assert not r.passed
    assert any(str(src / "sub") + "/" in e and "listing" in e for e in r.errors)


# --- files restore test -----------------------------------------------------------------------


def test_files_sample_matches_the_originals_then_the_snapshot_when_they_change(
    repo: Repository, tmp_path: Path, private_tmp: Path
) -> None:
    src = tree(tmp_path / "src")
    snap = backup_paths(repo, src)
    cfg = FilesSource(type="files", name="f", paths=[str(src)])
    v = verify_snapshot(repo, snap, cfg, VerifySettings(sample_files=10))
    assert v.status == "passed", v.summary()
    test = v.record(Kind.RESTORE_TEST)
    assert test is not None and test.passed
    assert test.compared["files"] == 10 and test.compared["against_originals"] == 10
    assert list(private_tmp.iterdir()) == []  # the temporary folder is gone

    for p in src.rglob("*"):
        if p.is_file():
            p.write_bytes(b"changed since the backup")
    v2 = verify_snapshot(repo, snap, cfg, VerifySettings(sample_files=10))
    test2 = v2.record(Kind.RESTORE_TEST)
    assert test2 is not None and test2.passed
    assert test2.compared["against_snapshot"] == 10 and test2.compared["against_originals"] == 0
    assert "compared with the snapshot, originals changed" in " ".join(test2.details)
    assert "originals changed" in v2.summary()
    assert len(load_verifications(repo, snap.id)) == 4


def test_files_restore_test_detects_a_wrong_byte(repo: Repository, tmp_path: Path) -> None:
    """An original that looks unchanged (same size and time) but differs by one byte from
    what the snapshot restores: the hash comparison catches it."""
    src = make_tree(tmp_path / "src", {"only.txt": "Surat edaran nomor 1\n"})
    snap = backup_paths(repo, src)
    path = src / "only.txt"
    st = path.stat()
    path.write_bytes(b"Surat edaran nomor 2\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    r = restore_test(
        repo, snap, FilesSource(type="files", name="f", paths=[str(src)]), VerifySettings()
    )
    assert not isinstance(r, str) and not r.passed
    assert r.errors == [f"{path}: the restored file differs from the original (SHA-256)"]


def test_files_restore_test_fails_on_a_corrupted_pack(
    repo: Repository, repo_path: Path, tmp_path: Path, private_tmp: Path
) -> None:
    src = make_tree(tmp_path / "src", {"a.bin": os.urandom(5000), "b.txt": "bravo\n"})
    snap = backup_paths(repo, src)
    node = find_node(repo, snap.tree, str(src / "a.bin"))
    assert node is not None
    corrupt_blob(repo, repo_path, node.content[0])
    cfg = FilesSource(type="files", name="f", paths=[str(src)])
    r = restore_test(repo, snap, cfg, VerifySettings())
    assert not isinstance(r, str) and not r.passed
    assert any(str(src / "a.bin") in e for e in r.errors)
    assert list(private_tmp.iterdir()) == []


def test_the_sample_is_the_same_each_time_and_within_its_budget(
    repo: Repository, tmp_path: Path
) -> None:
    src = tree(tmp_path / "src", n=60)
    snap = backup_paths(repo, src)
    first = _sample(repo, snap, 12, 200_000)
    assert [p for p, _n in first] == [p for p, _n in _sample(repo, snap, 12, 200_000)]
    assert 0 < len(first) <= 12 and sum(n.size for _p, n in first) <= 200_000
    everything = _sample(repo, snap, 1000, 1 << 30)
    assert len(everything) == 62


# --- comparing counts -----------------------------------------------------------------------


def compare(
    facts: object, found: dict[str, int], tolerance: float = 0.1
) -> tuple[list[str], list[str]]:
    errors, details = _Errors(), []  # type: ignore[var-annotated]
    compare_counts("db.sql", facts, found, tolerance, errors, details)
    return errors.final(), details


def test_compare_counts_exact_estimated_and_missing() -> None:
    exact = {"rows": {"a": 3, "b": 0}, "tables": 2, "rows_exact": True}
    assert compare(exact, {"a": 3, "b": 0}) == ([], [])
    errors, _ = compare(exact, {"a": 2, "b": 0, "c": 1})
    assert errors == [
        "db.sql: the restored copy has table c, which was not there at backup",
        "db.sql: table a has 2 row(s), 3 at backup",
    ]
    errors, _ = compare(exact, {"a": 3})
    assert errors == ["db.sql: table b is missing from the restored copy"]

    estimated = {"rows": {"a": 1000, "b": 0}, "rows_exact": False}
    errors, details = compare(estimated, {"a": 1090, "b": 5000})
    assert errors == []
    assert "estimates; compared within 10%" in details[0] and "1 table(s)" in details[1]
    errors, _ = compare(estimated, {"a": 1500, "b": 1})
    assert errors == ["db.sql: table a has 1500 row(s), 1000 at backup (an estimate)"]

    errors, details = compare(None, {"a": 1})
    assert errors == [] and "no row counts were recorded" in details[0]
    # Counting failed at backup (nothing counted, not exact): nothing to compare with.
    errors, details = compare({"rows": {}, "rows_exact": False}, {"a": 1})
    assert errors == [] and "no row counts were recorded" in details[0]
    # But an exactly counted empty database must come back empty.
    errors, _ = compare({"rows": {}, "rows_exact": True}, {"a": 1})
    assert errors == ["db.sql: the restored copy has table a, which was not there at backup"]


def test_scratch_names_cannot_collide_and_carry_their_time() -> None:
    now = dt.datetime(2026, 3, 1, 23, 5, tzinfo=dt.UTC)
    names = {scratch_name("Siak-App", "db.main", now) for _ in range(50)}
    assert len(names) == 50
    name = next(iter(names))
    assert name.startswith(SCRATCH_PREFIX + "202603012305_") and name.endswith("_siak_app_db_main")
    assert scratch_time(name) == now.replace(second=0)
    assert len(scratch_name("a" * 60, "b" * 60, now)) <= 63
    assert scratch_time("cadang_verify_later") is None and scratch_time("siak") is None


# --- SQLite -----------------------------------------------------------------------------------


def sqlite_snapshot(
    repo: Repository, db: Path, mangle: Callable[[bytes], bytes] | None = None
) -> Snapshot:
    from cadang.sources.sqlite import SQLiteSourceImpl

    spec = SQLiteSourceImpl(SQLiteSource(type="sqlite", name="db", path=str(db))).backup_spec()
    if mangle is None:
        return backup_streams(repo, spec.streams)
    [stream] = spec.streams
    data = stream.open().read()
    return backup_streams(repo, [raw_stream(stream.name, mangle(data), stream.facts)])


def test_sqlite_restore_test_passes_and_fails_on_truncation_or_wrong_counts(
    repo: Repository, tmp_path: Path, private_tmp: Path
) -> None:
    db = tmp_path / "siak.db"
    make_sqlite(db, 300)
    make_sqlite(db, 0, table="kosong")
    cfg = SQLiteSource(type="sqlite", name="db", path=str(db))

    good = verify_snapshot(repo, sqlite_snapshot(repo, db), cfg)
    assert good.status == "passed", good.summary()
    test = good.record(Kind.RESTORE_TEST)
    assert test is not None
    [entry] = test.compared["databases"]
    assert (entry["tables"], entry["rows"], entry["tables_expected"], entry["rows_expected"]) == (
        2,
        300,
        2,
        300,
    )
    assert "2 table(s), 300 row(s) as at backup" in good.summary()

    truncated = verify_snapshot(repo, sqlite_snapshot(repo, db, lambda d: d[: len(d) // 2]), cfg)
    assert truncated.status == "failed"
    test = truncated.record(Kind.RESTORE_TEST)
    assert (
        test is not None and "siak.db: the restore into a temporary file failed" in test.errors[0]
    )

    with sqlite3.connect(db) as con:  # the counts recorded must match what comes back
        con.execute("INSERT INTO kosong VALUES ('x', 'y', '2000-01-01')")
    spec_facts = {"tables": 2, "rows": {"penduduk": 300, "kosong": 0}, "rows_exact": True}
    from cadang.sources.sqlite import snapshot_bytes

    data, _counts = snapshot_bytes(str(db))
    snap = backup_streams(repo, [raw_stream("siak.db", data, spec_facts)])
    wrong = verify_snapshot(repo, snap, cfg)
    test = wrong.record(Kind.RESTORE_TEST)
    assert test is not None and test.errors == ["siak.db: table kosong has 1 row(s), 0 at backup"]
    assert list(private_tmp.iterdir()) == []


# --- PostgreSQL -------------------------------------------------------------------------------


def psql(database: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", "-X", "-w", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST,
         "-p", str(PG_PORT), "-U", PG_USER, "-d", database, "-c", sql],
        capture_output=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def pg_databases() -> set[str]:
    return set(psql("postgres", "SELECT datname FROM pg_database").split())


def restored_as(v: SnapshotVerification) -> list[str]:
    """The throw-away databases a restore test used (other tests may run beside this one,
    so the test looks for exactly these)."""
    test = v.record(Kind.RESTORE_TEST)
    assert test is not None
    names = [d["restored_as"] for d in test.compared["databases"]]
    assert names and all(n.startswith(SCRATCH_PREFIX) for n in names)
    return names


@pytest.fixture
def pg_db() -> Iterator[str]:
    require_postgres()
    name = f"cadang_vsrc_{uuid.uuid4().hex[:8]}"
    psql("postgres", f"CREATE DATABASE {name}")
    try:
        psql(
            name,
            "CREATE TABLE penduduk (id int PRIMARY KEY, nama text);"
            "CREATE SCHEMA arsip; CREATE TABLE arsip.surat (id int, isi text);"
            "INSERT INTO penduduk SELECT g, 'warga ' || g FROM generate_series(1, 500) g;"
            "INSERT INTO arsip.surat SELECT g, repeat('x', 200) FROM generate_series(1, 120) g;",
        )
        yield name
    finally:
        psql("postgres", f"DROP DATABASE IF EXISTS {name}")


def test_postgres_restore_test_good_and_truncated_dump_leave_no_database(
    repo: Repository, pg_db: str
) -> None:
    cfg = PostgresSource(type="postgres", name="db", databases=[pg_db], globals=False)
    source = PostgresSQLSource(cfg)
    snap = backup_streams(repo, source.backup_spec().streams)

    good = verify_snapshot(repo, snap, cfg, app="simpeg")
    assert good.status == "passed", good.summary()
    test = good.record(Kind.RESTORE_TEST)
    assert test is not None
    [entry] = test.compared["databases"]
    assert entry["tables"] == entry["tables_expected"] == 2
    assert entry["rows"] == entry["rows_expected"] == 620 and entry["rows_exact"] is True
    assert entry["restored_as"].startswith(SCRATCH_PREFIX) and entry["restored_as"].endswith(
        "_simpeg_db"
    )
    assert not set(restored_as(good)) & pg_databases()  # dropped

    dump = subprocess.run(
        ["pg_dump", "-Fc", "-Z0", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", pg_db],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    facts = source.count_rows(pg_db)
    bad_snap = backup_streams(
        repo, [raw_stream(f"{pg_db}.pgdump", dump[: len(dump) * 2 // 3], facts)]
    )
    bad = verify_snapshot(repo, bad_snap, cfg, app="simpeg")
    assert bad.status == "failed"
    test = bad.record(Kind.RESTORE_TEST)
    assert test is not None and "the restore into a throw-away database failed" in test.errors[0]
    assert not set(restored_as(bad)) & pg_databases()  # dropped although the restore failed
    assert {r.result.value for r in load_verifications(repo, bad_snap.id)} == {"passed", "failed"}


def test_postgres_leftover_scratch_databases_older_than_a_day_are_dropped(pg_db: str) -> None:
    source = PostgresSQLSource(PostgresSource(type="postgres", name="db", databases=[pg_db]))
    old = f"{SCRATCH_PREFIX}202001010000_{uuid.uuid4().hex[:8]}_old"
    young = scratch_name("app", "db")
    for n in (old, young):
        psql("postgres", f"CREATE DATABASE {n}")
    try:
        assert cleanup_scratch(source) == [old]
        left = source.existing_databases()
        assert old not in left and young in left
    finally:
        for n in (old, young):
            psql("postgres", f"DROP DATABASE IF EXISTS {n}")


# --- MariaDB ----------------------------------------------------------------------------------


def mariadb(sql: str, database: str | None = None) -> str:
    argv = [
        "mariadb",
        f"--host={MARIADB_HOST}",
        f"--port={MARIADB_PORT}",
        "--user=root",
        "-N",
        "-B",
        "-e",
        sql,
    ]
    done = subprocess.run(
        [*argv, *([database] if database else [])], capture_output=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def my_databases() -> set[str]:
    return set(mariadb("SHOW DATABASES").split())


@pytest.fixture
def my_db() -> Iterator[str]:
    require_mariadb()
    name = f"cadang_vsrc_{uuid.uuid4().hex[:8]}"
    mariadb(f"CREATE DATABASE {name}")
    try:
        mariadb(
            "CREATE TABLE berita (id INT PRIMARY KEY, judul TEXT);"
            "CREATE TABLE kosong (id INT);"
            "INSERT INTO berita SELECT seq, CONCAT('berita ', seq) FROM seq_1_to_400;",
            name,
        )
        yield name
    finally:
        mariadb(f"DROP DATABASE IF EXISTS {name}")


def test_mariadb_restore_test_good_and_truncated_dump_leave_no_database(
    repo: Repository, my_db: str
) -> None:
    cfg = MariaDBSource(type="mariadb", name="db", databases=[my_db])
    source = MariaDBSourceImpl(cfg)
    snap = backup_streams(repo, source.backup_spec().streams)

    good = verify_snapshot(repo, snap, cfg, app="website")
    assert good.status == "passed", good.summary()
    test = good.record(Kind.RESTORE_TEST)
    assert test is not None
    [entry] = test.compared["databases"]
    assert (entry["tables"], entry["rows"], entry["rows_expected"]) == (2, 400, 400)
    assert not set(restored_as(good)) & my_databases()

    [stream] = source.backup_spec().streams
    try:
        dump = stream.open().read()
        stream.complete()
    finally:
        stream.close()
    cut = dump[: len(dump) * 3 // 5]
    bad_snap = backup_streams(repo, [raw_stream(stream.name, cut, stream.facts)])
    bad = verify_snapshot(repo, bad_snap, cfg, app="website")
    assert bad.status == "failed"
    test = bad.record(Kind.RESTORE_TEST)
    # The client stops at the cut without an error, or fails on half a statement: either
    # way the copy is not the database that was backed up.
    assert test is not None and test.errors, bad.summary()
    assert any("failed" in e or "kosong is missing" in e for e in test.errors), test.errors
    assert not set(restored_as(bad)) & my_databases()


# --- command and Oracle sources -----------------------------------------------------------------


def test_command_restore_test_needs_into_and_drop_and_cleans_up(
    repo: Repository, tmp_path: Path
) -> None:
    place = tmp_path / "restored"
    place.mkdir()
    snap = backup_streams(repo, [raw_stream("antrean.archive", b"archive bytes\n", {})])
    base: dict[str, Any] = {"type": "command", "name": "mongo", "backup": ["true"]}

    unsafe = CommandSource(**base, restore=["sh", "-c", "cat > /dev/null"], drop=["true"])
    v = verify_snapshot(repo, snap, unsafe)
    assert v.status == "passed" and v.record(Kind.RESTORE_TEST) is None
    assert "{into}" in v.skipped[0]

    restore = ["sh", "-c", f'cat > "{place}/$0"', "{into}"]
    drop = ["sh", "-c", f'rm "{place}/$0"', "{into}"]
    ok = verify_snapshot(
        repo, snap, CommandSource(**base, restore=restore, drop=drop), app="antrean"
    )
    assert ok.status == "passed", ok.summary()
    test = ok.record(Kind.RESTORE_TEST)
    assert test is not None and test.compared["restored_as"].startswith(SCRATCH_PREFIX)
    assert list(place.iterdir()) == []  # restored, then dropped

    failing = ["sh", "-c", f'cat > "{place}/$0"; exit 3', "{into}"]
    bad = verify_snapshot(repo, snap, CommandSource(**base, restore=failing, drop=drop))
    test = bad.record(Kind.RESTORE_TEST)
    assert bad.status == "failed" and test is not None
    assert "the restore command failed" in test.errors[0]
    assert list(place.iterdir()) == []  # dropped although the restore failed


def test_oracle_and_unknown_sources_are_read_back_only(repo: Repository) -> None:
    snap = backup_streams(repo, [raw_stream("SIAK.dmp", b"dump", {})])
    cfg = OracleSource(type="oracle", name="db", connect="siak@SIAKDB", schemas=["SIAK"])
    v = verify_snapshot(repo, snap, cfg)
    assert v.status == "passed" and [r.kind for r in v.records] == [Kind.READ_BACK]
    assert "Oracle" in v.skipped[0]
    v = verify_snapshot(repo, snap, None)
    assert v.skipped == ["the source is not in the plan"]
    v = verify_snapshot(repo, snap, cfg, restore=False)
    assert v.skipped == ["turned off"]
