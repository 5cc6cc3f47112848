"""Restore tests by source type: a snapshot restored under a throw-away name, then removed.

* PostgreSQL, MariaDB/MySQL: each dump in the snapshot is restored, by the source's own
  restore (``pg_restore`` / the ``mariadb`` client), into a throw-away database named
  ``cadang_verify_<UTC yyyymmddHHMM>_<8 random hex>_<app>_<source>`` (cut to 63 characters).
  The time in the name lets a later test drop what a killed one left: throw-away databases
  older than a day are dropped first. The database is always dropped afterwards, also when
  the restore or a query failed. Sanity queries then count the tables and the rows of
  every table, which must equal the counts recorded at backup time
  (``summary.facts[stream]``); counts that were the server's estimates
  (``rows_exact: false``) are compared within a tolerance, and the record says so.
* SQLite: restored into a temporary file, checked by SQLite and counted the same way.
* Files: a sample of files restored and compared by SHA-256
  (:mod:`cadang.checks.files_restore`).
* Command sources: only with ``{into}`` in the restore command and a ``drop`` command (a
  restore command that ignores the new name could overwrite the original): restored under a
  throw-away name, then dropped. Oracle: not tested here (there is no way to drop a
  throw-away schema yet); its snapshots are read back.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
import time
from typing import Any, BinaryIO, Protocol

from cadang.checks.base import Clock, local_now
from cadang.checks.files_restore import files_restore_test
from cadang.checks.readback import _Errors
from cadang.checks.verify_config import VerifySettings
from cadang.errors import CadangError
from cadang.i18n import _
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot
from cadang.repo.streams import SnapshotStreamReader
from cadang.repo.verification import Kind, Verification, new_verification
from cadang.sources.base import RestoreTarget, StreamReader
from cadang.sources.command import CommandSourceImpl
from cadang.sources.config import (
    CommandSource,
    FilesSource,
    MariaDBSource,
    OracleSource,
    PostgresSource,
    SourceConfig,
    SQLiteSource,
)
from cadang.sources.mariadb import SUFFIX as MARIADB_SUFFIX
from cadang.sources.mariadb import MariaDBSourceImpl
from cadang.sources.postgres import SUFFIX as POSTGRES_SUFFIX
from cadang.sources.postgres import PostgresSQLSource
from cadang.sources.sqlite import SQLiteSourceImpl, row_counts

__all__ = [
    "SCRATCH_PREFIX",
    "ScratchDatabases",
    "cleanup_scratch",
    "compare_counts",
    "restore_test",
    "scratch_name",
    "scratch_time",
]

SCRATCH_PREFIX = "cadang_verify_"
_SCRATCH = re.compile(r"^cadang_verify_(\d{12})_[0-9a-f]{8}")
SCRATCH_MAX_AGE = dt.timedelta(days=1)
_MAX_NAME = 63  # PostgreSQL's identifier limit (MariaDB allows 64)
_ABS_TOLERANCE = 10  # rows: estimates within this many rows always pass


# --- throw-away names -----------------------------------------------------------------------


def scratch_name(app: str, source: str, now: dt.datetime | None = None) -> str:
    """A database name no one else uses: prefix, UTC minute, random, app and source."""
    when = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    slug = re.sub(r"[^a-z0-9]+", "_", f"{app}_{source}".lower()).strip("_")
    name = f"{SCRATCH_PREFIX}{when:%Y%m%d%H%M}_{secrets.token_hex(4)}_{slug}"
    return name[:_MAX_NAME].rstrip("_")


def scratch_time(name: str) -> dt.datetime | None:
    """When a throw-away database was made, from its name (None: not one of ours)."""
    m = _SCRATCH.match(name)
    if m is None:
        return None
    try:
        return dt.datetime.strptime(m.group(1), "%Y%m%d%H%M").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


class ScratchDatabases(Protocol):
    """What a database source offers a restore test (PostgreSQL and MariaDB sources)."""

    def existing_databases(self) -> set[str]: ...

    def drop(self, name: str) -> None: ...

    def count_rows(self, database: str) -> dict[str, object]: ...

    def restore(self, reader: StreamReader, target: RestoreTarget) -> Any: ...


def cleanup_scratch(
    source: ScratchDatabases,
    now: dt.datetime | None = None,
    max_age: dt.timedelta = SCRATCH_MAX_AGE,
) -> list[str]:
    """Drop throw-away databases older than ``max_age`` that a killed test left behind."""
    now = now or dt.datetime.now(dt.UTC)
    dropped = []
    for name in sorted(source.existing_databases()):
        made = scratch_time(name)
        if made is not None and now - made > max_age:
            source.drop(name)
            dropped.append(name)
    return dropped


class _OneStream:
    """A snapshot's streams seen as just one, so a restore touches one database."""

    def __init__(self, reader: StreamReader, name: str) -> None:
        self.reader = reader
        self.name = name

    def names(self) -> list[str]:
        return [self.name]

    def open(self, name: str) -> BinaryIO:
        return self.reader.open(name)


