"""PostgreSQL source against the real server: back up, damage, restore beside and in place."""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PG_HOST, PG_PORT, PG_USER, require_postgres
from sources_helpers import backup, private_tmp, reader, snapshot_count, watch_disk

from cadang.errors import CommandFailedError, RestoreError, SourceError, UsageError
from cadang.repo.repository import Repository
from cadang.sources.base import RestoreTarget
from cadang.sources.config import PostgresSource
from cadang.sources.postgres import (
    GLOBALS,
    PostgresSQLSource,
    conninfo,
    is_pgpass,
    pg_dump_argv,
    pg_restore_argv,
    secret_env,
)

SCHEMA = """
CREATE TABLE penduduk (
    id integer PRIMARY KEY,
    nama text NOT NULL,
    catatan text,
    foto bytea,
    saldo numeric(16, 2),
    lahir date,
    dicatat timestamptz,
    aktif boolean
);
CREATE TABLE keluarga (
    id integer PRIMARY KEY,
    kepala integer NOT NULL REFERENCES penduduk (id),
    alamat text
);
CREATE TABLE anggota (
    keluarga integer REFERENCES keluarga (id) ON DELETE CASCADE,
    penduduk integer REFERENCES penduduk (id),
    peran text,
    PRIMARY KEY (keluarga, penduduk)
);
CREATE VIEW dewasa AS SELECT id, nama FROM penduduk WHERE lahir < date '2006-06-01';
CREATE FUNCTION umur(d date) RETURNS integer LANGUAGE sql IMMUTABLE
    AS $$ SELECT extract(year FROM age(date '2024-06-01', d))::integer $$;
INSERT INTO penduduk VALUES
    (1, 'Ni Luh Putu Ayu Kusumawati', 'Banjar Dinas Kaja, Singaraja 🌴', '\\x00ff10', 12345678901234.56,
     '1990-02-28', '2024-01-31 23:59:59.123456+08', true),
    (2, 'I Gede Ngurah', NULL, NULL, -0.01, '2010-12-31', NULL, false),
    (3, 'Siti Nurhaliza «Ibu»', E'baris satu\\nbaris dua\\t"kutip" ''tunggal''', '\\x',
     0, NULL, '1970-01-01 00:00:00+00', NULL),
    (4, 'Ketut 😀 Ω ✓', '', '\\xdeadbeef', 99.99, '2000-01-01', '2038-01-19 03:14:07+07', true);
INSERT INTO keluarga VALUES (10, 1, 'Jl. Ahmad Yani No. 5'), (11, 3, NULL);
INSERT INTO anggota VALUES (10, 1, 'kepala'), (10, 2, 'anak'), (11, 3, 'kepala'), (11, 4, NULL);
"""
TABLES = {"penduduk": "id", "keluarga": "id", "anggota": "keluarga, penduduk"}


def psql(database: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", "-X", "-w", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST,
         "-p", str(PG_PORT), "-U", PG_USER, "-d", database, "-c", sql],
        capture_output=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def exists(database: str) -> bool:
    return (
        psql("postgres", f"SELECT count(*) FROM pg_database WHERE datname = '{database}'") == "1\n"
    )


def state(database: str) -> dict[str, list[str]]:
    """Every table row by row (as JSON, ordered by primary key), the view and the function."""
    out = {
        t: psql(database, f"SELECT row_to_json(x)::text FROM {t} x ORDER BY {key}").splitlines()
        for t, key in TABLES.items()
    }
    out["view dewasa"] = psql(database, "SELECT id, nama FROM dewasa ORDER BY id").splitlines()
    out["function umur"] = [psql(database, "SELECT umur(date '2000-06-01')").strip()]
    return out


