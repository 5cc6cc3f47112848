"""Which packs a check reads whole: ``--read-data-subset`` as a percentage or a group.

A subset is either a random percentage of the packs (``10%``) or group ``n`` of ``t`` by pack
id (``1/5``); reading groups 1 to t on successive days reads every pack once.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cadang.errors import UsageError
from cadang.i18n import _


@dataclass(frozen=True)
class ReadSubset:
    """A part of the packs to read: a random percentage, or group ``n`` of ``t``.

    Groups follow restic: a pack is in group ``n`` of ``t`` when the first byte of its id,
    modulo ``t``, is ``n - 1``; reading groups 1..t on successive days reads every pack.
    """

    text: str
    percent: float | None = None
    group: int | None = None
    groups: int | None = None

    def select(self, packs: Iterable[str], rng: random.Random) -> list[str]:
        names = sorted(packs)
        if self.percent is not None:
            count = min(len(names), math.ceil(len(names) * self.percent / 100))
            return sorted(rng.sample(names, count))
        assert self.group is not None and self.groups is not None
        return [p for p in names if _first_byte(p) % self.groups == self.group - 1]


def _first_byte(name: str) -> int:
    try:
        return int(name[:2], 16)
    except ValueError:
        return 0


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*%\s*$")
_GROUP = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_subset(text: str) -> ReadSubset:
    """Parse ``P%`` (0 < P <= 100) or ``n/t`` (1 <= n <= t)."""
    m = _PERCENT.match(text)
    if m:
        percent = float(m.group(1))
        if not 0 < percent <= 100:
            raise UsageError(
                _(
                    "read-data subset {value}: the percentage must be above 0 and at most 100"
                ).format(value=text)
            )
        return ReadSubset(text=text, percent=percent)
    m = _GROUP.match(text)
    if m:
        group, groups = int(m.group(1)), int(m.group(2))
        if not 1 <= group <= groups:
            raise UsageError(
                _("read-data subset {value}: n/t needs 1 <= n <= t, e.g. 1/5").format(value=text)
            )
        return ReadSubset(text=text, group=group, groups=groups)
    raise UsageError(
        _("read-data subset {value!r} is not understood").format(value=text),
        hint=_("give a percentage such as 10% or a group n/t such as 1/5"),
    )
