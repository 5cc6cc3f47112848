"""Template filters of the approvals pages."""

from __future__ import annotations

from django import template

from cadang.server.approvals.rows import minutes_text

register = template.Library()


@register.filter
def minutes(value: float | None) -> str:
    """``{{ step.actual_minutes|minutes }}`` -> "1 h 30 min"."""
    return minutes_text(value)
