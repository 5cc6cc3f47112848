"""PostgreSQL: one ``pg_dump -Fc`` stream per database, plus the globals; ``pg_restore`` back.

Backup, per database ``DB`` (stream ``DB.pgdump``):

1. A ``psql`` session opens a REPEATABLE READ, READ ONLY transaction and exports its
   snapshot (``pg_export_snapshot()``).
2. In that transaction the rows of every table are counted exactly
   (``count(*)`` per table, all in one statement under a 60 s ``statement_timeout``; if that
   times out or is refused, the planner's estimates are recorded instead and the facts say
   ``rows_exact: false``). These counts are the stream's *facts*, which a later restore test
   compares with a restored copy.
3. ``pg_dump -Fc -Z0 --snapshot=<that snapshot>`` streams the database: the counts describe
   exactly the data in the dump, even while the application keeps writing. ``-Z0``: Cadang
   compresses, and an uncompressed dump deduplicates from one day to the next.
4. The session ends when the dump has been read to the end.

A server that cannot export snapshots (``consistent_with_dump: false`` in the facts) is
dumped without ``--snapshot``; the counts are then taken just before the dump.

With ``globals: true`` the roles and tablespaces come along as ``globals.sql``
(``pg_dumpall --globals-only``). They are *not* applied by a restore — roles are shared by
the whole server, and replaying them would reset passwords; the restore says how to apply
them by hand on a new server. ``pg_dumpall --globals-only`` reads role passwords and so needs
a superuser; for a backup user that is not one, set ``globals: false``.

Secrets: ``password_env`` or ``password_file`` gives the password to the tools as
``PGPASSWORD`` in their environment only (never on a command line). A ``password_file`` in
``.pgpass`` format (``host:port:database:user:password`` lines) is passed as ``PGPASSFILE``
instead, so one file can serve several servers; libpq ignores it unless its mode is 0600.
Without either, libpq's own ``~/.pgpass`` applies. Tools never prompt (``-w``).

Restore (``RestoreTarget``): the database name comes from the stream name.

* New name (default ``DB_restored_<time>``, or ``into``, with ``{name}`` for several
  databases): refused if that database exists; ``CREATE DATABASE new TEMPLATE template0``,
  then ``pg_restore --no-owner --single-transaction -d new`` from the stream on stdin. If it
  fails, the new database is dropped again.
* In place: ``pg_restore --clean --if-exists --single-transaction -d DB`` (the database is
  created first if it is missing). One transaction: if it fails, the database is as it was.
  Objects that are in the database but not in the dump are left alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import BinaryIO

from cadang.errors import CadangError, RestoreError
from cadang.i18n import _
from cadang.sources.base import (
    BackupSpec,
    RequiredTool,
    RestoreOutcome,
    RestoreTarget,
    Stream,
    StreamReader,
)
from cadang.sources.common import (
    CountInBackground,
    DatabaseDump,
    database_restore_names,
    quote_pg_ident,
    read_secret,
)
from cadang.sources.config import PostgresSource
from cadang.sources.process import (
    FeedingCommand,
    InteractiveCommand,
    StreamingCommand,
    run,
)

PACKAGE = "postgresql-client"
SUFFIX = ".pgdump"
GLOBALS = "globals.sql"
MAINTENANCE_DB = "postgres"
COUNT_TIMEOUT = "60s"
_MARK = "__cadang_done__"

LIST_DATABASES_SQL = (
    "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname"
)
_USER_TABLES = (
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' "
    "AND n.nspname NOT LIKE 'pg\\_%'"
)
# Built from constants only (no user input), hence the noqa.
COUNT_ROWS_SQL = (
    "SELECT coalesce(json_object_agg(n.nspname || '.' || c.relname, "  # noqa: S608
    "(xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', "
    "n.nspname, c.relname), false, true, '')))[1]::text::bigint "
    "ORDER BY n.nspname, c.relname), '{}') " + _USER_TABLES
)
ESTIMATE_ROWS_SQL = (
    "SELECT coalesce(json_object_agg(n.nspname || '.' || c.relname, "
    "greatest(c.reltuples, 0)::bigint ORDER BY n.nspname, c.relname), '{}') " + _USER_TABLES
)
SIZE_SQL = "SELECT pg_database_size(current_database())"


# --- command builders (no side effects) ------------------------------------------------------


def conninfo(database: str) -> str:
    """A database name as a libpq connection string (a name with '=' stays a name)."""
    return "dbname='" + database.replace("\\", "\\\\").replace("'", "\\'") + "'"


def conn_args(cfg: PostgresSource) -> list[str]:
    return ["-h", cfg.host, "-p", str(cfg.port), "-U", cfg.user, "-w"]


def psql_query_argv(cfg: PostgresSource, database: str, sql: str) -> list[str]:
    return [
        "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
        *conn_args(cfg), "-d", conninfo(database), "-c", sql,
    ]  # fmt: skip


def psql_session_argv(cfg: PostgresSource, database: str) -> list[str]:
    return ["psql", "-X", "-q", "-A", "-t", *conn_args(cfg), "-d", conninfo(database)]


def pg_dump_argv(cfg: PostgresSource, database: str, snapshot: str | None = None) -> list[str]:
    argv = ["pg_dump", "-Fc", "-Z0", *conn_args(cfg)]
    if snapshot:
        argv.append("--snapshot=" + snapshot)
    return [*argv, "-d", conninfo(database)]


def pg_dumpall_globals_argv(cfg: PostgresSource) -> list[str]:
    return ["pg_dumpall", "--globals-only", *conn_args(cfg)]


def pg_restore_argv(cfg: PostgresSource, database: str, in_place: bool) -> list[str]:
    mode = ["--clean", "--if-exists"] if in_place else ["--no-owner"]
    return ["pg_restore", *conn_args(cfg), "--single-transaction", *mode, "-d", conninfo(database)]


def is_pgpass(text: str) -> bool:
    """Whether a password file is in .pgpass format (every line host:port:db:user:password)."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return False
    return all(len(ln.replace("\\:", "").split(":")) >= 5 for ln in lines)


