"""Standard times (mutu baku): how long each step may take, and whether a wait is too long.

A step's time counts from when it became possible: the operator's confirmation from the
filling (or the return), the Kasi's check from the confirmation, the Kabid's approval from
the verification of the month's last form.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cadang.server.approvals.models import DEFAULT_STANDARD_MINUTES, FormState, StandardTime, Step

# The standard time each step is measured against: returning a form is the Kasi's check as
# much as verifying it, so both take the verification's standard.
STANDARD_OF = {
    Step.CONFIRMED: Step.CONFIRMED,
    Step.VERIFIED: Step.VERIFIED,
    Step.RETURNED: Step.VERIFIED,
    Step.APPROVED: Step.APPROVED,
}

# The steps whose standard time an administrator sets (the others borrow one of these).
EDITABLE = (Step.CONFIRMED, Step.VERIFIED, Step.APPROVED)

# The step that ends each waiting state, i.e. whose standard time the wait is measured by.
NEXT_STEP = {
    FormState.AWAITING_CONFIRMATION: Step.CONFIRMED,
    FormState.RETURNED: Step.CONFIRMED,
    FormState.AWAITING_VERIFICATION: Step.VERIFIED,
    FormState.VERIFIED: Step.APPROVED,
}


def all_standard_minutes() -> dict[Step, int]:
    """Every step's standard time in minutes, as configured or by default (one query)."""
    configured = {s.step: s.minutes for s in StandardTime.objects.all()}
    return {
        step: configured.get(measured, DEFAULT_STANDARD_MINUTES.get(measured, 0))
        for step, measured in STANDARD_OF.items()
    }


def standard_minutes(step: Step) -> int:
    return all_standard_minutes()[step]


def minutes_between(start: dt.datetime, end: dt.datetime) -> float:
    return round(max((end - start).total_seconds(), 0.0) / 60.0, 2)


@dataclass(frozen=True)
class Wait:
    """How long something has waited for its next step, against that step's standard."""

    since: dt.datetime
    minutes: float
    standard: int

    @property
    def late(self) -> bool:
        return self.minutes > self.standard


def waiting(since: dt.datetime, step: Step, now: dt.datetime, standards: dict[Step, int]) -> Wait:
    return Wait(since=since, minutes=minutes_between(since, now), standard=standards[step])
