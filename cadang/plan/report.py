"""The outcome of a run: one row per source (SOP 003's report), retention, copies, JSON.

:class:`RunReport` gathers the :class:`SourceResult` of every source with what retention
(:class:`RetentionResult`) and copies (:class:`CopyOutcome`) did, decides the exit code and
gives the JSON kept in the state directory and printed by ``cadang run --json``.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from cadang.checks.base import Checklist


class Status(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIAL = "partial"  # the snapshot was written, but some files could not be read
    PLANNED = "planned"  # --dry-run


def human_size(n: float) -> str:
    """Bytes for a message: 812 B, 3.4 MiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - the loop returns


@dataclass
class SourceResult:
    """One source of one application in a run: the row of SOP 003's report."""

    app: str
    owner: str
    priority: str
    classification: str
    source: str
    kind: str
    repository: str
    status: Status = Status.PLANNED
    label: str = ""
    snapshot_id: str = ""
    started: str = ""  # when this source's backup began (ISO 8601, local time)
    duration: float = 0.0
    files: int = 0
    size: int = 0  # bytes read from the source
    data_added: int = 0  # bytes added to the repository (after dedup and compression)
    error: str = ""
    hint: str = ""
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    steps: list[str] = field(default_factory=list)  # --dry-run: what would run
    facts: dict[str, Any] = field(default_factory=dict)
    quarantined: list[str] = field(default_factory=list)  # infected files left out (antivirus)
    verified: str = ""  # passed | failed | skipped ("" when no snapshot was written)
    verification: str = ""  # what was verified, or what failed, in one line
    verify_errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        d["unreadable"] = [{"path": p, "message": m} for p, m in self.unreadable]
        return d


@dataclass
class GroupRetention:
    app: str
    source: str
    priority: str
    kept: list[str] = field(default_factory=list)  # snapshot ids
    forgotten: list[dict[str, str]] = field(default_factory=list)  # id, label, time


@dataclass
class RetentionResult:
    """Retention on one repository: ``applied``, ``nothing``, ``postponed``, ``failed``,
    ``planned`` (dry run) or ``skipped`` (no policy for a priority)."""

    repository: str
    status: str
    message: str
    groups: list[GroupRetention] = field(default_factory=list)
    prune: dict[str, object] | None = None

    @property
    def forgotten(self) -> int:
        return sum(len(g.forgotten) for g in self.groups)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"forgotten_count": self.forgotten}


@dataclass
class CopyOutcome:
    """Copies to one repository: ``copied``, ``not present``, ``failed``, ``nothing`` or
    ``planned``."""

    repository: str
    path: str
    status: str
    message: str
    copied: int = 0
    skipped: int = 0
    bytes_added: int = 0
    snapshots: list[dict[str, object]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunReport:
    organization: str
    hostname: str
    started: str
    dry_run: bool = False
    duration: float = 0.0
    results: list[SourceResult] = field(default_factory=list)
    retention: list[RetentionResult] = field(default_factory=list)
    copies: list[CopyOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. a repository that is missing
    checks: Checklist | None = None  # the pre-backup checklist (None: a dry run)
    needs_attention: bool = False  # a check failed or was skipped, or a source failed
    escalation: list[dict[str, str]] = field(default_factory=list)  # whom to tell, if so

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status is status)

    @property
    def verification_failures(self) -> list[SourceResult]:
        return [r for r in self.results if r.verified == "failed"]

    @property
    def exit_code(self) -> int:
        """0 all succeeded, 1 a source failed (or its snapshot failed verification), 3
        snapshots written but files unreadable."""
        if self.count(Status.FAILED) or self.verification_failures:
            return 1
        if self.count(Status.PARTIAL):
            return 3
        return 0

    def messages(self) -> list[str]:
        """What happened after the backups, one line each (notes, retention, copies)."""
        return [
            *self.notes,
            *(r.message for r in self.retention),
            *(c.message for c in self.copies),
        ]

    def to_json(self) -> dict[str, Any]:
        apps: dict[str, dict[str, Any]] = {}
        for r in self.results:
            entry = apps.setdefault(
                r.app,
                {
                    "name": r.app,
                    "owner": r.owner,
                    "priority": r.priority,
                    "classification": r.classification,
                    "repository": r.repository,
                    "sources": [],
                },
            )
            entry["sources"].append(r.to_json())
        for entry in apps.values():
            states = {s["status"] for s in entry["sources"]}
            entry["status"] = (
                Status.FAILED.value
                if Status.FAILED.value in states
                else Status.PARTIAL.value
                if Status.PARTIAL.value in states
                else next(iter(states))
                if len(states) == 1
                else Status.SUCCEEDED.value
            )
        return {
            "organization": self.organization,
            "hostname": self.hostname,
            "started": self.started,
            "duration": self.duration,
            "dry_run": self.dry_run,
            "applications": list(apps.values()),
            "totals": {
                "sources": len(self.results),
                "succeeded": self.count(Status.SUCCEEDED),
                "partial": self.count(Status.PARTIAL),
                "failed": self.count(Status.FAILED),
                "size": sum(r.size for r in self.results),
                "data_added": sum(r.data_added for r in self.results),
            },
            "retention": [r.to_json() for r in self.retention],
            "copies": [c.to_json() for c in self.copies],
            "notes": self.notes,
            "checks": self.checks.to_json() if self.checks is not None else None,
            "needs_attention": self.needs_attention,
            "escalation": self.escalation,
            "exit_code": self.exit_code,
        }
