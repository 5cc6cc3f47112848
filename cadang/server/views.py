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
from cadang.server.inventory.models import Application, OfficePlan
from cadang.server.runs.models import Run, RunStatus


@dataclass
class AppRow:
    app: Application
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
    rows = []
    for a in apps:
        hours = limits.hours(Priority(a.priority))
        last_good = a.last_good
        overdue = last_good is None or (now - last_good) > dt.timedelta(hours=hours)
        rows.append(
            AppRow(
                app=a,
                last_status=a.last_status,
                last_status_label=str(RunStatus(a.last_status).label) if a.last_status else "",
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
