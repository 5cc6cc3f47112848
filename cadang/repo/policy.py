"""Retention: which snapshots ``forget`` keeps, as a pure function of the snapshots.

Grandfather-father-son as in restic (and the daily/weekly/monthly categories of SOP 003).
Within one group, snapshots are taken newest first; for each bucket kind (last, hourly,
daily, weekly, monthly, yearly) a snapshot is kept when its bucket differs from that of the
snapshot this kind kept last and the kind's count is not used up. Buckets are read in the
snapshot's own time zone (the hour, day, ISO week, month or year on its clock). A snapshot
kept by any rule is kept, and every rule that kept it is named as a reason.

Snapshots of one zone visit each bucket in one run, so "differs from the last kept" is
"not kept before"; the code uses the latter, so that a group whose snapshots come from
several zones (a laptop that travelled) still keeps at most one snapshot per bucket.

``--keep-within`` keeps every snapshot younger than a duration before a reference time. The
reference defaults to the group's newest snapshot, not the clock, so a backup job that has
stopped running does not let a scheduled forget remove everything little by little. Nothing
here reads the clock or the repository: the same input always gives the same answer.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from cadang.errors import UsageError
from cadang.i18n import _
from cadang.repo.snapshot import Snapshot

GROUP_FIELDS = ("host", "paths", "label", "tags")

_DURATION_RE = re.compile(r"(\d+)([ymwdh])")


@dataclass(frozen=True)
class Duration:
    """A calendar duration: years and months count on the calendar, not in seconds."""

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0

    @classmethod
    def parse(cls, text: str) -> Duration:
        """``7d``, ``2m``, ``1y``, ``1y6m``, ``2w``, ``36h``: y years, m months, w weeks, d days, h hours."""
        s = text.strip().lower()
        pos = 0
        parts = {"y": 0, "m": 0, "w": 0, "d": 0, "h": 0}
        for m in _DURATION_RE.finditer(s):
            if m.start() != pos:
                break
            parts[m.group(2)] += int(m.group(1))
            pos = m.end()
        if not s or pos != len(s):
            raise UsageError(
                _("invalid duration {text!r}").format(text=text),
                hint=_(
                    "write a number and a unit, e.g. 7d, 2w, 6m, 1y or 1y6m "
                    "(y years, m months, w weeks, d days, h hours)"
                ),
            )
        return cls(parts["y"], parts["m"], parts["d"] + 7 * parts["w"], parts["h"])

    def is_zero(self) -> bool:
        return not (self.years or self.months or self.days or self.hours)

    def before(self, when: dt.datetime) -> dt.datetime:
        """``when`` minus this duration; a day past the end of a month becomes its last day."""
        months = when.year * 12 + (when.month - 1) - (self.years * 12 + self.months)
        year, month = divmod(months, 12)
        month += 1
        if year < dt.MINYEAR:
            return dt.datetime.min.replace(tzinfo=when.tzinfo)
        day = min(when.day, calendar.monthrange(year, month)[1])
        moved = when.replace(year=year, month=month, day=day)
        try:
            return moved - dt.timedelta(days=self.days, hours=self.hours)
        except OverflowError:
            return dt.datetime.min.replace(tzinfo=when.tzinfo)

    def __str__(self) -> str:
        out = "".join(
            f"{n}{unit}"
            for n, unit in (
                (self.years, "y"),
                (self.months, "m"),
                (self.days, "d"),
                (self.hours, "h"),
            )
            if n
        )
        return out or "0h"


@dataclass(frozen=True)
class Policy:
    last: int = 0
    hourly: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0
    within: Duration | None = None
    # A snapshot carrying every tag of any one of these sets is kept.
    tags: tuple[frozenset[str], ...] = ()

    def __post_init__(self) -> None:
        for name in ("last", "hourly", "daily", "weekly", "monthly", "yearly"):
            if getattr(self, name) < 0:
                raise UsageError(
                    _("--keep-{name} must not be negative").format(name=name),
                )

    def is_empty(self) -> bool:
        """True when no rule would keep anything (forgetting by it would remove all)."""
        counts = (self.last, self.hourly, self.daily, self.weekly, self.monthly, self.yearly)
        return (
            not any(counts)
            and (self.within is None or self.within.is_zero())
            and not any(self.tags)
        )


@dataclass
class Decision:
    snapshot: Snapshot
    keep: bool
    reasons: list[str] = field(default_factory=list)


def _instant(s: Snapshot) -> dt.datetime:
    """The snapshot's moment in absolute time, for ordering (a naive time counts as UTC)."""
    t = s.time
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def newest_first(snapshots: Iterable[Snapshot]) -> list[Snapshot]:
    return sorted(snapshots, key=lambda s: (_instant(s), s.id), reverse=True)


