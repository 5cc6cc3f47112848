"""What several sources share: reading secrets, choosing restore names, quoting, tools."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
from collections.abc import Callable, Collection
from typing import BinaryIO

from cadang.errors import CadangError, SourceError, UsageError
from cadang.i18n import _
from cadang.sources.base import RestoreTarget, Stream
from cadang.sources.process import StreamingCommand

# Databases are restored beside the original under this name unless told otherwise.
DEFAULT_SUFFIX = "_restored_{time:%Y%m%d_%H%M%S}"
_MAX_NAME = 63  # PostgreSQL's identifier limit (MariaDB allows 64)


def read_secret(password_file: str | None, password_env: str | None) -> str | None:
    """The password a source's config points to, or None when it names none.

    ``password_file``: the whole file minus its trailing newline. ``password_env``: the
    value of that environment variable. Raises SourceError saying which is missing.
    """
    if password_file:
        try:
            with open(password_file, encoding="utf-8") as f:
                return f.read().rstrip("\r\n")
        except OSError as exc:
            raise SourceError(
                _("cannot read the password file {path}: {reason}").format(
                    path=password_file, reason=exc.strerror or exc
                ),
                hint=_("check password_file in the plan and the file's permissions"),
            ) from None
    if password_env:
        value = os.environ.get(password_env)
        if value is None:
            raise SourceError(
                _("environment variable {name} is not set").format(name=password_env),
                hint=_("set it before the run, or use password_file instead"),
            )
        return value
    return None


def restore_names(
    originals: list[str], target: RestoreTarget, now: dt.datetime | None = None
) -> dict[str, str]:
    """Original name -> the name to restore it as.

    In place: each to itself. Otherwise ``target.into`` names the new database; when a
    source has several, ``into`` must contain ``{name}`` (e.g. ``{name}_test``). Without
    ``into``: ``<name>_restored_<YYYYmmdd_HHMMSS>``.
    """
    if target.in_place and target.into:
        raise UsageError(_("give either a new name or in place, not both"))
    if target.in_place:
        return {o: o for o in originals}
    if target.into is None:
        stamp = DEFAULT_SUFFIX.format(time=now or dt.datetime.now())
        return {o: o[: _MAX_NAME - len(stamp)] + stamp for o in originals}
    if "{name}" not in target.into:
        if len(originals) > 1:
            raise UsageError(
                _("this source has several databases ({names}); one new name is not enough").format(
                    names=", ".join(originals)
                ),
                hint=_("give a pattern with {pattern}, e.g. {example}").format(
                    pattern="{name}", example="{name}_restored"
                ),
            )
        return {o: target.into for o in originals}
    names = {o: target.into.replace("{name}", o) for o in originals}
    if len(set(names.values())) != len(names):  # pragma: no cover - {name} makes them unique
        raise UsageError(_("the new names are not unique: {names}").format(names=names))
    return names


def check_new_names(names: dict[str, str]) -> None:
    """A new name must differ from its original (that would be in place)."""
    same = [o for o, n in names.items() if o == n]
    if same:
        raise UsageError(
            _("{name} is the original's own name; that would overwrite it").format(
                name=", ".join(same)
            ),
            hint=_("choose another name, or restore in place on purpose"),
        )


def quote_pg_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_pg_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote_my_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def quote_my_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def which(command: str) -> str | None:
    return shutil.which(command)


_SAFE = re.compile(r"^[^/\x00]+$")


def stream_base(name: str) -> str:
    """A database or schema name made safe as a stream (file) name."""
    if name in (".", "..") or not _SAFE.match(name):
        raise SourceError(
            _("{name!r} cannot be used as a file name in a snapshot").format(name=name)
        )
    return name


class CountInBackground:
    """Row counts taken on a thread while the dump streams (a dump is I/O- and
    server-bound, so the counting scans overlap with it instead of adding to it)."""

    def __init__(self, count: Callable[[], dict[str, object]]) -> None:
        self._result: dict[str, object] = {}
        self._thread = threading.Thread(target=self._run, args=(count,), name="count-rows")
        self._thread.start()

    def _run(self, count: Callable[[], dict[str, object]]) -> None:
        try:
            self._result = count()
        except CadangError as exc:  # counts are facts for a later check, never a reason to fail
            self._result = {"rows_exact": False, "count_error": exc.message}

    def result(self) -> dict[str, object]:
        self._thread.join()
        return self._result


class DatabaseDump:
    """One database's dump as a Stream, its rows counted beside it (CountInBackground).

    Subclasses start ``self._dump`` and ``self._counter`` in ``open``; finishing the dump
    and keeping the counts is the same for every database."""

    suffix = ""

    def __init__(self, database: str) -> None:
        self.database = database
        self.facts: dict[str, object] = {}
        self._dump: StreamingCommand | None = None
        self._counter: CountInBackground | None = None

    def stream(self) -> Stream:
        return Stream(
            stream_base(self.database) + self.suffix,
            self.open,
            self.complete,
            self.close,
            self.facts,
        )

    def open(self) -> BinaryIO:
        raise NotImplementedError

    def complete(self) -> None:
        assert self._dump is not None
        self._dump.finish()
        if self._counter is not None:
            self.facts.update(self._counter.result())

    def close(self) -> None:
        if self._dump is not None:
            self._dump.close()


def database_restore_names(
    stream_names: list[str],
    suffix: str,
    kind: str,
    target: RestoreTarget,
    existing: Collection[str],
) -> dict[str, str]:
    """original database -> name to restore into, for the dumps (``*suffix``) of a snapshot.

    Refuses, before anything is written, a snapshot without such dumps and a new name that
    is invalid or already taken (a restore beside the original never overwrites).
    """
    originals = [n[: -len(suffix)] for n in stream_names if n.endswith(suffix)]
    if not originals:
        raise UsageError(
            _("this snapshot holds no {kind} dump (*{suffix})").format(kind=kind, suffix=suffix)
        )
    mapping = restore_names(originals, target)
    if not target.in_place:
        check_new_names(mapping)
        taken = sorted(n for n in mapping.values() if n in existing)
        if taken:
            raise UsageError(
                _("database {name} already exists; nothing was restored").format(
                    name=", ".join(taken)
                ),
                hint=_("choose another name, or drop that database first"),
            )
    return mapping
