"""Changing one application's entry from the web (SOP 003 step 2: set each one's priority).

The candidate is the whole plan with this entry changed, validated by the plan's own
model; only a valid plan is saved. Each changed key is kept as an
:class:`~cadang.server.inventory.models.InventoryChange` with who, when, old, new and why.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from cadang.server.audit.log import record
from cadang.server.inventory.catalog import (
    application_to_data,
    current_plan_data,
    validate_plan_data,
)
from cadang.server.inventory.models import Application, InventoryChange

# Form field -> the key path in the application's entry.
EDITABLE: dict[str, tuple[str, ...]] = {
    "owner": ("owner",),
    "priority": ("priority",),
    "classification": ("classification",),
    "repository": ("repository",),
    "service_stop": ("service", "stop"),
    "service_start": ("service", "start"),
    "service_health": ("service", "health"),
}


@dataclass(frozen=True)
class Problem:
    field: str | None  # the form field it is about; None: the form as a whole
    message: str


class EditRejected(Exception):
    """The changed plan would not be valid; ``problems`` says why, field by field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def current_values(config: dict[str, Any]) -> dict[str, str]:
    """The editable values of an entry, as the form shows them ("" for none)."""
    out: dict[str, str] = {}
    for field, path in EDITABLE.items():
        value: Any = config
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        out[field] = "" if value is None else str(value)
    return out


def changed_config(config: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """``config`` with the form's values in it; empty optional values become absent."""
    new = copy.deepcopy(config)
    for field in ("owner", "priority", "classification"):
        new[field] = values[field]
    new["repository"] = values["repository"] or None
    hooks = {k: values[f"service_{k}"] or None for k in ("stop", "start", "health")}
    new["service"] = hooks if any(hooks.values()) else None
    return new


def _field_of(loc: tuple[int | str, ...], index: int) -> str | None:
    if len(loc) < 3 or loc[0] != "applications" or loc[1] != index:
        return None
    path = tuple(str(k) for k in loc[2:])
    return next((f for f, p in EDITABLE.items() if p == path), None)


def _message(err: ErrorDetails) -> str:
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    if kind in ("enum", "literal_error"):
        # pydantic writes "'a', 'b' or 'c'" in English: keep only the names.
        allowed = ", ".join(re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
        return _("“%(value)s” is not one of %(allowed)s.") % {
            "value": err.get("input"),
            "allowed": allowed,
        }
    if kind == "string_too_short":
        return _("This must not be empty.")
    if kind == "string_type":
        return _("This must be text.")
    if kind == "value_error":
        reason = str(ctx.get("error", err["msg"]))
        return _("The plan would not be valid: %(reason)s") % {"reason": reason}
    return str(err["msg"])


def problems_of(exc: ValidationError, index: int) -> list[Problem]:
    """Each validation error of the candidate plan, on the form field it is about."""
    return [Problem(_field_of(tuple(e["loc"]), index), _message(e)) for e in exc.errors()]


def validated_entry(app: Application, values: dict[str, str]) -> dict[str, Any]:
    """The entry of ``app`` with ``values``, as the catalog keeps it, if the plan stays valid;
    raises :class:`EditRejected` otherwise."""
    data = current_plan_data()
    names = [a["name"] for a in data["applications"]]
    if app.name not in names:  # removed from the plan: nothing to edit
        raise EditRejected([Problem(None, _("This application is no longer in the plan."))])
    index = names.index(app.name)
    data["applications"][index] = changed_config(app.config, values)
    try:
        plan = validate_plan_data(data)
    except ValidationError as exc:
        raise EditRejected(problems_of(exc, index)) from None
    entry = plan.application(app.name)
    assert entry is not None
    return application_to_data(entry)


def save_edit(app: Application, values: dict[str, str], reason: str, user: Any) -> list[str]:
    """Validate and save; returns the changed fields (none: nothing was saved)."""
    with transaction.atomic():
        app = Application.objects.select_for_update().get(pk=app.pk)
        entry = validated_entry(app, values)
        old = current_values(app.config)
        new = current_values(entry)
        changed = [f for f in EDITABLE if old[f] != new[f]]
        if not changed:
            return []
        app.config = entry
        app.sync_columns()
        app.save(update_fields=["config", "owner", "priority", "classification"])
        InventoryChange.objects.bulk_create(
            [
                InventoryChange(
                    application=app,
                    application_name=app.name,
                    field=".".join(EDITABLE[f]),
                    old_value=old[f],
                    new_value=new[f],
                    reason=reason,
                    changed_by=user,
                )
                for f in changed
            ]
        )
        record(
            "inventory_changed",
            user=user,
            target=app.name,
            details={
                "changes": {".".join(EDITABLE[f]): [old[f], new[f]] for f in changed},
                "reason": reason,
            },
        )
    return changed
