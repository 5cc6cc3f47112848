"""Application restore: into a new name beside the original, or in place between the
service's stop and start hooks, with a health check that is a real HTTP server."""

from __future__ import annotations

import datetime as dt
import shlex
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import Office, restored_path, sqlite_rows

from cadang.errors import SnapshotNotFoundError, UsageError
from cadang.plan.model import Plan
from cadang.plan.restore import ApplicationRestore, check_health
from cadang.plan.run import Runner

TZ = dt.timezone(dt.timedelta(hours=7))
NOW = dt.datetime(2026, 5, 2, 9, 15, tzinfo=TZ)


def clock() -> dt.datetime:
    return NOW


def load(office: Office) -> Plan:
    plan = office.load()
    assert isinstance(plan, Plan)
    return plan


def backup(office: Office, **kw: object) -> Plan:
    plan = load(office)
    report = Runner(plan, clock=clock, lock_wait=0, **kw).run()  # type: ignore[arg-type]
    assert report.exit_code == 0, [r.error for r in report.results]
    return plan


def restore(plan: Plan, app: str, **kw: object) -> ApplicationRestore:
    kw.setdefault("clock", clock)
    kw.setdefault("lock_wait", 0)
    kw.setdefault("health_delay", 0.0)
    return ApplicationRestore(plan, app, **kw)  # type: ignore[arg-type]


# --- hooks that leave evidence --------------------------------------------------------------


@dataclass
class Service:
    """Hook commands that record, in ``log``, that they ran and what the data looked like."""

    markers: Path
    url: str
    status: list[int]  # what the health URL answers (first item)

    @property
    def log(self) -> list[str]:
        path = self.markers / "log"
        return path.read_text().split() if path.exists() else []

    def hook(self, name: str, watched: Path) -> str:
        copy = self.markers / f"at_{name}"
        script = f"cp {shlex.quote(str(watched))} {shlex.quote(str(copy))} && echo {name} >> {shlex.quote(str(self.markers / 'log'))}"
        return shlex.join(["sh", "-c", script])


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    markers = tmp_path / "markers"
    markers.mkdir()
    status = [200]

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with open(markers / "log", "a") as f:
                f.write("health\n")
            self.send_response(status[0])
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Service(markers, f"http://127.0.0.1:{server.server_port}/health", status)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def with_service(office: Office, service: Service, watched: Path, **extra: str) -> None:
    office.apps()[0]["service"] = {
        "stop": service.hook("stop", watched),
        "start": service.hook("start", watched),
        "health": service.url,
        **extra,
    }


# --- into a new name ------------------------------------------------------------------------


