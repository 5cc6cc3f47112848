"""Pages of the runs app: the list of runs, one run (live while it goes), starting a backup
by hand, and the schedules."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cadang.server.accounts.roles import (
    can,
    role_required,
    sees_every_application,
    visible_applications,
)
from cadang.server.audit.log import record
from cadang.server.inventory.models import PRIORITY_CHOICES
from cadang.server.runs.forms import FIELDS, ScheduleForm, schedule_values
from cadang.server.runs.models import Run, RunStatus, Schedule
from cadang.server.runs.queueing import start_manual_run
from cadang.server.runs.schedule import Timing, latest_due, next_due
from cadang.server.runs.scheduler import wake_scheduler

PAGE_SIZE = 50
WHOLE_COUNT_KEY = "cadang-runs-count"
WHOLE_COUNT_SECONDS = 60
PRIORITY_ORDER = [p for p, _label in PRIORITY_CHOICES]


def _visible_runs(request: HttpRequest) -> QuerySet[Run]:
    if sees_every_application(request.user):
        return Run.objects.all()
    return Run.objects.filter(application__in=visible_applications(request.user))


def _startable(request: HttpRequest) -> list[dict[str, str]]:
    """The applications this person may start a backup of (none without the role): name,
    priority label and owner, the labels translated once for the whole list."""
    if not can(request.user, "start_run"):
        return []
    labels = {value: str(label) for value, label in PRIORITY_CHOICES}
    apps = visible_applications(request.user).filter(active=True)
    return [
        {"name": name, "priority_label": labels.get(priority, priority), "owner": owner}
        for name, priority, owner in apps.values_list("name", "priority", "owner")
    ]


class WholeListPaginator(Paginator):  # type: ignore[type-arg]
    """The unfiltered list's count kept for a minute: on PostgreSQL, COUNT(*) over a year of
    runs is the slowest part of the page, and a run or two queued meanwhile only shifts the
    last page number."""

    @cached_property
    def count(self) -> int:
        value = cache.get_or_set(
            WHOLE_COUNT_KEY,
            lambda: cast("QuerySet[Run]", self.object_list).count(),
            WHOLE_COUNT_SECONDS,
        )
        return int(value or 0)


@role_required("view_runs")
@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    # The report and checklist JSON are large and the list shows neither.
    runs = (
        _visible_runs(request)
        .select_related("application", "requested_by")
        .defer("report", "checklist")
    )
    apps = visible_applications(request.user).order_by("name")
    chosen_app = request.GET.get("application", "")
    chosen_status = request.GET.get("status", "")
    if chosen_app:
        runs = runs.filter(application__name=chosen_app)
    if chosen_status in RunStatus.values:
        runs = runs.filter(status=chosen_status)
    else:
        chosen_status = ""
    ordered = runs.order_by("-queued_at", "-id")
    whole = not chosen_app and not chosen_status and sees_every_application(request.user)
    paginator = WholeListPaginator(ordered, PAGE_SIZE) if whole else Paginator(ordered, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    filters = {k: v for k, v in (("application", chosen_app), ("status", chosen_status)) if v}
    return render(
        request,
        "runs/list.html",
        {
            "page": page,
            "applications": apps.values_list("name", flat=True),
            "statuses": RunStatus.choices,
            "chosen_app": chosen_app,
            "chosen_status": chosen_status,
            "query": urlencode(filters),
            "startable": _startable(request),
        },
    )


def _form_link(run: Run) -> tuple[Any, str | None]:
    """The run's Backup Execution Form and the address of its page, if there is one."""
    try:
        form = run.form
    except ObjectDoesNotExist:
        return None, None
    try:
        return form, reverse("approvals:detail", args=[form.pk])
    except NoReverseMatch:  # the approvals pages are not installed
        return form, None


def _after_run(report: dict[str, Any] | None) -> list[str]:
    """What the report says happened after the backups: notes, retention, copies."""
    if not report:
        return []
    lines = [str(n) for n in report.get("notes") or []]
    lines += [str(r.get("message", "")) for r in report.get("retention") or []]
    lines += [str(c.get("message", "")) for c in report.get("copies") or []]
    return [line for line in lines if line]


FORM_WAIT_SECONDS = 30


