"""Which users django-axes holds locked out now (for the administrator's user list)."""

from __future__ import annotations

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.utils import timezone


def locked_usernames() -> set[str]:
    """User names with at least the failure limit of failed log-ins inside the cool-off."""
    attempts = AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT)
    cool_off = get_cool_off()
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    return {str(name) for name in attempts.values_list("username", flat=True) if name}