def secret_env(cfg: PostgresSource) -> dict[str, str]:
    """PGPASSWORD or PGPASSFILE for the tools' environment (see the module's docstring)."""
    env = {"PGCONNECT_TIMEOUT": "10"}
    secret = read_secret(cfg.password_file, cfg.password_env)
    if secret is None:
        return env
    if cfg.password_file and is_pgpass(secret):
        env["PGPASSFILE"] = cfg.password_file
    else:
        env["PGPASSWORD"] = secret
    return env


# --- the psql session that holds the dump's snapshot ---------------------------------------


class _Session:
    """psql, talked to line by line: each query ends with a marker and psql's ERROR flag."""

    def __init__(self, argv: list[str], env: Mapping[str, str]) -> None:
        self.cmd = InteractiveCommand(argv, env=env)

    def query(self, sql: str) -> tuple[bool, list[str]]:
        self.cmd.send(f"{sql};\n\\echo {_MARK} :ERROR\n")
        lines: list[str] = []
        while True:
            line = self.cmd.readline().rstrip("\n")
            if line.startswith(_MARK):
                return line.split()[-1] != "true", lines
            lines.append(line)

    def close(self) -> None:
        self.cmd.kill()


class _DatabaseDump(DatabaseDump):
    """One database's stream: counts and pg_dump in one snapshot."""

    suffix = SUFFIX

    def __init__(self, source: PostgresSQLSource, database: str) -> None:
        super().__init__(database)
        self.source = source
        self._session: _Session | None = None

    def open(self) -> BinaryIO:
        cfg, env = self.source.config, self.source.env()
        session = self._session = _Session(psql_session_argv(cfg, self.database), env)
        session.query("SET idle_in_transaction_session_timeout = 0")
        session.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        ok, lines = session.query("SELECT pg_export_snapshot()")
        snapshot = lines[0].strip() if ok and lines and lines[0].strip() else None
        if snapshot is None:  # e.g. a server that cannot export snapshots
            session.query("ROLLBACK")
            session.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        self.facts["consistent_with_dump"] = snapshot is not None
        self._dump = StreamingCommand(pg_dump_argv(cfg, self.database, snapshot), env=env)
        output = self._dump.start()
        # Count while pg_dump runs: same snapshot, so the same rows, and the count no longer
        # adds its full-table scans to the backup's time.
        self._counter = CountInBackground(lambda: self._count(session))
        return output

    def _count(self, session: _Session) -> dict[str, object]:
        session.query("SAVEPOINT cadang_count")
        session.query(f"SET LOCAL statement_timeout = '{COUNT_TIMEOUT}'")
        ok, lines = session.query(COUNT_ROWS_SQL)
        exact = ok
        if not ok:  # too slow, or a table we may not read: the estimates, marked as such
            session.query("ROLLBACK TO SAVEPOINT cadang_count")
            ok, lines = session.query(ESTIMATE_ROWS_SQL)
        rows: dict[str, int] = {}
        if ok and lines:
            try:
                rows = {str(k): int(v) for k, v in json.loads(lines[0]).items()}
            except (ValueError, AttributeError):
                exact = False
        return {"tables": len(rows), "rows": rows, "rows_exact": exact}

    def complete(self) -> None:
        assert self._session is not None
        super().complete()
        try:  # the dump is complete; the session only held its snapshot
            self._session.query("COMMIT")
            self._session.cmd.finish()
        except CadangError:
            pass

    def close(self) -> None:
        super().close()
        if self._session is not None:
            self._session.close()  # ends a count still running on it
        if self._counter is not None:
            self._counter.result()


