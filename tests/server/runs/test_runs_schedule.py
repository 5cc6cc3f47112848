"""Schedule arithmetic: the latest due time at or before now, the next one after it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadang.server.runs.schedule import Timing, latest_due, next_due

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")


def wib(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=WIB)  # type: ignore[misc]


DAILY = Timing("daily", dt.time(1, 0))
WEEKLY_SUNDAY = Timing("weekly", dt.time(2, 0), weekday=6)
MONTHLY_FIRST = Timing("monthly", dt.time(3, 0), day_of_month=1)


def test_daily_before_and_after_the_time() -> None:
    # 2026-11-21 00:30 WIB: today's 01:00 has not come, so the latest is yesterday's.
    assert latest_due(DAILY, WIB, wib(2026, 11, 21, 0, 30)) == wib(2026, 11, 20, 1, 0)
    assert next_due(DAILY, WIB, wib(2026, 11, 21, 0, 30)) == wib(2026, 11, 21, 1, 0)
    assert latest_due(DAILY, WIB, wib(2026, 11, 21, 9, 0)) == wib(2026, 11, 21, 1, 0)
    assert next_due(DAILY, WIB, wib(2026, 11, 21, 9, 0)) == wib(2026, 11, 22, 1, 0)


def test_exactly_at_the_due_time_it_is_due() -> None:
    now = wib(2026, 11, 21, 1, 0)
    assert latest_due(DAILY, WIB, now) == now
    assert next_due(DAILY, WIB, now) == wib(2026, 11, 22, 1, 0)


def test_results_are_utc_and_follow_the_office_zone() -> None:
    now = dt.datetime(2026, 11, 20, 20, 0, tzinfo=dt.UTC)  # 03:00 WIB on the 21st
    due = latest_due(DAILY, "Asia/Jakarta", now)
    assert due.tzinfo is dt.UTC
    assert due == dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)  # 01:00 WIB
    # The same instant in Makassar (UTC+8) is 04:00 local: the 01:00 WITA was at 17:00 UTC.
    assert latest_due(DAILY, WITA, now) == dt.datetime(2026, 11, 20, 17, 0, tzinfo=dt.UTC)


def test_weekly_on_sunday() -> None:
    # 2026-11-22 is a Sunday.
    assert latest_due(WEEKLY_SUNDAY, WIB, wib(2026, 11, 22, 1, 59)) == wib(2026, 11, 15, 2, 0)
    assert latest_due(WEEKLY_SUNDAY, WIB, wib(2026, 11, 22, 2, 0)) == wib(2026, 11, 22, 2, 0)
    assert latest_due(WEEKLY_SUNDAY, WIB, wib(2026, 11, 25, 12, 0)) == wib(2026, 11, 22, 2, 0)
    assert next_due(WEEKLY_SUNDAY, WIB, wib(2026, 11, 25, 12, 0)) == wib(2026, 11, 29, 2, 0)
    monday = Timing("weekly", dt.time(2, 0), weekday=0)
    assert latest_due(monday, WIB, wib(2026, 11, 22, 23, 0)) == wib(2026, 11, 16, 2, 0)
    assert next_due(monday, WIB, wib(2026, 11, 22, 23, 0)) == wib(2026, 11, 23, 2, 0)


def test_monthly_across_the_year_end() -> None:
    assert latest_due(MONTHLY_FIRST, WIB, wib(2027, 1, 1, 2, 59)) == wib(2026, 12, 1, 3, 0)
    assert latest_due(MONTHLY_FIRST, WIB, wib(2027, 1, 1, 3, 0)) == wib(2027, 1, 1, 3, 0)
    assert next_due(MONTHLY_FIRST, WIB, wib(2026, 12, 15, 0, 0)) == wib(2027, 1, 1, 3, 0)


def test_month_ends_clamp_a_late_day() -> None:
    # The form allows 1-28; a 31st (e.g. from an older catalog) means the month's last day.
    last = Timing("monthly", dt.time(22, 0), day_of_month=31)
    assert latest_due(last, WIB, wib(2027, 3, 10, 0, 0)) == wib(2027, 2, 28, 22, 0)
    assert latest_due(last, WIB, wib(2028, 3, 10, 0, 0)) == wib(2028, 2, 29, 22, 0)  # leap
    assert next_due(last, WIB, wib(2027, 4, 1, 0, 0)) == wib(2027, 4, 30, 22, 0)
    day28 = Timing("monthly", dt.time(0, 0), day_of_month=28)
    assert latest_due(day28, WIB, wib(2027, 2, 28, 0, 0)) == wib(2027, 2, 28, 0, 0)
    assert next_due(day28, WIB, wib(2027, 2, 28, 0, 0)) == wib(2027, 3, 28, 0, 0)


def test_daylight_saving_is_handled_in_utc() -> None:
    # Not an Indonesian concern, but the arithmetic must not compare wall clocks: in
    # Amsterdam 2026-03-29 loses an hour at 02:00 local.
    ams = ZoneInfo("Europe/Amsterdam")
    daily = Timing("daily", dt.time(3, 0))
    now = dt.datetime(2026, 3, 29, 2, 30, tzinfo=dt.UTC)  # 04:30 CEST
    assert latest_due(daily, ams, now) == dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)
    assert next_due(daily, ams, now) == dt.datetime(2026, 3, 30, 1, 0, tzinfo=dt.UTC)


def test_invalid_timings_are_refused() -> None:
    with pytest.raises(ValueError, match="weekday"):
        Timing("weekly", dt.time(1, 0))
    with pytest.raises(ValueError, match="weekday"):
        Timing("weekly", dt.time(1, 0), weekday=7)
    with pytest.raises(ValueError, match="day"):
        Timing("monthly", dt.time(1, 0), day_of_month=0)
    with pytest.raises(ValueError, match="priority"):
        Timing("hourly", dt.time(1, 0))


timings = st.one_of(
    st.builds(Timing, st.just("daily"), st.times()),
    st.builds(Timing, st.just("weekly"), st.times(), weekday=st.integers(0, 6)),
    st.builds(Timing, st.just("monthly"), st.times(), day_of_month=st.integers(1, 31)),
)
moments = st.datetimes(
    min_value=dt.datetime(2020, 1, 1),
    max_value=dt.datetime(2035, 12, 31),
    timezones=st.just(dt.UTC),
)
zones = st.sampled_from([WIB, WITA, ZoneInfo("Asia/Jayapura")])


@given(timings, zones, moments)
def test_latest_and_next_bracket_now_with_nothing_due_between(
    timing: Timing, zone: ZoneInfo, now: dt.datetime
) -> None:
    latest = latest_due(timing, zone, now)
    following = next_due(timing, zone, now)
    assert latest <= now < following
    # No due time lies between them: the next after the latest is the next after now.
    assert next_due(timing, zone, latest) == following
    assert latest_due(timing, zone, following - dt.timedelta(microseconds=1)) == latest
    assert latest_due(timing, zone, following) == following
    # Each is at the time of day, on the right day, in the office's zone.
    for due in (latest, following):
        local = due.astimezone(zone)
        assert local.time() == timing.time_of_day
        if timing.weekday is not None:
            assert local.weekday() == timing.weekday
        if timing.day_of_month is not None and timing.day_of_month <= 28:
            assert local.day == timing.day_of_month
    gap = following - latest
    if timing.priority == "daily":
        assert gap == dt.timedelta(days=1)
    elif timing.priority == "weekly":
        assert gap == dt.timedelta(weeks=1)
    else:
        assert dt.timedelta(days=28) <= gap <= dt.timedelta(days=31)
