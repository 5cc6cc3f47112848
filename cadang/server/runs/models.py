"""Schedules (one per priority), runs (one application each) and each source's result."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cadang.server.inventory.models import PRIORITY_CHOICES, Application


class Schedule(models.Model):
    """When the applications of one priority are backed up (SOP 001, 003): daily at a time,
    weekly on a weekday, monthly on a day of the month; in the office's time zone."""

    priority = models.CharField(_("priority"), max_length=16, choices=PRIORITY_CHOICES, unique=True)
    time_of_day = models.TimeField(_("time of day"))
    weekday = models.PositiveSmallIntegerField(  # 0 = Monday, for weekly
        _("day of the week"), null=True, blank=True
    )
    day_of_month = models.PositiveSmallIntegerField(  # 1..28, for monthly
        _("day of the month"), null=True, blank=True
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    retries = models.PositiveSmallIntegerField(_("retries of a failed source"), default=2)
    retry_delay_minutes = models.PositiveIntegerField(_("minutes between retries"), default=10)
    last_due_at = models.DateTimeField(null=True, blank=True)  # the last due time started

    class Meta:
        ordering = ["priority"]
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")

    def __str__(self) -> str:
        return self.priority


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    SUCCEEDED = "succeeded", _("succeeded")
    PARTIAL = "partial", _("partial")
    FAILED = "failed", _("failed")


class Trigger(models.TextChoices):
    SCHEDULE = "schedule", _("schedule")
    MANUAL = "manual", _("by hand")
    RETRY = "retry", _("retry")
    IMPORTED = "imported", _("imported from the state directory")


class Run(models.Model):
    """One application backed up once: its checklist, each source's result, verification."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="runs")
    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    scheduled_for = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    # Not auto_now_add: the scheduler stamps runs with its own clock (tests advance it).
    queued_at = models.DateTimeField(_("queued at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempt = models.PositiveSmallIntegerField(default=1)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    only_sources = models.JSONField(default=list, blank=True)  # a retry: the failed sources
    progress = models.TextField(blank=True)  # the latest line, for the live page
    checklist = models.JSONField(null=True, blank=True)  # Checklist.to_json()
    report = models.JSONField(null=True, blank=True)  # RunReport.to_json()
    error = models.TextField(blank=True)
    hostname = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [
            models.Index(fields=["application", "-queued_at"]),
            # The dashboard's "latest finished run per application".
            models.Index(fields=["application", "finished_at"], name="runs_run_app_finished"),
            # The runs list, newest first.
            models.Index(fields=["-queued_at", "-id"], name="runs_run_newest"),
            # The scheduler looks for queued and running runs every few seconds.
            models.Index(fields=["status", "queued_at"], name="runs_run_status_queued"),
        ]
        verbose_name = _("run")
        verbose_name_plural = _("runs")

    def __str__(self) -> str:
        return f"run {self.pk} of {self.application_id}"

    @property
    def finished(self) -> bool:
        return self.status not in (RunStatus.QUEUED, RunStatus.RUNNING)

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class SourceRun(models.Model):
    """One source of a run: the row of SOP 003's report."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="sources")
    source = models.CharField(_("source"), max_length=64)
    kind = models.CharField(_("type"), max_length=32)
    repository = models.CharField(_("repository"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=16)
    label = models.CharField(_("snapshot label"), max_length=255, blank=True)
    snapshot_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(_("duration (s)"), default=0)
    files = models.PositiveBigIntegerField(default=0)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    data_added = models.PositiveBigIntegerField(_("added"), default=0)
    error = models.TextField(blank=True)
    hint = models.TextField(blank=True)
    verified = models.CharField(_("verification"), max_length=16, blank=True)
    verification = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "id"]
        verbose_name = _("source result")
