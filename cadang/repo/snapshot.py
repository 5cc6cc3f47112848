"""Snapshots: a sealed JSON document naming the root tree and what was backed up."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from cadang import __version__
from cadang.backends import FileType
from cadang.errors import (
    AmbiguousSnapshotError,
    IntegrityError,
    SnapshotNotFoundError,
)
from cadang.i18n import _
from cadang.repo.repository import Repository

SNAPSHOT_VERSION = 1


@dataclass
class Snapshot:
    time: dt.datetime
    tree: bytes
    paths: list[str]
    hostname: str
    username: str
    tags: list[str] = field(default_factory=list)
    label: str = ""
    parent: str | None = None
    original: str | None = None  # the snapshot this one was copied from
    summary: dict[str, Any] = field(default_factory=dict)
    program_version: str = __version__
    id: str = ""  # the storage name, set when saved or loaded

    @property
    def short_id(self) -> str:
        return self.id[:8]

    def to_bytes(self) -> bytes:
        doc = asdict(self)
        doc.pop("id")
        doc["version"] = SNAPSHOT_VERSION
        doc["time"] = self.time.isoformat()
        doc["tree"] = self.tree.hex()
        return json.dumps(doc, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes, snapshot_id: str) -> Snapshot:
        try:
            doc = json.loads(data.decode("utf-8"))  # strictly UTF-8, as written
            if doc.pop("version", None) != SNAPSHOT_VERSION:
                raise ValueError(_("unknown snapshot version"))
            doc["time"] = dt.datetime.fromisoformat(doc["time"])
            doc["tree"] = bytes.fromhex(doc["tree"])
            return cls(id=snapshot_id, **doc)
        except (ValueError, TypeError, KeyError) as exc:
            raise IntegrityError(
                _("snapshot {id} is malformed: {reason}").format(id=snapshot_id, reason=exc)
            ) from None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "short_id": self.short_id,
            "time": self.time.isoformat(),
            "tree": self.tree.hex(),
            "paths": self.paths,
            "hostname": self.hostname,
            "username": self.username,
            "tags": self.tags,
            "label": self.label,
            "parent": self.parent,
            "original": self.original,
            "summary": self.summary,
            "program_version": self.program_version,
        }


def save_snapshot(repo: Repository, snap: Snapshot) -> str:
    if repo.held_lock is not None:
        repo.held_lock.ensure_held()  # a snapshot must not point at data a prune removed
    snap.id = repo.save_file(FileType.SNAPSHOT, snap.to_bytes())
    return snap.id


def load_snapshot(repo: Repository, snapshot_id: str) -> Snapshot:
    return Snapshot.from_bytes(repo.load_file(FileType.SNAPSHOT, snapshot_id), snapshot_id)


def load_all(repo: Repository, errors: list[str] | None = None) -> list[Snapshot]:
    """Every readable snapshot, oldest first. Damaged ones are named in ``errors``."""
    snaps: list[Snapshot] = []
    for name in repo.list_files(FileType.SNAPSHOT):
        try:
            snaps.append(load_snapshot(repo, name))
        except IntegrityError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
    snaps.sort(key=lambda s: (s.time, s.id))
    return snaps


def find_snapshot(
    repo: Repository, ref: str, snapshots: Iterable[Snapshot] | None = None
) -> Snapshot:
    """Resolve ``latest``, a full id, an id prefix, or a label."""
    snaps = list(snapshots) if snapshots is not None else load_all(repo, errors=[])
    if not snaps:
        raise SnapshotNotFoundError(_("the repository has no snapshots yet"))
    if ref == "latest":
        return snaps[-1]
    matches = [s for s in snaps if s.id.startswith(ref)] if ref else []
    if not matches:
        labelled = [s for s in snaps if s.label == ref]
        if labelled:
            return labelled[-1]
        raise SnapshotNotFoundError(
            _("no snapshot matches {ref!r}").format(ref=ref),
            hint=_("'cadang snapshots' lists them"),
        )
    if len(matches) > 1:
        raise AmbiguousSnapshotError(
            _("{ref!r} matches {n} snapshots; give more characters of the id").format(
                ref=ref, n=len(matches)
            )
        )
    return matches[0]


def find_parent(snapshots: Iterable[Snapshot], hostname: str, paths: list[str]) -> Snapshot | None:
    """The newest snapshot of the same host and the same set of paths."""
    want = sorted(paths)
    best: Snapshot | None = None
    for s in snapshots:
        if (
            s.hostname == hostname
            and sorted(s.paths) == want
            and (best is None or s.time > best.time)
        ):
            best = s
    return best
