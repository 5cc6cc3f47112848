"""After a run: proof that each new snapshot can be restored.

Two tests per snapshot, each leaving a :class:`~cadang.repo.verification.Verification`
record in the repository (beside the snapshot, so it travels with copies):

**Read-back** (every snapshot): every tree and every data blob the snapshot references is
loaded, decrypted, decompressed and its keyed id computed again from the plaintext
(``Repository.load_blob(id, verify=True)``), and each file's blobs must add up to its
recorded size. It does not stop at the first problem: damage is named by path.

**Restore test** (by source type, unless turned off):

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
* Files: a sample of files (by default up to 50 files and 64 MiB, chosen at random but the
  same for the same snapshot) is restored into a temporary folder with the engine's
  restorer and compared by SHA-256 with the original file on disk when that is unchanged
  since the backup (same size and modification time), else with the content read back from
  the snapshot (the record then says the originals changed).
* Command sources: only with ``{into}`` in the restore command and a ``drop`` command (a
  restore command that ignores the new name could overwrite the original): restored under a
  throw-away name, then dropped. Oracle: not tested here (there is no way to drop a
  throw-away schema yet); its snapshots are read back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import os
import re
import secrets
import shutil
import sqlite3
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from cadang.checks.verify_config import VerifySettings
from cadang.errors import CadangError
from cadang.i18n import _
from cadang.repo.exporter import iter_content
from cadang.repo.repository import Repository
from cadang.repo.restorer import Restorer
from cadang.repo.snapshot import Snapshot
from cadang.repo.streams import SnapshotStreamReader
from cadang.repo.tree import Node, NodeType, decode_tree
from cadang.repo.verification import (
    Kind,
    Verification,
    new_verification,
    save_verification,
)
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
    "SnapshotVerification",
    "VerifySettings",
    "cleanup_scratch",
    "read_back",
    "restore_test",
    "scratch_name",
    "verify_snapshot",
]

Clock = Callable[[], dt.datetime]
MiB = 1024 * 1024
SCRATCH_PREFIX = "cadang_verify_"
_SCRATCH = re.compile(r"^cadang_verify_(\d{12})_[0-9a-f]{8}")
SCRATCH_MAX_AGE = dt.timedelta(days=1)
_MAX_NAME = 63  # PostgreSQL's identifier limit (MariaDB allows 64)
_MAX_ERRORS = 50  # errors kept in one record; the rest are counted
_BATCH_BLOBS = 256  # read-back: blobs read per batch, on the thread pool
_ABS_TOLERANCE = 10  # rows: estimates within this many rows always pass


def local_now() -> dt.datetime:
    return dt.datetime.now().astimezone()


# --- results --------------------------------------------------------------------------------


@dataclass
class SnapshotVerification:
    """The tests of one snapshot: its records, and why a test was not made."""

    snapshot: Snapshot
    app: str = ""
    source: str = ""
    records: list[Verification] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # reasons
    not_stored: str = ""  # why the records could not be written to the repository

    @property
    def failed(self) -> bool:
        return any(not r.passed for r in self.records)

    @property
    def status(self) -> str:
        """``failed``, ``passed`` (at least one test, none failed) or ``skipped``."""
        if self.failed:
            return "failed"
        return "passed" if self.records else "skipped"

    def record(self, kind: Kind) -> Verification | None:
        return next((r for r in self.records if r.kind is kind), None)

    def summary(self) -> str:
        """One line: what was verified, or what failed first."""
        parts = []
        for r in self.records:
            if r.passed:
                parts.append(_("{kind}: {what}").format(kind=kind_word(r.kind), what=describe(r)))
            else:
                first = r.errors[0] if r.errors else ""
                parts.append(
                    _("{kind} FAILED: {reason}").format(kind=kind_word(r.kind), reason=first)
                )
        if not self.records or not self.record(Kind.RESTORE_TEST):
            parts.extend(_("restore test skipped: {reason}").format(reason=s) for s in self.skipped)
        if self.not_stored:
            parts.append(_("the result was not stored: {reason}").format(reason=self.not_stored))
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "source": self.source,
            "snapshot": self.snapshot.id,
            "label": self.snapshot.label,
            "time": self.snapshot.time.isoformat(),
            "status": self.status,
            "summary": self.summary(),
            "skipped": self.skipped,
            "not_stored": self.not_stored,
            "records": [r.to_json() | {"id": r.id} for r in self.records],
        }


def kind_word(kind: Kind) -> str:
    return {Kind.READ_BACK: _("read-back"), Kind.RESTORE_TEST: _("restore test")}[kind]


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - the loop returns


def describe(r: Verification) -> str:
    """What a passed record compared, in words."""
    c = r.compared
    if r.kind is Kind.READ_BACK:
        return _("{files} file(s), {blobs} blob(s), {size}").format(
            files=c.get("files", 0), blobs=c.get("blobs", 0), size=_size(c.get("bytes", 0))
        )
    if "databases" in c:
        dbs = c["databases"]
        tables = sum(int(d.get("tables", 0)) for d in dbs)
        rows = sum(int(d.get("rows", 0)) for d in dbs)
        return _("{n} database(s) restored, {tables} table(s), {rows} row(s) as at backup").format(
            n=len(dbs), tables=tables, rows=rows
        )
    if "files" in c:
        text = _("{files} sampled file(s), {size}, identical").format(
            files=c.get("files", 0), size=_size(c.get("bytes", 0))
        )
        if c.get("against_snapshot"):
            text += " " + _("({n} compared with the snapshot, originals changed)").format(
                n=c["against_snapshot"]
            )
        return text
    return _("restored and removed again")


class _Errors:
    """Error messages of one test, at most _MAX_ERRORS of them, the rest counted."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.dropped = 0

    def add(self, message: str) -> None:
        if len(self.items) < _MAX_ERRORS:
            self.items.append(message)
        else:
            self.dropped += 1

    def __bool__(self) -> bool:
        return bool(self.items)

    def final(self) -> list[str]:
        if self.dropped:
            return [*self.items, _("... and {n} more").format(n=self.dropped)]
        return list(self.items)


