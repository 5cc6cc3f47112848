"""The result record every check yields, the Check Protocol, and the checklist of a run.

A check looks at one *subject* (an application's source, a repository) and yields one
:class:`CheckRecord`: its kind, when it started, how long it took, the result
(``passed``, ``warning``, ``failed``, ``skipped``), a one-line summary an operator can act
on, details for reports, and whether it must be escalated (SOP 000: a failed check goes to
the Kasi and the Kabid). The records of one check-before form a :class:`Checklist`, which is
kept in the state directory and printed as the pre-backup checklist.

Records are plain JSON (``to_json``/``from_json``) so that forms and reports can quote them
long after the run.
"""

from __future__ import annotations

import datetime as dt
import enum
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from cadang.errors import CadangError

__all__ = [
    "Check",
    "CheckKind",
    "CheckRecord",
    "Checklist",
    "Finding",
    "Result",
    "perform",
]

Clock = Callable[[], dt.datetime]


def local_now() -> dt.datetime:
    return dt.datetime.now().astimezone()


class CheckKind(enum.StrEnum):
    """The kinds of pre-backup check (the verify checks add their own kinds)."""

    DATABASE = "database"
    ANTIVIRUS = "antivirus"
    NETWORK = "network"
    STORAGE = "storage"


class Result(enum.StrEnum):
    PASSED = "passed"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"  # the check could not be made (e.g. ClamAV not installed)


# Worst first: the overall status of several records is the first one present.
_SEVERITY = (Result.FAILED, Result.WARNING, Result.PASSED, Result.SKIPPED)


@dataclass
class CheckRecord:
    """One check of one subject: what, when, result, details."""

    kind: str  # a CheckKind value (or a verify kind)
    subject: str  # e.g. "siak/db" (application/source) or "repository main"
    started: str  # ISO 8601, local time
    duration: float  # seconds
    result: Result
    summary: str  # one line, in the operator's language
    details: dict[str, Any] = field(default_factory=dict)
    escalate: bool = False  # must be brought to the Kasi and the Kabid
    hint: str = ""  # what to do about it
    app: str = ""  # the application, when the subject belongs to one
    source: str = ""  # the source of that application
    repository: str = ""  # the repository, for network and storage checks

    @property
    def failed(self) -> bool:
        return self.result is Result.FAILED

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["result"] = self.result.value
        return d

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckRecord:
        return cls(
            kind=str(data.get("kind", "")),
            subject=str(data.get("subject", "")),
            started=str(data.get("started", "")),
            duration=float(data.get("duration", 0.0) or 0.0),
            result=Result(data.get("result", Result.SKIPPED.value)),
            summary=str(data.get("summary", "")),
            details=dict(data.get("details") or {}),
            escalate=bool(data.get("escalate", False)),
            hint=str(data.get("hint", "") or ""),
            app=str(data.get("app", "") or ""),
            source=str(data.get("source", "") or ""),
            repository=str(data.get("repository", "") or ""),
        )


class Check(Protocol):
    """A check of one subject. ``run`` never raises for what it checks: a problem found is
    a failed (or warning) record, with the reason in its summary."""

    kind: str
    subject: str

    def run(self) -> CheckRecord: ...


@dataclass
class Finding:
    """What a check's body found; :func:`perform` adds the when and how long."""

    result: Result
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    hint: str = ""
    escalate: bool | None = None  # None: escalate exactly when the result is FAILED


def perform(
    kind: str,
    subject: str,
    body: Callable[[], Finding],
    *,
    app: str = "",
    source: str = "",
    repository: str = "",
    clock: Clock = local_now,
) -> CheckRecord:
    """Run ``body`` and make its record; a CadangError or OSError it raises is a failure
    whose message is the summary."""
    started = clock().isoformat(timespec="seconds")
    t0 = time.monotonic()
    try:
        found = body()
    except CadangError as exc:
        found = Finding(Result.FAILED, exc.message, hint=exc.hint or "")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        found = Finding(Result.FAILED, f"{exc.filename}: {reason}" if exc.filename else reason)
    escalate = found.result is Result.FAILED if found.escalate is None else found.escalate
    return CheckRecord(
        kind=kind,
        subject=subject,
        started=started,
        duration=round(time.monotonic() - t0, 3),
        result=found.result,
        summary=found.summary,
        details=found.details,
        escalate=escalate,
        hint=found.hint,
        app=app,
        source=source,
        repository=repository,
    )


def overall(results: list[Result]) -> Result:
    """The worst of several results (no result at all: passed)."""
    present = set(results)
    return next((r for r in _SEVERITY if r in present), Result.PASSED)


@dataclass
class Checklist:
    """The records of one check-before (for ``check-before``, or at the start of a run)."""

    organization: str
    hostname: str
    started: str
    duration: float = 0.0
    apps: list[str] = field(default_factory=list)  # the applications covered
    records: list[CheckRecord] = field(default_factory=list)
    escalation: list[dict[str, str]] = field(default_factory=list)  # contacts to notify
    skipped: str = ""  # why the checks were not made (``run --skip-checks``), if they were not
    origin: str = "check-before"  # or "run"

    @property
    def status(self) -> Result:
        if self.skipped and not self.records:
            return Result.SKIPPED
        return overall([r.result for r in self.records])

    @property
    def needs_attention(self) -> bool:
        """A record must be escalated, or the checks were skipped altogether."""
        return bool(self.skipped) or any(r.escalate for r in self.records)

    def failures(self) -> list[CheckRecord]:
        return [r for r in self.records if r.failed]

    def count(self, result: Result) -> int:
        return sum(1 for r in self.records if r.result is result)

    @property
    def exit_code(self) -> int:
        """0: everything passed or warned; 1: a check failed."""
        return 1 if self.failures() else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "hostname": self.hostname,
            "started": self.started,
            "duration": self.duration,
            "origin": self.origin,
            "apps": list(self.apps),
            "status": self.status.value,
            "needs_attention": self.needs_attention,
            "skipped": self.skipped,
            "escalation": [dict(c) for c in self.escalation],
            "counts": {r.value: self.count(r) for r in Result},
            "records": [r.to_json() for r in self.records],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checklist:
        return cls(
            organization=str(data.get("organization", "")),
            hostname=str(data.get("hostname", "")),
            started=str(data.get("started", "")),
            duration=float(data.get("duration", 0.0) or 0.0),
            apps=[str(a) for a in data.get("apps") or []],
            records=[CheckRecord.from_json(r) for r in data.get("records") or []],
            escalation=[
                {str(k): str(v) for k, v in c.items()} for c in data.get("escalation") or []
            ],
            skipped=str(data.get("skipped", "") or ""),
            origin=str(data.get("origin", "check-before") or "check-before"),
        )
