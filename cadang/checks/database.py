"""The database check: each database source is reachable, answers a query, reports its size.

The source's own :meth:`~cadang.sources.base.Source.probe` does the work (PostgreSQL and
MariaDB: a query per database that returns its size; SQLite: the file opens read-only and
answers; Oracle: only that the client tools are there — the connection is not checked, so
the record says ``skipped`` with what was checked). The tools a source needs are looked for
first, so a missing ``psql`` is named with its Debian package.

PostgreSQL with ``amcheck: true``: every B-tree index of every database of the source is
checked with ``bt_index_check`` (amcheck's light check; it takes only an AccessShareLock, so
the application keeps working). The extension is created in each database the first time
(``CREATE EXTENSION IF NOT EXISTS amcheck``, which needs a superuser); when it is not
available or may not be created, the record is a warning that says so. A damaged index fails
the check with PostgreSQL's own words about it.

Command sources are not databases and get no database check.
"""

from __future__ import annotations

import shutil
from typing import Any

from cadang.checks.base import CheckKind, CheckRecord, Clock, Finding, Result, local_now, perform
from cadang.errors import CadangError, CommandFailedError
from cadang.i18n import _
from cadang.sources.config import (
    MariaDBSource,
    OracleSource,
    PostgresSource,
    SourceConfig,
    SQLiteSource,
)
from cadang.sources.postgres import PostgresSQLSource, psql_query_argv
from cadang.sources.process import run
from cadang.sources.registry import make_source

__all__ = ["DatabaseCheck", "amcheck_database", "is_database"]

DATABASE_CONFIGS = (PostgresSource, MariaDBSource, SQLiteSource, OracleSource)

AMCHECK_AVAILABLE_SQL = (
    "SELECT 'installed:' || coalesce(installed_version, '') FROM pg_available_extensions "
    "WHERE name = 'amcheck'"
)
AMCHECK_CREATE_SQL = "CREATE EXTENSION IF NOT EXISTS amcheck"
# Every B-tree index that can be checked now (not another session's temporary one, not one
# being built); one row per index checked.
AMCHECK_RUN_SQL = (
    "SELECT c.oid::regclass::text, bt_index_check(c.oid) "
    "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "JOIN pg_am a ON a.oid = c.relam "
    "WHERE a.amname = 'btree' AND c.relpersistence <> 't' AND i.indisready AND i.indisvalid"
)


