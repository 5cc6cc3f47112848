"""Putting a run in the queue: by the schedule, by hand, or as a retry.

A run waits in the queue (status ``queued``) until the scheduler's executor takes it. One
application never has two runs waiting or running at once when a person starts one (SOP
003: the same backup twice helps nobody); :func:`start_manual_run` says which run is
already there instead. The executor never runs two of the same application at once
(:func:`cadang.server.runs.scheduler.Scheduler.execute_next`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from cadang.server.audit.log import record
from cadang.server.inventory.models import Application
from cadang.server.runs.models import Run, RunStatus, Trigger

PENDING = (RunStatus.QUEUED, RunStatus.RUNNING)


def pending_run(application: Application) -> Run | None:
    """The application's run that is queued or running, if there is one."""
    return (
        Run.objects.filter(application=application, status__in=PENDING)
        .order_by("queued_at", "id")
        .first()
    )


def queue_run(
    application: Application,
    *,
    trigger: Trigger,
    now: dt.datetime,
    requested_by: Any = None,
    scheduled_for: dt.datetime | None = None,
    retry_of: Run | None = None,
    attempt: int = 1,
    only_sources: Sequence[str] = (),
) -> Run:
    """A new queued run of ``application`` (no checks; see :func:`start_manual_run`)."""
    return Run.objects.create(
        application=application,
        trigger=trigger,
        status=RunStatus.QUEUED,
        queued_at=now,
        scheduled_for=scheduled_for,
        requested_by=requested_by if getattr(requested_by, "is_authenticated", False) else None,
        retry_of=retry_of,
        attempt=attempt,
        only_sources=list(only_sources),
    )


def start_manual_run(application: Application, user: Any, now: dt.datetime) -> tuple[Run, bool]:
    """Queue a run by hand: ``(run, True)``, or ``(the pending run, False)`` if there is one.

    The application's row is locked while deciding, so two people pressing the button at
    the same moment queue one run.
    """
    with transaction.atomic():
        Application.objects.select_for_update().filter(pk=application.pk).first()
        existing = pending_run(application)
        if existing is not None:
            return existing, False
        run = queue_run(application, trigger=Trigger.MANUAL, now=now, requested_by=user)
        record(
            "run_started",
            user=user,
            target=f"run {run.pk}",
            details={"application": application.name, "trigger": Trigger.MANUAL.value},
        )
    return run, True
