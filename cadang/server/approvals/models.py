"""Backup Execution Forms, each step taken on them, the monthly approval, standard times.

The chain (SOP 002, 000, 003): the machine fills the form when a run ends; the operator
confirms it with remarks; the Kasi verifies it or returns it with a reason (a returned form
goes back to the operator); the Kabid approves a month of verified forms at once. Every
step records who, when, the standard time (mutu baku) and the time it actually took.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cadang.server.inventory.models import Application
from cadang.server.runs.models import Run


class Step(models.TextChoices):
    FILLED = "filled", _("filled in by the machine")
    CONFIRMED = "confirmed", _("confirmed by the operator")
    VERIFIED = "verified", _("verified by the Kasi")
    RETURNED = "returned", _("returned by the Kasi")
    APPROVED = "approved", _("approved by the Kabid")


class FormState(models.TextChoices):
    AWAITING_CONFIRMATION = "awaiting_confirmation", _("awaiting the operator's confirmation")
    AWAITING_VERIFICATION = "awaiting_verification", _("awaiting the Kasi's verification")
    RETURNED = "returned", _("returned to the operator")
    VERIFIED = "verified", _("verified; awaiting the month's approval")
    APPROVED = "approved", _("approved")


class StandardTime(models.Model):
    """The time a step may take (mutu baku), counted from when it became possible."""

    step = models.CharField(_("step"), max_length=16, choices=Step.choices, unique=True)
    minutes = models.PositiveIntegerField(_("standard time (minutes)"))

    class Meta:
        verbose_name = _("standard time")


# Defaults from the procedures: the Kasi verifies in 20 minutes and the Kabid receives in
# 20 (SOP 000 steps 5-6); checking the results takes 30 minutes and the report an hour
# (SOP 003 steps 5-6), so the operator's confirmation is given 90.
DEFAULT_STANDARD_MINUTES = {
    Step.CONFIRMED: 90,
    Step.VERIFIED: 20,
    Step.APPROVED: 20,
}


class BackupExecutionForm(models.Model):
    number = models.CharField(_("number"), max_length=32, unique=True)  # 0001/FPB/XI/2026
    year = models.PositiveSmallIntegerField()
    seq = models.PositiveIntegerField()  # running number within the year
    run = models.OneToOneField(Run, on_delete=models.PROTECT, related_name="form")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="forms")
    month = models.DateField(_("month"), db_index=True)  # first day of the run's month
    state = models.CharField(_("state"), max_length=32, choices=FormState.choices, db_index=True)
    filled = models.JSONField(default=dict)  # what the machine wrote, frozen at filling
    created_at = models.DateTimeField(_("filled at"))
    state_since = models.DateTimeField()  # when the current state began (standard time)
    operator_remarks = models.TextField(_("operator's remarks"), blank=True)
    return_reason = models.TextField(_("reason for return"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["year", "seq"], name="form_year_seq")]
        # The list pages of tens of thousands of forms: newest first, by application (a
        # requesting unit), by month and state (the month report, approval), and the waiting
        # forms by how long they have waited (inbox, lateness).
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="form_newest"),
            models.Index(fields=["application", "-created_at"], name="form_app_newest"),
            models.Index(fields=["month", "state"], name="form_month_state"),
            models.Index(fields=["state", "state_since"], name="form_state_since"),
        ]
        verbose_name = _("backup execution form")
        verbose_name_plural = _("backup execution forms")

    def __str__(self) -> str:
        return self.number


class MonthlyApproval(models.Model):
    """The Kabid's approval of a month of verified forms (and its summary for the Kadis)."""

    month = models.DateField(_("month"), unique=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(_("approved at"))
    remarks = models.TextField(_("remarks"), blank=True)
    form_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-month"]
        verbose_name = _("monthly approval")


class FormStep(models.Model):
    form = models.ForeignKey(BackupExecutionForm, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(_("step"), max_length=16, choices=Step.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"))
    remarks = models.TextField(_("remarks"), blank=True)
    standard_minutes = models.PositiveIntegerField(null=True, blank=True)
    actual_minutes = models.FloatField(null=True, blank=True)
    approval = models.ForeignKey(
        MonthlyApproval, null=True, blank=True, on_delete=models.PROTECT, related_name="steps"
    )

    class Meta:
        ordering = ["form", "at", "id"]
        verbose_name = _("form step")

    @property
    def late(self) -> bool:
        return (
            self.standard_minutes is not None
            and self.actual_minutes is not None
            and self.actual_minutes > self.standard_minutes
        )