def _run_context(run: Run) -> dict[str, Any]:
    form, form_url = _form_link(run)
    checklist = run.checklist or {}
    return {
        "run": run,
        "sources": run.sources.all(),
        "checklist": checklist,
        "checks": checklist.get("records") or [],
        "form": form,
        "form_url": form_url,
        "after_run": _after_run(run.report),
        # The form is filled just after the status is stored: keep asking for a short while
        # so the page shows its link without a reload.
        "keep_polling": not run.finished
        or (
            form is None
            and run.finished_at is not None
            and timezone.now() - run.finished_at < dt.timedelta(seconds=FORM_WAIT_SECONDS)
        ),
    }


def _get_run(request: HttpRequest, pk: int) -> Run:
    """The run if this person may see it: 404 for another unit's, as for none at all."""
    return get_object_or_404(
        _visible_runs(request).select_related("application", "requested_by", "retry_of"), pk=pk
    )


@role_required("view_runs")
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run(request, pk)
    context = _run_context(run)
    context["retries"] = run.retries.order_by("id")
    return render(request, "runs/detail.html", context)


@role_required("view_runs")
@require_GET
def live(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of a run's page; htmx asks for it every 2 seconds until the run ends."""
    return render(request, "runs/_live.html", _run_context(_get_run(request, pk)))


@role_required("start_run")
@require_POST
def start(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("application", "")
    app = visible_applications(request.user).filter(active=True, name=name).first()
    if app is None:
        messages.error(request, _("Choose an application to back up."))
        return redirect("runs:list")
    run, created = start_manual_run(app, request.user, timezone.now())
    values = {"app": app.name, "run": run.pk, "status": run.get_status_display()}
    if created:
        wake_scheduler()
        messages.success(request, _("The backup of %(app)s is queued as run %(run)s.") % values)
    else:
        messages.warning(
            request,
            _(
                "%(app)s already has a backup in progress (run %(run)s, %(status)s); "
                "no second one was started."
            )
            % values,
        )
    return redirect("runs:detail", pk=run.pk)


def _next_times(schedules: Any) -> dict[str, Any]:
    zone = ZoneInfo(settings.TIME_ZONE)
    now = timezone.now()
    out = {}
    for s in schedules:
        try:
            out[s.priority] = next_due(Timing.of(s), zone, now) if s.enabled else None
        except ValueError:
            out[s.priority] = None
    return out


def _shown(schedule: Schedule) -> list[str]:
    """The fields that mean something for the schedule's priority."""
    hidden = {"daily": {"weekday", "day_of_month"}, "weekly": {"day_of_month"}}.get(
        schedule.priority, {"weekday"}
    )
    return [f for f in FIELDS if f not in hidden]


@role_required("edit_schedules")
def schedules(request: HttpRequest) -> HttpResponse:
    items = sorted(Schedule.objects.all(), key=lambda s: PRIORITY_ORDER.index(s.priority))
    forms = {s.priority: ScheduleForm(instance=s, prefix=s.priority) for s in items}
    if request.method == "POST":
        schedule = get_object_or_404(Schedule, priority=request.POST.get("priority", ""))
        old = schedule_values(schedule)
        form = ScheduleForm(request.POST, instance=schedule, prefix=schedule.priority)
        if form.is_valid():
            saved = form.save(commit=False)
            # The change applies from the next due time: moving 23:00 to 01:00 in the
            # morning must not start a second backup today.
            latest = latest_due(Timing.of(saved), ZoneInfo(settings.TIME_ZONE), timezone.now())
            if saved.last_due_at is not None and latest > saved.last_due_at:
                saved.last_due_at = latest
            saved.save()
            new = schedule_values(saved)
            changed = {k: {"old": old[k], "new": new[k]} for k in new if old[k] != new[k]}
            if changed:
                record(
                    "schedule_changed",
                    user=request.user,
                    target=f"schedule {saved.priority}",
                    details={"priority": saved.priority, "changes": changed},
                )
            messages.success(
                request,
                _("The %(priority)s schedule is saved.")
                % {"priority": saved.get_priority_display()},
            )
            return redirect("runs:schedules")
        forms[schedule.priority] = form
        messages.error(request, _("The schedule was not saved: see the errors below."))
    times = _next_times(items)
    rows = [
        (s, forms[s.priority], times[s.priority], [forms[s.priority][f] for f in _shown(s)])
        for s in items
    ]
    return render(request, "runs/schedules.html", {"rows": rows})
