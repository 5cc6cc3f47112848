"""What the inventory pages show of the applications: each with its last run, in one query.

The last run comes from correlated subqueries on the runs' (application, queued) index, so
the list costs one query however many runs there are (a year of daily runs of 200
applications is 73,000).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from cadang.server.accounts.roles import visible_applications
from cadang.server.inventory.models import Application
from cadang.server.runs.models import Run, RunStatus


@dataclass(frozen=True)
class Filters:
    priority: str = ""
    owner: str = ""
    removed: bool = False  # also those removed from the plan (kept for their history)


def application_rows(user: Any, filters: Filters) -> QuerySet[Application]:
    """The applications ``user`` may see, filtered, each with ``last_run_status`` and
    ``last_run_at`` (None when it never ran)."""
    last = Run.objects.filter(application=OuterRef("pk")).order_by("-queued_at", "-id")
    qs = visible_applications(user)
    if not filters.removed:
        qs = qs.filter(active=True)
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    if filters.owner:
        qs = qs.filter(owner=filters.owner)
    return qs.annotate(
        last_run_status=Subquery(last.values("status")[:1]),
        last_run_at=Subquery(
            last.annotate(when=Coalesce("started_at", "queued_at")).values("when")[:1]
        ),
    ).order_by("position", "name")


def owners(user: Any) -> list[str]:
    """The owners of the applications ``user`` may see, for the filter."""
    qs = visible_applications(user).filter(active=True)
    return sorted(set(qs.values_list("owner", flat=True)))


def status_label(status: str | None) -> str:
    if not status:
        return ""
    try:
        return str(RunStatus(status).label)
    except ValueError:
        return status


def run_link(pk: int) -> str | None:
    """The run's page, once the runs app has one."""
    try:
        return reverse("runs:detail", args=[pk])
    except NoReverseMatch:
        return None


# Where a source's password comes from is shown, not which file or variable holds it.
SECRET_REFERENCES = ("password_file", "password_env", "option_file")


def source_settings(source: dict[str, Any]) -> list[tuple[str, str]]:
    """A source's settings to show: (key, value), without its name, type or secrets."""
    rows = []
    for key, value in source.items():
        if key in ("name", "type", *SECRET_REFERENCES) or value in (None, "", []):
            continue
        if isinstance(value, bool):
            shown = str(_("yes") if value else _("no"))
        elif isinstance(value, list):
            shown = ", ".join(str(v) for v in value)
        else:
            shown = str(value)
        rows.append((key, shown))
    return rows


def secret_origin(source: dict[str, Any]) -> str:
    """Where the password comes from: file, env, option_file, or "" (the tool's own files)."""
    if source.get("password_file"):
        return "file"
    if source.get("password_env"):
        return "env"
    if source.get("option_file"):
        return "option_file"
    return ""
