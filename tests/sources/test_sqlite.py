"""SQLite source: a consistent backup while a writer is busy; restores beside and in place."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest
from sources_helpers import backup, private_tmp, reader, watch_disk

from cadang.errors import RestoreError, SourceError, UsageError
from cadang.repo.repository import Repository
from cadang.sources.base import RestoreTarget
from cadang.sources.config import SQLiteSource
from cadang.sources.sqlite import SQLiteSourceImpl, default_restore_path, restore_path

SCHEMA = """
CREATE TABLE penduduk (id INTEGER PRIMARY KEY, nama TEXT NOT NULL, foto BLOB, saldo NUMERIC,
                       lahir TEXT, aktif INTEGER);
CREATE TABLE counter (n INTEGER NOT NULL);
CREATE TABLE log (id INTEGER PRIMARY KEY, at REAL);
CREATE VIEW dewasa AS SELECT id, nama FROM penduduk WHERE lahir < '2006-06-01';
CREATE TRIGGER hitung AFTER INSERT ON log BEGIN UPDATE counter SET n = n + 1; END;
INSERT INTO counter VALUES (0);
INSERT INTO penduduk VALUES
    (1, 'Ni Luh Putu Ayu Kusumawati 🌴', X'00FF10', 12345678.9, '1990-02-28', 1),
    (2, 'Ketut 😀 Ω ✓', NULL, -0.01, NULL, NULL),
    (3, 'I Gede Ngurah', X'', 0, '2010-12-31', 0);
"""


def make_db(path: Path, wal: bool = True) -> None:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(SCHEMA)
    conn.commit()
    conn.close()


def content(path: Path | str) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {
            t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
            for t in ("penduduk", "counter", "log", "dewasa")
        }
    finally:
        conn.close()


def source(path: Path) -> SQLiteSourceImpl:
    return SQLiteSourceImpl(SQLiteSource(type="sqlite", name="db", path=str(path)))


def test_backup_with_a_busy_writer_is_a_consistent_snapshot(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "app" / "data.sqlite"
    db.parent.mkdir()
    make_db(db)
    stop = threading.Event()
    started = threading.Event()
    written = [0]

    def writer() -> None:
        conn = sqlite3.connect(db, timeout=30)
        while not stop.is_set():
            with conn:  # one transaction: a log row and the counter, via the trigger
                conn.execute("INSERT INTO log (at) VALUES (julianday('now'))")
            written[0] += 1
            if written[0] == 50:
                started.set()
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    tmp = private_tmp(monkeypatch, tmp_path)
    try:
        assert started.wait(30)
        with watch_disk(tmp):
            snap = backup(repo, source(db))
            snap2 = backup(repo, source(db))
    finally:
        stop.set()
        thread.join()
    assert written[0] > 50

    r = reader(repo, snap)
    assert r.names() == ["data.sqlite"]
    out = tmp_path / "restored.sqlite"
    source(db).restore(r, RestoreTarget(into=str(out)))
    got = content(out)
    logged = len(got["log"])
    assert got["counter"] == [(logged,)]  # the trigger's count matches: one consistent moment
    assert [row[0] for row in got["log"]] == list(range(1, logged + 1))
    facts = snap.summary["facts"]["data.sqlite"]
    assert facts["rows"] == {"counter": 1, "log": logged, "penduduk": 3}
    assert facts["rows_exact"] is True
    assert len(content(db)["log"]) == written[0] > logged  # it kept writing after
    assert snap2.summary["facts"]["data.sqlite"]["rows"]["log"] >= logged
    conn = sqlite3.connect(out)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_restore_beside_and_in_place(repo: Repository, tmp_path: Path) -> None:
    db = tmp_path / "data.db"
    make_db(db)
    os.chmod(db, 0o640)
    original = content(db)
    src = source(db)
    snap = backup(repo, src)
    r = reader(repo, snap)

    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM penduduk WHERE id = 1")
    conn.execute("UPDATE penduduk SET nama = 'rusak'")
    conn.execute("DROP VIEW dewasa")
    conn.commit()
    conn.close()

    outcome = src.restore(r, RestoreTarget(into="copy.db"))  # a bare name: beside the original
    assert outcome.restored == [str(tmp_path / "copy.db")]
    assert content(tmp_path / "copy.db") == original
    with pytest.raises(UsageError, match="already exists"):
        src.restore(r, RestoreTarget(into="copy.db"))

    outcome = src.restore(r, RestoreTarget())
    assert outcome.restored[0].startswith(str(tmp_path / "data-restored-"))
    assert content(outcome.restored[0]) == original

    outcome = src.restore(r, RestoreTarget(in_place=True))
    assert outcome.restored == [str(db)]
    assert content(db) == original
    assert oct(os.stat(db).st_mode & 0o777) == oct(0o640)  # the original's mode is kept
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".data.db.")]  # no leftovers


def test_in_place_is_refused_while_the_database_is_open(repo: Repository, tmp_path: Path) -> None:
    db = tmp_path / "data.db"
    make_db(db)
    src = source(db)
    r = reader(repo, backup(repo, src))
    holder = sqlite3.connect(db)  # the application still runs
    holder.execute("SELECT count(*) FROM log").fetchone()
    try:
        with pytest.raises(RestoreError, match="still in use"):
            src.restore(r, RestoreTarget(in_place=True))
    finally:
        holder.close()
    src.restore(r, RestoreTarget(in_place=True))  # stopped: fine


def test_a_damaged_stream_never_replaces_the_database(tmp_path: Path) -> None:
    import io

    db = tmp_path / "data.db"
    make_db(db, wal=False)
    before = db.read_bytes()

    class Garbage:
        def names(self) -> list[str]:
            return ["data.db"]

        def open(self, name: str) -> io.BytesIO:
            return io.BytesIO(b"SQLite format 3\x00" + b"\x07" * 5000)

    with pytest.raises(RestoreError):
        source(db).restore(Garbage(), RestoreTarget(in_place=True))
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.db"]


def test_missing_database_and_paths(tmp_path: Path, repo: Repository) -> None:
    missing = source(tmp_path / "nope.db")
    with pytest.raises(SourceError, match="does not exist"):
        missing.probe()
    with pytest.raises(SourceError, match="does not exist"):
        backup(repo, missing)
    assert not (tmp_path / "nope.db").exists()  # never created by looking at it
    db = tmp_path / "x.db"
    make_db(db)
    assert source(db).probe().startswith("readable, ")
    assert restore_path(str(db), RestoreTarget(into="/elsewhere/y.db")) == "/elsewhere/y.db"
    assert default_restore_path("/srv/app/data.db").startswith("/srv/app/data-restored-")
    assert default_restore_path("/srv/app/data.db").endswith(".db")
