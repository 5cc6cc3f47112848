"""Template filters of the runs pages: durations and result words people read at a glance."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.translation import gettext as _

from cadang.server.runs import wording

register = template.Library()


@register.filter
def seconds(value: float | dt.timedelta | None) -> str:
    """12.3 s, 4 min 05 s, 2 h 07 min."""
    if value is None or value == "":
        return "—"
    total = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    if total < 60:
        return _("%(n)s s") % {"n": f"{total:.1f}"}
    minutes, secs = divmod(int(total), 60)
    if minutes < 60:
        return _("%(m)s min %(s)s s") % {"m": minutes, "s": f"{secs:02d}"}
    hours, minutes = divmod(minutes, 60)
    return _("%(h)s h %(m)s min") % {"h": hours, "m": f"{minutes:02d}"}


@register.filter
def word(value: object) -> str:
    """A result or check kind in the reader's language: failed → gagal."""
    return wording.word(value)
