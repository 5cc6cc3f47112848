"""MariaDB and MySQL: one ``mariadb-dump`` stream per database; the ``mariadb`` client back.

Backup, per database ``DB`` (stream ``DB.sql``)::

    mariadb-dump --single-transaction --routines --triggers --events --hex-blob
                 --default-character-set=utf8mb4 --skip-dump-date DB

without ``--databases``, so the dump has no ``CREATE DATABASE``/``USE`` and can be loaded
into a database of another name. ``--single-transaction`` gives a consistent dump of InnoDB
tables without locking the application out. ``databases: all`` means every database except
the server's own: ``information_schema``, ``performance_schema``, ``sys`` and ``mysql`` (the
``mysql`` schema holds users and grants, which belong to the server, not an application;
list it explicitly to back it up).

Facts: the rows of every table, counted exactly with ``count(*)`` in a consistent-snapshot
transaction of its own just before the dump (MariaDB cannot share the dump's snapshot, so
the counts equal the dump's when nothing writes in between; ``max_statement_time`` 60 s —
if counting fails or takes longer, the server's estimates are recorded and the facts say
``rows_exact: false``).

Secrets: the password goes to the tools as ``MYSQL_PWD`` in their environment only;
``option_file`` is passed as ``--defaults-extra-file`` (a my.cnf with a ``[client]``
section), the usual way to keep credentials in a file readable only by the backup user.

The tools are ``mariadb`` and ``mariadb-dump`` (package mariadb-client); where those names
are absent, ``mysql`` and ``mysqldump`` are used.

Restore: the database name comes from the stream name.

* New name (default ``DB_restored_<time>``, or ``into``, with ``{name}`` for several):
  refused if it exists; ``CREATE DATABASE new`` (with the original's character set and
  collation if the original exists), then the dump is piped into ``mariadb new``. If that
  fails, the new database is dropped again.
* In place: ``DROP DATABASE DB; CREATE DATABASE DB`` (same character set and collation),
  then the dump is loaded. Dropping first means no table, view, routine or event of the old
  state lingers — but also that a load which fails half-way leaves the database partly
  restored (MariaDB cannot do DDL in a transaction); the error says so. Restore into a new
  name first when in doubt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import BinaryIO

from cadang.errors import CadangError, RestoreError, UsageError
from cadang.i18n import _
from cadang.sources.base import (
    BackupSpec,
    RequiredTool,
    RestoreOutcome,
    RestoreTarget,
    StreamReader,
)
from cadang.sources.common import (
    CountInBackground,
    DatabaseDump,
    database_restore_names,
    quote_my_ident,
    quote_my_literal,
    read_secret,
    which,
)
from cadang.sources.config import MariaDBSource
from cadang.sources.process import FeedingCommand, StreamingCommand, run

SUFFIX = ".sql"
SYSTEM_DATABASES = frozenset({"information_schema", "performance_schema", "sys", "mysql"})

# One statement builds the count query for every base table of the current database.
COUNT_ROWS_SQL = """SET SESSION max_statement_time = 60;
SET SESSION group_concat_max_len = 16777216;
START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY;
SELECT CONCAT('SELECT JSON_OBJECT(', IFNULL(GROUP_CONCAT(CONCAT(QUOTE(table_name),
  ', (SELECT COUNT(*) FROM `', REPLACE(table_name, '`', '``'), '`)') ORDER BY table_name
  SEPARATOR ', '), ''), ')') INTO @cadang_q
  FROM information_schema.tables
  WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE';
PREPARE cadang_s FROM @cadang_q;
EXECUTE cadang_s;
DEALLOCATE PREPARE cadang_s;
COMMIT;
"""
ESTIMATE_ROWS_SQL = """SELECT IFNULL(JSON_OBJECTAGG(table_name, IFNULL(table_rows, 0)), '{}')
  FROM information_schema.tables
  WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE';
