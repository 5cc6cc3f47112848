"""Months of forms: when a month is over, and which months await the Kabid's approval."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max
from django.utils import timezone

from cadang.server.approvals.models import BackupExecutionForm, FormState, MonthlyApproval


def month_start(month: dt.date) -> dt.date:
    return month.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month_start(month) + dt.timedelta(days=32)).replace(day=1)


def month_is_over(month: dt.date, now: dt.datetime) -> bool:
    """The month has ended in the office's time zone, so no more forms will come for it."""
    return timezone.localtime(now).date() >= next_month(month)


@dataclass(frozen=True)
class ReadyMonth:
    """A finished month whose forms are all verified and which nobody has approved yet."""

    month: dt.date
    forms: int
    ready_since: dt.datetime  # when its last form was verified


def ready_months(now: dt.datetime) -> list[ReadyMonth]:
    """Months awaiting the Kabid's approval, oldest first."""
    forms = BackupExecutionForm.objects
    # Only a month with a verified form can be ready; the (state, ...) index finds them.
    candidates = sorted(
        set(forms.filter(state=FormState.VERIFIED).values_list("month", flat=True).distinct())
    )
    approved = set(
        MonthlyApproval.objects.filter(month__in=candidates).values_list("month", flat=True)
    )
    ready: list[ReadyMonth] = []
    for month in candidates:
        if month in approved or not month_is_over(month, now):
            continue
        # The (month, state) index answers this without reading the month's rows.
        if forms.filter(month=month).exclude(state=FormState.VERIFIED).exists():
            continue
        agg = forms.filter(month=month).aggregate(n=Count("id"), last=Max("state_since"))
        ready.append(ReadyMonth(month=month, forms=agg["n"], ready_since=agg["last"]))
    return ready
