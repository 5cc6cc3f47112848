"""The home page: every visible application's last backup, and what is overdue or failing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from cadang.plan.model import OverdueLimits, Priority
from cadang.server.accounts.roles import role_required, visible_applications
from cadang.server.inventory.models import (
    CLASSIFICATION_CHOICES,
    PRIORITY_CHOICES,
    Application,
    OfficePlan,
)
from cadang.server.runs.models import Run, RunStatus


@dataclass
class AppRow:
    app: Application
    priority_label: str
    classification_label: str
    last_status: str | None
    last_status_label: str
    last_finished: dt.datetime | None
    last_good: dt.datetime | None
    overdue: bool


def _limits() -> OverdueLimits:
    office = OfficePlan.load()
    raw = office.document.get("overdue_after_hours") if office else None
    return OverdueLimits.model_validate(raw or {})


@role_required("view_dashboard")
def home(request: HttpRequest) -> HttpResponse:
    finished = Run.objects.filter(application=OuterRef("pk"), finished_at__isnull=False)
    good = finished.filter(status__in=[RunStatus.SUCCEEDED, RunStatus.PARTIAL])
    apps = (
        visible_applications(request.user)
        .filter(active=True)
        .annotate(
            last_status=Subquery(finished.order_by("-finished_at").values("status")[:1]),
            last_finished=Subquery(finished.order_by("-finished_at").values("finished_at")[:1]),
            last_good=Subquery(good.order_by("-finished_at").values("finished_at")[:1]),
        )
    )
    limits = _limits()
    now = timezone.now()
    # Labels translated once, not once per row: the page lists every application.
    priorities = {value: str(label) for value, label in PRIORITY_CHOICES}
    classifications = {value: str(label) for value, label in CLASSIFICATION_CHOICES}
    statuses = {value: str(label) for value, label in RunStatus.choices}
    rows = []
    for a in apps.only("id", "name", "owner", "priority", "classification"):
        hours = limits.hours(Priority(a.priority))
        last_good = a.last_good
        overdue = last_good is None or (now - last_good) > dt.timedelta(hours=hours)
        rows.append(
            AppRow(
                app=a,
                priority_label=priorities.get(a.priority, a.priority),
                classification_label=classifications.get(a.classification, a.classification),
                last_status=a.last_status,
                last_status_label=statuses.get(a.last_status, "") if a.last_status else "",
                last_finished=a.last_finished,
                last_good=last_good,
                overdue=overdue,
            )
        )
    context = {
        "rows": rows,
        "failing": sum(1 for r in rows if r.last_status == RunStatus.FAILED),
        "overdue": sum(1 for r in rows if r.overdue),
    }
    return render(request, "home.html", context)