def test_files_restore_into_a_new_directory(
    office: Office, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = (office.code / "index.php").read_text()
    plan = backup(office)
    (office.code / "index.php").write_text("changed after the backup\n")
    monkeypatch.chdir(tmp_path)
    report = restore(plan, "siak", source="code").run()
    assert report.ok and report.exit_code == 0
    target = tmp_path / "restore-siak-code-20260502-0915"
    assert report.sources[0].into == str(target)
    assert (restored_path(target, office.code) / "index.php").read_text() == original
    assert (office.code / "index.php").read_text() == "changed after the backup\n"
    assert report.hooks == []  # nothing was stopped for a restore beside the original
    assert "not touched" in report.state


def test_sqlite_restore_into_a_new_file_beside_the_original(office: Office, tmp_path: Path) -> None:
    rows = sqlite_rows(office.db)
    plan = backup(office)
    import sqlite3

    con = sqlite3.connect(office.db)
    con.execute("DELETE FROM penduduk")
    con.commit()
    con.close()
    report = restore(plan, "siak", source="db").run()
    assert report.ok, report.state
    [where] = report.sources[0].restored
    restored = Path(where)
    assert restored.parent == office.db.parent and restored != office.db
    assert "restore" in restored.name  # the source names it (see cadang.sources.sqlite)
    assert sqlite_rows(restored) == rows
    assert sqlite_rows(office.db) == []  # the original was not touched

    named = restore(plan, "siak", source="db", into=str(tmp_path / "siak_copy.db")).run()
    assert named.ok, named.state
    assert sqlite_rows(tmp_path / "siak_copy.db") == rows


def test_restore_by_label_and_unknown_names(
    office: Office, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plan = backup(office)
    first_label = "dinas-uji-siak-code-20260502-0915"
    (office.code / "index.php").write_text("version 2\n")
    Runner(plan, apps=["siak"], clock=lambda: NOW + dt.timedelta(days=1), lock_wait=0).run()
    monkeypatch.chdir(tmp_path)
    report = restore(plan, "siak", snapshot=first_label, into="old").run()
    assert report.sources[0].label == first_label and report.sources[0].source == "code"
    assert (restored_path(tmp_path / "old", office.code) / "index.php").read_text() != "version 2\n"
    latest = restore(plan, "siak", source="code", into="new").run()
    assert (restored_path(tmp_path / "new", office.code) / "index.php").read_text() == "version 2\n"
    assert latest.ok

    with pytest.raises(UsageError) as err:
        restore(plan, "simpeg")
    assert err.value.hint is not None and "siak" in err.value.hint
    with pytest.raises(UsageError):
        restore(plan, "siak", source="nope")
    with pytest.raises(UsageError):  # one name cannot hold two sources
        restore(plan, "siak", into="x").run()
    with pytest.raises(SnapshotNotFoundError):
        restore(plan, "siak", snapshot="no-such-label").run()


# --- in place -------------------------------------------------------------------------------


def test_in_place_restore_runs_stop_before_and_start_health_after(
    office: Office, service: Service
) -> None:
    index = office.code / "index.php"
    original = index.read_text()
    with_service(office, service, index)
    plan = backup(office)
    index.write_text("damaged\n")
    report = restore(plan, "siak", source="code", in_place=True).run()
    assert report.ok, report.state
    assert index.read_text() == original
    # stop saw the damaged data (ran before the restore), start saw the restored data.
    assert (service.markers / "at_stop").read_text() == "damaged\n"
    assert (service.markers / "at_start").read_text() == original
    assert service.log == ["stop", "start", "health"]
    assert [(h.name, h.ok) for h in report.hooks] == [
        ("stop", True),
        ("start", True),
        ("health", True),
    ]
    assert all(h.duration >= 0 for h in report.hooks)
    assert "healthy" in report.state and "restored in place" in report.state


def test_in_place_needs_a_stop_hook(office: Office) -> None:
    plan = backup(office)
    with pytest.raises(UsageError) as err:
        restore(plan, "siak", source="code", in_place=True)
    assert "service.stop" in err.value.message
    with pytest.raises(UsageError):
        restore(plan, "siak", source="code", in_place=True, into="x")


def test_a_failing_stop_hook_restores_nothing_and_starts_the_service(
    office: Office, service: Service
) -> None:
    index = office.code / "index.php"
    with_service(office, service, index, stop="false")
    plan = backup(office)
    index.write_text("current\n")
    report = restore(plan, "siak", source="code", in_place=True).run()
    assert not report.ok and report.exit_code == 1
    assert index.read_text() == "current\n"
    assert report.sources == []
    assert [h.name for h in report.hooks] == ["stop", "start", "health"]
    assert service.log == ["start", "health"]
    assert "nothing was restored" in report.state and "unchanged" in report.state


def test_a_failing_in_place_restore_still_starts_the_service(
    office: Office, service: Service
) -> None:
    index = office.code / "index.php"
    office.apps()[0]["sources"].append(  # type: ignore[union-attr]
        {
            "type": "command",
            "name": "dump",
            "backup": ["sh", "-c", "echo the data"],
            "restore": ["sh", "-c", "cat > /dev/null; echo broken >&2; exit 3"],
        }
    )
    with_service(office, service, index)
    plan = backup(office)
    report = restore(plan, "siak", source="dump", in_place=True).run()
    assert not report.ok
    [src] = report.sources
    assert not src.ok and src.error
    assert service.log == ["stop", "start", "health"]
    assert "may be partly restored" in report.state
    assert src.snapshot_id[:8] in report.state and "run the restore again" in report.state
    assert "healthy" in report.state  # the service came back


def test_an_unhealthy_service_is_reported(office: Office, service: Service) -> None:
    index = office.code / "index.php"
    with_service(office, service, index)
    plan = backup(office)
    service.status[0] = 503
    report = restore(plan, "siak", source="code", in_place=True, health_attempts=2).run()
    assert not report.ok
    assert report.sources[0].ok  # the data is back
    health = report.hooks[-1]
    assert health.name == "health" and not health.ok and health.attempts == 2
    assert "503" in health.message
    assert "not healthy" in report.state


def test_health_command_is_retried_until_it_succeeds(tmp_path: Path) -> None:
    flag = tmp_path / "up"
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        flag.write_text("1")  # the service comes up while we wait

    result = check_health(f"test -e {shlex.quote(str(flag))}", attempts=3, delay=1.5, sleep=sleep)
    assert result.ok and result.attempts == 2 and sleeps == [1.5]
    failed = check_health("false", attempts=2, delay=0, sleep=lambda s: None)
    assert not failed.ok and failed.attempts == 2


# --- database servers (skipped without them, required under CI=true) ---------------------------


def _pg(sql: str, db: str = "postgres") -> str:
    from conftest import PG_HOST, PG_PORT, PG_USER

    argv = ["psql", "-X", "-w", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", db]
    done = subprocess.run([*argv, "-Atc", sql], capture_output=True, check=True)
    return done.stdout.decode().strip()


def _my(sql: str) -> str:
    from conftest import MARIADB_HOST, MARIADB_PORT, MARIADB_USER

    argv = ["mariadb", f"--host={MARIADB_HOST}", f"--port={MARIADB_PORT}", f"--user={MARIADB_USER}"]
    done = subprocess.run([*argv, "-N", "-B", "-e", sql], capture_output=True, check=True)
    return done.stdout.decode().strip()


@pytest.fixture
def pg_database() -> Iterator[str]:
    from conftest import require_postgres

    require_postgres()
    name = f"cadang_plan_{uuid.uuid4().hex[:8]}"
    _pg(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:  # the original and every copy restored beside it
        for db in _pg(f"SELECT datname FROM pg_database WHERE datname LIKE '{name}%'").split():
            _pg(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@pytest.fixture
def mariadb_database() -> Iterator[str]:
    from conftest import require_mariadb

    require_mariadb()
    name = f"cadang_plan_{uuid.uuid4().hex[:8]}"
    _my(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        for db in _my(f"SHOW DATABASES LIKE '{name}%'").split():
            _my(f"DROP DATABASE IF EXISTS `{db}`")


def test_postgres_source_runs_and_restores_beside_the_original(
    office: Office, pg_database: str
) -> None:
    _pg(
        "CREATE TABLE penduduk (nik text PRIMARY KEY, nama text, lahir date);"
        "INSERT INTO penduduk SELECT '5108' || g, 'Warga ' || g, date '1980-01-01' + g "
        "FROM generate_series(1, 300) g",
        pg_database,
    )
    office.apps()[0]["sources"] = [
        {"type": "postgres", "name": "pg", "databases": [pg_database], "globals": False}
    ]
    plan = backup(office, apps=["siak"])
    _pg("DELETE FROM penduduk WHERE nik > '51082'", pg_database)
    report = restore(plan, "siak", source="pg").run()
    assert report.ok, report.state
    [new] = report.sources[0].restored
    assert new != pg_database and new.startswith(pg_database)
    count = "SELECT count(*), sum(length(nama)) FROM penduduk"
    assert _pg(count, new).startswith("300|")
    assert _pg(count, pg_database) != _pg(count, new)  # the original was left as it was


def test_mariadb_source_runs_and_restores_into_a_given_name(
    office: Office, mariadb_database: str
) -> None:
    _my(
        f"CREATE TABLE {mariadb_database}.penduduk (nik VARCHAR(20) PRIMARY KEY, nama TEXT);"
        f"INSERT INTO {mariadb_database}.penduduk VALUES ('1', 'Ni Luh'), ('2', 'I Made'), "
        "('3', 'Ñusa')"
    )
    office.apps()[0]["sources"] = [
        {"type": "mariadb", "name": "my", "databases": [mariadb_database]}
    ]
    plan = backup(office, apps=["siak"])
    new = mariadb_database + "_copy"
    report = restore(plan, "siak", source="my", into=new).run()
    assert report.ok, report.state
    assert _my(f"SELECT nama FROM {new}.penduduk ORDER BY nik").split("\n") == [
        "Ni Luh",
        "I Made",
        "Ñusa",
    ]