@pytest.fixture
def scratch() -> Iterator[list[str]]:
    """A list of scratch database names; every one that exists is dropped at the end."""
    require_postgres()
    names: list[str] = []
    try:
        yield names
    finally:
        for n in names:
            psql("postgres", f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')


def make_database(scratch: list[str]) -> str:
    name = f"cadang_test_{uuid.uuid4().hex[:10]}"
    scratch.append(name)
    psql("postgres", f'CREATE DATABASE "{name}"')
    psql(name, SCHEMA)
    return name


def source(databases: list[str] | str = "all", **kw: object) -> PostgresSQLSource:
    cfg = PostgresSource.model_validate(
        {"type": "postgres", "name": "db", "host": PG_HOST, "port": PG_PORT, "user": PG_USER,
         "databases": databases, **kw}
    )  # fmt: skip
    return PostgresSQLSource(cfg)


# --- against the server --------------------------------------------------------------------


def test_round_trip_into_a_new_name_and_in_place(
    repo: Repository, scratch: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = make_database(scratch)
    original = state(db)
    assert original["function umur"] == ["24"] and len(original["penduduk"]) == 4
    src = source([db])

    tmp, cwd = private_tmp(monkeypatch, tmp_path), tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    with watch_disk(tmp, cwd) as watch:
        snap = backup(repo, src)
    assert watch.new_files() == set()  # streamed: no dump file, not even for a moment

    r = reader(repo, snap)
    assert r.names() == sorted([f"{db}.pgdump", GLOBALS])
    with r.open(f"{db}.pgdump") as f:
        assert f.read(5) == b"PGDMP"  # custom format
    facts = snap.summary["facts"][f"{db}.pgdump"]
    assert facts == {
        "tables": 3,
        "rows": {"public.anggota": 4, "public.keluarga": 2, "public.penduduk": 4},
        "rows_exact": True,
        "consistent_with_dump": True,
    }
    with r.open(GLOBALS) as f:
        assert b"CREATE ROLE" in f.read()

    # The application damages its data.
    psql(
        db,
        "UPDATE penduduk SET nama = 'rusak', foto = NULL; DELETE FROM anggota WHERE peran IS NULL",
    )
    psql(db, "DROP VIEW dewasa; DROP FUNCTION umur(date); DROP TABLE anggota")
    psql(db, "INSERT INTO penduduk (id, nama) VALUES (99, 'baru')")

    new = f"{db}_restored"
    scratch.append(new)
    outcome = src.restore(r, RestoreTarget(into=new))
    assert outcome.restored == [new]
    assert any(GLOBALS in d and "not applied" in d for d in outcome.details)
    assert state(new) == original

    # The new name is taken now: refused, nothing touched.
    with pytest.raises(UsageError, match="already exists"):
        src.restore(r, RestoreTarget(into=new))
    assert state(new) == original

    outcome = src.restore(r, RestoreTarget(in_place=True))
    assert outcome.restored == [db]
    assert state(db) == original


def test_default_new_name_and_several_databases(repo: Repository, scratch: list[str]) -> None:
    a, b = make_database(scratch), make_database(scratch)
    psql(b, "DELETE FROM anggota WHERE keluarga = 11")
    src = source([a, b], globals=False)
    snap = backup(repo, src)
    r = reader(repo, snap)
    assert r.names() == sorted([f"{a}.pgdump", f"{b}.pgdump"])

    with pytest.raises(UsageError, match="several databases"):
        src.restore(r, RestoreTarget(into="one_name"))
    outcome = src.restore(r, RestoreTarget(into="{name}_r"))
    scratch.extend(outcome.restored)
    assert sorted(outcome.restored) == sorted([f"{a}_r", f"{b}_r"])
    assert state(f"{a}_r") == state(a) and state(f"{b}_r") == state(b)
    assert len(state(f"{b}_r")["anggota"]) == 2

    outcome = src.restore(r, RestoreTarget())
    scratch.extend(outcome.restored)
    (new_a,) = [n for n in outcome.restored if n.startswith(f"{a}_restored_")]
    (new_b,) = [n for n in outcome.restored if n.startswith(f"{b}_restored_")]
    assert state(new_a) == state(a) and state(new_b) == state(b)


def test_counts_match_the_dump_while_the_application_writes(
    repo: Repository, scratch: list[str]
) -> None:
    """The facts and the dump share one snapshot: exact even under concurrent inserts."""
    db = make_database(scratch)
    psql(db, "CREATE TABLE log (id serial PRIMARY KEY, at timestamptz DEFAULT now())")
    inserts = "".join("INSERT INTO log DEFAULT VALUES;\n" for _ in range(6000))
    writer = subprocess.Popen(
        ["psql", "-X", "-w", "-q", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", db],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    feeder = threading.Thread(target=writer.communicate, args=(inserts.encode(),))
    feeder.start()
    try:
        while int(psql(db, "SELECT count(*) FROM log")) < 200:
            pass
        snap = backup(repo, source([db], globals=False))
    finally:
        feeder.join()
    counted = snap.summary["facts"][f"{db}.pgdump"]["rows"]["public.log"]
    assert 200 <= counted < 6000  # the writer was still busy when the snapshot was taken

    new = f"{db}_r"
    scratch.append(new)
    source([db]).restore(reader(repo, snap), RestoreTarget(into=new))
    assert int(psql(new, "SELECT count(*) FROM log")) == counted
    assert int(psql(db, "SELECT count(*) FROM log")) == 6000


def test_all_lists_the_databases_that_accept_connections(scratch: list[str]) -> None:
    db = make_database(scratch)
    names = source("all").databases()
    assert db in names and "postgres" in names
    assert "template0" not in names and "template1" not in names
    assert source([db]).probe().startswith(f"reachable: {db} ")


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"port": 1}, "Connection refused"),
        (
            {"databases": ["cadang_no_such_database"]},
            'database "cadang_no_such_database" does not exist',
        ),
    ],
)
def test_a_failed_dump_writes_no_snapshot(
    repo: Repository, kw: dict[str, object], reason: str
) -> None:
    require_postgres()
    cfg: dict[str, object] = {"databases": ["postgres"], "globals": False, **kw}
    databases = cfg.pop("databases")
    assert isinstance(databases, list)
    src = source(databases, **cfg)
    with pytest.raises(CommandFailedError, match=reason) as err:
        backup(repo, src)
    assert isinstance(err.value, SourceError)
    assert snapshot_count(repo) == 0
    with pytest.raises(CommandFailedError, match=reason):
        src.probe()


