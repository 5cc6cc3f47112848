"""Between the catalog and the plan layer: the Plan the catalog holds, and putting one in.

The server never has rules of its own for what a plan may say: it builds the candidate plan
and lets :class:`cadang.plan.model.Plan` validate it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError

from cadang.errors import CadangError
from cadang.i18n import _
from cadang.plan.model import Application as PlanApplication
from cadang.plan.model import Plan
from cadang.server.inventory.models import Application, OfficePlan


class NoPlanError(CadangError):
    """The catalog holds no plan yet."""

    exit_code = 2


def application_to_data(app: PlanApplication) -> dict[str, Any]:
    """One application's entry as the catalog keeps it (``Application.config``).

    Every value is written out, except the application's ``verify:`` overrides: only the
    keys given override the plan's, so an override equal to a default must stay given and
    the keys not given must stay absent.
    """
    data: dict[str, Any] = app.model_dump(mode="json", exclude_defaults=False)
    if app.verify is not None:
        data["verify"] = app.verify.model_dump(mode="json", exclude_unset=True)
    return data


def plan_to_data(plan: Plan) -> dict[str, Any]:
    data: dict[str, Any] = plan.model_dump(mode="json", exclude_defaults=False)
    data["applications"] = [application_to_data(a) for a in plan.applications]
    return data


def current_plan_data() -> dict[str, Any]:
    office = OfficePlan.load()
    if office is None:
        raise NoPlanError(
            _("the server holds no plan yet"),
            hint=_("import one: cadang serve --plan cadang.yaml, or from the Inventory page"),
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


@dataclass
class StoreResult:
    """What :func:`store_plan` did to the applications, by name."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # entry changed, or back in the plan
    unchanged: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)  # kept inactive for their history
    removed: list[str] = field(default_factory=list)  # deleted: they had no history


def store_plan(plan: Plan, *, source_file: str = "", user: Any = None) -> StoreResult:
    """Replace the catalog's plan: settings, and applications added, updated or removed.

    Applications keep their rows (and so their runs and forms) when they keep their name; an
    application missing from the new plan is removed, or kept inactive when it has history.
    """
    data = plan_to_data(plan)
    apps = data.pop("applications")
    result = StoreResult()
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
        existing = {a.name: a for a in Application.objects.all()}
        keep = set()
        for position, config in enumerate(apps):
            app = existing.get(config["name"])
            if app is None:
                app = Application()
                result.added.append(config["name"])
            elif app.config != config or not app.active:
                result.updated.append(app.name)
            elif app.position == position:
                result.unchanged.append(app.name)
                keep.add(app.name)
                continue
            else:
                result.unchanged.append(app.name)  # only moved in the file
            app.config = config
            app.position = position
            app.sync_columns()
            app.active = True
            app.save()
            keep.add(app.name)
        for app in Application.objects.exclude(name__in=keep):
            if app.runs.exists():
                if app.active:
                    app.active = False
                    app.save(update_fields=["active"])
                    result.deactivated.append(app.name)
            else:
                app.delete()
                result.removed.append(app.name)
    return result


__all__ = [
    "NoPlanError",
    "StoreResult",
    "ValidationError",
    "application_to_data",
    "current_plan",
    "current_plan_data",
    "plan_to_data",
    "store_plan",
    "validate_plan_data",
]
