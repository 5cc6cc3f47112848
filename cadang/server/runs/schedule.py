"""When a schedule is due: pure date arithmetic, no database.

A schedule says "daily at 01:00", "weekly on Sunday at 02:00" or "monthly on the 1st at
03:00", in the office's time zone. :func:`latest_due` is the most recent due time at or
before a moment, :func:`next_due` the first one after it. The scheduler starts the latest
due time it has not started yet, so a server that was down for three days starts one
backup, not three.

Times are built in the office's zone with :mod:`zoneinfo` and returned in UTC: aware
datetimes that share a ``tzinfo`` compare by their wall-clock value, which is wrong across
a daylight-saving change, so every comparison here is made in UTC. Indonesia has no
daylight saving, but the arithmetic does not rely on it.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

DAILY, WEEKLY, MONTHLY = "daily", "weekly", "monthly"


@dataclass(frozen=True)
class Timing:
    """The fields of a :class:`~cadang.server.runs.models.Schedule` that decide when it is due.

    ``weekday``: 0 = Monday … 6 = Sunday (weekly). ``day_of_month``: 1-28 (monthly); a larger
    day is taken as the month's last day when the month is shorter.
    """

    priority: str
    time_of_day: dt.time
    weekday: int | None = None
    day_of_month: int | None = None

    def __post_init__(self) -> None:
        if self.priority == WEEKLY and (self.weekday is None or not 0 <= self.weekday <= 6):
            raise ValueError(f"a weekly schedule needs a weekday 0-6, not {self.weekday!r}")
        if self.priority == MONTHLY and (
            self.day_of_month is None or not 1 <= self.day_of_month <= 31
        ):
            raise ValueError(f"a monthly schedule needs a day 1-31, not {self.day_of_month!r}")
        if self.priority not in (DAILY, WEEKLY, MONTHLY):
            raise ValueError(f"unknown priority {self.priority!r}")

    @classmethod
    def of(cls, schedule: Any) -> Timing:
        """The timing of a Schedule row (or anything with the same attributes)."""
        return cls(
            priority=str(schedule.priority),
            time_of_day=schedule.time_of_day,
            weekday=schedule.weekday,
            day_of_month=schedule.day_of_month,
        )


def _zone(zone: ZoneInfo | str) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)


def _at(day: dt.date, timing: Timing, zone: ZoneInfo) -> dt.datetime:
    """``time_of_day`` on ``day`` in the office's zone, as UTC."""
    local = dt.datetime.combine(day, timing.time_of_day.replace(tzinfo=None), tzinfo=zone)
    return local.astimezone(dt.UTC)


def _month_day(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def _candidate(timing: Timing, zone: ZoneInfo, today: dt.date, step: int) -> dt.datetime:
    """The due time in the period ``step`` periods after the one holding ``today``."""
    if timing.priority == DAILY:
        return _at(today + dt.timedelta(days=step), timing, zone)
    if timing.priority == WEEKLY:
        assert timing.weekday is not None
        start = today - dt.timedelta(days=(today.weekday() - timing.weekday) % 7)
        return _at(start + dt.timedelta(weeks=step), timing, zone)
    assert timing.day_of_month is not None
    year, month = _shift_month(today.year, today.month, step)
    return _at(_month_day(year, month, timing.day_of_month), timing, zone)


def latest_due(timing: Timing, zone: ZoneInfo | str, now: dt.datetime) -> dt.datetime:
    """The most recent due time at or before ``now`` (aware), in UTC."""
    z = _zone(zone)
    now_utc = now.astimezone(dt.UTC)
    today = now.astimezone(z).date()
    due = _candidate(timing, z, today, 0)
    return due if due <= now_utc else _candidate(timing, z, today, -1)


def next_due(timing: Timing, zone: ZoneInfo | str, now: dt.datetime) -> dt.datetime:
    """The first due time strictly after ``now`` (aware), in UTC."""
    z = _zone(zone)
    now_utc = now.astimezone(dt.UTC)
    today = now.astimezone(z).date()
    due = _candidate(timing, z, today, 0)
    return due if due > now_utc else _candidate(timing, z, today, 1)
