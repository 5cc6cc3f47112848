"""The inventory: applications (one row each, its plan entry as JSON) and the plan's settings.

The plan file's rules stay the only rules: :mod:`cadang.server.inventory.catalog` assembles a
:class:`cadang.plan.model.Plan` from these rows and validates it with the same pydantic model
as ``cadang plan check``. ``owner``, ``priority`` and ``classification`` are copies of the
JSON kept as columns so pages can filter and a requesting unit sees only its own.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cadang.plan.model import Classification, Priority

PRIORITY_CHOICES = [
    (Priority.DAILY.value, _("daily")),
    (Priority.WEEKLY.value, _("weekly")),
    (Priority.MONTHLY.value, _("monthly")),
]
CLASSIFICATION_CHOICES = [
    (Classification.PUBLIC.value, _("public")),
    (Classification.INTERNAL.value, _("internal")),
    (Classification.CONFIDENTIAL.value, _("confidential (dikecualikan)")),
]


class OfficePlan(models.Model):
    """The plan without its applications (organization, repositories, naming, retention...).
    One row (pk 1)."""

    document = models.JSONField(default=dict)  # the plan minus applications, as JSON
    source_file = models.CharField(max_length=1024, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("office plan")

    @classmethod
    def load(cls) -> OfficePlan | None:
        return cls.objects.filter(pk=1).first()


class Application(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)
    owner = models.CharField(_("owner (OPD)"), max_length=200, db_index=True)
    priority = models.CharField(_("priority"), max_length=16, choices=PRIORITY_CHOICES)
    classification = models.CharField(
        _("classification"), max_length=16, choices=CLASSIFICATION_CHOICES
    )
    position = models.PositiveIntegerField(default=0)  # order in the plan file
    # False once removed from the plan while runs and forms still refer to it.
    active = models.BooleanField(default=True)
    config = models.JSONField(default=dict)  # the application's entry in the plan, validated

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")

    def __str__(self) -> str:
        return self.name

    def sync_columns(self) -> None:
        """Copy owner, priority and classification from ``config`` to their columns."""
        c: dict[str, Any] = self.config
        self.name = str(c["name"])
        self.owner = str(c["owner"])
        self.priority = str(c["priority"])
        self.classification = str(c.get("classification") or Classification.INTERNAL.value)

    @property
    def source_names(self) -> list[str]:
        return [str(s["name"]) for s in self.config.get("sources", [])]


def person_name(user: Any) -> str:
    """A person as pages name them: full name, else user name; "-" for none."""
    if user is None:
        return "-"
    return str(user.get_full_name() or user.get_username())


class InventoryChange(models.Model):
    """Who changed what in the inventory, when and why (SOP 003 step 2)."""

    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    application_name = models.CharField(max_length=64)
    field = models.CharField(_("field"), max_length=64)
    old_value = models.TextField(_("old value"), blank=True)
    new_value = models.TextField(_("new value"), blank=True)
    reason = models.TextField(_("reason"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        ordering = ["-changed_at"]
        verbose_name = _("inventory change")

    @property
    def changed_by_name(self) -> str:
        return person_name(self.changed_by)


class InventoryReview(models.Model):
    """The inventory reviewed as a whole (SOP 002 data collection: twice a year each unit's
    data assets are checked against what the units hand over)."""

    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), db_index=True)
    remarks = models.TextField(_("remarks"), blank=True)
    application_count = models.PositiveIntegerField(_("applications"), default=0)

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        verbose_name = _("inventory review")
        verbose_name_plural = _("inventory reviews")

    @property
    def reviewed_by_name(self) -> str:
        return person_name(self.reviewed_by)