def tool_reason(message: str) -> str:
    """The line of a failed tool's message that says why (``psql: error: connection to
    server ... failed: Connection refused``), without the command line before it."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    tail = lines[1:] or lines
    for ln in tail:
        low = ln.lower()
        if "error" in low or "failed" in low or "denied" in low:
            for prefix in ("psql: error: ", "ERROR:  ", "ERROR: "):
                if ln.startswith(prefix):
                    return ln[len(prefix) :]
            return ln
    return tail[-1] if tail else message


def is_database(config: SourceConfig) -> bool:
    return isinstance(config, DATABASE_CONFIGS)


class AmcheckUnavailable(Exception):
    """amcheck cannot be used on this server or database (the reason is the message)."""


def amcheck_database(source: PostgresSQLSource, database: str) -> int:
    """Check every B-tree index of ``database``; return how many were checked.

    Raises AmcheckUnavailable when the extension is missing or may not be created, and
    CommandFailedError (with PostgreSQL's message) when an index is damaged.
    """
    cfg, env = source.config, source.env()

    def query(sql: str) -> list[str]:
        out = run(psql_query_argv(cfg, database, sql), env=env)
        return [ln for ln in out.splitlines() if ln.strip()]

    available = query(AMCHECK_AVAILABLE_SQL)
    if not available:
        raise AmcheckUnavailable(
            _(
                "the amcheck extension is not available on {server} "
                "(it comes with the PostgreSQL server package, e.g. postgresql-15)"
            ).format(server=f"{cfg.host}:{cfg.port}")
        )
    if available[0].strip() == "installed:":
        try:
            query(AMCHECK_CREATE_SQL)
        except CadangError as exc:
            raise AmcheckUnavailable(
                _(
                    "the amcheck extension is not installed in {database} and could not be "
                    "created: {reason}"
                ).format(database=database, reason=tool_reason(exc.message))
            ) from None
    return len(query(AMCHECK_RUN_SQL))


class DatabaseCheck:
    kind = CheckKind.DATABASE.value

    def __init__(self, app: str, config: SourceConfig, *, clock: Clock = local_now) -> None:
        self.app = app
        self.config = config
        self.clock = clock
        self.subject = f"{app}/{config.name}"

    def run(self) -> CheckRecord:
        return perform(
            self.kind,
            self.subject,
            self._check,
            app=self.app,
            source=self.config.name,
            clock=self.clock,
        )

    def _check(self) -> Finding:
        source = make_source(self.config)
        details: dict[str, Any] = {"type": self.config.type}
        missing = [t for t in source.required_tools() if shutil.which(t.command) is None]
        if missing:
            packages = sorted({t.package for t in missing})
            commands = ", ".join(t.command for t in missing)
            # A Debian package name has no spaces; anything else (the Oracle client) is a
            # product to install by its own means, and apt-get would not find it.
            if all(" " not in p for p in packages):
                return Finding(
                    Result.FAILED,
                    _("{commands} not found: install the Debian package {packages}").format(
                        commands=commands, packages=", ".join(packages)
                    ),
                    details,
                    _("apt-get install {packages}").format(packages=" ".join(packages)),
                )
            return Finding(
                Result.FAILED,
                _("{commands} not found: install {packages}").format(
                    commands=commands, packages=", ".join(packages)
                ),
                details,
                _("or give the full path of the program in the plan's command settings"),
            )
        try:
            answer = source.probe()
        except CadangError as exc:
            details["error"] = exc.message
            if not isinstance(exc, CommandFailedError):
                return Finding(Result.FAILED, exc.message, details, exc.hint or "")
            return Finding(
                Result.FAILED,
                _("not reachable: {reason}").format(reason=tool_reason(exc.message)),
                details,
                _(
                    "check that the database server runs and that host, port, user and "
                    "databases in the plan are right"
                ),
            )
        details["probe"] = answer
        if isinstance(self.config, OracleSource):
            return Finding(Result.SKIPPED, answer, details)
        if isinstance(source, PostgresSQLSource) and source.config.amcheck:
            return self._amcheck(source, answer, details)
        return Finding(Result.PASSED, answer, details)

    def _amcheck(self, source: PostgresSQLSource, answer: str, details: dict[str, Any]) -> Finding:
        checked: dict[str, int] = {}
        unavailable: list[str] = []
        for database in source.databases():
            try:
                checked[database] = amcheck_database(source, database)
            except AmcheckUnavailable as exc:
                unavailable.append(str(exc))
            except CadangError as exc:
                details["amcheck"] = {"checked": checked, "failed": database}
                return Finding(
                    Result.FAILED,
                    _("amcheck found a damaged index in {database}: {reason}").format(
                        database=database, reason=tool_reason(exc.message)
                    ),
                    details,
                    _(
                        "rebuild the index (REINDEX) after finding the cause; the last good "
                        "backup is the one before the damage"
                    ),
                )
        details["amcheck"] = {"checked": checked, "unavailable": unavailable}
        summary = answer
        if checked:
            summary += "; " + _("amcheck: {n} B-tree index(es) intact").format(
                n=sum(checked.values())
            )
        if unavailable:
            return Finding(
                Result.WARNING,
                summary + "; " + "; ".join(unavailable),
                details,
                _("a superuser can run CREATE EXTENSION amcheck once in each database"),
            )
        return Finding(Result.PASSED, summary, details)
