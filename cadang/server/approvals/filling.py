"""The machine fills the Backup Execution Form when a run ends (SOP 002).

:func:`fill_form` is called once per finished run (by the runs app and the history import);
it gives the form its running number for the year (``0001/FPB/XI/2026``), freezes what
the run did into ``filled`` and records the first step.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from cadang.server.approvals.models import BackupExecutionForm, FormState, FormStep, Step
from cadang.server.audit.log import record
from cadang.server.runs.models import Run

ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]


def form_number(seq: int, when: dt.datetime) -> str:
    return f"{seq:04d}/FPB/{ROMAN[when.month - 1]}/{when.year}"


def filled_data(run: Run) -> dict[str, Any]:
    """What the form states, frozen at filling so later edits of the inventory don't alter it."""
    app = run.application
    report = run.report or {}
    return {
        "application": app.name,
        "owner": app.owner,
        "priority": app.priority,
        "classification": app.classification,
        "operator": run.requested_by.get_username() if run.requested_by else "",
        "trigger": run.trigger,
        "hostname": run.hostname,
        "started": run.started_at.isoformat() if run.started_at else None,
        "finished": run.finished_at.isoformat() if run.finished_at else None,
        "status": run.status,
        "error": run.error,
        "checks": run.checklist,
        "sources": [
            {
                "source": s.source,
                "kind": s.kind,
                "repository": s.repository,
                "status": s.status,
                "label": s.label,
                "snapshot_id": s.snapshot_id,
                "size": s.size,
                "data_added": s.data_added,
                "files": s.files,
                "duration": s.duration,
                "error": s.error,
                "verified": s.verified,
                "verification": s.verification,
            }
            for s in run.sources.all()
        ],
        "copies": report.get("copies", []),
        "retention": report.get("retention", []),
    }


def fill_form(run: Run) -> BackupExecutionForm:
    """The form of ``run`` (created on first call; the same form on later calls)."""
    existing = BackupExecutionForm.objects.filter(run=run).first()
    if existing is not None:
        return existing
    when = timezone.localtime(run.finished_at or run.started_at or timezone.now())
    for _attempt in range(5):  # two runs finishing at once may race for a number
        try:
            with transaction.atomic():
                last = BackupExecutionForm.objects.filter(year=when.year).aggregate(m=Max("seq"))
                seq = (last["m"] or 0) + 1
                now = timezone.now()
                form = BackupExecutionForm.objects.create(
                    number=form_number(seq, when),
                    year=when.year,
                    seq=seq,
                    run=run,
                    application=run.application,
                    month=when.date().replace(day=1),
                    state=FormState.AWAITING_CONFIRMATION,
                    filled=filled_data(run),
                    created_at=now,
                    state_since=now,
                )
                FormStep.objects.create(form=form, step=Step.FILLED, user=None, at=now)
                record(
                    "form_filled",
                    actor="",
                    target=form.number,
                    details={"run": run.pk, "application": run.application.name},
                )
                return form
        except IntegrityError:
            continue
    raise RuntimeError("could not number the form after 5 attempts")
