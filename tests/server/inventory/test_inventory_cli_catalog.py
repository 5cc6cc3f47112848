"""``cadang plan export`` against a real catalog, on SQLite and on PostgreSQL, in
subprocesses as an administrator would run it: import a plan, export it, load it back.

The PostgreSQL case needs a server on 127.0.0.1:5432 (user postgres, trust); it makes a
fresh database and drops it. Without PostgreSQL it is skipped, except in CI (CI=true),
where a skip would hide that the catalog was never tried on it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cadang.plan.loader import load_plan
from cadang.plan.report import RunReport, Status
from cadang.plan.state import StateStore

from server.inventory.inventory_helpers import source_result

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
IMPORT = "import sys; from cadang.server.service import prepare; print(prepare(sys.argv[1], sys.argv[2]))"


def _postgres_database() -> Iterator[str]:
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN, autocommit=True)
    except Exception as exc:
        reason = f"PostgreSQL is not reachable on 127.0.0.1:5432 ({exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; CI must test the catalog on PostgreSQL")
        pytest.skip(reason)
    name = f"cadang_inventory_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    out = dict(os.environ)
    out.pop("DJANGO_SETTINGS_MODULE", None)  # the real settings, as in production
    out.pop("CADANG_SERVER_DATABASE", None)
    out.update(
        CADANG_STATE_DIR=str(tmp_path / "state"),
        CADANG_SECRET_KEY="cli-test-key",
        CADANG_LANG="en",
    )
    return out


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_import_then_export_round_trips(
    database: str, env: dict[str, str], sample_plan_file: Path, tmp_path: Path
) -> None:
    # A run the command line made, kept in the state directory: imported once only.
    report = RunReport(
        organization="Dinas Uji",
        hostname="uji",
        started="2026-03-01T01:00:00+07:00",
        results=[source_result("simpeg", "BKPSDM", Status.SUCCEEDED)],
    )
    StateStore(env["CADANG_STATE_DIR"]).save_run_report(report)
    first = run(["-c", IMPORT, database, str(sample_plan_file)], env)
    assert first.returncode == 0, first.stderr
    assert "2 application(s) added" in first.stdout
    assert "1 run(s) imported" in first.stdout
    again = run(["-c", IMPORT, database, str(sample_plan_file)], env)
    assert again.returncode == 0, again.stderr
    assert "0 application(s) added, 0 updated, 2 unchanged" in again.stdout
    assert "0 run(s) imported" in again.stdout

    out = tmp_path / "exported.yaml"
    exported = run(["-m", "cadang", "plan", "export", "--database", database, "-o", str(out)], env)
    assert exported.returncode == 0, exported.stderr
    assert f"wrote the server's plan to {out} (2 application(s))" in exported.stderr
    assert load_plan(out) == load_plan(sample_plan_file)

    to_stdout = run(["-m", "cadang", "plan", "export"], env | {"CADANG_SERVER_DATABASE": database})
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert to_stdout.stdout.split("\n", 1)[1] == out.read_text().split("\n", 1)[1]


def test_export_of_an_empty_catalog_says_what_to_do(env: dict[str, str], tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    result = run(["-m", "cadang", "plan", "export", "--database", database], env)
    assert result.returncode == 2
    assert "the server holds no plan yet" in result.stderr
    assert "Traceback" not in result.stderr


def test_plan_check_never_loads_django(env: dict[str, str], sample_plan_file: Path) -> None:
    code = (
        "import sys; from click.testing import CliRunner; from cadang.cli.main import cli; "
        "r = CliRunner().invoke(cli, ['-c', sys.argv[1], 'plan', 'check', '--offline']); "
        "print('django' in sys.modules, r.exit_code)"
    )
    result = run(["-c", code, str(sample_plan_file)], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"
