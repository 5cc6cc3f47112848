"""Between the catalog and the plan layer: the Plan the catalog holds, and putting one in.

The server never has rules of its own for what a plan may say: it builds the candidate plan
and lets :class:`cadang.plan.model.Plan` validate it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError

from cadang.errors import CadangError
from cadang.plan.model import Plan
from cadang.server.inventory.models import Application, OfficePlan


class NoPlanError(CadangError):
    """The catalog holds no plan yet."""

    exit_code = 2


def plan_to_data(plan: Plan) -> dict[str, Any]:
    data: dict[str, Any] = plan.model_dump(mode="json", exclude_defaults=False)
    return data


def current_plan_data() -> dict[str, Any]:
    office = OfficePlan.load()
    if office is None:
        raise NoPlanError(
            "the server holds no plan yet",
            hint="import one: cadang serve --plan cadang.yaml, or from the Inventory page",
        )
    data = dict(office.document)
    data["applications"] = [
        a.config for a in Application.objects.filter(active=True).order_by("position", "name")
    ]
    return data


def current_plan() -> Plan:
    """The catalog's plan, validated by the same model as the plan file."""
    return Plan.model_validate(current_plan_data())


def validate_plan_data(data: dict[str, Any]) -> Plan:
    """Validate a candidate; raises pydantic's ValidationError with every problem."""
    return Plan.model_validate(data)


def store_plan(plan: Plan, *, source_file: str = "", user: Any = None) -> None:
    """Replace the catalog's plan: settings, and applications added, updated or removed.

    Applications keep their rows (and so their runs and forms) when they keep their name; an
    application missing from the new plan is removed, or kept inactive when it has history.
    """
    data = plan_to_data(plan)
    apps = data.pop("applications")
    with transaction.atomic():
        OfficePlan.objects.update_or_create(
            pk=1,
            defaults={
                "document": data,
                "source_file": source_file,
                "imported_at": timezone.now(),
                "imported_by": user if getattr(user, "is_authenticated", False) else None,
            },
        )
        keep = set()
        for position, config in enumerate(apps):
            app = Application.objects.filter(name=config["name"]).first() or Application()
            app.config = config
            app.position = position
            app.sync_columns()
            app.active = True
            app.save()
            keep.add(app.name)
        for app in Application.objects.exclude(name__in=keep):
            if app.runs.exists():
                app.active = False
                app.save(update_fields=["active"])
            else:
                app.delete()


__all__ = [
    "NoPlanError",
    "ValidationError",
    "current_plan",
    "current_plan_data",
    "plan_to_data",
    "store_plan",
    "validate_plan_data",
]