def _shown(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace") or "/"


# --- read-back ------------------------------------------------------------------------------


def read_back(
    repo: Repository, snap: Snapshot, clock: Clock = local_now, workers: int = 2
) -> Verification:
    """Load every tree and data blob of ``snap`` with its id re-checked (see the module)."""
    start = time.monotonic()
    errors = _Errors()
    good: dict[bytes, int] = {}  # data blob id -> plaintext length
    bad: dict[bytes, str] = {}  # data blob id -> reason
    seen_trees: set[bytes] = {snap.tree}
    counts = {"trees": 0, "files": 0, "blobs": 0, "bytes": 0}
    batch: list[tuple[bytes, Node]] = []

    def load(blob_id: bytes) -> tuple[bytes, int | str]:
        try:
            return blob_id, len(repo.load_blob(blob_id, verify=True))
        except CadangError as exc:
            return blob_id, exc.message

    def flush(pool: ThreadPoolExecutor) -> None:
        wanted = list({b for _p, n in batch for b in n.content if b not in good and b not in bad})
        for blob_id, outcome in pool.map(load, wanted):
            if isinstance(outcome, int):
                good[blob_id] = outcome
                counts["blobs"] += 1
                counts["bytes"] += outcome
            else:
                bad[blob_id] = outcome
        for path, node in batch:
            counts["files"] += 1
            broken = [bad[b] for b in node.content if b in bad]
            if broken:
                errors.add(_("{path}: {reason}").format(path=_shown(path), reason=broken[0]))
                continue
            total = sum(good[b] for b in node.content)
            if total != node.size:
                errors.add(
                    _("{path}: the snapshot records {size} bytes, but its data holds {n}").format(
                        path=_shown(path), size=node.size, n=total
                    )
                )
        batch.clear()

    with ThreadPoolExecutor(workers, thread_name_prefix="read-back") as pool:
        stack: list[tuple[bytes, bytes]] = [(snap.tree, b"")]
        pending_blobs = 0
        while stack:
            tree_id, path = stack.pop()
            try:
                nodes = decode_tree(
                    repo.load_blob(tree_id, verify=True),
                    _("tree {id}").format(id=tree_id.hex()[:16]),
                )
            except CadangError as exc:
                errors.add(
                    _("{path}: the directory listing cannot be read: {reason}").format(
                        path=_shown(path + b"/"), reason=exc.message
                    )
                )
                continue
            counts["trees"] += 1
            for node in nodes:
                full = path + b"/" + node.name
                if node.type is NodeType.DIR and node.subtree is not None:
                    if node.subtree not in seen_trees:
                        seen_trees.add(node.subtree)
                        stack.append((node.subtree, full))
                elif node.type is NodeType.FILE:
                    batch.append((full, node))
                    pending_blobs += len(node.content)
                    if pending_blobs >= _BATCH_BLOBS:
                        flush(pool)
                        pending_blobs = 0
        flush(pool)
    ok = not errors
    details = (
        []
        if ok
        else [
            _(
                "snapshot {id}: damage found by reading it back; 'cadang check "
                "--read-data' shows what else the damage affects"
            ).format(id=snap.short_id)
        ]
    )
    return new_verification(
        snap.id,
        Kind.READ_BACK,
        ok,
        time.monotonic() - start,
        compared=counts,
        details=details,
        errors=errors.final(),
        time=clock(),
    )


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


def _sample(
    repo: Repository, snap: Snapshot, max_files: int, max_bytes: int
) -> list[tuple[bytes, Node]]:
    """Files chosen at random, but the same ones for the same snapshot, within the budget."""

    def files() -> Iterator[tuple[bytes, bytes, Node]]:
        stack: list[tuple[bytes, bytes]] = [(snap.tree, b"")]
        while stack:
            tree_id, path = stack.pop()
            for node in decode_tree(
                repo.load_blob(tree_id), _("tree {id}").format(id=tree_id.hex()[:16])
            ):
                full = path + b"/" + node.name
                if node.type is NodeType.DIR and node.subtree is not None:
                    stack.append((node.subtree, full))
                elif node.type is NodeType.FILE:
                    key = hashlib.sha256(snap.id.encode() + b"\0" + full).digest()
                    yield key, full, node

    chosen: list[tuple[bytes, Node]] = []
    budget = max_bytes
    for _key, path, node in heapq.nsmallest(max_files * 4, files(), key=lambda t: t[0]):
        if len(chosen) >= max_files:
            break
        if node.size <= budget:
            chosen.append((path, node))
            budget -= node.size
    return chosen


def _sha256_file(path: bytes) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MiB):
            h.update(chunk)
    return h.hexdigest()


