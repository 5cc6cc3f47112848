"""Where notifications go (settings) and each one sent, with its delivery result."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.TextChoices):
    CHECK_FAILED = "check_failed", _("a pre-backup check failed")
    BACKUP_FAILED = "backup_failed", _("a backup failed")
    BACKUP_OVERDUE = "backup_overdue", _("a backup is overdue")
    VERIFICATION_FAILED = "verification_failed", _("a verification failed")
    FORM_LATE = "form_late", _("a form is waiting past its standard time")
    TEST = "test", _("a test notification")


class Channel(models.TextChoices):
    EMAIL = "email", _("e-mail")
    WEBHOOK = "webhook", _("webhook")


class NotifySettings(models.Model):
    """One row (pk 1), edited by an administrator; SMTP itself is configured by environment."""

    email_enabled = models.BooleanField(_("send e-mail"), default=True)
    webhook_url = models.URLField(_("webhook URL"), blank=True)
    webhook_enabled = models.BooleanField(_("call the webhook"), default=False)

    class Meta:
        verbose_name = _("notification settings")

    @classmethod
    def load(cls) -> NotifySettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class Notification(models.Model):
    event = models.CharField(_("event"), max_length=32, choices=Event.choices, db_index=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=512)
    subject = models.CharField(_("subject"), max_length=255)
    body = models.TextField(_("message"))
    payload = models.JSONField(default=dict)
    # One notification per event and object (a run, an overdue day, a late form step).
    dedupe_key = models.CharField(max_length=255, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered = models.BooleanField(_("delivered"), default=False)
    error = models.TextField(_("delivery error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        constraints = [
            # Two processes telling the same thing at once: the second one's row fails here.
            models.UniqueConstraint(
                fields=["event", "dedupe_key", "channel", "recipient"],
                name="notify_once_per_recipient",
            )
        ]
