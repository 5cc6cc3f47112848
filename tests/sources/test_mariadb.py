"""MariaDB source against the real server: back up, damage, restore beside and in place."""

from __future__ import annotations

import io
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MARIADB_HOST, MARIADB_PORT, MARIADB_USER, require_mariadb
from sources_helpers import backup, private_tmp, reader, snapshot_count, watch_disk

from cadang.errors import CommandFailedError, RestoreError, SourceError, UsageError
from cadang.repo.repository import Repository
from cadang.sources.base import RestoreTarget
from cadang.sources.config import MariaDBSource
from cadang.sources.mariadb import (
    MariaDBSourceImpl,
    conn_args,
    create_database_sql,
    dump_argv,
    secret_env,
)

SCHEMA = r"""
CREATE TABLE penduduk (
    id INT PRIMARY KEY,
    nama VARCHAR(200) NOT NULL,
    catatan TEXT,
    foto BLOB,
    saldo DECIMAL(16, 2),
    lahir DATE,
    dicatat DATETIME(6),
    aktif BOOLEAN
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE keluarga (
    id INT PRIMARY KEY,
    kepala INT NOT NULL,
    alamat VARCHAR(300),
    FOREIGN KEY (kepala) REFERENCES penduduk (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE anggota (
    keluarga INT,
    penduduk INT,
    peran VARCHAR(20),
    PRIMARY KEY (keluarga, penduduk),
    FOREIGN KEY (keluarga) REFERENCES keluarga (id) ON DELETE CASCADE,
    FOREIGN KEY (penduduk) REFERENCES penduduk (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE VIEW dewasa AS SELECT id, nama FROM penduduk WHERE lahir < '2006-06-01';
CREATE PROCEDURE tambah(IN p_id INT, IN p_nama VARCHAR(200))
    INSERT INTO penduduk (id, nama) VALUES (p_id, p_nama);
INSERT INTO penduduk VALUES
    (1, 'Ni Luh Putu Ayu Kusumawati', 'Banjar Dinas Kaja, Singaraja 🌴', X'00FF10',
     12345678901234.56, '1990-02-28', '2024-01-31 23:59:59.123456', TRUE),
    (2, 'I Gede Ngurah', NULL, NULL, -0.01, '2010-12-31', NULL, FALSE),
    (3, 'Siti Nurhaliza «Ibu»', 'baris satu\nbaris dua\t"kutip" \'tunggal\' \\ miring', X'',
     0, NULL, '1970-01-01 00:00:00', NULL),
    (4, 'Ketut 😀 Ω ✓', '', X'DEADBEEF', 99.99, '2000-01-01', '2038-01-19 03:14:07', TRUE);
INSERT INTO keluarga VALUES (10, 1, 'Jl. Ahmad Yani No. 5'), (11, 3, NULL);
INSERT INTO anggota VALUES (10, 1, 'kepala'), (10, 2, 'anak'), (11, 3, 'kepala'), (11, 4, NULL);
"""
QUERIES = {
    "penduduk": "SELECT id, nama, catatan, HEX(foto), foto IS NULL, saldo, lahir, dicatat, aktif "
    "FROM penduduk ORDER BY id",
    "keluarga": "SELECT * FROM keluarga ORDER BY id",
    "anggota": "SELECT * FROM anggota ORDER BY keluarga, penduduk",
    "view dewasa": "SELECT * FROM dewasa ORDER BY id",
}


