"""Rows every catalog starts with: a schedule per priority, the standard times."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cadang.server.approvals.models import DEFAULT_STANDARD_MINUTES, StandardTime
from cadang.server.runs.models import Schedule

# SOP 001: the daily export runs at night; weekly on Sunday, monthly on the 1st.
DEFAULT_SCHEDULES: dict[str, dict[str, Any]] = {
    "daily": {"time_of_day": dt.time(1, 0)},
    "weekly": {"time_of_day": dt.time(2, 0), "weekday": 6},
    "monthly": {"time_of_day": dt.time(3, 0), "day_of_month": 1},
}


def ensure_defaults() -> None:
    for priority, values in DEFAULT_SCHEDULES.items():
        Schedule.objects.get_or_create(priority=priority, defaults=values)
    for step, minutes in DEFAULT_STANDARD_MINUTES.items():
        StandardTime.objects.get_or_create(step=step, defaults={"minutes": minutes})
