"""The database check against the real servers (and SQLite files)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from checks_helpers import path_without
from conftest import PG_HOST, PG_PORT, PG_USER, make_sqlite, require_mariadb, require_postgres

from cadang.checks.base import Result
from cadang.checks.database import DatabaseCheck, is_database
from cadang.sources.config import (
    CommandSource,
    FilesSource,
    MariaDBSource,
    OracleSource,
    PostgresSource,
    SQLiteSource,
)

PSQL = shutil.which("psql") or "psql"  # found now: a test may take it off PATH


def psql(database: str, sql: str, user: str = PG_USER) -> str:
    done = subprocess.run(
        [PSQL, "-X", "-w", "-q", "-At", "-h", PG_HOST, "-p", str(PG_PORT), "-U", user,
         "-d", database, "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return done.stdout


@pytest.fixture
def scratch() -> Iterator[str]:
    """A scratch database with a table and indexes, dropped at the end."""
    require_postgres()
    name = f"cadang_check_{uuid.uuid4().hex[:10]}"
    psql("postgres", f'CREATE DATABASE "{name}"')
    try:
        psql(
            name,
            "CREATE TABLE penduduk (nik text PRIMARY KEY, nama text); "
            "CREATE INDEX ON penduduk (nama); "
            "INSERT INTO penduduk SELECT 'n' || g, 'Warga ' || g FROM generate_series(1, 500) g",
        )
        yield name
    finally:
        psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg(databases: list[str], **kw: object) -> PostgresSource:
    return PostgresSource.model_validate(
        {"type": "postgres", "name": "db", "databases": databases, "globals": False, **kw}
    )


def test_which_sources_are_databases(tmp_path: Path) -> None:
    assert is_database(pg(["x"]))
    assert is_database(SQLiteSource(type="sqlite", name="db", path="/x.db"))
    assert is_database(MariaDBSource(type="mariadb", name="db"))
    assert not is_database(FilesSource(type="files", name="f", paths=["/srv"]))
    assert not is_database(CommandSource(type="command", name="c", backup=["true"]))


def test_postgres_reachable_with_size(scratch: str) -> None:
    rec = DatabaseCheck("simpeg", pg([scratch])).run()
    assert rec.result is Result.PASSED, rec.summary
    assert rec.kind == "database" and rec.subject == "simpeg/db"
    assert rec.app == "simpeg" and rec.source == "db"
    assert scratch in rec.summary and "MiB" in rec.summary
    assert not rec.escalate


def test_postgres_unreachable_fails_with_the_reason() -> None:
    require_postgres()  # the client tools are needed to try
    rec = DatabaseCheck("simpeg", pg(["simpeg"], port=1)).run()
    assert rec.result is Result.FAILED and rec.escalate
    assert "127.0.0.1" in rec.summary and "port 1" in rec.summary
    assert "refused" in rec.summary.lower()


def test_postgres_missing_database_fails(scratch: str) -> None:
    rec = DatabaseCheck("simpeg", pg([scratch + "_nope"])).run()
    assert rec.result is Result.FAILED
    assert scratch + "_nope" in rec.summary and "does not exist" in rec.summary


def test_amcheck_checks_every_btree_index(scratch: str) -> None:
    rec = DatabaseCheck("simpeg", pg([scratch], amcheck=True)).run()
    assert rec.result is Result.PASSED, rec.summary
    checked = rec.details["amcheck"]["checked"][scratch]
    # The table's two indexes, plus the system catalogs' B-tree indexes.
    assert checked >= 2 + 50
    assert "B-tree index(es) intact" in rec.summary
    assert psql(scratch, "SELECT extname FROM pg_extension WHERE extname = 'amcheck'").strip()


def test_amcheck_without_privilege_is_a_warning(scratch: str) -> None:
    role = f"cadang_nosu_{uuid.uuid4().hex[:8]}"
    psql("postgres", f'CREATE ROLE "{role}" LOGIN')
    try:
        rec = DatabaseCheck("simpeg", pg([scratch], amcheck=True, user=role)).run()
    finally:
        psql("postgres", f'DROP ROLE IF EXISTS "{role}"')
    assert rec.result is Result.WARNING, rec.summary
    assert "amcheck" in rec.summary and "could not be created" in rec.summary
    assert "permission denied" in rec.summary or "superuser" in rec.summary.lower()
    assert "CREATE EXTENSION amcheck" in rec.hint
    assert not rec.escalate


def test_missing_client_tool_names_the_package(
    scratch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", path_without("psql", "pg_dump"))
    rec = DatabaseCheck("simpeg", pg([scratch])).run()
    assert rec.result is Result.FAILED
    assert "postgresql-client" in rec.summary and "psql" in rec.summary


def test_mariadb_reachable() -> None:
    require_mariadb()
    rec = DatabaseCheck("web", MariaDBSource(type="mariadb", name="db", databases=["mysql"])).run()
    assert rec.result is Result.PASSED, rec.summary
    assert "mysql" in rec.summary
    rec = DatabaseCheck("web", MariaDBSource(type="mariadb", name="db", port=1)).run()
    assert rec.result is Result.FAILED and rec.summary


def test_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "surat.db"
    make_sqlite(db, 20)
    rec = DatabaseCheck("surat", SQLiteSource(type="sqlite", name="db", path=str(db))).run()
    assert rec.result is Result.PASSED and "readable" in rec.summary
    db.write_bytes(b"this is not a database" * 100)
    rec = DatabaseCheck("surat", SQLiteSource(type="sqlite", name="db", path=str(db))).run()
    assert rec.result is Result.FAILED and str(db) in rec.summary
    gone = str(tmp_path / "gone.db")
    rec = DatabaseCheck("surat", SQLiteSource(type="sqlite", name="db", path=gone)).run()
    assert rec.result is Result.FAILED and "does not exist" in rec.summary


def test_oracle_without_tools_fails_and_names_them() -> None:
    cfg = OracleSource(type="oracle", name="db", connect="siak@SIAKDB", schemas=["SIAK"])
    rec = DatabaseCheck("siak", cfg).run()
    assert rec.result is Result.FAILED  # no expdp/impdp on this machine
    assert "expdp" in rec.summary