class _GlobalsDump:
    def __init__(self, source: PostgresSQLSource) -> None:
        self.source = source
        self._cmd: StreamingCommand | None = None

    def stream(self) -> Stream:
        return Stream(GLOBALS, self.open, self.complete, self.close)

    def open(self) -> BinaryIO:
        self._cmd = StreamingCommand(
            pg_dumpall_globals_argv(self.source.config), env=self.source.env()
        )
        return self._cmd.start()

    def complete(self) -> None:
        assert self._cmd is not None
        self._cmd.finish()

    def close(self) -> None:
        if self._cmd is not None:
            self._cmd.close()


# --- the source ------------------------------------------------------------------------------


class PostgresSQLSource:
    kind = "postgres"

    def __init__(self, config: PostgresSource) -> None:
        self.config = config
        self.name = config.name

    def env(self) -> dict[str, str]:
        return secret_env(self.config)

    def _query(self, database: str, sql: str) -> list[str]:
        out = run(psql_query_argv(self.config, database, sql), env=self.env())
        return [ln for ln in out.splitlines() if ln]

    def databases(self) -> list[str]:
        """The configured databases, or every one that accepts connections for "all"."""
        if self.config.databases == "all":
            return self._query(MAINTENANCE_DB, LIST_DATABASES_SQL)
        return list(self.config.databases)

    def required_tools(self) -> list[RequiredTool]:
        tools = ["pg_dump", "pg_restore", "psql"] + (["pg_dumpall"] if self.config.globals else [])
        return [RequiredTool(t, PACKAGE) for t in tools]

    def probe(self) -> str:
        parts = []
        for db in self.databases():
            size = int(self._query(db, SIZE_SQL)[0])
            parts.append(_("{database} {size} MiB").format(database=db, size=f"{size / 2**20:.1f}"))
        return _("reachable: {databases}").format(databases=", ".join(parts) or "-")

    def describe(self) -> list[str]:
        cfg = self.config
        where = f"{cfg.user}@{cfg.host}:{cfg.port}"
        if cfg.databases == "all":
            lines = [
                _("pg_dump -Fc each database on {server} that accepts connections").format(
                    server=where
                )
            ]
        else:
            lines = [
                _("pg_dump -Fc {database} on {server} -> {stream}").format(
                    database=db, server=where, stream=db + SUFFIX
                )
                for db in cfg.databases
            ]
        if cfg.globals:
            lines.append(
                _("pg_dumpall --globals-only on {server} -> {stream}").format(
                    server=where, stream=GLOBALS
                )
            )
        return lines

    def backup_spec(self) -> BackupSpec:
        streams = [_DatabaseDump(self, db).stream() for db in self.databases()]
        if self.config.globals:
            streams.append(_GlobalsDump(self).stream())
        return BackupSpec(streams=streams)

    # --- restore ---------------------------------------------------------------------------

    def existing_databases(self) -> set[str]:
        return set(self._query(MAINTENANCE_DB, "SELECT datname FROM pg_database"))

    def count_rows(self, database: str) -> dict[str, object]:
        """Exact row counts per table of ``database`` (a restore test's copy), in the
        shape of a dump's facts."""
        lines = self._query(database, COUNT_ROWS_SQL)
        try:
            rows = {str(k): int(v) for k, v in json.loads(lines[0]).items()} if lines else {}
        except (ValueError, AttributeError):
            raise RestoreError(
                _("cannot read the row counts of {name}").format(name=database)
            ) from None
        return {"tables": len(rows), "rows": rows, "rows_exact": True}

    def drop(self, name: str) -> None:
        """Drop database ``name`` if it exists (the throw-away copy of a restore test)."""
        self._query(MAINTENANCE_DB, f"DROP DATABASE IF EXISTS {quote_pg_ident(name)}")

    def restore(self, reader: StreamReader, target: RestoreTarget) -> RestoreOutcome:
        names = reader.names()
        existing = self.existing_databases()
        mapping = database_restore_names(names, SUFFIX, "PostgreSQL", target, existing)
        outcome = RestoreOutcome()
        for original, new in mapping.items():
            self._restore_one(reader, original, new, target.in_place, new not in existing, outcome)
        if GLOBALS in names:
            outcome.details.append(
                _(
                    "{stream} (roles, tablespaces) was not applied; on a new server apply it "
                    "first with: cadang dump SNAPSHOT /{stream} | psql -d postgres"
                ).format(stream=GLOBALS)
            )
        return outcome

    def _restore_one(
        self,
        reader: StreamReader,
        original: str,
        new: str,
        in_place: bool,
        create: bool,
        outcome: RestoreOutcome,
    ) -> None:
        if create:
            self._query(MAINTENANCE_DB, f"CREATE DATABASE {quote_pg_ident(new)} TEMPLATE template0")
        try:
            with reader.open(original + SUFFIX) as stream:
                FeedingCommand(pg_restore_argv(self.config, new, in_place), env=self.env()).feed(
                    stream
                )
        except CadangError as exc:
            if create:
                try:
                    self._query(MAINTENANCE_DB, f"DROP DATABASE IF EXISTS {quote_pg_ident(new)}")
                    state = _("the unfinished database {name} was dropped again").format(name=new)
                except CadangError:
                    state = _("the unfinished database {name} is left; drop it").format(name=new)
            else:
                state = _("{name} is as it was before (pg_restore ran in one transaction)").format(
                    name=new
                )
            done = ", ".join(outcome.restored) or "-"
            raise RestoreError(
                _("restoring {original} into {name} failed: {reason}").format(
                    original=original, name=new, reason=exc.message
                )
                + "\n"
                + state
                + "\n"
                + _("restored before this one: {done}").format(done=done),
                hint=exc.hint,
            ) from exc
        outcome.restored.append(new)
        outcome.details.append(
            _("{original} restored into {name}").format(original=original, name=new)
            if not in_place
            else _("{name} restored in place").format(name=new)
        )
