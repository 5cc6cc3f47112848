"""Rows of the list pages, made ready in Python.

A page of fifty forms rendered through model methods and nested includes spends most of
its time in the template engine (a display label and a translation per cell); these rows
carry finished values instead, with each label translated once per page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from cadang.server.approvals.models import BackupExecutionForm, FormState, Step
from cadang.server.approvals.standards import NEXT_STEP, Wait, waiting
from cadang.server.runs.models import RunStatus


def minutes_text(minutes: float | None) -> str:
    """A duration as people read it: "45 min", "1 h 30 min", "2 d 8 h"."""
    if minutes is None:
        return "\u2013"  # an en dash: no time recorded
    total = round(minutes)
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        if hours:
            return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
        return _("%(days)s d") % {"days": days}
    if hours:
        if mins:
            return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": mins}
        return _("%(hours)s h") % {"hours": hours}
    return _("%(minutes)s min") % {"minutes": mins}


@dataclass(frozen=True)
class WaitText:
    since: dt.datetime
    waited: str
    standard: str
    late: bool


def wait_text(wait: Wait) -> WaitText:
    return WaitText(
        since=wait.since,
        waited=minutes_text(wait.minutes),
        standard=minutes_text(wait.standard),
        late=wait.late,
    )


@dataclass(frozen=True)
class FormRow:
    pk: int
    number: str
    application: str
    owner: str
    month: dt.date
    created_at: dt.datetime
    state_since: dt.datetime
    state_label: str
    run_status: str
    run_status_label: str
    wait: WaitText | None


def form_rows(
    forms: Iterable[BackupExecutionForm],
    now: dt.datetime | None = None,
    standards: dict[Step, int] | None = None,
) -> list[FormRow]:
    """Rows of ``forms``; with ``now`` and ``standards``, how long each has waited."""
    states = {s.value: str(s.label) for s in FormState}
    statuses = {s.value: str(s.label) for s in RunStatus}
    rows = []
    for f in forms:
        wait = None
        if now is not None and standards is not None and f.state in NEXT_STEP:
            wait = wait_text(waiting(f.state_since, NEXT_STEP[FormState(f.state)], now, standards))
        rows.append(
            FormRow(
                pk=f.pk,
                number=f.number,
                application=f.application.name,
                owner=f.application.owner,
                month=f.month,
                created_at=f.created_at,
                state_since=f.state_since,
                state_label=states.get(f.state, f.state),
                run_status=f.run.status,
                run_status_label=statuses.get(f.run.status, f.run.status),
                wait=wait,
            )
        )
    return rows