# --- comparing counts -----------------------------------------------------------------------


def compare_counts(
    stream: str,
    facts: object,
    found: dict[str, int],
    tolerance: float,
    errors: _Errors,
    details: list[str],
) -> dict[str, Any]:
    """Compare a restored copy's row counts with those recorded at backup time."""
    entry: dict[str, Any] = {
        "stream": stream,
        "tables": len(found),
        "rows": sum(found.values()),
        "mismatches": [],
    }
    expected = facts.get("rows") if isinstance(facts, dict) else None
    exact = bool(facts.get("rows_exact", True)) if isinstance(facts, dict) else True
    if not isinstance(expected, dict) or (not expected and not exact):
        details.append(
            _(
                "{stream}: no row counts were recorded at backup time; only the restore "
                "itself was tested ({tables} table(s) restored)"
            ).format(stream=stream, tables=len(found))
        )
        entry["rows_exact"] = None
        return entry
    want = {str(k): int(v) for k, v in expected.items()}
    entry |= {
        "tables_expected": len(want),
        "rows_expected": sum(want.values()),
        "rows_exact": exact,
    }
    for table in sorted(set(want) - set(found)):
        errors.add(
            _("{stream}: table {table} is missing from the restored copy").format(
                stream=stream, table=table
            )
        )
    for table in sorted(set(found) - set(want)):
        errors.add(
            _(
                "{stream}: the restored copy has table {table}, which was not there at backup"
            ).format(stream=stream, table=table)
        )
    unknown = []
    for table in sorted(set(want) & set(found)):
        a, e = found[table], want[table]
        if exact:
            ok = a == e
        elif e == 0:
            unknown.append(table)  # never analysed: the estimate says nothing
            continue
        else:
            ok = abs(a - e) <= max(_ABS_TOLERANCE, tolerance * max(a, e))
        if not ok:
            entry["mismatches"].append({"table": table, "rows": a, "expected": e})
            errors.add(
                _("{stream}: table {table} has {rows} row(s), {expected} at backup{how}").format(
                    stream=stream,
                    table=table,
                    rows=a,
                    expected=e,
                    how="" if exact else _(" (an estimate)"),
                )
            )
    if not exact:
        details.append(
            _(
                "{stream}: the row counts at backup were the server's estimates; compared "
                "within {percent}%"
            ).format(stream=stream, percent=f"{tolerance * 100:g}")
        )
        if unknown:
            details.append(
                _("{stream}: no estimate for {n} table(s); their rows were not compared").format(
                    stream=stream, n=len(unknown)
                )
            )
    return entry


def _facts(snap: Snapshot, stream: str) -> object:
    facts = (snap.summary or {}).get("facts")
    return facts.get(stream) if isinstance(facts, dict) else None


# --- restore tests --------------------------------------------------------------------------


def _database_test(
    repo: Repository,
    snap: Snapshot,
    source: ScratchDatabases,
    suffix: str,
    app: str,
    source_name: str,
    settings: VerifySettings,
    clock: Clock,
) -> Verification | str:
    start = time.monotonic()
    reader = SnapshotStreamReader(repo, snap)
    streams = [n for n in reader.names() if n.endswith(suffix)]
    if not streams:
        return _("the snapshot holds no database dump (*{suffix})").format(suffix=suffix)
    errors = _Errors()
    details: list[str] = []
    compared: list[dict[str, Any]] = []
    try:
        left = cleanup_scratch(source)
    except CadangError as exc:
        return new_verification(
            snap.id,
            Kind.RESTORE_TEST,
            False,
            time.monotonic() - start,
            errors=[
                _("the database server cannot be reached for the restore test: {reason}").format(
                    reason=exc.message
                )
            ],
            time=clock(),
        )
    if left:
        details.append(
            _("dropped throw-away database(s) left by an earlier test: {names}").format(
                names=", ".join(left)
            )
        )
    for stream in streams:
        name = scratch_name(app, source_name)
        try:
            source.restore(_OneStream(reader, stream), RestoreTarget(into=name))
            counted = source.count_rows(name)
            rows = counted.get("rows")
            found = {str(k): int(v) for k, v in rows.items()} if isinstance(rows, dict) else {}
            entry = compare_counts(
                stream, _facts(snap, stream), found, settings.row_tolerance, errors, details
            )
            entry["restored_as"] = name
            compared.append(entry)
        except CadangError as exc:
            compared.append({"stream": stream, "restored_as": name, "restored": False})
            errors.add(
                _("{stream}: the restore into a throw-away database failed: {reason}").format(
                    stream=stream, reason=exc.message
                )
            )
        finally:
            _drop(source, name, errors)
    details.append(_("restored into throw-away databases, dropped afterwards"))
    if any(not d.get("restored", True) for d in compared):
        details.append(
            _(
                "the user in the plan must be allowed to create databases on this server; "
                "where that cannot be, set verify: {{restore_test: false}} for this application"
            ).format()
        )
    return new_verification(
        snap.id,
        Kind.RESTORE_TEST,
        not errors,
        time.monotonic() - start,
        compared={"databases": compared},
        details=details,
        errors=errors.final(),
        time=clock(),
    )