def _bucketers() -> list[tuple[str, Callable[[Snapshot, int], Hashable]]]:
    """Per kind: the bucket of a snapshot (given its position newest-first), on its own clock."""
    return [
        ("last", lambda s, nr: nr),
        ("hourly", lambda s, nr: (s.time.year, s.time.month, s.time.day, s.time.hour)),
        ("daily", lambda s, nr: (s.time.year, s.time.month, s.time.day)),
        ("weekly", lambda s, nr: s.time.isocalendar()[:2]),
        ("monthly", lambda s, nr: (s.time.year, s.time.month)),
        ("yearly", lambda s, nr: s.time.year),
    ]


def apply_policy(
    snapshots: Sequence[Snapshot], policy: Policy, reference: dt.datetime | None = None
) -> list[Decision]:
    """Decide for one group; the result is newest first and covers every input snapshot.

    ``reference`` is the moment ``within`` counts back from; it defaults to the newest
    snapshot's time.
    """
    ordered = newest_first(snapshots)
    counts = {
        "last": policy.last,
        "hourly": policy.hourly,
        "daily": policy.daily,
        "weekly": policy.weekly,
        "monthly": policy.monthly,
        "yearly": policy.yearly,
    }
    seen: dict[str, set[Hashable]] = {kind: set() for kind in counts}
    cutoff: dt.datetime | None = None
    if policy.within is not None and not policy.within.is_zero() and ordered:
        ref = reference if reference is not None else ordered[0].time
        ref = ref if ref.tzinfo is not None else ref.replace(tzinfo=dt.UTC)
        cutoff = policy.within.before(ref)
    decisions: list[Decision] = []
    for nr, snap in enumerate(ordered):
        reasons: list[str] = []
        for kind, bucket in _bucketers():
            if counts[kind] <= 0:
                continue
            value = bucket(snap, nr)
            if value not in seen[kind]:
                seen[kind].add(value)
                counts[kind] -= 1
                reasons.append(kind)
        if cutoff is not None and _instant(snap) > cutoff:
            reasons.append("within")
        if any(want and want <= set(snap.tags) for want in policy.tags):
            reasons.append("tag")
        decisions.append(Decision(snap, bool(reasons), reasons))
    return decisions


# --- grouping and filtering ---------------------------------------------------------------


def parse_group_by(text: str) -> tuple[str, ...]:
    """``host,paths`` (the default), ``host``, ``paths``, ``label``, ``tags`` or ``none``."""
    s = text.strip().lower()
    if s in ("", "none"):
        return ()
    fields = tuple(f.strip() for f in s.split(",") if f.strip())
    for f in fields:
        if f not in GROUP_FIELDS:
            raise UsageError(
                _("cannot group by {field!r}").format(field=f),
                hint=_("use a comma-separated list of host, paths, label, tags, or 'none'"),
            )
    return tuple(dict.fromkeys(fields))


def group_key(snap: Snapshot, fields: Sequence[str]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for f in fields:
        if f == "host":
            out.append(("host", snap.hostname))
        elif f == "paths":
            out.append(("paths", "\n".join(sorted(snap.paths))))
        elif f == "label":
            out.append(("label", snap.label))
        elif f == "tags":
            out.append(("tags", ",".join(sorted(snap.tags))))
    return tuple(out)


def group_snapshots(
    snapshots: Iterable[Snapshot], fields: Sequence[str]
) -> dict[tuple[tuple[str, str], ...], list[Snapshot]]:
    groups: dict[tuple[tuple[str, str], ...], list[Snapshot]] = {}
    for s in snapshots:
        groups.setdefault(group_key(s, fields), []).append(s)
    return dict(sorted(groups.items()))


def parse_tag_lists(values: Iterable[str]) -> tuple[frozenset[str], ...]:
    """Each value is a comma-separated set of tags: ``--tag a,b --tag c`` means (a and b) or c."""
    out = []
    for v in values:
        tags = frozenset(t.strip() for t in v.split(",") if t.strip())
        if tags:
            out.append(tags)
    return tuple(out)


def matches_tags(snap: Snapshot, tag_lists: Sequence[frozenset[str]]) -> bool:
    return not tag_lists or any(want <= set(snap.tags) for want in tag_lists)
