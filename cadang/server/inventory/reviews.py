"""The inventory's review every six months (SOP 002, data collection).

Twice a year the units hand their data over and the inventory of data assets is checked
against it; the server asks for that review six months after the last one and shows when
it is overdue. Time comes in as ``now`` so the rule is testable without a clock.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from cadang.server.audit.log import record
from cadang.server.inventory.models import Application, InventoryReview

REVIEW_MONTHS = 6


def add_months(when: dt.datetime, months: int) -> dt.datetime:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class ReviewStatus:
    last: InventoryReview | None
    due: dt.datetime | None  # None: never reviewed, due now
    overdue: bool


def review_status(now: dt.datetime) -> ReviewStatus:
    last = InventoryReview.objects.select_related("reviewed_by").first()
    if last is None:
        return ReviewStatus(last=None, due=None, overdue=True)
    # Counted in the office's calendar: reviewed on 31 Jan, due on 31 Jul there.
    due = add_months(timezone.localtime(last.reviewed_at), REVIEW_MONTHS)
    return ReviewStatus(last=last, due=due, overdue=now >= due)


def mark_reviewed(user: Any, remarks: str, now: dt.datetime) -> InventoryReview:
    review = InventoryReview.objects.create(
        reviewed_by=user,
        reviewed_at=now,
        remarks=remarks,
        application_count=Application.objects.filter(active=True).count(),
    )
    record(
        "inventory_reviewed",
        user=user,
        target=f"review {review.pk}",
        details={"remarks": remarks, "applications": review.application_count},
    )
    return review
