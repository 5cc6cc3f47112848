"""The Backup Execution Form as a document: what the page (and its print) shows.

Everything about the backup comes from ``form.filled``, frozen when the machine filled the
form, so a later change of the inventory or the run never alters a signed document; the
chain comes from the form's steps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cadang.server.approvals.models import BackupExecutionForm, FormState, FormStep, Step
from cadang.server.approvals.standards import NEXT_STEP, Wait, all_standard_minutes, waiting
from cadang.server.inventory.models import CLASSIFICATION_CHOICES, PRIORITY_CHOICES, OfficePlan
from cadang.server.runs.models import RunStatus, Trigger

# The words the checks and verifications write, as the reader's language says them.
CHECK_KINDS = {
    "database": _("database"),
    "antivirus": _("antivirus"),
    "network": _("network"),
    "storage": _("storage"),
}
RESULTS = {
    "passed": _("passed"),
    "warning": _("warning"),
    "failed": _("failed"),
    "skipped": _("skipped"),
}


def office_name() -> str:
    """The organization's name from the catalog's plan ("" before a plan is imported)."""
    office = OfficePlan.load()
    if office is None:
        return ""
    org = office.document.get("organization") or {}
    return str(org.get("name") or "")


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 time as written into ``filled``; None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if timezone.is_naive(moment):  # the checks write local time
        moment = timezone.make_aware(moment)
    return moment


def label(choices: list[tuple[str, Any]], value: Any) -> str:
    return str(dict(choices).get(str(value), value or ""))


def person(user: Any) -> str:
    if user is None:
        return ""
    return str(user.get_full_name() or user.get_username())


@dataclass
class CheckRow:
    kind: str
    subject: str
    result: str
    summary: str
    started: dt.datetime | None

    @property
    def kind_label(self) -> str:
        return str(CHECK_KINDS.get(self.kind, self.kind))

    @property
    def result_label(self) -> str:
        return str(RESULTS.get(self.result, self.result))


@dataclass
class SourceRow:
    source: str
    kind: str
    repository: str
    status: str
    label: str
    snapshot_id: str
    size: int
    data_added: int
    files: int
    duration: float
    error: str
    verified: str
    verification: str

    @property
    def status_label(self) -> str:
        return label(RunStatus.choices, self.status)

    @property
    def verified_label(self) -> str:
        return str(RESULTS.get(self.verified, self.verified))


@dataclass
class StepRow:
    step: FormStep
    who: str

    @property
    def late(self) -> bool:
        return self.step.late


@dataclass
class FormDocument:
    form: BackupExecutionForm
    office: str
    application: str
    owner: str
    priority: str
    classification: str
    confidential: bool
    operator: str
    trigger: str
    hostname: str
    started: dt.datetime | None
    finished: dt.datetime | None
    status: str
    status_label: str
    error: str
    checks_status: str
    checks_skipped: str
    checks: list[CheckRow] = field(default_factory=list)
    sources: list[SourceRow] = field(default_factory=list)
    copies: list[dict[str, Any]] = field(default_factory=list)
    steps: list[StepRow] = field(default_factory=list)
    wait: Wait | None = None  # how long the next step has waited, if one is awaited
    confirmed_by: Any = None  # the user of the last confirmation, for separation of duties

    @property
    def total_size(self) -> int:
        return sum(s.size for s in self.sources)


def _checks(filled: dict[str, Any]) -> list[CheckRow]:
    checklist = filled.get("checks") or {}
    return [
        CheckRow(
            kind=str(r.get("kind", "")),
            subject=str(r.get("subject", "")),
            result=str(r.get("result", "")),
            summary=str(r.get("summary", "")),
            started=parse_time(r.get("started")),
        )
        for r in checklist.get("records") or []
    ]


def _sources(filled: dict[str, Any]) -> list[SourceRow]:
    return [
        SourceRow(
            source=str(s.get("source", "")),
            kind=str(s.get("kind", "")),
            repository=str(s.get("repository", "")),
            status=str(s.get("status", "")),
            label=str(s.get("label", "")),
            snapshot_id=str(s.get("snapshot_id", "")),
            size=int(s.get("size") or 0),
            data_added=int(s.get("data_added") or 0),
            files=int(s.get("files") or 0),
            duration=float(s.get("duration") or 0.0),
            error=str(s.get("error", "")),
            verified=str(s.get("verified", "")),
            verification=str(s.get("verification", "")),
        )
        for s in filled.get("sources") or []
    ]


def build(form: BackupExecutionForm, now: dt.datetime | None = None) -> FormDocument:
    """The document of ``form`` at ``now`` (for the current wait)."""
    now = now or timezone.now()
    filled: dict[str, Any] = form.filled or {}
    checklist = filled.get("checks") or {}
    status = str(filled.get("status", ""))
    steps = [StepRow(step=s, who=person(s.user)) for s in form.steps.select_related("user").all()]
    confirmations = [s.step.user for s in steps if s.step.step == Step.CONFIRMED]
    state = FormState(form.state)
    wait = None
    if state in NEXT_STEP and state != FormState.VERIFIED:
        # A verified form waits for its month, whose wait the month page shows.
        wait = waiting(form.state_since, NEXT_STEP[state], now, all_standard_minutes())
    classification = str(filled.get("classification", ""))
    return FormDocument(
        form=form,
        office=office_name(),
        application=str(filled.get("application") or form.application.name),
        owner=str(filled.get("owner", "")),
        priority=label(PRIORITY_CHOICES, filled.get("priority")),
        classification=label(CLASSIFICATION_CHOICES, classification),
        confidential=classification == "confidential",
        operator=str(filled.get("operator", "")),
        trigger=label(Trigger.choices, filled.get("trigger")),
        hostname=str(filled.get("hostname", "")),
        started=parse_time(filled.get("started")),
        finished=parse_time(filled.get("finished")),
        status=status,
        status_label=label(RunStatus.choices, status),
        error=str(filled.get("error", "")),
        checks_status=str(checklist.get("status", "")),
        checks_skipped=str(checklist.get("skipped", "")),
        checks=_checks(filled),
        sources=_sources(filled),
        copies=list(filled.get("copies") or []),
        steps=steps,
        wait=wait,
        confirmed_by=confirmations[-1] if confirmations else None,
    )