def _drop(source: ScratchDatabases, name: str, errors: _Errors) -> None:
    """Drop a throw-away database; make sure it is gone, or say so."""
    try:
        source.drop(name)
        if name not in source.existing_databases():
            return
        reason = _("it still exists")
    except CadangError as exc:
        reason = exc.message
    errors.add(
        _("the throw-away database {name} could not be dropped ({reason}); drop it by hand").format(
            name=name, reason=reason
        )
    )


def _sqlite_test(
    repo: Repository, snap: Snapshot, config: SQLiteSource, settings: VerifySettings, clock: Clock
) -> Verification | str:
    start = time.monotonic()
    source = SQLiteSourceImpl(config)
    reader = SnapshotStreamReader(repo, snap)
    names = reader.names()
    if not names:
        return _("the snapshot holds no database file")
    stream = source.stream_name() if source.stream_name() in names else names[0]
    errors = _Errors()
    details: list[str] = []
    compared: list[dict[str, Any]] = []
    folder = tempfile.mkdtemp(prefix="cadang-verify-")
    path = os.path.join(folder, stream)
    try:
        source.restore(_OneStream(reader, stream), RestoreTarget(into=path))
        conn = sqlite3.connect(path)
        try:
            found = row_counts(conn)
        finally:
            conn.close()
        entry = compare_counts(
            stream, _facts(snap, stream), found, settings.row_tolerance, errors, details
        )
        entry["restored_as"] = _("a temporary file")
        compared.append(entry)
    except CadangError as exc:
        errors.add(
            _("{stream}: the restore into a temporary file failed: {reason}").format(
                stream=stream, reason=exc.message
            )
        )
    except sqlite3.Error as exc:
        errors.add(
            _("{stream}: the restored database cannot be queried: {reason}").format(
                stream=stream, reason=exc
            )
        )
    finally:
        source.drop(path)
        shutil.rmtree(folder, ignore_errors=True)
    details.append(_("restored into a temporary file, deleted afterwards"))
    return new_verification(
        snap.id,
        Kind.RESTORE_TEST,
        not errors,
        time.monotonic() - start,
        compared={"databases": compared},
        details=details,
        errors=errors.final(),
        time=clock(),
    )


def _command_test(
    repo: Repository, snap: Snapshot, config: CommandSource, app: str, clock: Clock
) -> Verification | str:
    if not config.restore or not any("{into}" in a for a in config.restore) or not config.drop:
        return _(
            "a command source is tested only with {into} in its restore command and a drop "
            "command (a restore that ignores the new name could overwrite the original)"
        ).format(into="{into}")
    start = time.monotonic()
    source = CommandSourceImpl(config)
    name = scratch_name(app, config.name)
    errors = _Errors()
    try:
        source.restore(SnapshotStreamReader(repo, snap), RestoreTarget(into=name))
    except CadangError as exc:
        errors.add(_("the restore command failed: {reason}").format(reason=exc.message))
    finally:
        try:
            source.drop(name)
        except CadangError as exc:
            errors.add(
                _("the drop command failed for {name}: {reason}; remove it by hand").format(
                    name=name, reason=exc.message
                )
            )
    return new_verification(
        snap.id,
        Kind.RESTORE_TEST,
        not errors,
        time.monotonic() - start,
        compared={"restored_as": name},
        details=[_("restored under a throw-away name with the restore command, then dropped")],
        errors=errors.final(),
        time=clock(),
    )


def restore_test(
    repo: Repository,
    snap: Snapshot,
    config: SourceConfig,
    settings: VerifySettings,
    *,
    app: str = "",
    clock: Clock = local_now,
) -> Verification | str:
    """The restore test for a snapshot of source ``config``; a string says why none ran."""
    if isinstance(config, FilesSource):
        return files_restore_test(repo, snap, settings, clock)
    if isinstance(config, PostgresSource):
        return _database_test(
            repo,
            snap,
            PostgresSQLSource(config),
            POSTGRES_SUFFIX,
            app,
            config.name,
            settings,
            clock,
        )
    if isinstance(config, MariaDBSource):
        return _database_test(
            repo, snap, MariaDBSourceImpl(config), MARIADB_SUFFIX, app, config.name, settings, clock
        )
    if isinstance(config, SQLiteSource):
        return _sqlite_test(repo, snap, config, settings, clock)
    if isinstance(config, CommandSource):
        return _command_test(repo, snap, config, app, clock)
    if isinstance(config, OracleSource):
        return _("no restore test for Oracle yet (a throw-away schema cannot be dropped)")
    return _("no restore test for this kind of source")  # pragma: no cover
