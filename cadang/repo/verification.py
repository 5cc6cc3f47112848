"""Verification records: proof, kept with a snapshot, that it was read back or restored.

A backup that "exited 0" is not yet a backup that can be restored. After a run (and on
``cadang verify``) every new snapshot is read back completely and, where the source allows,
restored into a throw-away place and compared with what was recorded at backup time. Each
such test leaves a :class:`Verification`: a sealed JSON file in the repository's
``verifications/`` folder, so the proof travels with the snapshot to its copies (``copy``
copies the records along, re-pointed to the copy), goes when the snapshot is forgotten
(``forget`` and ``prune`` remove the records of snapshots that are gone) and is examined by
``check``. The format is in docs/FORMAT.md ("Verification records").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import json
import socket
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from cadang import __version__
from cadang.backends import FileType
from cadang.errors import CadangError, IntegrityError, ObjectNotFoundError
from cadang.i18n import _
from cadang.repo.repository import Repository

VERIFICATION_VERSION = 1


class Kind(enum.StrEnum):
    READ_BACK = "read-back"  # every blob of the snapshot decrypted and its id re-checked
    RESTORE_TEST = "restore-test"  # restored into a throw-away place and compared


class Result(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"


@dataclass
class Verification:
    """One test of one snapshot. ``compared`` says what was compared (counts of blobs,
    tables, rows, files, bytes); ``details`` are notes in words, ``errors`` what failed."""

    snapshot: str  # the id of the snapshot tested (in this repository)
    time: dt.datetime  # when the test ended
    kind: Kind
    result: Result
    duration: float = 0.0  # seconds
    compared: dict[str, Any] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    hostname: str = ""
    copied_from: str | None = None  # set on a copy: the snapshot tested in the source repo
    program_version: str = __version__
    id: str = ""  # the storage name, set when saved or loaded

    @property
    def passed(self) -> bool:
        return self.result is Result.PASSED

    def to_json(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "time": self.time.isoformat(),
            "kind": self.kind.value,
            "result": self.result.value,
            "duration": self.duration,
            "compared": self.compared,
            "details": self.details,
            "errors": self.errors,
            "hostname": self.hostname,
            "copied_from": self.copied_from,
            "program_version": self.program_version,
        }

    def to_bytes(self) -> bytes:
        doc = self.to_json() | {"version": VERIFICATION_VERSION}
        return json.dumps(doc, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes, name: str) -> Verification:
        try:
            doc = json.loads(data.decode("utf-8"))
            if not isinstance(doc, dict) or doc.get("version") != VERIFICATION_VERSION:
                raise ValueError(_("unknown verification record version"))
            time = dt.datetime.fromisoformat(doc["time"])
            if time.tzinfo is None:
                raise ValueError(_("the time has no UTC offset"))
            snapshot = doc["snapshot"]
            if not isinstance(snapshot, str) or not snapshot:
                raise ValueError(_("no snapshot id"))
            # Fields a later version adds are ignored: the folder is optional and additive.
            return cls(
                snapshot=snapshot,
                time=time,
                kind=Kind(doc["kind"]),
                result=Result(doc["result"]),
                duration=float(doc.get("duration", 0.0)),
                compared=dict(doc.get("compared") or {}),
                details=[str(d) for d in doc.get("details") or []],
                errors=[str(e) for e in doc.get("errors") or []],
                hostname=str(doc.get("hostname", "")),
                copied_from=doc.get("copied_from"),
                program_version=str(doc.get("program_version", "")),
                id=name,
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise IntegrityError(
                _("verification record {id} is malformed: {reason}").format(id=name, reason=exc)
            ) from None


def new_verification(
    snapshot: str,
    kind: Kind,
    ok: bool,
    duration: float,
    *,
    compared: dict[str, Any] | None = None,
    details: Iterable[str] = (),
    errors: Iterable[str] = (),
    time: dt.datetime | None = None,
) -> Verification:
    return Verification(
        snapshot=snapshot,
        time=time or dt.datetime.now().astimezone(),
        kind=kind,
        result=Result.PASSED if ok else Result.FAILED,
        duration=round(duration, 3),
        compared=dict(compared or {}),
        details=list(details),
        errors=list(errors),
        hostname=socket.gethostname(),
    )


def save_verification(repo: Repository, record: Verification) -> str:
    record.id = repo.save_file(FileType.VERIFICATION, record.to_bytes())
    return record.id


def load_verification(repo: Repository, name: str) -> Verification:
    return Verification.from_bytes(repo.load_file(FileType.VERIFICATION, name), name)


def load_verifications(
    repo: Repository,
    snapshot_id: str | None = None,
    errors: list[str] | None = None,
) -> list[Verification]:
    """The records (of one snapshot, or all), oldest first.

    A damaged record raises, unless ``errors`` is given: then it is named there and skipped.
    A repository written before this folder existed has none.
    """
    records: list[Verification] = []
    for name in repo.list_files(FileType.VERIFICATION):
        try:
            record = load_verification(repo, name)
        except ObjectNotFoundError:
            continue  # removed since it was listed
        except CadangError as exc:
            if errors is None:
                raise
            errors.append(exc.message)
            continue
        if snapshot_id is None or record.snapshot == snapshot_id:
            records.append(record)
    records.sort(key=lambda r: (r.time, r.id))
    return records


def by_snapshot(records: Iterable[Verification]) -> dict[str, list[Verification]]:
    """Snapshot id -> its records, oldest first."""
    out: dict[str, list[Verification]] = {}
    for r in sorted(records, key=lambda r: (r.time, r.id)):
        out.setdefault(r.snapshot, []).append(r)
    return out


def remove_verifications(
    repo: Repository, snapshot_ids: Collection[str], *, keep_only: bool = False
) -> int:
    """Delete the records of these snapshots (with ``keep_only``: of every snapshot *not*
    among them, i.e. the records whose snapshot is gone). Damaged records are left for
    ``check`` to report. Returns how many were deleted."""
    wanted = set(snapshot_ids)
    removed = 0
    for record in load_verifications(repo, errors=[]):
        if (record.snapshot in wanted) != keep_only:
            with contextlib.suppress(ObjectNotFoundError):
                repo.backend.remove(FileType.VERIFICATION, record.id)
                removed += 1
    return removed


def copy_verifications(
    src: Repository, dst: Repository, src_snapshot: str, dst_snapshot: str
) -> int:
    """Copy the records of ``src_snapshot`` to ``dst``, re-pointed to ``dst_snapshot``.

    Records the destination already has for that snapshot (same kind and time) are not
    copied again. A copied record keeps its result and says which snapshot was tested
    (``copied_from``): it proves the data restorable, not that the copy's packs read back.
    """
    have = {(r.kind, r.time) for r in load_verifications(dst, dst_snapshot, errors=[])}
    copied = 0
    for record in load_verifications(src, src_snapshot, errors=[]):
        if (record.kind, record.time) in have:
            continue
        clone = replace(
            record, id="", snapshot=dst_snapshot, copied_from=record.copied_from or record.snapshot
        )
        save_verification(dst, clone)
        have.add((record.kind, record.time))
        copied += 1
    return copied
