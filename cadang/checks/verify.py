"""After a run: proof that each new snapshot can be restored.

Two tests per snapshot, each leaving a :class:`~cadang.repo.verification.Verification`
record in the repository (beside the snapshot, so it travels with copies):

**Read-back** (every snapshot, :mod:`cadang.checks.readback`): every tree and every data blob
the snapshot references is loaded, decrypted, decompressed and its keyed id computed again,
and each file's blobs must add up to its recorded size.

**Restore test** (by source type, unless turned off; :mod:`cadang.checks.restore_test`, files
sources: :mod:`cadang.checks.files_restore`): databases are restored into throw-away
databases (or a temporary file for SQLite) and their tables and rows counted against the
counts recorded at backup time; a sample of files is restored into a temporary folder and
compared by SHA-256; command sources are restored under a throw-away name, then dropped.

This module runs the tests for one snapshot and keeps their records
(:class:`SnapshotVerification`), in the order and on the conditions of :func:`verify_snapshot`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cadang.checks.base import Clock, local_now
from cadang.checks.files_restore import _sample as _sample
from cadang.checks.readback import _Errors as _Errors
from cadang.checks.readback import read_back
from cadang.checks.restore_test import (
    SCRATCH_MAX_AGE,
    SCRATCH_PREFIX,
    ScratchDatabases,
    cleanup_scratch,
    compare_counts,
    restore_test,
    scratch_name,
    scratch_time,
)
from cadang.checks.verify_config import VerifySettings
from cadang.errors import CadangError
from cadang.i18n import _
from cadang.repo.repository import Repository
from cadang.repo.snapshot import Snapshot
from cadang.repo.verification import (
    Kind,
    Verification,
    new_verification,
    save_verification,
)
from cadang.sources.config import SourceConfig

__all__ = [
    "SCRATCH_MAX_AGE",
    "SCRATCH_PREFIX",
    "Clock",
    "ScratchDatabases",
    "SnapshotVerification",
    "VerifySettings",
    "cleanup_scratch",
    "compare_counts",
    "describe",
    "kind_word",
    "local_now",
    "read_back",
    "restore_test",
    "scratch_name",
    "scratch_time",
    "verify_snapshot",
]


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
