"""SQLite: a consistent copy through SQLite's online backup API, while the application runs.

Backup: the database is opened read-only and copied in one step of the backup API into an
in-memory database (one read transaction, so a consistent snapshot even while another
process writes), whose bytes (``serialize()``) are the stream, named after the file. No
copy is written to disk; the database is held in memory twice for the moment of the backup,
so this suits SQLite files up to a fraction of the machine's memory. Facts: the row count of
every table, counted in that same copy.

Restore: the stream is a complete SQLite database file. It is written to a temporary file in
the target's folder, checked (``PRAGMA quick_check``), and renamed into place — so the target
is either the old file or the whole new one, never half.

* New name (``into``): a bare file name goes beside the original; a path is taken as is.
  Default: ``<stem>-restored-<time><suffix>`` beside the original. Refused if it exists.
* In place: the original path. It is checkpointed first; if a write-ahead log
  (``-wal``) or a rollback journal is still there afterwards, another process has the
  database open and the restore is refused (stop the application first).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import shutil
import sqlite3
import tempfile
import urllib.parse
from typing import BinaryIO

from cadang.errors import RestoreError, SourceError, UsageError
from cadang.i18n import _
from cadang.sources.base import (
    BackupSpec,
    RequiredTool,
    RestoreOutcome,
    RestoreTarget,
    Stream,
    StreamReader,
)
from cadang.sources.config import SQLiteSource

_COPY = 1 << 20


def _open_read_only(path: str) -> sqlite3.Connection:
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=30)
    conn.execute("PRAGMA query_only = 1")
    return conn


def row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
            "ESCAPE '\\' ORDER BY name"
        )
    ]
    quoted = {t: '"' + t.replace('"', '""') + '"' for t in tables}
    return {t: conn.execute(f"SELECT count(*) FROM {quoted[t]}").fetchone()[0] for t in tables}  # noqa: S608


def snapshot_bytes(path: str) -> tuple[bytes, dict[str, int]]:
    """A consistent image of the database file and its row counts."""
    if not os.path.isfile(path):
        raise SourceError(
            _("SQLite database {path} does not exist").format(path=path),
            hint=_("check the path in the plan"),
        )
    try:
        src = _open_read_only(path)
        mem = sqlite3.connect(":memory:")
        try:
            src.backup(mem)  # pages=-1: all in one step, one read transaction
            counts = row_counts(mem)
            return mem.serialize(), counts
        finally:
            mem.close()
            src.close()
    except sqlite3.Error as exc:
        raise SourceError(
            _("cannot back up SQLite database {path}: {reason}").format(path=path, reason=exc)
        ) from None


def default_restore_path(original: str, now: dt.datetime | None = None) -> str:
    stem, suffix = os.path.splitext(os.path.abspath(original))
    return f"{stem}-restored-{(now or dt.datetime.now()):%Y%m%d-%H%M%S}{suffix}"


def restore_path(original: str, target: RestoreTarget) -> str:
    if target.in_place and target.into:
        raise UsageError(_("give either a new name or in place, not both"))
    if target.in_place:
        return os.path.abspath(original)
    if not target.into:
        return default_restore_path(original)
    if os.sep in target.into:
        return os.path.abspath(target.into)
    return os.path.join(os.path.dirname(os.path.abspath(original)), target.into)


def _settle(path: str) -> None:
    """Checkpoint the original; refuse if another process still has it open."""
    if os.path.exists(path):
        try:
            conn = sqlite3.connect(path, timeout=10)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise RestoreError(
                _("cannot open {path} to replace it: {reason}").format(path=path, reason=exc),
                hint=_("stop the application that uses it, then restore again"),
            ) from None
    for extra in ("-wal", "-journal"):
        if os.path.exists(path + extra):
            raise RestoreError(
                _("{path} is still in use ({extra} file present); nothing was changed").format(
                    path=path, extra=extra
                ),
                hint=_("stop the application that uses it, then restore again"),
            )


def write_database(stream: BinaryIO, path: str, like: str | None) -> None:
    """Write a database file atomically: temporary file, check, rename over ``path``."""
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(stream, out, _COPY)
            out.flush()
            os.fsync(out.fileno())
        conn = sqlite3.connect(tmp)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
        if result != "ok":
            raise RestoreError(
                _("the restored database fails SQLite's check: {result}").format(result=result)
            )
        if like is not None and os.path.exists(like):
            st = os.stat(like)
            os.chmod(tmp, st.st_mode & 0o7777)
            with contextlib.suppress(PermissionError):
                os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, path)
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except sqlite3.DatabaseError as exc:
        raise RestoreError(
            _("the backup is not a usable SQLite database: {reason}").format(reason=exc)
        ) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class SQLiteSourceImpl:
    kind = "sqlite"

    def __init__(self, config: SQLiteSource) -> None:
        self.config = config
        self.name = config.name
        self.path = config.path

    def stream_name(self) -> str:
        return os.path.basename(self.path) or "database.sqlite"

    def required_tools(self) -> list[RequiredTool]:
        return []  # Python's own sqlite3 module

    def probe(self) -> str:
        if not os.path.isfile(self.path):
            raise SourceError(_("SQLite database {path} does not exist").format(path=self.path))
        try:
            conn = _open_read_only(self.path)
            try:
                conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise SourceError(
                _("cannot open SQLite database {path}: {reason}").format(path=self.path, reason=exc)
            ) from None
        size = os.path.getsize(self.path)
        return _("readable, {size} MiB").format(size=f"{size / 2**20:.1f}")

    def describe(self) -> list[str]:
        return [
            _("SQLite online backup of {path} -> {stream}").format(
                path=self.path, stream=self.stream_name()
            )
        ]

    def backup_spec(self) -> BackupSpec:
        facts: dict[str, object] = {}

        def start() -> BinaryIO:
            data, counts = snapshot_bytes(self.path)
            facts.update({"tables": len(counts), "rows": counts, "rows_exact": True})
            return io.BytesIO(data)

        return BackupSpec(streams=[Stream(self.stream_name(), start, facts=facts)])

    def drop(self, path: str) -> None:
        """Delete a restored copy (a restore test's) with its journal files, if present."""
        for extra in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path + extra)

    def restore(self, reader: StreamReader, target: RestoreTarget) -> RestoreOutcome:
        dest = restore_path(self.path, target)
        names = reader.names()
        name = self.stream_name()
        if name not in names and len(names) == 1:
            name = names[0]  # the file was renamed in the plan since
        if target.in_place:
            _settle(dest)
        elif os.path.lexists(dest):
            raise UsageError(
                _("{path} already exists; nothing was restored").format(path=dest),
                hint=_("choose another name"),
            )
        if not os.path.isdir(os.path.dirname(dest)):
            raise UsageError(_("folder {path} does not exist").format(path=os.path.dirname(dest)))
        with reader.open(name) as stream:
            write_database(stream, dest, like=self.path)
        # The restored path is listed already; only an in-place restore needs saying.
        details = [_("{path} restored in place").format(path=dest)] if target.in_place else []
        return RestoreOutcome(restored=[dest], details=details)