"""


def tool_names() -> tuple[str, str]:
    """(client, dump tool): the mariadb names, or the mysql ones where those are absent."""
    mysql_client = which("mariadb") is None and which("mysql") is not None
    mysql_dump = which("mariadb-dump") is None and which("mysqldump") is not None
    return ("mysql" if mysql_client else "mariadb"), ("mysqldump" if mysql_dump else "mariadb-dump")


# --- command builders (no side effects) ------------------------------------------------------


def conn_args(cfg: MariaDBSource) -> list[str]:
    # --defaults-extra-file must come first of all options.
    extra = [f"--defaults-extra-file={cfg.option_file}"] if cfg.option_file else []
    return [*extra, f"--host={cfg.host}", f"--port={cfg.port}", f"--user={cfg.user}"]


def client_argv(client: str, cfg: MariaDBSource, database: str | None = None) -> list[str]:
    argv = [client, *conn_args(cfg), "--default-character-set=utf8mb4"]
    return [*argv, database] if database is not None else argv


def query_argv(client: str, cfg: MariaDBSource, sql: str, database: str | None = None) -> list[str]:
    """A query whose result is read by us: no headers, tab-separated, no escaping."""
    argv = [client, *conn_args(cfg), "--default-character-set=utf8mb4", "-N", "-B", "-r"]
    argv += ["-e", sql]
    return [*argv, database] if database is not None else argv


def dump_argv(dump: str, cfg: MariaDBSource, database: str) -> list[str]:
    return [
        dump, *conn_args(cfg), "--single-transaction", "--routines", "--triggers", "--events",
        "--hex-blob", "--default-character-set=utf8mb4", "--skip-dump-date", database,
    ]  # fmt: skip


def create_database_sql(name: str, charset: str | None, collation: str | None) -> str:
    sql = f"CREATE DATABASE {quote_my_ident(name)}"
    if charset:
        sql += f" CHARACTER SET {quote_my_literal(charset)}"
    if collation:
        sql += f" COLLATE {quote_my_literal(collation)}"
    return sql


def secret_env(cfg: MariaDBSource) -> dict[str, str]:
    secret = read_secret(cfg.password_file, cfg.password_env)
    return {} if secret is None else {"MYSQL_PWD": secret}


# --- the source ------------------------------------------------------------------------------


class _DatabaseDump(DatabaseDump):
    suffix = SUFFIX

    def __init__(self, source: MariaDBSourceImpl, database: str) -> None:
        super().__init__(database)
        self.source = source

    def open(self) -> BinaryIO:
        _client, dump = tool_names()
        self._dump = StreamingCommand(
            dump_argv(dump, self.source.config, self.database), env=self.source.env()
        )
        output = self._dump.start()
        # Counted on another connection while the dump runs (its own consistent snapshot,
        # taken as the dump starts): the scans no longer add to the backup's time.
        self._counter = CountInBackground(lambda: self.source.count_rows(self.database))
        return output


class MariaDBSourceImpl:
    def __init__(self, config: MariaDBSource) -> None:
        self.config = config
        self.name = config.name
        self.kind: str = config.type

    def env(self) -> dict[str, str]:
        return secret_env(self.config)

    def query(self, sql: str, database: str | None = None) -> list[str]:
        client, _dump = tool_names()
        out = run(query_argv(client, self.config, sql, database), env=self.env())
        return [ln for ln in out.splitlines() if ln]

    def databases(self) -> list[str]:
        if self.config.databases == "all":
            return [d for d in self.query("SHOW DATABASES") if d not in SYSTEM_DATABASES]
        return list(self.config.databases)

    def count_rows(self, database: str) -> dict[str, object]:
        exact = True
        try:
            lines = self.query(COUNT_ROWS_SQL, database)
        except CadangError:
            exact = False
            lines = self.query(ESTIMATE_ROWS_SQL, database)
        try:
            rows = {str(k): int(v) for k, v in json.loads(lines[-1]).items()} if lines else {}
        except (ValueError, AttributeError):
            rows, exact = {}, False
        return {"tables": len(rows), "rows": rows, "rows_exact": exact}

    def required_tools(self) -> list[RequiredTool]:
        client, dump = tool_names()
        package = "mariadb-client" if client == "mariadb" else "default-mysql-client"
        return [RequiredTool(client, package), RequiredTool(dump, package)]

    def probe(self) -> str:
        wanted = self.databases()
        sizes: dict[str, int] = {}
        for line in self.query(
            "SELECT table_schema, SUM(data_length + index_length) FROM information_schema.tables "
            "GROUP BY table_schema"
        ):
            schema, _sep, size = line.partition("\t")
            sizes[schema] = int(size) if size.isdigit() else 0
        existing = set(self.query("SHOW DATABASES"))
        missing = [d for d in wanted if d not in existing]
        if missing:
            raise UsageError(
                _("database {name} does not exist on {server}").format(
                    name=", ".join(missing), server=f"{self.config.host}:{self.config.port}"
                ),
                hint=_("check databases: in the plan"),
            )
        parts = [
            _("{database} {size} MiB").format(database=d, size=f"{sizes.get(d, 0) / 2**20:.1f}")
            for d in wanted
        ]
        return _("reachable: {databases}").format(databases=", ".join(parts) or "-")

    def describe(self) -> list[str]:
        cfg = self.config
        where = f"{cfg.user}@{cfg.host}:{cfg.port}"
        if cfg.databases == "all":
            return [
                _("mariadb-dump each database on {server} (not the system ones)").format(
                    server=where
                )
            ]
        return [
            _("mariadb-dump {database} on {server} -> {stream}").format(
                database=db, server=where, stream=db + SUFFIX
            )
            for db in cfg.databases
        ]

    def backup_spec(self) -> BackupSpec:
        return BackupSpec(streams=[_DatabaseDump(self, db).stream() for db in self.databases()])

    # --- restore ---------------------------------------------------------------------------

    def _charsets(self) -> dict[str, tuple[str, str]]:
        out = {}
        for line in self.query(
            "SELECT schema_name, default_character_set_name, default_collation_name "
            "FROM information_schema.schemata"
        ):
            name, charset, collation = [*line.split("\t"), "", ""][:3]
            out[name] = (charset, collation)
        return out

    def _run(self, statements: Sequence[str]) -> None:
        self.query(";\n".join(statements) + ";")

    def existing_databases(self) -> set[str]:
        return set(self.query("SHOW DATABASES"))

    def drop(self, name: str) -> None:
        """Drop database ``name`` if it exists (the throw-away copy of a restore test)."""
        self._run([f"DROP DATABASE IF EXISTS {quote_my_ident(name)}"])

    def restore(self, reader: StreamReader, target: RestoreTarget) -> RestoreOutcome:
        charsets = self._charsets()
        mapping = database_restore_names(reader.names(), SUFFIX, "MariaDB/MySQL", target, charsets)
        outcome = RestoreOutcome()
        for original, new in mapping.items():
            charset, collation = charsets.get(original, ("", ""))
            self._restore_one(reader, original, new, target.in_place, charset, collation, outcome)
        return outcome

    def _restore_one(
        self,
        reader: StreamReader,
        original: str,
        new: str,
        in_place: bool,
        charset: str,
        collation: str,
        outcome: RestoreOutcome,
    ) -> None:
        create = create_database_sql(new, charset or None, collation or None)
        if in_place:
            self._run([f"DROP DATABASE IF EXISTS {quote_my_ident(new)}", create])
        else:
            self._run([create])
        client, _dump = tool_names()
        try:
            with reader.open(original + SUFFIX) as stream:
                FeedingCommand(client_argv(client, self.config, new), env=self.env()).feed(stream)
        except CadangError as exc:
            if in_place:
                state = _(
                    "{name} was emptied and is only partly restored; restore it again, "
                    "or restore into a new name to look at the backup"
                ).format(name=new)
            else:
                try:
                    self._run([f"DROP DATABASE IF EXISTS {quote_my_ident(new)}"])
                    state = _("the unfinished database {name} was dropped again").format(name=new)
                except CadangError:
                    state = _("the unfinished database {name} is left; drop it").format(name=new)
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
            _("{name} restored in place").format(name=new)
            if in_place
            else _("{original} restored into {name}").format(original=original, name=new)
        )
