"""Retention policy: examples of each rule, and properties that hold for any input."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadang.errors import UsageError
from cadang.repo.policy import (
    Decision,
    Duration,
    Policy,
    apply_policy,
    group_snapshots,
    matches_tags,
    parse_group_by,
    parse_tag_lists,
)
from cadang.repo.snapshot import Snapshot

UTC = dt.UTC
WIB = dt.timezone(dt.timedelta(hours=7))  # Jakarta

_ids = itertools.count()


def snap(
    when: dt.datetime,
    tags: list[str] | None = None,
    host: str = "h1",
    paths: list[str] | None = None,
    label: str = "",
) -> Snapshot:
    n = next(_ids)
    return Snapshot(
        time=when,
        tree=b"\0" * 32,
        paths=paths or ["/data"],
        hostname=host,
        username="u",
        tags=tags or [],
        label=label,
        id=hashlib.sha256(str(n).encode()).hexdigest(),
    )


def kept(decisions: list[Decision]) -> list[Snapshot]:
    return [d.snapshot for d in decisions if d.keep]


def reasons_by_time(decisions: list[Decision]) -> dict[dt.datetime, list[str]]:
    return {d.snapshot.time: d.reasons for d in decisions}


def hourly_series(start: dt.datetime, hours: int, step: int = 1) -> list[Snapshot]:
    return [snap(start + dt.timedelta(hours=h)) for h in range(0, hours, step)]


# --- examples ----------------------------------------------------------------------------


def test_keep_last_keeps_the_newest() -> None:
    snaps = hourly_series(dt.datetime(2024, 1, 1, tzinfo=UTC), 10)
    out = apply_policy(snaps, Policy(last=3))
    assert [s.time.hour for s in kept(out)] == [9, 8, 7]
    assert all(d.reasons == ["last"] for d in out if d.keep)
    assert all(d.reasons == [] for d in out if not d.keep)
    assert len(out) == 10


def test_keep_daily_takes_the_newest_of_each_day() -> None:
    # Four snapshots a day (0, 6, 12, 18 h) for five days.
    snaps = hourly_series(dt.datetime(2024, 3, 1, tzinfo=UTC), 24 * 5, step=6)
    out = apply_policy(snaps, Policy(daily=3))
    assert [(s.time.day, s.time.hour) for s in kept(out)] == [(5, 18), (4, 18), (3, 18)]


def test_days_without_snapshots_do_not_use_up_the_count() -> None:
    days = [1, 2, 10, 20, 21]
    snaps = [snap(dt.datetime(2024, 5, d, 12, tzinfo=UTC)) for d in days]
    out = apply_policy(snaps, Policy(daily=4))
    assert sorted(s.time.day for s in kept(out)) == [2, 10, 20, 21]


def test_weekly_uses_iso_weeks() -> None:
    # 2024-12-30 (Monday) is in ISO week 1 of 2025, with 2025-01-05 (Sunday).
    times = [
        dt.datetime(2024, 12, 29, 9, tzinfo=UTC),  # Sunday, ISO week 52 of 2024
        dt.datetime(2024, 12, 30, 9, tzinfo=UTC),
        dt.datetime(2025, 1, 5, 9, tzinfo=UTC),
        dt.datetime(2025, 1, 6, 9, tzinfo=UTC),  # Monday, ISO week 2
    ]
    out = apply_policy([snap(t) for t in times], Policy(weekly=10))
    assert sorted(s.time for s in kept(out)) == [times[0], times[2], times[3]]


def test_monthly_and_yearly() -> None:
    snaps = [
        snap(dt.datetime(y, m, d, tzinfo=UTC))
        for y in (2022, 2023, 2024)
        for m in (1, 6, 12)
        for d in (1, 15)
    ]
    out = apply_policy(snaps, Policy(monthly=4, yearly=3))
    r = reasons_by_time(out)
    assert r[dt.datetime(2024, 12, 15, tzinfo=UTC)] == ["monthly", "yearly"]
    assert r[dt.datetime(2024, 6, 15, tzinfo=UTC)] == ["monthly"]
    assert r[dt.datetime(2023, 12, 15, tzinfo=UTC)] == ["monthly", "yearly"]
    assert r[dt.datetime(2022, 12, 15, tzinfo=UTC)] == ["yearly"]
    assert r[dt.datetime(2024, 12, 1, tzinfo=UTC)] == []
    assert len(kept(out)) == 5


def test_grandfather_father_son_reasons_combine() -> None:
    snaps = hourly_series(dt.datetime(2024, 1, 1, tzinfo=UTC), 24 * 40, step=12)
    out = apply_policy(snaps, Policy(last=2, daily=7, weekly=4, monthly=2))
    newest = out[0]
    assert newest.reasons == ["last", "daily", "weekly", "monthly"]
    assert out[1].reasons == ["last"]  # same day as the newest: only "last" keeps it
    assert len(kept(out)) <= 2 + 7 + 4 + 2


def test_buckets_use_the_snapshots_own_clock() -> None:
    # 23:30 and 00:30 the next day in Jakarta are the same UTC day (16:30 and 17:30).
    a = snap(dt.datetime(2024, 7, 1, 23, 30, tzinfo=WIB))
    b = snap(dt.datetime(2024, 7, 2, 0, 30, tzinfo=WIB))
    out = apply_policy([a, b], Policy(daily=5))
    assert {s.id for s in kept(out)} == {a.id, b.id}
    utc_copies = [snap(s.time.astimezone(UTC)) for s in (a, b)]
    assert len(kept(apply_policy(utc_copies, Policy(daily=5)))) == 1


def test_keep_within_counts_back_from_the_newest_snapshot() -> None:
    base = dt.datetime(2020, 1, 31, 12, tzinfo=UTC)
    snaps = [snap(base - dt.timedelta(days=d)) for d in range(0, 20)]
    out = apply_policy(snaps, Policy(within=Duration.parse("7d")))
    assert len(kept(out)) == 7  # strictly younger than 7 days before the newest
    assert all(d.reasons == ["within"] for d in out if d.keep)
    # An explicit reference time moves the window.
    later = apply_policy(snaps, Policy(within=Duration(days=7)), reference=base + dt.timedelta(3))
    assert len(kept(later)) == 4


def test_keep_tag() -> None:
    a = snap(dt.datetime(2024, 1, 1, tzinfo=UTC), tags=["monthly-archive", "db"])
    b = snap(dt.datetime(2024, 1, 2, tzinfo=UTC), tags=["db"])
    c = snap(dt.datetime(2024, 1, 3, tzinfo=UTC))
    out = apply_policy([a, b, c], Policy(last=1, tags=parse_tag_lists(["monthly-archive"])))
    assert {s.id for s in kept(out)} == {a.id, c.id}
    assert reasons_by_time(out)[a.time] == ["tag"]
    both = apply_policy([a, b, c], Policy(tags=parse_tag_lists(["db,monthly-archive"])))
    assert {s.id for s in kept(both)} == {a.id}


def test_empty_policy_and_negative_counts() -> None:
    assert Policy().is_empty()
    assert Policy(within=Duration()).is_empty()
    assert not Policy(daily=1).is_empty()
    assert not Policy(tags=parse_tag_lists(["x"])).is_empty()
    with pytest.raises(UsageError):
        Policy(last=-1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", Duration(days=7)),
        ("2m", Duration(months=2)),
        ("1y", Duration(years=1)),
        ("1y6m", Duration(years=1, months=6)),
        ("2w3d", Duration(days=17)),
        ("36h", Duration(hours=36)),
        (" 1Y2M3D4H ", Duration(1, 2, 3, 4)),
    ],
)
def test_duration_parse(text: str, expected: Duration) -> None:
    assert Duration.parse(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d7", "7x", "1.5d", "7d ago", "-1d"])
def test_duration_parse_rejects_nonsense(text: str) -> None:
    with pytest.raises(UsageError) as info:
        Duration.parse(text)
    assert "duration" in info.value.message
    assert info.value.hint


def test_duration_before_clamps_to_month_end() -> None:
    t = dt.datetime(2024, 3, 31, 10, tzinfo=WIB)
    assert Duration(months=1).before(t) == dt.datetime(2024, 2, 29, 10, tzinfo=WIB)
    assert Duration(years=1, months=1).before(t) == dt.datetime(2023, 2, 28, 10, tzinfo=WIB)
    assert Duration(days=1, hours=12).before(t) == dt.datetime(2024, 3, 29, 22, tzinfo=WIB)
    assert Duration(years=5000).before(t).year == 1


def test_group_by_and_filters() -> None:
    assert parse_group_by("host,paths") == ("host", "paths")
    assert parse_group_by("none") == ()
    assert parse_group_by("Label") == ("label",)
    with pytest.raises(UsageError):
        parse_group_by("host,color")
    t = dt.datetime(2024, 1, 1, tzinfo=UTC)
    snaps = [
        snap(t, host="a", paths=["/x"]),
        snap(t, host="a", paths=["/y"]),
        snap(t, host="b", paths=["/x"], tags=["t"]),
    ]
    assert len(group_snapshots(snaps, ("host", "paths"))) == 3
    assert len(group_snapshots(snaps, ("host",))) == 2
    assert len(group_snapshots(snaps, ())) == 1
    assert [s.hostname for s in snaps if matches_tags(s, parse_tag_lists(["t"]))] == ["b"]
    assert all(matches_tags(s, ()) for s in snaps)


# --- properties --------------------------------------------------------------------------

_zones = st.sampled_from(
    [UTC, WIB, dt.timezone(dt.timedelta(hours=-5)), dt.timezone(dt.timedelta(hours=9, minutes=30))]
)


@st.composite
def snapshot_lists(draw: st.DrawFn) -> list[Snapshot]:
    n = draw(st.integers(min_value=0, max_value=40))
    base = dt.datetime(2023, 6, 1, tzinfo=UTC)
    out = []
    for _ in range(n):
        # Offsets up to ~3 years, in minutes, so several land in one hour, day or week.
        minutes = draw(st.integers(min_value=0, max_value=3 * 365 * 24 * 60))
        zone = draw(_zones)
        t = (base + dt.timedelta(minutes=minutes)).astimezone(zone)
        out.append(snap(t, tags=draw(st.lists(st.sampled_from(["a", "b"]), max_size=2))))
    return out


_counts = st.integers(min_value=0, max_value=6)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    within = draw(st.none() | st.builds(Duration, st.just(0), _counts, _counts, st.integers(0, 48)))
    return Policy(
        last=draw(_counts),
        hourly=draw(_counts),
        daily=draw(_counts),
        weekly=draw(_counts),
        monthly=draw(_counts),
        yearly=draw(_counts),
        within=within,
        tags=draw(st.sampled_from([(), (frozenset({"a"}),), (frozenset({"a", "b"}),)])),
    )


@settings(max_examples=100, deadline=None)
@given(snapshot_lists(), policies())
def test_kept_and_removed_partition_the_input(snaps: list[Snapshot], policy: Policy) -> None:
    out = apply_policy(snaps, policy)
    kept_ids = [d.snapshot.id for d in out if d.keep]
    removed_ids = [d.snapshot.id for d in out if not d.keep]
    assert not set(kept_ids) & set(removed_ids)
    assert sorted(kept_ids + removed_ids) == sorted(s.id for s in snaps)
    assert all(bool(d.reasons) == d.keep for d in out)


@settings(max_examples=100, deadline=None)
@given(snapshot_lists(), st.integers(min_value=0, max_value=50))
def test_keep_last_keeps_exactly_the_n_newest(snaps: list[Snapshot], n: int) -> None:
    out = apply_policy(snaps, Policy(last=n))
    newest = sorted(snaps, key=lambda s: (s.time, s.id), reverse=True)[:n]
    assert {s.id for s in kept(out)} == {s.id for s in newest}
    assert len(kept(out)) == min(n, len(snaps))


@settings(max_examples=100, deadline=None)
@given(snapshot_lists(), st.integers(min_value=0, max_value=10))
def test_keep_daily_keeps_at_most_n_and_one_per_day(snaps: list[Snapshot], n: int) -> None:
    out = kept(apply_policy(snaps, Policy(daily=n)))
    days = [s.time.date() for s in out]
    assert len(out) <= n
    assert len(days) == len(set(days))
    # And it takes the newest snapshot of each day it keeps.
    for s in out:
        same_day = [o for o in snaps if o.time.date() == s.time.date()]
        assert s.time == max(o.time for o in same_day)


@settings(max_examples=100, deadline=None)
@given(snapshot_lists(), policies())
def test_newest_is_always_kept_when_a_rule_keeps_anything(
    snaps: list[Snapshot], policy: Policy
) -> None:
    out = apply_policy(snaps, policy)
    counts = (
        policy.last,
        policy.hourly,
        policy.daily,
        policy.weekly,
        policy.monthly,
        policy.yearly,
    )
    within = policy.within is not None and not policy.within.is_zero()
    if snaps and (any(counts) or within):
        assert out[0].keep
        assert out[0].snapshot.time == max(s.time for s in snaps)


@settings(max_examples=100, deadline=None)
@given(
    snapshot_lists(),
    st.builds(
        Policy,
        last=_counts,
        hourly=_counts,
        daily=_counts,
        weekly=_counts,
        monthly=_counts,
        yearly=_counts,
    ),
)
def test_applying_the_policy_again_keeps_everything(snaps: list[Snapshot], policy: Policy) -> None:
    first = kept(apply_policy(snaps, policy))
    second = apply_policy(first, policy)
    assert all(d.keep for d in second)
    assert {s.id for s in kept(second)} == {s.id for s in first}


@settings(max_examples=100, deadline=None)
@given(snapshot_lists(), policies(), st.randoms(use_true_random=False))
def test_policy_is_a_pure_function(
    snaps: list[Snapshot], policy: Policy, rnd: random.Random
) -> None:
    shuffled = list(snaps)
    rnd.shuffle(shuffled)
    before = [(s.id, s.time, list(s.tags)) for s in snaps]
    a = apply_policy(snaps, policy)
    b = apply_policy(shuffled, policy)
    assert [(d.snapshot.id, d.keep, d.reasons) for d in a] == [
        (d.snapshot.id, d.keep, d.reasons) for d in b
    ]
    assert [(s.id, s.time, list(s.tags)) for s in snaps] == before  # input untouched