def _unchanged(path: bytes, node: Node) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == node.size and st.st_mtime_ns == node.mtime_ns


def _files_test(
    repo: Repository, snap: Snapshot, settings: VerifySettings, clock: Clock
) -> Verification | str:
    start = time.monotonic()
    errors = _Errors()
    try:
        sample = _sample(repo, snap, settings.sample_files, int(settings.sample_mib * MiB))
    except CadangError as exc:
        sample = []
        errors.add(
            _("the snapshot's directories cannot be read: {reason}").format(reason=exc.message)
        )
    if not sample and not errors:
        return _("the snapshot holds no file small enough to sample")
    counts = {"files": 0, "bytes": 0, "against_originals": 0, "against_snapshot": 0}
    folder = tempfile.mkdtemp(prefix="cadang-verify-")
    root = os.fsencode(folder)
    try:
        failed: set[str] = set()
        if sample:
            summary = Restorer(repo).restore(snap, folder, [os.fsdecode(p) for p, _n in sample])
            for shown, message in summary.errors:
                failed.add(shown)
                errors.add(_("{path}: {reason}").format(path=shown, reason=message))
        for path, node in sample:
            restored = root + path
            try:
                got = _sha256_file(restored)
            except OSError as exc:
                if _shown(path) not in failed:  # else the restore's error names it
                    errors.add(
                        _("{path}: not restored: {reason}").format(
                            path=_shown(path), reason=exc.strerror or exc
                        )
                    )
                continue
            against = "against_snapshot"
            try:
                if _unchanged(path, node):
                    want = _sha256_file(path)
                    against = "against_originals"
                else:
                    h = hashlib.sha256()
                    for data in iter_content(repo, node, path):
                        h.update(data)
                    want = h.hexdigest()
            except OSError:
                h = hashlib.sha256()
                for data in iter_content(repo, node, path):
                    h.update(data)
                want = h.hexdigest()
            except CadangError as exc:
                errors.add(_("{path}: {reason}").format(path=_shown(path), reason=exc.message))
                continue
            if got != want:
                errors.add(
                    _("{path}: the restored file differs from the {what} (SHA-256)").format(
                        path=_shown(path),
                        what=_("original") if against == "against_originals" else _("snapshot"),
                    )
                )
                continue
            counts["files"] += 1
            counts["bytes"] += node.size
            counts[against] += 1
    except CadangError as exc:
        errors.add(_("the sample could not be restored: {reason}").format(reason=exc.message))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    details = [
        _("{n} file(s) restored into a temporary folder and compared by SHA-256").format(
            n=len(sample)
        )
    ]
    if counts["against_snapshot"]:
        details.append(
            _("{n} compared with the snapshot, originals changed").format(
                n=counts["against_snapshot"]
            )
        )
    return new_verification(
        snap.id,
        Kind.RESTORE_TEST,
        not errors,
        time.monotonic() - start,
        compared=counts,
        details=details,
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
        return _files_test(repo, snap, settings, clock)
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


def verify_snapshot(
    repo: Repository,
    snap: Snapshot,
    config: SourceConfig | None,
    settings: VerifySettings | None = None,
    *,
    app: str = "",
    restore: bool = True,
    save: bool = True,
    clock: Clock = local_now,
) -> SnapshotVerification:
    """Read ``snap`` back and (with ``restore``) run its restore test; store the records.

    The restore test runs only when the read-back passed (a damaged snapshot cannot restore)
    and the source's configuration is known. Never raises for what it finds.
    """
    settings = settings or VerifySettings()
    result = SnapshotVerification(snap, app=app, source=config.name if config else "")
    back = read_back(repo, snap, clock)
    result.records.append(back)
    if not restore or not settings.restore_test:
        result.skipped.append(_("turned off"))
    elif not back.passed:
        result.skipped.append(_("the snapshot does not read back"))
    elif config is None:
        result.skipped.append(_("the source is not in the plan"))
    else:
        try:
            outcome = restore_test(repo, snap, config, settings, app=app, clock=clock)
        except CadangError as exc:  # e.g. a stream that cannot be listed
            outcome = new_verification(
                snap.id, Kind.RESTORE_TEST, False, 0.0, errors=[exc.message], time=clock()
            )
        except OSError as exc:  # e.g. no room in the temporary folder
            reason = exc.strerror or str(exc)
            outcome = new_verification(
                snap.id,
                Kind.RESTORE_TEST,
                False,
                0.0,
                errors=[f"{exc.filename}: {reason}" if exc.filename else reason],
                time=clock(),
            )
        if isinstance(outcome, str):
            result.skipped.append(outcome)
        else:
            result.records.append(outcome)
    if save:
        try:
            for record in result.records:
                save_verification(repo, record)
        except CadangError as exc:  # e.g. a repository on a disk mounted read-only
            result.not_stored = exc.message
    return result
