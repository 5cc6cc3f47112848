"""One audit entry: who did what, when, to what; chained by SHA-256 to the entry before."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntryChanged(Exception):
    """Raised on any attempt to change or delete an audit entry through the ORM."""


class AppendOnlyQuerySet(models.QuerySet["AuditEntry"]):
    """Bulk changes would skip :meth:`AuditEntry.save`; refuse them too."""

    def update(self, **kwargs: Any) -> int:
        raise AuditEntryChanged("audit entries are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditEntryChanged("audit entries are append-only")


class AuditEntry(models.Model):
    seq = models.PositiveBigIntegerField(_("number"), unique=True)
    at = models.DateTimeField(_("time"))
    actor = models.CharField(_("who"), max_length=150, blank=True)  # user name; "" = system
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target = models.CharField(_("object"), max_length=255, blank=True)
    details = models.JSONField(_("details"), default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AuditEntryChanged("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditEntryChanged("audit entries are append-only")
