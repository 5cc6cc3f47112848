"""The scheduler inside the server process: it queues runs when schedules are due, queues
retries of failed sources, makes the periodic checks and executes queued runs one by one.

:class:`Scheduler` does one step at a time with an injected clock (tests advance it);
:class:`SchedulerThread` is the daemon thread ``cadang serve`` starts, looping
``tick()`` and ``execute_next()`` until told to stop.

- **Due runs.** Each schedule remembers the last due time it started (``last_due_at``).
  When the latest due time (:mod:`cadang.server.runs.schedule`) is later, one run is queued
  for every active application of the priority, and ``last_due_at`` moves to it. A server
  that was down over several due times starts the latest one once, not one per missed day.
  A schedule that never started anything (a new catalog) begins counting from its first
  tick: the first run is at the next due time, not at start-up. A disabled schedule lets
  its due times pass without starting anything, so enabling it does not start a backup at
  once.
- **Retries.** A run that failed (scheduled, by hand or itself a retry) and whose attempt
  is at most the schedule's ``retries`` gets one new run, ``retry_delay_minutes`` after it
  finished, for only the sources that did not succeed. Not when the application has been
  run again since, nor for a failure older than :data:`RETRY_WINDOW`.
- **Periodic checks**, every :data:`CHECK_EVERY`: an application whose last successful run
  is older than the plan's ``overdue_after_hours`` for its priority is notified once a day;
  forms waiting past their standard time are notified by the approvals app
  (``cadang.server.approvals.lateness.notify_late_forms``, when that module exists).
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from cadang.errors import CadangError
from cadang.plan.model import Priority
from cadang.server.audit.log import record
from cadang.server.inventory.catalog import current_plan
from cadang.server.inventory.models import Application, OfficePlan
from cadang.server.runs.executor import claim, close_interrupted_runs, perform
from cadang.server.runs.models import Run, RunStatus, Schedule, Trigger
from cadang.server.runs.notices import notify_overdue
from cadang.server.runs.queueing import queue_run
from cadang.server.runs.schedule import Timing, latest_due

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]

RETRY_WINDOW = dt.timedelta(hours=12)
CHECK_EVERY = dt.timedelta(minutes=5)
LATENESS_MODULE = "cadang.server.approvals.lateness"
GOOD_SOURCE = ("succeeded", "partial")  # a snapshot was written


def sources_to_retry(run: Run) -> list[str]:
    """The sources of ``run`` that wrote no snapshot and are still in the application."""
    current = run.application.source_names
    intended = [s for s in (run.only_sources or current) if s in current]
    good = set(run.sources.filter(status__in=GOOD_SOURCE).values_list("source", flat=True))
    return [s for s in intended if s not in good]


def notify_late_forms(now: dt.datetime) -> None:
    """The approvals app's check of late forms, if it has one."""
    try:
        module = importlib.import_module(LATENESS_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != LATENESS_MODULE:  # the module exists but an import inside it fails
            raise
        return
    module.notify_late_forms(now)


class Scheduler:
    def __init__(
        self,
        clock: Clock = timezone.now,
        *,
        hostname: str | None = None,
        check_every: dt.timedelta = CHECK_EVERY,
    ) -> None:
        self.clock = clock
        self.hostname = hostname or socket.gethostname()
        self.check_every = check_every
        self._checked_at: dt.datetime | None = None

    # --- one tick -------------------------------------------------------------------------
    def tick(self) -> None:
        """Queue due runs and retries; make the periodic checks when their time has come.
        A part that fails is logged and does not keep the others from running."""
        now = self.clock()
        for name in ("queue_due", "queue_retries", "periodic_checks"):
            try:
                getattr(self, name)(now)
            except Exception:
                log.exception("scheduler: %s failed", name)

    def queue_due(self, now: dt.datetime) -> list[Run]:
        zone = ZoneInfo(settings.TIME_ZONE)
        queued: list[Run] = []
        for schedule in Schedule.objects.all():
            try:
                due = latest_due(Timing.of(schedule), zone, now)
            except ValueError as exc:
                log.warning("schedule %s cannot be computed: %s", schedule.priority, exc)
                continue
            if schedule.last_due_at is not None and due <= schedule.last_due_at:
                continue
            with transaction.atomic():
                # Conditional: a second scheduler on the same catalog finds nothing to move.
                moved = Schedule.objects.filter(
                    pk=schedule.pk, last_due_at=schedule.last_due_at
                ).update(last_due_at=due)
                if not moved or schedule.last_due_at is None or not schedule.enabled:
                    continue
                queued += self._queue_priority(schedule.priority, due, now)
        return queued

    def _queue_priority(self, priority: str, due: dt.datetime, now: dt.datetime) -> list[Run]:
        queued = []
        for app in Application.objects.filter(active=True, priority=priority):
            if Run.objects.filter(application=app, status=RunStatus.QUEUED).exists():
                continue  # the run already waiting covers this due time
            run = queue_run(app, trigger=Trigger.SCHEDULE, now=now, scheduled_for=due)
            record(
                "run_queued",
                actor="",
                target=f"run {run.pk}",
                details={
                    "application": app.name,
                    "trigger": Trigger.SCHEDULE.value,
                    "scheduled_for": due.isoformat(),
                },
            )
            queued.append(run)
        return queued

    def queue_retries(self, now: dt.datetime) -> list[Run]:
        queued: list[Run] = []
        for schedule in Schedule.objects.filter(enabled=True, retries__gt=0):
            ripe = now - dt.timedelta(minutes=schedule.retry_delay_minutes)
            candidates = (
                Run.objects.filter(
                    application__priority=schedule.priority,
                    application__active=True,
                    status=RunStatus.FAILED,
                    attempt__lte=schedule.retries,
                    finished_at__lte=ripe,
                    finished_at__gte=ripe - RETRY_WINDOW,
                    retries__isnull=True,
                )
                .exclude(trigger=Trigger.IMPORTED)
                .select_related("application")
                .order_by("finished_at", "id")
            )
            for run in candidates:
                if Run.objects.filter(application=run.application, pk__gt=run.pk).exists():
                    continue  # run again since (by hand, or the next schedule)
                only = sources_to_retry(run)
                if not only:
                    continue  # e.g. every snapshot was written but failed verification
                retry = queue_run(
                    run.application,
                    trigger=Trigger.RETRY,
                    now=now,
                    retry_of=run,
                    attempt=run.attempt + 1,
                    only_sources=only,
                    scheduled_for=run.scheduled_for,
                )
                record(
                    "run_queued",
                    actor="",
                    target=f"run {retry.pk}",
                    details={
                        "application": run.application.name,
                        "trigger": Trigger.RETRY.value,
                        "retry_of": run.pk,
                        "attempt": retry.attempt,
                        "sources": only,
                    },
                )
                queued.append(retry)
        return queued

    # --- periodic checks ------------------------------------------------------------------
    def periodic_checks(self, now: dt.datetime) -> None:
        if self._checked_at is not None and now - self._checked_at < self.check_every:
            return
        self._checked_at = now
        try:
            self.check_overdue(now)
        finally:
            notify_late_forms(now)

    def check_overdue(self, now: dt.datetime) -> list[str]:
        """Notify the applications without a recent successful run; their names."""
        try:
            plan = current_plan()
        except (CadangError, ValueError):  # no plan yet, or one that no longer validates
            return []
        office = OfficePlan.load()
        since_import = office.imported_at if office else None
        apps = Application.objects.filter(active=True).annotate(
            last_good=Max("runs__finished_at", filter=Q(runs__status=RunStatus.SUCCEEDED)),
            first_run=Min("runs__queued_at"),
        )
        told = []
        for app in apps:
            limit = dt.timedelta(hours=plan.overdue_after_hours.hours(Priority(app.priority)))
            # Never backed up: counted from its first run or the plan's import, the earlier.
            since = app.last_good or min(
                (t for t in (app.first_run, since_import) if t is not None), default=None
            )
            if since is None or now - since <= limit:
                continue
            if notify_overdue(app, app.last_good, now):
                told.append(app.name)
        return told

    # --- execution ------------------------------------------------------------------------
    def execute_next(self) -> Run | None:
        """Execute the oldest queued run whose application has none running; None if
        there is none. Blocks until the run ends."""
        busy = Run.objects.filter(status=RunStatus.RUNNING).values("application_id")
        candidates = (
            Run.objects.filter(status=RunStatus.QUEUED)
            .exclude(application_id__in=busy)
            .select_related("application")
            .order_by("queued_at", "id")
        )
        for run in candidates[:20]:
            if claim(run, self.clock(), self.hostname):
                return perform(run, clock=self.clock)
        return None


# Set by a page that queued a run, so the thread of this process starts it at once rather
# than at its next tick (a scheduler in another process still finds it within ``interval``).
_WAKE = threading.Event()


def wake_scheduler() -> None:
    _WAKE.set()


class SchedulerThread(threading.Thread):
    """The scheduler's daemon thread: closes the runs a crash left running, then loops
    tick and execute until ``stop`` is set, waiting ``interval`` seconds when idle."""

    def __init__(
        self,
        stop: threading.Event,
        clock: Clock = timezone.now,
        interval: float = 30.0,
        scheduler: Scheduler | None = None,
    ) -> None:
        super().__init__(name="cadang-scheduler", daemon=True)
        self.stop_event = stop
        self.clock = clock
        self.interval = interval
        self.scheduler = scheduler or Scheduler(clock)

    def step(self) -> bool:
        """One pass: tick, then execute one run. True if a run was executed. Never raises:
        the thread must outlive a database that is briefly away."""
        close_old_connections()  # the catalog may have dropped an idle connection
        try:
            self.scheduler.tick()
            return self.scheduler.execute_next() is not None
        except Exception:
            log.exception("scheduler step failed")
            return False
        finally:
            close_old_connections()

    def _idle(self) -> None:
        """Wait ``interval`` seconds, or less when stopped or woken by a queued run."""
        deadline = time.monotonic() + self.interval
        while not self.stop_event.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            # Short slices: stop and wake are two events and a thread waits on one.
            if _WAKE.wait(min(left, 1.0)):
                _WAKE.clear()
                return

    def run(self) -> None:
        try:
            closed = close_interrupted_runs(clock=self.clock)
            if closed:
                log.warning("closed %d run(s) interrupted by a stop", len(closed))
        except Exception:
            log.exception("could not close interrupted runs")
        try:
            while not self.stop_event.is_set():
                if not self.step():
                    self._idle()
        finally:
            connections.close_all()


__all__ = [
    "Scheduler",
    "SchedulerThread",
    "notify_late_forms",
    "sources_to_retry",
    "wake_scheduler",
]