def mariadb(sql: str, database: str | None = None) -> str:
    argv = ["mariadb", f"--host={MARIADB_HOST}", f"--port={MARIADB_PORT}", "--user=root",
            "--default-character-set=utf8mb4", "-N", "-B", "-e", sql]  # fmt: skip
    done = subprocess.run(
        [*argv, database] if database else argv, capture_output=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def exists(database: str) -> bool:
    return mariadb(f"SHOW DATABASES LIKE '{database}'").strip() == database


def state(database: str) -> dict[str, str]:
    out = {name: mariadb(sql, database) for name, sql in QUERIES.items()}
    # The procedure exists and works (called in a transaction that is rolled back).
    out["procedure tambah"] = mariadb(
        "START TRANSACTION; CALL tambah(77, 'Made 🌺'); SELECT nama FROM penduduk WHERE id = 77;"
        " ROLLBACK;",
        database,
    )
    return out


@pytest.fixture
def scratch() -> Iterator[list[str]]:
    require_mariadb()
    names: list[str] = []
    try:
        yield names
    finally:
        for n in names:
            mariadb(f"DROP DATABASE IF EXISTS `{n}`")


def make_database(scratch: list[str]) -> str:
    name = f"cadang_test_{uuid.uuid4().hex[:10]}"
    scratch.append(name)
    mariadb(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    mariadb(SCHEMA, name)
    return name


def source(databases: list[str] | str = "all", **kw: object) -> MariaDBSourceImpl:
    cfg = MariaDBSource.model_validate(
        {"type": "mariadb", "name": "db", "host": MARIADB_HOST, "port": MARIADB_PORT,
         "user": MARIADB_USER, "databases": databases, **kw}
    )  # fmt: skip
    return MariaDBSourceImpl(cfg)


def test_round_trip_into_a_new_name_and_in_place(
    repo: Repository, scratch: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = make_database(scratch)
    original = state(db)
    assert "Made 🌺" in original["procedure tambah"]
    assert "Ketut 😀 Ω ✓" in original["penduduk"] and "DEADBEEF" in original["penduduk"]
    src = source([db])

    tmp, cwd = private_tmp(monkeypatch, tmp_path), tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    with watch_disk(tmp, cwd) as watch:
        snap = backup(repo, src)
    assert watch.new_files() == set()

    r = reader(repo, snap)
    assert r.names() == [f"{db}.sql"]
    with r.open(f"{db}.sql") as f:
        dump = f.read()
    assert b"CREATE DATABASE" not in dump and b"USE `" not in dump  # loadable under any name
    assert b"CREATE DEFINER" in dump and b"PROCEDURE `tambah`" in dump
    assert snap.summary["facts"][f"{db}.sql"] == {
        "tables": 3,
        "rows": {"anggota": 4, "keluarga": 2, "penduduk": 4},
        "rows_exact": True,
    }

    mariadb("UPDATE penduduk SET nama = 'rusak', foto = NULL; DELETE FROM anggota; "
            "DROP VIEW dewasa; DROP PROCEDURE tambah; INSERT INTO penduduk (id, nama) "
            "VALUES (99, 'baru'); CREATE TABLE sisa (x INT)", db)  # fmt: skip

    new = f"{db}_restored"
    scratch.append(new)
    outcome = src.restore(r, RestoreTarget(into=new))
    assert outcome.restored == [new]
    assert state(new) == original
    charset = "SELECT default_collation_name FROM information_schema.schemata WHERE schema_name = "
    assert mariadb(f"{charset}'{new}'").strip() == "utf8mb4_unicode_ci"  # like the original

    with pytest.raises(UsageError, match="already exists"):
        src.restore(r, RestoreTarget(into=new))

    outcome = src.restore(r, RestoreTarget(in_place=True))
    assert outcome.restored == [db]
    assert state(db) == original
    assert "sisa" not in mariadb("SHOW TABLES", db).split()  # dropped and recreated


def test_all_leaves_out_the_system_databases(scratch: list[str]) -> None:
    db = make_database(scratch)
    names = source("all").databases()
    assert db in names
    assert not {"mysql", "sys", "information_schema", "performance_schema"} & set(names)
    assert source([db]).probe().startswith(f"reachable: {db} ")
    with pytest.raises(UsageError, match="does not exist"):
        source(["cadang_no_such_db"]).probe()


@pytest.mark.parametrize(
    ("kw", "reason"),
    [({"port": 1}, "Can't connect"), ({"databases": ["cadang_no_such_db"]}, "Unknown database")],
)
def test_a_failed_dump_writes_no_snapshot(
    repo: Repository, kw: dict[str, object], reason: str
) -> None:
    require_mariadb()
    cfg = {"databases": ["mysql"], **kw}
    databases = cfg.pop("databases")
    assert isinstance(databases, list)
    with pytest.raises(CommandFailedError, match=reason) as err:
        backup(repo, source(databases, **cfg))
    assert isinstance(err.value, SourceError)
    assert snapshot_count(repo) == 0


def test_a_failed_load_into_a_new_name_drops_it(repo: Repository, scratch: list[str]) -> None:
    db = make_database(scratch)
    src = source([db])
    snap = backup(repo, src)

    class Broken:
        def names(self) -> list[str]:
            return [f"{db}.sql"]

        def open(self, name: str) -> io.BytesIO:
            return io.BytesIO(b"CREATE TABLE t (x INT);\nTHIS IS NOT SQL;\n")

    new = f"{db}_broken"
    scratch.append(new)
    with pytest.raises(RestoreError, match="was dropped again") as err:
        src.restore(Broken(), RestoreTarget(into=new))
    assert "ERROR 1064" in err.value.message  # the client's own reason
    assert not exists(new)
    with pytest.raises(RestoreError, match="partly restored"):
        src.restore(Broken(), RestoreTarget(in_place=True))
    src.restore(reader(repo, snap), RestoreTarget(in_place=True))  # the backup still works
    assert "Ketut" in mariadb("SELECT nama FROM penduduk", db)


def test_command_builders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = MariaDBSource(type="mysql", name="db", option_file="/etc/cadang/my.cnf", user="backup")
    assert conn_args(cfg)[0] == "--defaults-extra-file=/etc/cadang/my.cnf"  # must be first
    argv = dump_argv("mariadb-dump", cfg, "siak")
    assert argv[-1] == "siak" and "--databases" not in argv
    assert {"--single-transaction", "--routines", "--triggers", "--events", "--hex-blob"} <= set(
        argv
    )
    assert create_database_sql("a`b", "utf8mb4", "utf8mb4_bin") == (
        "CREATE DATABASE `a``b` CHARACTER SET 'utf8mb4' COLLATE 'utf8mb4_bin'"
    )
    monkeypatch.setenv("CADANG_TEST_MY", "s3cret")
    assert secret_env(cfg) == {}
    with_env = MariaDBSource(type="mariadb", name="db", password_env="CADANG_TEST_MY")
    assert secret_env(with_env) == {"MYSQL_PWD": "s3cret"}
    assert MariaDBSourceImpl(cfg).kind == "mysql"
