"""The monthly report (SOP 003 step 6, SOP 000 step 5) and its summary for the Kadis.

Per application: the runs of the month that succeeded (their days) and that failed (each
with its date and time), and how many of its forms are in each state. The summary adds the
counts, the applications with failures, the verification of the backups and the steps
that took longer than their standard time. The month of a run is the month its form
belongs to (when the run finished).

A month of a large office holds thousands of forms, so the report reads plain values and
counts from the database rather than model instances, and lists in full only what needs
attention (failures, forms not verified, late steps up to a limit).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, F, Max, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from cadang.server.approvals.models import (
    BackupExecutionForm,
    FormState,
    FormStep,
    Step,
)
from cadang.server.approvals.months import month_start
from cadang.server.inventory.models import Application
from cadang.server.runs.models import RunStatus, SourceRun

FAILED = (RunStatus.FAILED, RunStatus.PARTIAL)  # a partial run failed for some source
LISTED = 50  # late steps, failed verifications and unverified forms listed by name


@dataclass(frozen=True)
class FormRef:
    pk: int
    number: str


@dataclass(frozen=True)
class FailedRun:
    form: FormRef
    when: dt.datetime | None
    status: str


@dataclass
class ApplicationMonth:
    """One application's row of the report."""

    application: Application
    succeeded_days: list[int] = field(default_factory=list)  # day of the month, per run
    failed: list[FailedRun] = field(default_factory=list)
    states: Counter[str] = field(default_factory=Counter)

    @property
    def succeeded(self) -> int:
        return len(self.succeeded_days)

    @property
    def days(self) -> str:
        """The days of the successful runs, e.g. "1, 2, 3, 5" (a day once)."""
        return ", ".join(str(d) for d in sorted(set(self.succeeded_days)))

    @property
    def forms(self) -> int:
        return sum(self.states.values())

    @property
    def state_counts(self) -> list[tuple[str, int]]:
        return [(str(s.label), self.states[s.value]) for s in FormState if self.states[s.value]]


@dataclass
class MonthReport:
    month: dt.date
    applications: list[ApplicationMonth]
    unverified: list[FormRef]  # the first LISTED forms not yet verified
    unverified_count: int
    last_verified: dt.datetime | None  # when the month's last form was verified
    verifications: Counter[str]  # the backups' verification: passed, failed, skipped, ""
    failed_verifications: list[SourceRun]  # the first LISTED
    failed_verification_count: int
    late_by_step: dict[str, int]  # step label -> late steps of that kind
    late_steps: list[FormStep]  # the first LISTED
    late_count: int

    @property
    def forms(self) -> int:
        return sum(a.forms for a in self.applications)

    @property
    def succeeded(self) -> int:
        return sum(a.succeeded for a in self.applications)

    @property
    def failed(self) -> int:
        return sum(len(a.failed) for a in self.applications)

    @property
    def with_failures(self) -> list[Application]:
        return [a.application for a in self.applications if a.failed]

    @property
    def all_verified(self) -> bool:
        return self.forms > 0 and self.unverified_count == 0


def build(month: dt.date, applications: QuerySet[Application] | None = None) -> MonthReport:
    """The report of ``month``; ``applications`` limits it (a requesting unit), None: all."""
    first = month_start(month)
    forms = BackupExecutionForm.objects.filter(month=first)
    if applications is not None:
        forms = forms.filter(application__in=applications)
    # One datetime per row (parsing them is most of the cost on SQLite): when the run began,
    # or ended if it never began.
    rows = (
        forms.annotate(when=Coalesce("run__started_at", "run__finished_at"))
        .order_by("created_at", "id")
        .values_list("pk", "number", "application_id", "state", "run__status", "when")
    )
    per_app: dict[int, ApplicationMonth] = {}
    apps = {
        a.pk: a
        for a in Application.objects.filter(pk__in=forms.values("application_id")).only(
            "name", "owner", "position"
        )
    }
    zone = timezone.get_current_timezone()
    unverified: list[FormRef] = []
    unverified_count = 0
    for pk, number, app_id, state, status, when in rows:
        row = per_app.get(app_id)
        if row is None:
            row = per_app[app_id] = ApplicationMonth(apps[app_id])
        row.states[state] += 1
        if status == RunStatus.SUCCEEDED:
            if when is not None:
                row.succeeded_days.append(when.astimezone(zone).day)
        elif status in FAILED:
            row.failed.append(FailedRun(FormRef(pk, number), when, status))
        if state not in (FormState.VERIFIED, FormState.APPROVED):
            unverified_count += 1
            if len(unverified) < LISTED:
                unverified.append(FormRef(pk, number))
    last_verified = forms.filter(state=FormState.VERIFIED).aggregate(m=Max("state_since"))["m"]

    sources = SourceRun.objects.filter(run__form__month=first)
    steps = FormStep.objects.filter(form__month=first, actual_minutes__gt=F("standard_minutes"))
    if applications is not None:
        sources = sources.filter(run__application__in=applications)
        steps = steps.filter(form__application__in=applications)
    verifications: Counter[str] = Counter(
        {r["verified"]: r["n"] for r in sources.values("verified").annotate(n=Count("id"))}
    )
    failed_sources = sources.filter(verified="failed")
    labels = {s.value: str(s.label) for s in Step}
    late_by_step = {
        labels.get(r["step"], r["step"]): r["n"]
        for r in steps.values("step").annotate(n=Count("id")).order_by("step")
    }
    ordered = sorted(per_app.values(), key=lambda a: (a.application.position, a.application.name))
    return MonthReport(
        month=first,
        applications=ordered,
        unverified=unverified,
        unverified_count=unverified_count,
        last_verified=last_verified,
        verifications=verifications,
        failed_verifications=list(
            failed_sources.select_related("run__application")
            .defer("run__checklist", "run__report", "run__application__config")
            .order_by("id")[:LISTED]
        )
        if verifications.get("failed")
        else [],
        failed_verification_count=verifications.get("failed", 0),
        late_by_step=late_by_step,
        late_steps=list(
            steps.select_related("form", "user").defer("form__filled").order_by("at", "id")[:LISTED]
        ),
        late_count=sum(late_by_step.values()),
    )