def test_a_failed_restore_into_a_new_name_drops_it_again(
    repo: Repository, scratch: list[str]
) -> None:
    db = make_database(scratch)
    src = source([db], globals=False)
    snap = backup(repo, src)
    new = f"{db}_broken"
    scratch.append(new)

    class Truncated:
        """A reader whose dump is cut off half-way: pg_restore must fail, not half-restore."""

        def names(self) -> list[str]:
            return reader(repo, snap).names()

        def open(self, name: str):  # type: ignore[no-untyped-def]
            import io

            with reader(repo, snap).open(name) as f:
                data = f.read()
            return io.BytesIO(data[: len(data) // 2])

    with pytest.raises(RestoreError, match="was dropped again"):
        src.restore(Truncated(), RestoreTarget(into=new))
    assert not exists(new)

    psql(db, "DELETE FROM anggota")
    before = state(db)
    with pytest.raises(RestoreError, match="as it was before"):
        src.restore(Truncated(), RestoreTarget(in_place=True))
    assert state(db) == before  # one transaction: untouched


# --- builders and secrets (no server) --------------------------------------------------------


def test_command_builders() -> None:
    cfg = PostgresSource(type="postgres", name="db", host="db.local", port=5433, user="backup")
    assert pg_dump_argv(cfg, "siak", "00000003-1") == [
        "pg_dump", "-Fc", "-Z0", "-h", "db.local", "-p", "5433", "-U", "backup", "-w",
        "--snapshot=00000003-1", "-d", "dbname='siak'",
    ]  # fmt: skip
    assert pg_restore_argv(cfg, "new", in_place=False)[-4:] == [
        "--single-transaction", "--no-owner", "-d", "dbname='new'",
    ]  # fmt: skip
    in_place = pg_restore_argv(cfg, "siak", in_place=True)
    assert "--clean" in in_place and "--if-exists" in in_place and "--no-owner" not in in_place
    assert conninfo("it's=odd") == "dbname='it\\'s=odd'"


def test_secrets_go_to_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "pw"
    plain.write_text("rahasia:123\n")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text("# comment\n127.0.0.1:5432:*:postgres:rahasia\n")
    base = {"type": "postgres", "name": "db"}
    env = secret_env(PostgresSource.model_validate({**base, "password_file": str(plain)}))
    assert env["PGPASSWORD"] == "rahasia:123" and "PGPASSFILE" not in env
    env = secret_env(PostgresSource.model_validate({**base, "password_file": str(pgpass)}))
    assert env["PGPASSFILE"] == str(pgpass) and "PGPASSWORD" not in env
    monkeypatch.setenv("CADANG_TEST_PG", "dari-env")
    env = secret_env(PostgresSource.model_validate({**base, "password_env": "CADANG_TEST_PG"}))
    assert env["PGPASSWORD"] == "dari-env"
    monkeypatch.delenv("CADANG_TEST_PG")
    with pytest.raises(SourceError, match="CADANG_TEST_PG is not set"):
        secret_env(PostgresSource.model_validate({**base, "password_env": "CADANG_TEST_PG"}))
    assert is_pgpass("h:5432:db:u:p") and not is_pgpass("just a password")
    assert "PGPASSWORD" not in os.environ
